"""Golden and validity tests for the SARIF, Markdown and JUnit formats."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from mlscore.models import Evidence, Level, Location, Report
from mlscore.report import RenderOptions, render
from mlscore.report.diff import compare

_spec = importlib.util.spec_from_file_location(
    "mlscore_tests_sarif_checks", Path(__file__).parent / "sarif_checks.py"
)
assert _spec and _spec.loader
sarif_checks = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = sarif_checks
_spec.loader.exec_module(sarif_checks)


# --- SARIF -----------------------------------------------------------------------------------------


def test_sarif_golden_validates_against_oasis_schema_and_github_profile(
    head_report: Report, golden
) -> None:  # type: ignore[no-untyped-def]
    text = render(head_report, "sarif", RenderOptions(anchor="pyproject.toml"))
    golden("report.sarif", text)
    log = json.loads(text)
    assert sarif_checks.schema_errors(log) == []
    assert sarif_checks.github_profile_errors(log) == []


def test_sarif_has_one_rule_per_test_and_results_below_automated(head_report: Report) -> None:
    log = json.loads(render(head_report, "sarif", RenderOptions(anchor="pyproject.toml")))
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == [
        r.rule_id
        for r in sorted(
            head_report.results,
            key=lambda r: (
                ["DATA", "MODEL", "INFRA", "MON"].index(r.rule_id.rstrip("0123456789")),
                int(r.rule_id[-1]),
            ),
        )
    ]
    below = {r.rule_id for r in head_report.results if r.level != Level.AUTOMATED}
    assert {r["ruleId"] for r in run["results"]} == below
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["MON2"] == "warning"  # none: a real gap
    assert levels["INFRA1"] == "note"  # manual: half credit
    assert levels["DATA5"] == "note"  # human-only: only an attestation can raise it
    located = {r["ruleId"]: r["locations"][0]["physicalLocation"] for r in run["results"]}
    assert located["INFRA1"]["artifactLocation"]["uri"] == "src/churn/train.py"
    assert located["INFRA1"]["region"] == {"startLine": 22}
    assert located["MON2"]["artifactLocation"]["uri"] == "pyproject.toml"  # the anchor for absences
    assert run["automationDetails"]["id"] == "mlscore/"


def test_sarif_fingerprints_are_stable_across_line_moves_and_distinct(
    head_report: Report, base_report: Report
) -> None:
    def prints(report: Report) -> dict[str, str]:
        log = json.loads(render(report, "sarif", RenderOptions(anchor="pyproject.toml")))
        return {
            r["ruleId"]: r["partialFingerprints"]["mlscore/v1"] for r in log["runs"][0]["results"]
        }

    head, base = prints(head_report), prints(base_report)
    assert head["MODEL3"] == base["MODEL3"]  # evidence moved from line 14 to 18: same alert
    assert len(set(head.values())) == len(head)


def test_sarif_prefixes_subdirectory_and_suppresses_waived(head_report: Report) -> None:
    waived = head_report.result("MON4")
    assert waived is not None
    report = head_report.model_copy(
        update={
            "results": tuple(
                r if r.rule_id != "MON4" else r.model_copy(update={"waived": "no model age yet"})
                for r in head_report.results
            )
        }
    )
    log = json.loads(
        render(
            report, "sarif", RenderOptions(path_prefix="services/churn", anchor="pyproject.toml")
        )
    )
    results = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    assert (
        results["INFRA1"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "services/churn/src/churn/train.py"
    )
    assert results["MON4"]["suppressions"] == [
        {"kind": "external", "justification": "no model age yet"}
    ]
    assert sarif_checks.schema_errors(log) == []
    assert sarif_checks.github_profile_errors(log) == []


def test_sarif_schema_check_catches_a_broken_log(head_report: Report) -> None:
    log = json.loads(render(head_report, "sarif"))
    log["version"] = "2.0"
    del log["runs"][0]["results"][0]["message"]
    log["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = (
        "/abs/path.py"
    )
    assert sarif_checks.schema_errors(log)
    profile = sarif_checks.github_profile_errors(log)
    assert any("message.text" in e for e in profile)
    assert any("not repository-relative" in e for e in profile)


def test_sarif_skips_url_evidence_for_locations(head_report: Report) -> None:
    url_ev = Evidence(
        summary="wiki page", location=Location(path="https://wiki.example.org/x"), kind="doc"
    )
    report = head_report.model_copy(
        update={
            "results": tuple(
                r if r.rule_id != "DATA3" else r.model_copy(update={"evidence": (url_ev,)})
                for r in head_report.results
            )
        }
    )
    log = json.loads(render(report, "sarif", RenderOptions(anchor="README.md")))
    data3 = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "DATA3")
    assert data3["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "README.md"
    assert sarif_checks.github_profile_errors(log) == []


# --- Markdown --------------------------------------------------------------------------------------


def test_markdown_golden(head_report: Report, golden) -> None:  # type: ignore[no-untyped-def]
    golden("report.md", render(head_report, "markdown"))


def test_markdown_with_diff_golden(head_report: Report, base_report: Report, golden) -> None:  # type: ignore[no-untyped-def]
    text = render(head_report, "markdown", RenderOptions(diff=compare(base_report, head_report)))
    golden("report-diff.md", text)
    assert "ML Test Score 1.5 → 2 (+0.5)" in text
    assert (
        "INFRA3 became automated because `.github/workflows/ci.yml` now runs `tests/test_pipeline.py`"
        in text
    )
    assert "only because this change adds or edits attestations" in text


@pytest.mark.parametrize("budget", [1_000, 3_000, 6_000, 65_536])
def test_markdown_respects_size_budget(
    head_report: Report, base_report: Report, budget: int
) -> None:
    options = RenderOptions(
        diff=compare(base_report, head_report),
        max_chars=budget,
        run_url="https://github.com/acme/churn-model/actions/runs/1",
    )
    text = render(head_report, "markdown", options)
    assert len(text) <= budget
    full = render(head_report, "markdown", RenderOptions(diff=options.diff, run_url=options.run_url))
    if len(full) > budget:
        assert "size limit" in text
        assert "ML Test Score 1.5 → 2" in text or budget < 1_500
    else:
        assert text == full


def test_markdown_escapes_hostile_text(head_report: Report) -> None:
    hostile = "<img src=x onerror=alert(1)> | @octocat **bold** [link](http://evil)\n# heading"
    report = head_report.model_copy(
        update={
            "results": tuple(
                r if r.rule_id != "MON2" else r.model_copy(update={"next_step": hostile})
                for r in head_report.results
            )
        }
    )
    text = render(report, "markdown")
    row = next(line for line in text.splitlines() if line.startswith("| **MON2**"))
    assert "<img" not in row
    assert "@octocat" not in row  # no mention notifications from audited text
    assert row.count(" | ") == 4  # the table still has exactly five cells
    assert "\\[link\\]" in row


# --- JUnit -----------------------------------------------------------------------------------------


def test_junit_golden_and_structure(head_report: Report, golden) -> None:  # type: ignore[no-untyped-def]
    text = render(head_report, "junit")
    golden("report.junit.xml", text)
    root = ET.fromstring(text.encode())
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 28
    none = {r.rule_id for r in head_report.results if r.level == Level.NONE}
    failed = {c.get("name", "").split()[0] for c in cases if c.find("failure") is not None}
    assert failed == none
    assert root.get("failures") == str(len(none))
    assert root.get("tests") == "28"


def test_junit_survives_control_characters(head_report: Report) -> None:
    report = head_report.model_copy(
        update={
            "results": tuple(
                r if r.rule_id != "MON2" else r.model_copy(update={"rationale": "bad\x00\x1b byte"})
                for r in head_report.results
            )
        }
    )
    ET.fromstring(render(report, "junit").encode())


def test_error_result_is_junit_error_and_sarif_result(head_report: Report) -> None:
    report = head_report.model_copy(
        update={
            "results": tuple(
                r if r.rule_id != "DATA1" else r.model_copy(update={"error": "boom"})
                for r in head_report.results
            )
        }
    )
    root = ET.fromstring(render(report, "junit").encode())
    assert root.get("errors") == "1"
    log = json.loads(render(report, "sarif"))
    assert "DATA1" in {r["ruleId"] for r in log["runs"][0]["results"]}


def test_markdown_keeps_code_spans_in_next_steps_and_escapes_table_pipes(head_report: Report) -> None:
    step = "Run `pip list | grep x` weekly | then <b>record</b> it"
    ev = Evidence(summary="x", location=Location(path="odd|name.py", line=2))
    report = head_report.model_copy(
        update={
            "results": tuple(
                r.model_copy(update={"next_step": step, "evidence": (ev,)}) if r.rule_id == "MON2" else r
                for r in head_report.results
            )
        }
    )
    row = next(line for line in render(report, "markdown").splitlines() if line.startswith("| **MON2**"))
    assert "`pip list \\| grep x`" in row
    assert "weekly \\| then &lt;b&gt;record&lt;/b&gt; it" in row
    assert "`odd\\|name.py:2`" in row
    cells = re.split(r"(?<!\\)\|", row)
    assert len(cells) == 7  # five cells between the outer pipes


def test_file_links_follow_the_forge(head_report: Report) -> None:
    from mlscore.report.common import file_url

    def url(web: str | None, line: int | None = 3, end: int | None = None) -> str | None:
        target = head_report.target.model_copy(update={"web_url": web, "commit": "abc"})
        return file_url(head_report.model_copy(update={"target": target}), "a b/c.py", line, end)

    assert url("https://github.com/o/r") == "https://github.com/o/r/blob/abc/a%20b/c.py#L3"
    assert url("https://github.com/o/r", 3, 5) == "https://github.com/o/r/blob/abc/a%20b/c.py#L3-L5"
    assert url("https://gitlab.com/o/r", 3, 5) == "https://gitlab.com/o/r/-/blob/abc/a%20b/c.py#L3-5"
    assert url("https://bitbucket.org/o/r") == "https://bitbucket.org/o/r/src/abc/a%20b/c.py#lines-3"
    assert url(None) is None
