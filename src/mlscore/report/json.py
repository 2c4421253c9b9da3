"""The JSON format: the full report as `Report.model_dump_json()`, the shape of schemas/report.schema.json."""

from __future__ import annotations

from mlscore.models import Report
from mlscore.report import RenderOptions


def render(report: Report, options: RenderOptions) -> str:
    """Render the full report as indented JSON (field order fixed by the model, so output is stable)."""
    return report.model_dump_json(indent=2) + "\n"
