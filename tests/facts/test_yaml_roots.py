"""yaml_roots reads the root keys (and simple root kinds) of a YAML stream from its lines, exactly or not at all:
it may name keys a parser rejects, never miss one it builds (the signal scan skips parsing on its answer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlscore.facts.yamlsafe import load_yaml_docs, yaml_roots

CASES = {
    "manifest": ("apiVersion: v1\nkind: Service\nspec:\n  type: a\n", {"apiVersion", "kind", "spec"}, {"Service"}),
    "multi": ("# c\n---\na: 1\n---\nkind: 'Rollout' # c\nb:\n- x\n- y\nc: |\n  text\n", {"a", "b", "c", "kind"},
              {"Rollout"}),
    "colons": ("a:b: c\nurl: http://x\n", {"a:b", "url"}, set()),
    "crlf": ("a: 1\r\nkind: X\r\n", {"a", "kind"}, {"X"}),
    "dash_key": ("-key: 1\n", {"-key"}, set()),
    "empty": ("", set(), set()),
    "comments": ("# only\n  # indented\n", set(), set()),
    "folded_kind": ("kind: Virtual\n  Service\n", {"kind"}, None),
    "block_kind": ("kind: |\n  X\n", {"kind"}, None),
    "tagged_kind": ("kind: !!str X\n", {"kind"}, None),
    "nested_kind": ("kind:\n  a: 1\n", {"kind"}, None),
}
UNKNOWN = {
    "sequence": "- a: 1\n",
    "flow": "{a: 1}\n",
    "indented": "  a: 1\n  b: 2\n",
    "quoted_key": '"a": 1\n',
    "merge": "base: &b {x: 1}\n<<: *b\n",
    "explicit_key": "? a\n: 1\n",
    "anchored_key": "&k a: 1\n",
    "scalar": "hello\n",
    "tag_on_marker": "--- !foo\na: 1\n",
    "document_end": "a: 1\n...\n",
    "directive": "%YAML 1.1\n---\na: 1\n",
    "line_separator": "a: 1\u2028b: 2\n",
    "old_mac": "a: 1\rb: 2\r",
    "bom": "\ufeffa: 1\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_known_shapes(name: str) -> None:
    text, keys, kinds = CASES[name]
    roots = yaml_roots(text)
    assert roots is not None
    assert set(roots[0]) == keys
    assert (None if roots[1] is None else set(roots[1])) == kinds


@pytest.mark.parametrize("name", sorted(UNKNOWN))
def test_unknown_shapes(name: str) -> None:
    assert yaml_roots(UNKNOWN[name]) is None


def test_never_misses_a_key_the_parser_builds() -> None:
    """Every YAML file of the repository (rule and signal fixtures included): the parsed documents' root keys and
    kinds are among those read from the lines."""
    root = Path(__file__).resolve().parents[2]
    checked = 0
    for path in sorted(root.rglob("*.y*ml")):
        if ".venv" in path.parts or ".git" in path.parts or path.stat().st_size > 1_000_000:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        roots = yaml_roots(text)
        if roots is None:
            continue
        docs, _ = load_yaml_docs(str(path), text)
        for doc in docs:
            if isinstance(doc, dict):
                assert {k for k in doc if isinstance(k, str)} <= roots[0], path
                if roots[1] is not None and isinstance(doc.get("kind"), str):
                    assert doc["kind"] in roots[1], path
            else:
                assert doc is None or not isinstance(doc, list), path
        checked += 1
    assert checked > 50
