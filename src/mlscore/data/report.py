"""The DataReport record that `mlscore data check` produces and `mlscore audit --data-report` reads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mlscore.models import Check, Diagnostic, _Record
from mlscore.provenance import Provenance

DATA_REPORT_SCHEMA_VERSION = "1"


class DriftRow(_Record):
    column: str
    kind: str | None
    method: str
    statistic_name: str
    statistic: float | None
    threshold: float
    drifted: bool | None
    reference_n: int
    current_n: int
    n_unique: int | None = None
    approximate: bool = False
    note: str | None = None
    test: str | None = None
    p_value: float | None = None
    q_value: float | None = None
    evidently_drifted: bool | None = None
    important: bool = False


class ColumnStats(_Record):
    count: int
    null_count: int
    n_unique: int | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    median: float | None = None
    top: tuple[tuple[str, int], ...] = ()


class ColumnSummary(_Record):
    name: str
    kind: str | None
    dtype: str | None = None
    role: Literal["feature", "target", "prediction"] = "feature"
    reference: ColumnStats | None = None
    current: ColumnStats | None = None
    drift: DriftRow | None = None
    plot: dict[str, Any] = Field(
        default_factory=dict,
        description="Bins (numeric: edges; categorical: labels) with reference and current shares.",
    )


class DataReport(_Record):
    """Checks over a reference and a current dataset; each check names the rubric tests it serves."""

    schema_version: str = DATA_REPORT_SCHEMA_VERSION
    kind: Literal["data"] = "data"
    tool: str = "mlscore"
    version: str
    generated_at: str
    status: Literal["passing", "warning", "failing", "unknown"]
    inputs: dict[str, str | None] = Field(default_factory=dict)
    reference_rows: int | None = None
    current_rows: int | None = None
    checks: tuple[Check, ...] = ()
    dataset_drift: dict[str, Any] = Field(default_factory=dict)
    columns: tuple[ColumnSummary, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    timings: dict[str, float] = Field(default_factory=dict)
    provenance: Provenance | None = Field(
        default=None, description="The project, commit and datasets it describes, when made, until when it counts.")

    def check(self, check_id: str) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)


def overall_status(
    checks: tuple[Check, ...] | list[Check],
) -> Literal["passing", "warning", "failing", "unknown"]:
    if any(c.status in ("failing", "error") for c in checks):
        return "failing"
    if any(c.status == "warning" for c in checks):
        return "warning"
    if any(c.status == "passing" for c in checks):
        return "passing"
    return "unknown"
