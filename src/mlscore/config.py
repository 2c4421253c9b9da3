"""Configuration: [tool.mlscore] / .mlscore.toml / CLI precedence, attestations; the only env reader.

Precedence, highest first (as flake8 documents its own):

1. command-line options (``--select``, ``--fail-under``, ...);
2. ``--config FILE`` (a ``.mlscore.toml`` or a ``pyproject.toml`` with ``[tool.mlscore]``);
3. ``[tool.mlscore]`` in the audited tree's ``pyproject.toml``;
4. the audited tree's ``.mlscore.toml``;
5. defaults.

``--isolated`` skips 3 and 4. Lists from different files are not merged: the higher source wins whole,
except attestations and waivers, which are gathered from every file read (each keeps its source).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlscore.errors import ConfigError
from mlscore.guard import DEFAULT_AUDIT_SECONDS, DEFAULT_DETECTOR_SECONDS, DEFAULT_EXTRACTOR_SECONDS
from mlscore.models import RULE_ID_RE, Attestation, Diagnostic, Level

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_CONFIG_BYTES = 1024 * 1024


def debug_enabled() -> bool:
    """Whether MLSCORE_DEBUG asks for tracebacks instead of one-line internal errors."""
    return os.environ.get("MLSCORE_DEBUG", "") not in ("", "0", "false", "no")


def env(name: str) -> str | None:
    """Read one environment variable (config.py is the only module that reads the environment)."""
    return os.environ.get(name)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConfigSyntaxError(ConfigError):
    """The file is not readable TOML at all (as opposed to a TOML file with a wrong key)."""


class AttestEntry(_Strict):
    rule: str
    owner: str = Field(min_length=1)
    date: dt.date
    link: str | None = None
    expires: dt.date | None = None
    note: str | None = None
    level: Literal["manual", "automated"] = "manual"

    @field_validator("rule")
    @classmethod
    def _rule(cls, value: str) -> str:
        value = value.strip().upper()
        if not RULE_ID_RE.match(value):
            raise ValueError(f"not a rubric test id: {value!r} (expected DATA1..MON7)")
        return value


class WaiveEntry(_Strict):
    rule: str
    reason: str = Field(min_length=1)
    owner: str | None = None
    expires: dt.date | None = None

    _rule = field_validator("rule")(AttestEntry._rule.__func__)  # type: ignore[attr-defined]


class FileConfig(_Strict):
    """The keys accepted in ``[tool.mlscore]`` and ``.mlscore.toml``."""

    select: list[str] | None = None
    ignore: list[str] | None = None
    fail_under: float | None = Field(default=None, ge=0, le=14)
    fail_on_drop: bool | None = None
    scoring: Literal["2017", "2016"] | None = None
    exclude: list[str] | None = None
    rules_dirs: list[str] | None = None
    signal_dirs: list[str] | None = None
    data_reports: list[str] | None = None
    probe_reports: list[str] | None = None
    tests_reports: list[str] | None = None
    report_max_age_days: float | None = Field(default=None, gt=0, le=3650)
    detector_budget: float | None = Field(default=None, ge=0, le=3600)
    extractor_budget: float | None = Field(default=None, ge=0, le=3600)
    audit_budget: float | None = Field(default=None, ge=0, le=86400)
    attest: list[AttestEntry] = Field(default_factory=list)
    waive: list[WaiveEntry] = Field(default_factory=list)

    @field_validator("scoring", mode="before")
    @classmethod
    def _scoring(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class Config(_Strict):
    """The resolved configuration an audit runs with."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_under: float | None = None
    fail_on_drop: bool = False
    scoring: Literal["2017", "2016"] = "2017"
    exclude: tuple[str, ...] = ()
    rules_dirs: tuple[str, ...] = ()
    #: Directories of signal files (rules/signals/*.yaml format) added to the bundled catalog; only --config.
    signal_dirs: tuple[str, ...] = ()
    data_reports: tuple[str, ...] = ()
    probe_reports: tuple[str, ...] = ()
    #: mlscore-tests.json files of pytest-mlscore given besides those in the tree (which are always read).
    tests_reports: tuple[str, ...] = ()
    #: A data or probe report older than this many days is not counted (its own expiry applies in any case).
    report_max_age_days: float | None = None
    #: Seconds each detector / structured extractor may run before it is stopped and its tests are reported
    #: incomplete (0: no limit). Only a ``--config`` file sets them: the audited tree's own config cannot.
    detector_budget: float = Field(default=DEFAULT_DETECTOR_SECONDS, ge=0)
    extractor_budget: float = Field(default=DEFAULT_EXTRACTOR_SECONDS, ge=0)
    #: Seconds all extractors and detectors of the audit may take together (0: no limit; only from --config).
    audit_budget: float = Field(default=DEFAULT_AUDIT_SECONDS, ge=0)
    attestations: tuple[Attestation, ...] = ()
    waivers: tuple[tuple[str, str, str], ...] = ()  # (rule, reason, source)
    sources: tuple[str, ...] = ()  # config files read, in precedence order
    notes: tuple[Diagnostic, ...] = ()  # files and settings ignored, reported in the audit's diagnostics

    def digest(self) -> str:
        import hashlib

        # an unset report_max_age_days leaves the digests of earlier configurations (and reports) unchanged
        exclude = {"sources"} | ({"report_max_age_days"} if self.report_max_age_days is None else set()) \
            | ({"tests_reports"} if not self.tests_reports else set())
        return hashlib.sha256(self.model_dump_json(exclude=exclude).encode()).hexdigest()[:16]


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation_message(where: str, exc: ValidationError, known: list[str]) -> str:
    errors = exc.errors()
    # a typo shows up twice (the unknown key, and the missing key it meant): name the typo
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = _format_loc(tuple(err["loc"]))
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        table = str(err["loc"][0]) if len(err["loc"]) > 1 else None
        if table in ("attest", "waive"):
            known = list((AttestEntry if table == "attest" else WaiveEntry).model_fields)
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(known)})"
        return f"{where}: unknown key {loc!r}{hint}"
    return f"{where}: {loc}: {err['msg']}"


def read_file_config(path: Path, *, section_required: bool = False, data: bytes | None = None) -> FileConfig | None:
    """Parse one config file (or ``data``, its bytes from a git commit); None when a pyproject.toml has no
    [tool.mlscore]."""
    if data is None:
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigSyntaxError(f"{path}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigSyntaxError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; not a config file")
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigSyntaxError(f"{path}: not valid UTF-8") from None
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigSyntaxError(f"{path}: invalid TOML: {exc}") from None
    where = str(path)
    if path.name == "pyproject.toml":
        table = doc.get("tool", {}).get("mlscore") if isinstance(doc.get("tool"), dict) else None
        if table is None:
            if section_required:
                raise ConfigError(f"{path}: has no [tool.mlscore] table")
            return None
        where = f"{path}: [tool.mlscore]"
    else:
        table = doc.get("tool", {}).get("mlscore", doc) if isinstance(doc.get("tool"), dict) else doc
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    try:
        return FileConfig.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(_validation_message(where, exc, list(FileConfig.model_fields))) from None


def load_config(
    target: Path,
    *,
    config_file: Path | None = None,
    isolated: bool = False,
    overrides: dict[str, Any] | None = None,
    today: dt.date | None = None,
    tree: Any = None,
) -> Config:
    """Resolve the configuration for auditing ``target`` (see the module docstring for precedence).

    ``tree``: a ``mlscore.facts.files.FileIndex`` of a git commit; its own ``pyproject.toml`` and
    ``.mlscore.toml`` are read instead of the work tree's, so a base commit is scored with the
    attestations it had.
    """
    today = today or dt.date.today()
    files: list[tuple[Path, FileConfig]] = []
    early_notes: list[Diagnostic] = []
    if config_file is not None:
        loaded = read_file_config(config_file, section_required=config_file.name == "pyproject.toml")
        if loaded is not None:
            files.append((config_file, loaded))
    if not isolated:
        root = target if target.is_dir() else target.parent
        for candidate in (root / "pyproject.toml", root / ".mlscore.toml"):
            try:
                if tree is not None:
                    blob = tree.read_bytes(candidate.name, limit=MAX_CONFIG_BYTES)
                    loaded = None if blob is None else read_file_config(candidate, data=blob)
                elif candidate.is_file() and not candidate.is_symlink():
                    loaded = read_file_config(candidate)
                else:
                    loaded = None
            except ConfigSyntaxError as exc:
                # The audited tree's own file is broken: report it and audit on (a key typo still fails).
                message = str(exc).split(": ", 1)[-1]
                early_notes.append(Diagnostic(path=candidate.name,
                                              message=f"{message}; its [tool.mlscore] settings were not read"))
                loaded = None
            if loaded is not None:
                files.append((candidate, loaded))
    values: dict[str, Any] = {}
    notes: list[Diagnostic] = list(early_notes)
    root = (target if target.is_dir() else target.parent).resolve()
    for key in ("select", "ignore", "fail_under", "fail_on_drop", "scoring", "exclude", "rules_dirs", "signal_dirs",
                "data_reports", "probe_reports", "tests_reports", "report_max_age_days", "detector_budget",
                "extractor_budget", "audit_budget"):
        for path, cfg in files:
            value = getattr(cfg, key)
            if value is None:
                continue
            own = config_file is None or path != config_file  # from the audited tree, maybe a pull request
            if key in ("rules_dirs", "signal_dirs") and own:
                # Rules and signals decide the score: a pull request must not be able to rewrite them for itself.
                notes.append(Diagnostic(path=path.name, message=f"{key} in the audited tree's own config is "
                                        "ignored (pass the config with --config to use it)"))
                break
            if key in ("detector_budget", "extractor_budget", "audit_budget") and own:
                # A pull request must not be able to lift the limits that keep its own audit bounded.
                notes.append(Diagnostic(path=path.name, message=f"{key} in the audited tree's own config is "
                                        "ignored (pass the config with --config to use it)"))
                break
            if key in ("rules_dirs", "signal_dirs", "data_reports", "probe_reports", "tests_reports"):
                resolved = [(path.parent / v) for v in value]
                if own:
                    inside = [p for p in resolved if _inside(p, root)]
                    notes.extend(Diagnostic(path=path.name, message=f"{key} entry {str(p)!r} is outside the "
                                            "audited tree; ignored") for p in resolved if p not in inside)
                    resolved = inside
                value = [str(p) for p in resolved]
            values[key] = tuple(value) if isinstance(value, list) else value
            break
    attestations: list[Attestation] = []
    waivers: list[tuple[str, str, str]] = []
    for path, cfg in files:
        table = "[tool.mlscore]" if path.name == "pyproject.toml" else ""
        for i, entry in enumerate(cfg.attest):
            expired = entry.expires is not None and entry.expires < today
            attestations.append(
                Attestation(
                    rule=entry.rule,
                    owner=entry.owner,
                    date=entry.date.isoformat(),
                    link=entry.link,
                    expires=entry.expires.isoformat() if entry.expires else None,
                    level=Level(entry.level),
                    note=entry.note,
                    expired=expired,
                    source=f"{path.name} {table}attest[{i}]".replace("  ", " "),
                )
            )
        for entry in cfg.waive:
            if entry.expires is None or entry.expires >= today:
                waivers.append((entry.rule, entry.reason, path.name))
    for key, value in (overrides or {}).items():
        if value is None or value == ():
            continue
        values[key] = tuple(value) if isinstance(value, list) else value
    return Config(
        **values,
        attestations=tuple(attestations),
        waivers=tuple(waivers),
        sources=tuple(str(p) for p, _ in files),
        notes=tuple(notes),
    )


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return True
