"""The signal catalog: the field's evidence mechanisms as reviewed data (``rules/signals/*.yaml``).

``load_signals()`` reads and validates the bundled catalog (or a directory of your own), ``scanner()`` compiles
it once per process into one multi-pattern matcher, and ``Scanner.scan(facts, commands)`` lists every
``SignalHit``. Detectors turn hits into levels (``mlscore.detectors.common.signal_outcomes``).

An audit's ``scanner()`` reads the catalog through ``mlscore.signals.cache`` (matchers and ``informs`` without
the fixtures, in a JSON file keyed by a hash of the signal files' bytes): parsing every YAML file again costs
about half a second per audit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mlscore.errors import InputError
from mlscore.signals.model import Signal, SignalFile

__all__ = ["SignalCatalog", "builtin_signals_dir", "load_signals", "scanner"]

MAX_SIGNAL_FILE_BYTES = 1024 * 1024
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SignalCatalog:
    """The loaded signal files, in file order, with lookups by id and by rubric test."""

    def __init__(self, files: Iterable[tuple[str, SignalFile]]) -> None:
        self.files: tuple[tuple[str, SignalFile], ...] = tuple(files)
        self.signals: tuple[Signal, ...] = tuple(s for _src, f in self.files for s in f.signals)
        self.by_id: dict[str, Signal] = {}
        self.file_of: dict[str, SignalFile] = {}
        for src, f in self.files:
            for s in f.signals:
                if s.id in self.by_id:
                    raise InputError(f"{src}: signal id {s.id!r} is already defined")
                self.by_id[s.id] = s
                self.file_of[s.id] = f
        for s in self.signals:
            gates = [r for how in s.informs.values() for r in how.automated_requires]
            unknown = [r for r in (*s.requires, *s.requires_anywhere, *s.excludes, *gates) if r not in self.by_id]
            if unknown:
                raise InputError(f"signal {s.id}: requires unknown signal {unknown[0]!r}")
        required = {r for s in self.signals for r in (*s.requires, *s.requires_anywhere,
                                                      *(g for how in s.informs.values() for g in how.automated_requires))}
        for s in self.signals:
            if not s.informs and s.id not in required:
                raise InputError(f"signal {s.id}: informs no test and no signal requires it")

    def __len__(self) -> int:
        return len(self.signals)

    def for_rule(self, rule_id: str) -> list[Signal]:
        return [s for s in self.signals if rule_id in s.informs]


def builtin_signals_dir() -> Any:
    from mlscore.catalog import builtin_rules_dir

    return builtin_rules_dir().joinpath("signals")


def read_signal_bytes(path: Any) -> bytes:
    """A signal file's bytes, within MAX_SIGNAL_FILE_BYTES; InputError names the file and the problem."""
    try:
        raw: bytes = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_SIGNAL_FILE_BYTES:
        raise InputError(f"{path}: {len(raw)} bytes is too large for a signal file")
    return raw


def load_signal_file(path: Any, raw: bytes | None = None) -> SignalFile:
    """One validated signal file (``raw``: its bytes, when already read by read_signal_bytes); InputError names
    the file and the first problem."""
    if raw is None:
        raw = read_signal_bytes(path)
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_Loader)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        return SignalFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{path}: {where}: {first['msg']}") from None


def chosen_signal_files(dirs: Iterable[Any] = ()) -> list[tuple[str, Any]]:
    """(file name, path) of the signal files in effect, by name: the bundled ones, then those of ``dirs`` (a file
    of the same name replaces the bundled one)."""
    chosen: dict[str, Any] = {}
    for directory in (builtin_signals_dir(), *(Path(d) for d in dirs)):
        if not directory.is_dir():
            raise InputError(f"{directory}: signal directory not found")
        for entry in sorted(directory.iterdir(), key=lambda p: p.name):
            if entry.name.endswith(".yaml"):
                chosen[entry.name] = entry
    return sorted(chosen.items())


def load_signals(dirs: Iterable[Any] = (), *, raw: dict[str, bytes] | None = None) -> SignalCatalog:
    """The bundled signal files, then those of ``dirs`` (a file of the same name replaces the bundled one).

    ``raw``: the bytes of files already read, by file name (so a caller that hashed them parses the same bytes)."""
    raw = raw or {}
    return SignalCatalog((str(p), load_signal_file(p, raw.get(name))) for name, p in chosen_signal_files(dirs))


@functools.lru_cache(maxsize=4)
def scanner(dirs: tuple[str, ...] = ()) -> Any:
    """The catalog compiled into a Scanner, once per process and signal directories (matchers read through the
    catalog cache, ``mlscore.signals.cache``)."""
    from mlscore.signals.cache import audit_signals
    from mlscore.signals.scan import Scanner

    return Scanner(audit_signals(dirs))
