"""The rubric as data: the RuleSpec model, loading and validating rules/*.yaml, select/ignore."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlscore.errors import InputError
from mlscore.models import RULE_ID_RE, Section

__all__ = [
    "Catalog",
    "Detector",
    "Example",
    "Remediation",
    "RuleSpec",
    "builtin_rules_dir",
    "load_catalog",
    "load_rule_file",
    "normalize_id",
    "rule_json_schema",
]

#: A rule file is a few kilobytes; anything much larger is not a rule file.
MAX_RULE_FILE_BYTES = 256 * 1024
#: Bound on nodes visited when walking a parsed file, which defeats YAML alias bombs.
MAX_RULE_NODES = 20_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

EvidenceSource = Literal["repository", "data", "probe", "sidecar", "attestation"]

_SECTION_PREFIX = {
    Section.DATA: "DATA",
    Section.MODEL: "MODEL",
    Section.INFRASTRUCTURE: "INFRA",
    Section.MONITORING: "MON",
}
#: Section names accepted as selection prefixes (``--select monitoring``).
_SECTION_ALIASES = {
    "data": "DATA",
    "model": "MODEL",
    "infra": "INFRA",
    "infrastructure": "INFRA",
    "mon": "MON",
    "monitor": "MON",
    "monitoring": "MON",
}


def http_urls(value: tuple[str, ...]) -> tuple[str, ...]:
    """``value`` if every item is an http(s) URL, else ValueError naming the first that is not."""
    bad = [item for item in value if not re.match(r"^https?://\S+$", item)]
    if bad:
        raise ValueError(f"not an http(s) URL: {bad[0]!r}")
    return value


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Detector(_Spec):
    """A detector the engine runs for a rule, by its name in ``mlscore.detectors``, with parameters."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Key in the detector registry.")
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters, validated by the detector.")


class Example(_Spec):
    """A concrete, copyable example: a code snippet, a config block or a command."""

    kind: Literal["snippet", "config", "command"]
    language: Literal["python", "yaml", "toml", "bash"]
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)


class Remediation(_Spec):
    """The cheapest next steps that raise a test's level, and one example of the automated form.

    The texts may name placeholders (``{ci_job}``, ``{schedule}``, ``{slices}``...: ``mlscore.remediation``) that
    the audit fills with what the repository uses."""

    to_manual: str = Field(min_length=1, description="From none to manual (0 -> 0.5).")
    to_automated: str = Field(min_length=1, description="From manual to automated (0.5 -> 1).")
    example: Example

    @field_validator("to_manual", "to_automated")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        import string

        from mlscore.remediation import PLACEHOLDERS

        try:
            fields = {f for _lit, f, _spec, _conv in string.Formatter().parse(value) if f is not None}
        except ValueError as exc:
            raise ValueError(f"unbalanced braces: {exc}") from None
        unknown = sorted(f for f in fields if f not in PLACEHOLDERS)
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}} (known: {', '.join(sorted(PLACEHOLDERS))})")
        return value


class RuleSpec(_Spec):
    """One test of the ML Test Score, as stored in ``rules/<ID>.yaml``."""

    id: str = Field(pattern=RULE_ID_RE.pattern, description="Stable id, never reused: DATA1..MON7.")
    section: Section
    name: str = Field(
        pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", description="Kebab-case slug; the SARIF rule name."
    )
    title: str = Field(min_length=1, description="The paper's short title (Tables I-IV).")
    heading: str = Field(min_length=1, description="The paper's heading for the test in the body text.")
    paper: str = Field(min_length=1, description="Where the test is in the paper.")
    asks: str = Field(min_length=1, description="What the test asks, in our own words.")
    manual: str = Field(min_length=1, description="What earns 0.5: done by hand, results documented.")
    automated: str = Field(min_length=1, description="What earns 1: a system runs it repeatedly.")
    not_evidence: tuple[str, ...] = Field(min_length=1, description="Tempting signals that prove nothing.")
    human_only: bool = Field(description="Realistically only people can vouch for it from a repository.")
    attestation_hint: str | None = Field(
        default=None, description="What a team should record in an attestation for this test."
    )
    evidence_sources: tuple[EvidenceSource, ...] = Field(min_length=1)
    detectors: tuple[Detector, ...] = Field(min_length=1)
    remediation: Remediation
    precision: Literal["very-high", "high", "medium", "low"]
    severity: Literal["note", "warning", "error"]
    references: tuple[str, ...] = Field(min_length=1)
    deprecated: bool = False

    @field_validator("not_evidence", "references")
    @classmethod
    def _non_empty_items(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not item.strip() for item in value):
            raise ValueError("items must not be empty")
        return value

    @field_validator("references")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return http_urls(value)

    @field_validator("evidence_sources")
    @classmethod
    def _unique_sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("sources must not repeat")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RuleSpec:
        prefix = re.sub(r"\d+$", "", self.id)
        if _SECTION_PREFIX[self.section] != prefix:
            expected = next(s for s, p in _SECTION_PREFIX.items() if p == prefix)
            raise ValueError(f"section {self.section.value!r} does not match id {self.id}: use {expected.value!r}")
        if self.human_only and not self.attestation_hint:
            raise ValueError("attestation_hint is required when human_only is true")
        if self.human_only and "attestation" not in self.evidence_sources:
            raise ValueError("evidence_sources must include 'attestation' when human_only is true")
        return self

    @property
    def number(self) -> int:
        """The test's number within its section (DATA3 -> 3)."""
        return int(self.id[-1])


def rule_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of a rule file, as checked in at ``rules/rule.schema.json``."""
    schema = RuleSpec.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/mlscore/mlscore/blob/main/rules/rule.schema.json",
        **schema,
    }


@dataclass(frozen=True)
class Catalog:
    """The loaded rubric: rules in paper order, where each came from, and prefix selection."""

    rules: tuple[RuleSpec, ...]
    sources: Mapping[str, str] = field(default_factory=dict)
    overridden: frozenset[str] = frozenset()

    def __iter__(self) -> Iterator[RuleSpec]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __contains__(self, rule_id: object) -> bool:
        return any(rule.id == rule_id for rule in self.rules)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)

    def get(self, rule_id: str) -> RuleSpec:
        """Return a rule by id or name: ``MON3``, ``mon3``, ``Monitor 3`` or ``training-serving-skew``.

        Unknown ids raise InputError with the closest ids and names.
        """
        wanted = normalize_id(rule_id)
        for rule in self.rules:
            if rule.id == wanted or rule.name == rule_id.strip().lower():
                return rule
        section = _SECTION_ALIASES.get(rule_id.strip().lower(), wanted)
        if section in _SECTION_PREFIX.values():
            raise InputError(
                f"{rule_id!r} is a section, not a test: {section}1 to {section}7 "
                f"(list them with: mlscore rules --select {section})"
            )
        numbered = re.fullmatch(r"(DATA|MODEL|INFRA|MON)\d+", wanted)
        if numbered:
            prefix = numbered.group(1)
            raise InputError(f"unknown rule {rule_id!r} (the {prefix} tests are {prefix}1 to {prefix}7)")
        choices = list(self.ids) + [rule.name for rule in self.rules]
        raise InputError(f"unknown rule {rule_id!r}{_did_you_mean(wanted, choices, rule_id.strip().lower())}")

    def select(self, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> tuple[RuleSpec, ...]:
        """Return the rules chosen by id prefixes, in paper order; the longest matching prefix wins.

        ``select`` empty means every rule. A rule matched by both lists goes with the longer
        prefix (``--select MON --ignore MON3`` keeps MON1-2 and MON4-7; ``--select MON3
        --ignore MON`` keeps only MON3); on a tie it is ignored. Section names work as prefixes
        (``monitoring`` = ``MON``). Deprecated rules are only chosen when selected by their id.
        Unknown prefixes raise InputError.
        """
        sel = [self._prefix(p) for p in _split(select)]
        ign = [self._prefix(p) for p in _split(ignore)]
        chosen = []
        for rule in self.rules:
            s = max((len(p) for p in sel if rule.id.startswith(p)), default=-1)
            i = max((len(p) for p in ign if rule.id.startswith(p)), default=-1)
            if not sel:
                s = 0
            if s < 0 or i >= s:
                continue
            if rule.deprecated and rule.id not in sel:
                continue
            chosen.append(rule)
        return tuple(chosen)

    def _prefix(self, raw: str) -> str:
        prefix = _SECTION_ALIASES.get(raw.lower(), raw.upper())
        if not any(rule_id.startswith(prefix) for rule_id in self.ids):
            choices = list(self.ids) + sorted(set(_SECTION_ALIASES.values()))
            raise InputError(f"unknown rule or prefix {raw!r}{_did_you_mean(prefix, choices)}")
        return prefix

    def detector_names(self) -> frozenset[str]:
        """Every detector name the rules use, for checking against the detector registry."""
        return frozenset(d.name for rule in self.rules for d in rule.detectors)


def _split(values: Iterable[str]) -> list[str]:
    """Accept repeated options and comma-separated lists alike: ('MON,DATA1', 'INFRA')."""
    if isinstance(values, str):
        values = [values]
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


_WORD_PREFIX = {"MONITORING": "MON", "MONITOR": "MON", "INFRASTRUCTURE": "INFRA", "FEATURES": "DATA"}


def normalize_id(raw: str) -> str:
    """Turn the paper's and people's spellings of an id into ours: 'Monitor 3', 'mon-3' -> 'MON3'."""
    compact = re.sub(r"[\s_\-.:]+", "", raw).upper()
    match = re.fullmatch(r"([A-Z]+)(\d+)", compact)
    if match:
        return _WORD_PREFIX.get(match.group(1), match.group(1)) + match.group(2)
    return compact


def _did_you_mean(wanted: str, choices: Iterable[str], *alternatives: str) -> str:
    """Suggest the closest choices: the best match and any nearly as close, at most three."""
    scored: dict[str, float] = {}
    for candidate in (wanted, *alternatives):
        for choice in choices:
            ratio = difflib.SequenceMatcher(None, candidate, choice).ratio()
            if ratio >= 0.6:
                scored[choice] = max(scored.get(choice, 0.0), ratio)
    if not scored:
        return ""
    best = max(scored.values())
    close = sorted((c for c, r in scored.items() if r >= best - 0.05), key=lambda c: (-scored[c], c))
    return f" (did you mean {', '.join(close[:3])}?)"


def builtin_rules_dir() -> Any:
    """Locate the bundled rules: ``mlscore/_data/rules`` in a wheel, ``<repo>/rules`` in a checkout."""
    from importlib.resources import files

    packaged = files("mlscore").joinpath("_data", "rules")
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "rules"
    if checkout.is_dir():
        return checkout
    raise InputError(f"the bundled rules directory is missing (looked in {packaged} and {checkout})")


def _describe(path: Any) -> str:
    return str(path)


def _count_nodes(value: Any, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("too many nodes (YAML aliases expanding?)")
    if isinstance(value, dict):
        for key, item in value.items():
            _count_nodes(key, budget)
            _count_nodes(item, budget)
    elif isinstance(value, list):
        for item in value:
            _count_nodes(item, budget)


def _error_location(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def _format_validation(where: str, exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required key is missing"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {_error_location(first)}: {message}{more}"


def load_rule_file(path: Any, expected_id: str | None = None) -> RuleSpec:
    """Read and validate one rule file; any problem raises InputError naming the file and key."""
    where = _describe(path)
    try:
        if not path.is_file():
            raise InputError(f"{where}: not a regular file")
        with path.open("rb") as handle:  # bounded read: a symlink to /dev/zero must not hang the load
            raw = handle.read(MAX_RULE_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_RULE_FILE_BYTES:
        raise InputError(f"{where}: too large for a rule file (limit {MAX_RULE_FILE_BYTES} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 (invalid byte at offset {exc.start})") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}{pos}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else type(data).__name__
        raise InputError(f"{where}: expected a mapping of rule keys at the top level, got {kind}")
    try:
        _count_nodes(data, [MAX_RULE_NODES])
    except (ValueError, RecursionError):
        raise InputError(f"{where}: too many YAML nodes (limit {MAX_RULE_NODES}); aliases are not allowed to expand") from None
    try:
        rule = RuleSpec.model_validate(data)
    except ValidationError as exc:
        raise InputError(_format_validation(where, exc)) from None
    if expected_id is not None and rule.id != expected_id:
        raise InputError(f"{where}: id: {rule.id!r} does not match the file name (expected {expected_id!r})")
    return rule


def _rule_files(directory: Any) -> dict[str, Any]:
    """Map rule id -> file for every ``<ID>.yaml``/``<ID>.yml`` in a directory; other names are errors."""
    where = _describe(directory)
    if not directory.is_dir():
        raise InputError(f"{where}: rules directory not found")
    found: dict[str, Any] = {}
    for entry in sorted(directory.iterdir(), key=lambda e: e.name):
        name = entry.name
        stem, dot, ext = name.rpartition(".")
        if not dot or ext not in ("yaml", "yml"):
            continue
        if not RULE_ID_RE.match(stem):
            raise InputError(
                f"{where}/{name}: a rule file must be named <ID>.yaml with ID in DATA1..DATA7, MODEL1..MODEL7, "
                f"INFRA1..INFRA7, MON1..MON7{_did_you_mean(stem.upper(), _all_ids())}"
            )
        if stem in found:
            raise InputError(f"{where}/{name}: {stem} is defined twice in this directory")
        found[stem] = entry
    return found


def _all_ids() -> list[str]:
    return [f"{prefix}{n}" for prefix in _SECTION_PREFIX.values() for n in range(1, 8)]


def _sort_key(rule_id: str) -> tuple[int, int]:
    prefix = re.sub(r"\d+$", "", rule_id)
    return list(_SECTION_PREFIX.values()).index(prefix), int(rule_id[len(prefix):])


def _load_dir(directory: Any, *, require_all: bool) -> tuple[dict[str, RuleSpec], dict[str, str]]:
    files = _rule_files(directory)
    if require_all:
        missing = [rule_id for rule_id in _all_ids() if rule_id not in files]
        if missing:
            raise InputError(f"{_describe(directory)}: missing rule files: {', '.join(missing)}")
    rules = {rule_id: load_rule_file(path, expected_id=rule_id) for rule_id, path in files.items()}
    return rules, {rule_id: _describe(path) for rule_id, path in files.items()}


_BUILTIN: tuple[dict[str, RuleSpec], dict[str, str]] | None = None


def load_catalog(extra_dirs: Iterable[str | Path] = ()) -> Catalog:
    """Load the bundled 28 rules, then each extra directory in order; a later file replaces a rule by id.

    A user's rules directory holds files named like the bundled ones (``MON3.yaml``) and each
    replaces that rule entirely (its text, detectors and parameters, remediation). The rubric has
    exactly 28 tests, so new ids are not accepted. The bundled rules are parsed once per process.
    """
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = _load_dir(builtin_rules_dir(), require_all=True)
    rules = dict(_BUILTIN[0])
    sources = dict(_BUILTIN[1])
    overridden: set[str] = set()
    for directory in extra_dirs:
        extra_rules, extra_sources = _load_dir(Path(directory), require_all=False)
        rules.update(extra_rules)
        sources.update(extra_sources)
        overridden.update(extra_rules)
    ordered = tuple(rules[rule_id] for rule_id in sorted(rules, key=_sort_key))
    return Catalog(rules=ordered, sources=sources, overridden=frozenset(overridden))
