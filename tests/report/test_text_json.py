"""Golden and behaviour tests for the text and JSON formats."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlscore.errors import MlscoreError
from mlscore.models import Report
from mlscore.report import EXTENSIONS, FORMATS, RenderOptions, render
from mlscore.report.diff import compare

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_registry_lists_every_format_with_an_extension() -> None:
    assert set(FORMATS) == set(EXTENSIONS) == {"text", "json", "sarif", "markdown", "html", "junit",
                                                     "summary"}


def test_unknown_format_is_a_usage_error(head_report: Report) -> None:
    with pytest.raises(MlscoreError, match="unknown report format 'yaml'"):
        render(head_report, "yaml")


def test_text_golden(head_report: Report, golden) -> None:  # type: ignore[no-untyped-def]
    golden("report.txt", render(head_report, "text"))


def test_text_with_diff_golden(head_report: Report, base_report: Report, golden) -> None:  # type: ignore[no-untyped-def]
    text = render(head_report, "text", RenderOptions(diff=compare(base_report, head_report)))
    golden("report-diff.txt", text)


def test_text_calls_out_weakest_section_first(head_report: Report) -> None:
    text = render(head_report, "text")
    sections = text.split("Sections, weakest first", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert sections[0].lstrip().startswith("Monitoring")
    assert "weakest" in sections[0]
    assert "ML Test Score: 2 of 7" in text
    assert "There's been first pass at basic productionization" in text


def test_text_lists_every_test_with_level_points_evidence_and_next_step(
    head_report: Report,
) -> None:
    text = render(head_report, "text")
    for result in head_report.results:
        assert re.search(rf"^  {result.rule_id}\s+{result.level.value}\s", text, re.M), (
            result.rule_id
        )
    assert "tests/test_pipeline.py:3" in text
    assert "next: Deploy the mlscore sidecar" in text
    # automated tests have no next step line
    mon1 = text.split("  MON1 ", 1)[1].split("\n  MON2", 1)[0]
    assert "next:" not in mon1


def test_text_colour_only_when_asked(head_report: Report) -> None:
    plain = render(head_report, "text", RenderOptions(color=False))
    coloured = render(head_report, "text", RenderOptions(color=True))
    assert "\x1b[" not in plain
    assert "\x1b[" in coloured
    assert ANSI.sub("", coloured) == plain


def test_json_is_the_full_report_and_round_trips(head_report: Report, golden) -> None:  # type: ignore[no-untyped-def]
    text = render(head_report, "json")
    golden("report.json", text)
    assert Report.model_validate_json(text) == head_report
    assert json.loads(text)["score"]["value"] == 2.0


def test_render_is_deterministic(head_report: Report) -> None:
    for fmt in ("text", "json"):
        assert render(head_report, fmt) == render(head_report, fmt)
