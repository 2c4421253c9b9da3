"""The ProbeReport: what one probe run proved about the rubric, as checks with rubric ids."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlscore.models import Check, Diagnostic
from mlscore.provenance import Provenance

PROBE_SCHEMA_VERSION = "1"

#: The rubric tests the probe can give evidence for.
PROBE_RULES: tuple[str, ...] = ("INFRA6", "INFRA7", "MON2", "MON3", "MON4", "MON5", "MON6")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProbeTarget(_Record):
    url: str
    model: str | None = None
    protocol: str
    detected: bool = Field(description="True when --protocol auto chose the protocol.")
    detected_by: str = Field(description="What answered, and how that decided the protocol.")
    tried: tuple[str, ...] = ()
    server: dict[str, Any] = Field(default_factory=dict)
    infer_path: str | None = None
    headers: tuple[str, ...] = Field(default=(), description="Names of headers sent (values are never recorded).")


class ProbeLimits(_Record):
    max_requests: int
    time_budget_s: float
    max_rate: float | None
    timeout_s: float
    requests: int
    concurrency: int
    verify_tls: bool


class ProbeReport(_Record):
    """``mlscore probe`` output; ``mlscore audit --probe-report`` reads it as evidence."""

    schema_version: str = PROBE_SCHEMA_VERSION
    kind: Literal["probe"] = "probe"
    tool: str = "mlscore"
    version: str
    generated_at: str
    target: ProbeTarget
    limits: ProbeLimits
    requests_sent: int
    duration_s: float
    checks: tuple[Check, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    provenance: Provenance | None = Field(
        default=None, description="The project, commit and endpoint it describes, when made, until when it counts.")

    def counts(self) -> dict[str, int]:
        out = {"passing": 0, "failing": 0, "unknown": 0, "skipped": 0, "error": 0}
        for check in self.checks:
            out[check.status] += 1
        return out

    def by_rule(self) -> dict[str, list[Check]]:
        out: dict[str, list[Check]] = {rule: [] for rule in PROBE_RULES}
        for check in self.checks:
            for rule in check.rules:
                out.setdefault(rule, []).append(check)
        return out

    def rule_status(self, rule: str) -> str:
        """failing if any check for the rule fails, passing if one passes, else unknown."""
        statuses = {c.status for c in self.by_rule().get(rule, [])}
        if "failing" in statuses:
            return "failing"
        if "passing" in statuses:
            return "passing"
        return "unknown"
