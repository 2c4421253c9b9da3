"""Adversarial texts: every extractor and every detector does bounded work on them, and the whole audit ends.

A backtracking pattern over repository text is a denial of service: one file in a pull request can hold the
Action for minutes. `adversarial.py` generates the shapes that make such patterns blow up and puts them into
every kind of file an audit reads; here each extractor and detector gets a small time budget per shape, far above
what linear work needs, and must finish inside it without raising.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlscore import guard
from mlscore.detectors import DETECTORS, resolve_params
from mlscore.engine import build_context
from mlscore.facts import automation, ci, deps, manifests, monitoring, schedules
from mlscore.facts.files import index_path
from mlscore.facts.repo import collect
from tests.safety.adversarial import shapes, write_corpus

pytestmark = pytest.mark.timeout(240)

#: Seconds each extractor or detector may take on one shape. Linear work on these texts takes under a second on a
#: loaded 2-core machine; a quadratic pattern over a 120,000-character run takes minutes.
BUDGET = 4.0

#: Super-linear behaviour found by this corpus in code owned elsewhere, not fixed yet: shape -> component -> where.
#: When the code is fixed, the shape's test passes instead of xfailing; then delete the entry. (Fixed since the
#: corpus was written: ci.py's Groovy comment stripping on runs of newlines and shell.py's splitting of long
#: `a | b | ...` and `a && b && ...` lists, in f886ae3.)
KNOWN: dict[str, dict[str, str]] = {}


def _extractors(files: list[str], read: Callable[[str], str | None], done: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """The structured extractors; the automation model is built from the CI and schedule facts already
    extracted (``done``), so it is timed on its own."""

    def auto() -> Any:
        return automation.build_automation(files, read, done.get("ci") or ci.CiFacts(),
                                           done.get("schedules") or schedules.ScheduleFacts())

    return {
        "ci": lambda: ci.extract_ci(files, read),
        "schedules": lambda: schedules.extract_schedules(files, read),
        "automation": auto,
        "deps": lambda: deps.extract_deps(files, read),
        "manifests": lambda: manifests.extract_manifests(files, read),
        "monitoring": lambda: monitoring.extract_monitoring(files, read),
    }


def _measure(root: Path) -> tuple[dict[str, str], dict[str, str], dict[str, float]]:
    """(slow components -> why, failed components -> why, seconds per component) for the tree at ``root``."""
    slow: dict[str, str] = {}
    failed: dict[str, str] = {}
    seconds: dict[str, float] = {}

    started = time.monotonic()
    read = guard.run(lambda: collect(index_path(root)), seconds=BUDGET)
    seconds["collect"] = time.monotonic() - started
    if not read.ok or read.value is None:
        return {"collect": read.reason()}, {}, seconds
    facts = read.value
    assert not [d for d in facts.diagnostics if "extractor failed" in d.message], facts.diagnostics
    files, reader = facts.paths(), facts.read
    done: dict[str, Any] = {}
    for name, fn in _extractors(files, reader, done).items():
        got = guard.run(fn, seconds=BUDGET)
        seconds[name] = got.seconds
        done[name] = got.value
        if got.overrun:
            slow[name] = got.reason()
        elif got.error is not None:
            failed[name] = f"{got.error_class}: {got.error}"
        else:
            for d in got.value.diagnostics:
                if "per-file time budget" in d.message:
                    slow[name] = d.message
                elif "extractor failed" in d.message:
                    failed[name] = d.message
    ctx = build_context(facts, extractor_budget=BUDGET)  # each extractor was measured above, one by one
    for name, detector in DETECTORS.items():
        params = resolve_params(name, {})
        got = guard.run(lambda detector=detector, params=params: detector(ctx, params), seconds=BUDGET)
        seconds[name] = got.seconds
        if got.overrun:
            slow[name] = got.reason()
        elif got.error is not None:
            failed[name] = f"{got.error_class}: {got.error}"
    return slow, failed, seconds


@pytest.fixture(autouse=True)
def _short_file_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # an extractor gives up on one slow file after this long (5 s in an audit); a slow file then shows up as
    # "stopped on <file>", or as the whole extractor running out of the shape's budget
    monkeypatch.setattr(guard, "FILE_SECONDS", BUDGET)


@pytest.mark.parametrize("shape", sorted(shapes()))
def test_every_extractor_and_detector_is_bounded_on(shape: str, tmp_path: Path) -> None:
    write_corpus(tmp_path / "repo", [shape])
    slow, failed, seconds = _measure(tmp_path / "repo")
    assert not failed, f"raised on hostile input (should be a diagnostic or nothing): {failed}"
    known = KNOWN.get(shape, {})
    unknown = {name: why for name, why in slow.items() if name not in known}
    assert not unknown, f"super-linear on {shape!r}: {unknown}; seconds: " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])[:6])
    still = {name: known[name] for name in slow if name in known}
    if still:
        pytest.xfail(f"known, owned elsewhere: {still}")


def test_the_known_list_names_real_shapes_and_components() -> None:
    names = set(DETECTORS) | {"ci", "schedules", "automation", "deps", "manifests", "monitoring", "collect"}
    assert set(KNOWN) <= set(shapes())
    assert all(set(components) <= names for components in KNOWN.values())


# -- regressions: patterns that blew up, rewritten linear ----------------------------------------------------------


def _bounded(fn: Callable[[], Any], seconds: float = 1.0) -> Any:
    got = guard.run(fn, seconds=10)
    assert got.ok, got.reason()
    assert got.seconds < seconds, f"took {got.seconds:.2f} s"
    return got.value


def test_model3_value_loop_is_linear_and_keeps_its_meaning() -> None:
    from mlscore.detectors.model import _scored_value_loop as loop

    # the shape that held an audit of a real repository for minutes: loop bodies indented with long runs
    killer = ("for x in [a, b, c]:\n" + ("\t" * 60 + "y = 1\n") * 9 + "z = 2\n") * 3000 + "model.fit(x)\n"
    assert _bounded(lambda: loop(killer)) is None
    unclosed = "for x in [" + "a, " * 200_000 + "\n    model.fit(x)\n"
    assert _bounded(lambda: loop(unclosed)) is None

    def found(text: str) -> str | None:
        m = loop(text)
        return m.group(1) if m else None

    assert found("for C in [0.1, 1, 10]:\n    clf = SVC(C=C)\n    s = cross_val_score(clf, X, y)\n") == "C"
    assert found("for d in (2, 4, 8):\n    model.fit(X, y)\n") == "d"
    assert found("for C in [0.1, 1]:\n    m.fit(X)\n") is None  # two values are not a trial of several
    assert found("for C in [0.1, 1, 10]:\n\n    m.fit(X)\n") is None  # the body ended at the blank line
    assert found("for C in [1, 2, 3]:\n" + "    a = 1\n" * 8 + "    m.fit(X)\n") == "C"  # 9th line of the body
    assert found("for C in [1, 2, 3]:\n" + "    a = 1\n" * 9 + "    m.fit(X)\n") is None  # 10th: too far
    assert found("for C in [1, 2, 3]:\n    .fit(X)\n") is None  # `.fit(` needs an object before it
    assert found("x = 1\nfor seed in [1, 2, 3]:\n    m.fit(X)\n") == "seed"  # the caller drops seeds and folds


def test_data4_declared_list_pattern_is_linear_on_blank_lines(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "conf").mkdir(parents=True)
    (root / "conf" / "features.yaml").write_text("protected: [age, sex]\n" + " \n" * 200_000 + "sensitive\n")
    (root / "conf" / "blank.yaml").write_text("x: 1\n" + "\n" * 300_000 + "sensitive: 1\n")
    ctx = build_context(collect(index_path(root)))
    outcome = _bounded(lambda: DETECTORS["data4"](ctx, resolve_params("data4", {})))
    assert outcome is not None


def test_deps_line_lookup_is_linear_on_blank_lines() -> None:
    text = "[tool.poetry.dependencies]\n" + "\n" * 300_000 + "numpy = '1.26.4'\n"
    got = _bounded(lambda: deps.extract_deps(["pyproject.toml"], {"pyproject.toml": text}.get))
    assert [r.name for r in got.requirements] == ["numpy"]
    assert got.requirements[0].line == 300_002


def test_an_extractor_gives_up_on_one_slow_file_and_keeps_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    real = manifests.parse_dockerfile

    def slow_on_one(path: str, text: str) -> Any:
        if path == "slow/Dockerfile":
            while True:
                pass
        return real(path, text)

    monkeypatch.setattr(manifests, "parse_dockerfile", slow_on_one)
    monkeypatch.setattr(guard, "FILE_SECONDS", 0.5)
    files = {"slow/Dockerfile": "FROM python:3.11\n", "ok/Dockerfile": "FROM python:3.11\nCMD uvicorn app:app\n"}
    started = time.monotonic()
    got = manifests.extract_manifests(sorted(files), files.get)
    assert time.monotonic() - started < 3
    assert [d.file for d in got.dockerfiles] == ["ok/Dockerfile"]
    expected = ("facts: manifests extractor stopped on slow/Dockerfile after its N s per-file time budget; "
                "that file's facts are missing")
    assert [(d.path, re.sub(r"[\d.]+ s", "N s", d.message)) for d in got.diagnostics] == [
        ("slow/Dockerfile", expected)]


# -- the whole audit, as the Action runs it ------------------------------------------------------------------------


def test_the_whole_audit_of_an_adversarial_tree_is_bounded_and_complete_in_shape(tmp_path: Path) -> None:
    from tests.safety.hostile import assert_completed, audit

    root = tmp_path / "repo"
    write_corpus(root, size=6_000)  # every shape in every kind of file, smaller: this is about the whole run
    budgets = tmp_path / "budgets.toml"
    budgets.write_text("detector_budget = 2\nextractor_budget = 4\n")
    started = time.monotonic()
    run = audit(root, cwd=tmp_path, extra=("--config", str(budgets), "-q"))
    elapsed = time.monotonic() - started
    report = assert_completed(run)  # exit 0 or 1, a JSON report with all 28 results
    assert elapsed < 20, f"{elapsed:.1f} s\n{run.describe()}"
    assert "Traceback" not in run.stderr, run.stderr
    # a result is incomplete only because of the known slow code above, never for a new reason
    known_parts = {f"detector {name} " for shape in KNOWN.values() for name in shape if name in DETECTORS} | {
        f"the {name} extractor " for shape in KNOWN.values() for name in shape if name not in DETECTORS}
    for result in report["results"]:
        for reason in filter(None, (result["incomplete"] or "").split("; ")):
            assert any(part in reason for part in known_parts), (result["rule_id"], reason)
