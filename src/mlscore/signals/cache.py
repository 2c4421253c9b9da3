"""The signal catalog as an audit needs it, cached: matchers and ``informs`` without the fixtures.

Parsing ~100 signal files with PyYAML and validating them with pydantic costs about half a second, on every
audit, and an audit needs none of the fixtures that make up half of those files. ``audit_signals(dirs)``
returns the signals, fixtures left out, from a JSON file in the user's cache directory
(``$XDG_CACHE_HOME/mlscore``, else ``~/.cache/mlscore``) whose name and content are keyed by a SHA-256 of the
mlscore version and of every chosen signal file's name and bytes (the bundled ones, then ``--signals-dir``
ones), so an edited, added or removed file can never give a stale catalog.

The cache is data, never code: JSON (never pickle), and validated on load by the same pydantic models as the
YAML files (RE2 patterns included) plus the catalog's own cross-checks. A missing, unreadable, corrupt or
foreign entry is ignored: the catalog is parsed from the YAML files as before, and the entry rewritten when
the directory is writable (atomically: a reader never sees half a file). Errors in a signal file are reported
exactly as without the cache, because a file that does not parse is never cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["audit_signals", "cache_dir"]

#: Bump when what is stored (or how it is validated) changes: old entries are then simply not found.
FORMAT = 1
#: Entries kept in the directory (one per catalog version seen; older ones are removed).
KEEP_ENTRIES = 8
#: A catalog entry is a few hundred kilobytes; anything far larger is not ours.
MAX_ENTRY_BYTES = 32 * 1024 * 1024


def cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/mlscore`` or ``~/.cache/mlscore`` (None when no home directory is known)."""
    from mlscore.config import env

    base = env("XDG_CACHE_HOME")
    if base and os.path.isabs(base):
        return Path(base) / "mlscore"
    try:
        return Path.home() / ".cache" / "mlscore"
    except (RuntimeError, KeyError, OSError):
        return None


def _chosen(dirs: Iterable[Any]) -> list[tuple[str, Any]]:
    from mlscore.signals import chosen_signal_files

    return chosen_signal_files(dirs)


def _key(files: list[tuple[str, bytes]]) -> str:
    from mlscore import __version__

    digest = hashlib.sha256(f"mlscore-signals\0{FORMAT}\0{__version__}\0".encode())
    for name, raw in files:
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(hashlib.sha256(raw).digest())
    return digest.hexdigest()


def _audit_model() -> Any:
    """A Signal whose fixtures may be absent (an audit never reads them); built on first use."""
    global _AUDIT_SIGNAL
    if _AUDIT_SIGNAL is None:
        from mlscore.signals.model import Fixture, Signal

        class AuditSignal(Signal):
            """A catalog signal as an audit loads it from the cache: matchers and informs, no fixtures."""

            positive: tuple[Fixture, ...] = ()
            negative: tuple[Fixture, ...] = ()

        _AUDIT_SIGNAL = AuditSignal
    return _AUDIT_SIGNAL


_AUDIT_SIGNAL: Any = None


def _check(signals: tuple[Any, ...]) -> None:
    """The catalog's cross-checks (unique ids, known requirements), as ``SignalCatalog`` makes them."""
    ids: set[str] = set()
    for s in signals:
        if s.id in ids:
            raise ValueError(f"duplicate signal id {s.id!r}")
        ids.add(s.id)
    for s in signals:
        gates = [r for how in s.informs.values() for r in how.automated_requires]
        if any(r not in ids for r in (*s.requires, *s.requires_anywhere, *gates)):
            raise ValueError(f"signal {s.id} requires an unknown signal")


def _load(path: Path, key: str) -> tuple[Any, ...] | None:
    """The signals of a cache entry, validated; None if it is missing, foreign or not valid."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_ENTRY_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_ENTRY_BYTES:
        return None
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("key") != key:
            return None
        items = doc["signals"]
        if not isinstance(items, list):
            return None
        model = _audit_model()
        signals = tuple(model.model_validate(item) for item in items)
        _check(signals)
    except Exception:  # noqa: BLE001 - any problem with an entry means: parse the YAML files instead
        return None
    return signals


def _store(directory: Path, path: Path, key: str, signals: tuple[Any, ...]) -> None:
    """Write the entry atomically (temporary file + rename); silently give up when the directory is not writable."""
    payload = {
        "format": FORMAT,
        "key": key,
        "signals": [s.model_dump(mode="json", exclude={"positive", "negative"}) for s in signals],
    }
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".signals-", suffix=".tmp", dir=directory)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    _prune(directory, keep=path)


def _prune(directory: Path, keep: Path) -> None:
    try:
        entries = sorted((p for p in directory.glob("signals-*.json") if p != keep),
                         key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in entries[KEEP_ENTRIES - 1:]:
        with contextlib.suppress(OSError):
            old.unlink()


def audit_signals(dirs: Iterable[Any] = ()) -> tuple[Any, ...]:
    """The signals an audit matches (bundled files, then those of ``dirs``), without their fixtures.

    From the cache when an entry for exactly these files exists and validates; otherwise parsed and validated
    from the YAML files (``InputError`` for a bad file, as ``load_signals``) and cached for the next audit.
    """
    from mlscore.signals import load_signals, read_signal_bytes

    dirs = tuple(dirs)
    files = [(name, read_signal_bytes(entry)) for name, entry in _chosen(dirs)]
    key = _key(files)
    directory = cache_dir()
    path = directory / f"signals-{key[:40]}.json" if directory is not None else None
    if path is not None:
        cached = _load(path, key)
        if cached is not None:
            return cached
    signals = load_signals(dirs, raw=dict(files)).signals
    if path is not None and directory is not None:
        _store(directory, path, key, signals)
    return signals
