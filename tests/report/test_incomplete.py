"""An incomplete test (a detector or extractor failed or ran out of time) is said so in every format, never
shown as a plain 0."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from mlscore.github.workflow import report_annotations
from mlscore.models import Level, Report
from mlscore.report import RenderOptions, render
from mlscore.report.diff import compare

REASON = "detector mon3 stopped after its 10 s time budget"


@pytest.fixture
def incomplete_report(head_report: Report) -> Report:
    results = tuple(r.model_copy(update={"incomplete": REASON, "level": Level.NONE, "points": 0.0, "evidence": ()})
                    if r.rule_id == "MON3" else r for r in head_report.results)
    return head_report.model_copy(update={"results": results})


def test_text_flags_the_test_and_says_the_score_is_a_lower_bound(incomplete_report: Report) -> None:
    text = render(incomplete_report, "text", RenderOptions())
    assert f"! incomplete: {REASON}" in text
    assert "1 test is incomplete (MON3)" in text and "lower bounds" in text


def test_markdown_the_pull_request_comment_flags_it_even_when_cut(incomplete_report: Report) -> None:
    full = render(incomplete_report, "markdown", RenderOptions())
    assert f"incomplete: {REASON}" in full and "> [!WARNING]" in full
    short = render(incomplete_report, "markdown", RenderOptions(max_chars=2500))
    assert "1 test is incomplete (MON3)" in short  # the notice is in the head, which is never cut


def test_json_carries_the_reason(incomplete_report: Report) -> None:
    data = json.loads(render(incomplete_report, "json", RenderOptions()))
    mon3 = next(r for r in data["results"] if r["rule_id"] == "MON3")
    assert mon3["incomplete"] == REASON
    assert all(r["incomplete"] is None for r in data["results"] if r["rule_id"] != "MON3")


def test_html_shows_a_badge_and_the_notice(incomplete_report: Report) -> None:
    page = render(incomplete_report, "html", RenderOptions())
    assert '<span class="badge warn">incomplete</span>' in page
    assert f"Incomplete: {REASON}" in page and "1 test is incomplete (MON3)" in page


def test_junit_reports_an_error_not_a_failure(incomplete_report: Report) -> None:
    root = ET.fromstring(render(incomplete_report, "junit", RenderOptions()))
    case = next(c for c in root.iter("testcase") if c.get("name", "").startswith("MON3 "))
    error = case.find("error")
    assert error is not None and error.get("type") == "incomplete" and REASON in (error.get("message") or "")
    assert case.find("failure") is None


def test_sarif_and_annotations_say_incomplete(incomplete_report: Report) -> None:
    sarif = json.loads(render(incomplete_report, "sarif", RenderOptions()))
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "MON3")
    assert f"Incomplete: {REASON}" in result["message"]["text"]
    assert result["properties"]["incomplete"] == REASON
    note = next(a for a in report_annotations(incomplete_report) if "MON3" in a.title)
    assert note.level == "warning" and note.message.startswith(f"Incomplete: {REASON}.")


def test_a_diff_names_the_unfinished_check_as_the_cause(head_report: Report, incomplete_report: Report) -> None:
    diff = compare(head_report, incomplete_report)
    mon3 = next(t for t in diff.changed_tests if t.rule_id == "MON3")
    assert any(c.kind == "error" and c.message == f"the check did not finish: {REASON}" for c in mon3.causes)
    back = compare(incomplete_report, head_report)
    assert any(c.kind == "error_cleared" for c in next(t for t in back.changed_tests if t.rule_id == "MON3").causes)
