"""The signal catalog cache (signals/cache.py): same signals as parsing, keyed by the files' bytes, never stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlscore.errors import InputError
from mlscore.signals import load_signals
from mlscore.signals.cache import audit_signals


def _same(a, b) -> bool:  # type: ignore[no-untyped-def]
    return [(s.id, s.title, s.match, s.informs, s.requires, s.requires_anywhere) for s in a] == [
        (s.id, s.title, s.match, s.informs, s.requires, s.requires_anywhere) for s in b]


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "mlscore").glob("signals-*.json"))


def test_cache_hit_gives_the_parsed_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    parsed = load_signals().signals
    first = audit_signals()  # parses and writes the entry
    assert _same(first, parsed) and len(_entries(tmp_path)) == 1
    second = audit_signals()  # reads it
    assert _same(second, parsed)
    assert all(not s.positive and not s.negative for s in second)  # fixtures are not stored


def test_corrupt_or_foreign_entries_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    audit_signals()
    (entry,) = _entries(tmp_path)
    for bad in ("not json", json.dumps({"format": 1, "key": "other", "signals": []}),
                json.dumps({"format": 1, "key": json.loads(entry.read_text())["key"],
                            "signals": [{"id": "x.y", "title": "t", "match": [], "informs": {}}]})):
        entry.write_text(bad)
        assert _same(audit_signals(), load_signals().signals)


def test_custom_signal_directories_change_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    mine = tmp_path / "signals"
    mine.mkdir()
    (mine / "zz-custom.yaml").write_text(
        "tool: custom\necosystem: other\nhomepage: https://example.org\nsignals:\n"
        "  - id: custom.thing\n    title: A custom thing\n    references: [https://example.org/doc]\n"
        "    match:\n      - python: {calls: [custom_thing]}\n    informs: {MON1: {manual: always}}\n"
        "    positive: [{files: {a.py: 'custom_thing()'}}]\n    negative: [{files: {a.py: 'x()'}}]\n")
    with_custom = audit_signals((str(mine),))
    assert "custom.thing" in {s.id for s in with_custom}
    assert "custom.thing" not in {s.id for s in audit_signals()}
    (mine / "zz-custom.yaml").write_text((mine / "zz-custom.yaml").read_text().replace("A custom", "An edited"))
    assert any(s.title == "An edited thing" for s in audit_signals((str(mine),)))  # never stale
    (mine / "zz-custom.yaml").write_text("tool: [")
    with pytest.raises(InputError, match="zz-custom.yaml"):
        audit_signals((str(mine),))


def test_unwritable_cache_directory_falls_back_to_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert _same(audit_signals(), load_signals().signals)
