"""grep's RE2 path finds exactly the lines the per-line loop finds, and CRD documents are blanked line for line."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mlscore.facts.repo import _candidate_lines, _whole_text
from mlscore.facts.yamlsafe import without_crds

PATTERNS = [r"foo", r"^foo", r"foo$", r"\bfo+\b", r"(?i)FOO\s+bar", r"a[^,]*b", r"x\$y", r"\s+foo", r"^\s*$"]
LINE = st.text(alphabet="fo bar,xy$\tAB", max_size=12)


def _slow(text: str, rx: re.Pattern[str]) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if rx.search(line)]


def _fast(text: str, rx: re.Pattern[str]) -> list[tuple[int, str]]:
    fast, _slow_rx = _whole_text(rx.pattern, rx.flags)
    assert fast is not None
    return [(n, line) for n, line in _candidate_lines(text, fast) if rx.search(line)]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(LINE, max_size=12), pattern=st.sampled_from(PATTERNS), end=st.sampled_from(["", "\n"]))
def test_re2_candidate_lines_equal_the_per_line_loop(lines: list[str], pattern: str, end: str) -> None:
    text = "\n".join(lines) + end
    rx = re.compile(pattern)
    assert _fast(text, rx) == _slow(text, rx)


def test_a_match_across_lines_does_not_hide_a_later_line() -> None:
    rx = re.compile(r"a\s+b")
    text = "a\nb\nx a b\n"
    assert _fast(text, rx) == _slow(text, rx) == [(3, "x a b")]


def test_without_crds_blanks_only_crd_documents_and_keeps_line_numbers() -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: model\n"
        "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: x\n"
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: model\n"
    )
    out = without_crds(text)
    assert out.count("\n") == text.count("\n")
    assert "CustomResourceDefinition" not in out and "group: x" not in out
    assert "kind: Deployment" in out and "kind: Service" in out
    assert out.split("\n")[11] == "kind: Service" == text.split("\n")[11]
    assert without_crds("kind: Deployment\n") == "kind: Deployment\n"
