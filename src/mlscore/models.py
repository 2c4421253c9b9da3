"""Frozen pydantic records shared by every source of evidence and every formatter."""

from __future__ import annotations

import re
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlscore.rubric_ids import (
    RULE_ID_RE,  # re-exported: the models and the pytest plugin share one pattern
)

REPORT_SCHEMA_VERSION = "1"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Section(str, Enum):
    DATA = "data"
    MODEL = "model"
    INFRASTRUCTURE = "infrastructure"
    MONITORING = "monitoring"

    @property
    def title(self) -> str:
        return {
            "data": "Data",
            "model": "Model",
            "infrastructure": "ML infrastructure",
            "monitoring": "Monitoring",
        }[self.value]

    @classmethod
    def of_rule(cls, rule_id: str) -> Section:
        prefix = re.sub(r"\d+$", "", rule_id)
        return {"DATA": cls.DATA, "MODEL": cls.MODEL, "INFRA": cls.INFRASTRUCTURE, "MON": cls.MONITORING}[
            prefix
        ]


class Level(str, Enum):
    """How a rubric test is done: not at all, by hand with documented results, or automatically."""

    NONE = "none"
    MANUAL = "manual"
    AUTOMATED = "automated"

    @property
    def rank(self) -> int:
        return {"none": 0, "manual": 1, "automated": 2}[self.value]


class Status(str, Enum):
    """Whether the check itself passes, where that is known (the rubric scores having it, not passing)."""

    PASSING = "passing"
    FAILING = "failing"
    UNKNOWN = "unknown"


class Location(_Record):
    path: str = Field(description="Repository-relative POSIX path, or a URL.")
    line: int | None = Field(default=None, ge=1)
    end_line: int | None = Field(default=None, ge=1)

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        if self.end_line and self.end_line != self.line:
            return f"{self.path}:{self.line}-{self.end_line}"
        return f"{self.path}:{self.line}"


class Evidence(_Record):
    """One observed fact that supports a rule result. It records what was seen, never an opinion."""

    summary: str
    location: Location | None = None
    level: Level = Level.MANUAL
    kind: Literal[
        "code", "test", "notebook", "ci", "schedule", "manifest", "monitoring", "doc", "config",
        "dependency", "git", "attestation", "data", "probe", "sidecar",
    ] = "code"
    trigger: str | None = Field(
        default=None, description="What runs it automatically, e.g. '.github/workflows/ci.yml:12 (push)'."
    )


class Attestation(_Record):
    """A team's record that a test is done by hand (or automatically, outside the repository)."""

    rule: str
    owner: str
    date: str
    link: str | None = None
    expires: str | None = None
    level: Level = Level.MANUAL
    note: str | None = None
    expired: bool = False
    source: str | None = Field(default=None, description="Config file and key it came from.")


class RuleResult(_Record):
    rule_id: str
    section: Section
    title: str
    level: Level
    points: float
    status: Status = Status.UNKNOWN
    evidence: tuple[Evidence, ...] = ()
    rationale: str
    next_step: str = ""
    human_only: bool = Field(default=False, description="Only people can vouch for it: use an attestation.")
    attestation: Attestation | None = None
    waived: str | None = Field(default=None, description="Waiver reason; a waived test still scores as found.")
    error: str | None = Field(default=None, description="The detector failed; the test scores as none.")
    incomplete: str | None = Field(
        default=None,
        description="Why the result may lack evidence: a detector failed or ran out of its time budget, or an "
                    "extractor whose facts it reads did. Its level is a lower bound, not a finding of absence.",
    )

    @field_validator("rule_id")
    @classmethod
    def _rule_id(cls, value: str) -> str:
        if not RULE_ID_RE.match(value):
            raise ValueError(f"not a rubric test id: {value!r}")
        return value


class SectionScore(_Record):
    section: Section
    points: float
    max_points: float
    automated: int
    manual: int
    none: int


class Score(_Record):
    scoring: Literal["2017", "2016"] = "2017"
    value: float = Field(description="The ML Test Score: the minimum over the four section sums.")
    band: str = Field(description="The interval of the paper's Table V the score falls in, e.g. '(1, 2]'.")
    band_text: str
    sections: tuple[SectionScore, ...]
    weakest: tuple[Section, ...]


class Diagnostic(_Record):
    """Something mlscore could not read or decide, tied to the file it concerns."""

    path: str | None = None
    message: str
    severity: Literal["warning", "error"] = "warning"


class Target(_Record):
    path: str
    name: str
    commit: str | None = None
    ref: str | None = None
    remote_url: str | None = None
    web_url: str | None = Field(default=None, description="Browsable URL of the repository, when known.")
    files: int = 0


class Check(_Record):
    """One check run by `mlscore data` or `mlscore probe`, tied to the rubric tests it serves."""

    id: str
    rules: tuple[str, ...]
    title: str
    status: Literal["passing", "warning", "failing", "unknown", "skipped", "error"]
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class Report(_Record):
    """The audit report. `model_dump_json()` is the JSON format; its schema is checked in."""

    schema_version: str = REPORT_SCHEMA_VERSION
    kind: Literal["audit"] = "audit"
    tool: str = "mlscore"
    version: str
    generated_at: str
    target: Target
    config_digest: str | None = None
    selected: tuple[str, ...] = ()
    score: Score
    results: tuple[RuleResult, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    inputs: tuple[str, ...] = Field(default=(), description="Extra reports used as evidence (data, probe).")

    def result(self, rule_id: str) -> RuleResult | None:
        return next((r for r in self.results if r.rule_id == rule_id), None)
