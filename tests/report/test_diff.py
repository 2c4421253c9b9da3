"""Tests for report comparison and the `mlscore diff` command."""

from __future__ import annotations

import json
from pathlib import Path

from mlscore.cli import main
from mlscore.models import Attestation, Level, Report
from mlscore.report.diff import compare


def _replace(report: Report, rule_id: str, **update: object) -> Report:
    results = tuple(
        r.model_copy(update=update) if r.rule_id == rule_id else r for r in report.results
    )
    return report.model_copy(update={"results": results})


def test_compare_canonical_base_to_head(base_report: Report, head_report: Report, golden) -> None:  # type: ignore[no-untyped-def]
    diff = compare(base_report, head_report)
    golden("diff.json", diff.model_dump_json(indent=2) + "\n")
    assert (diff.old_score, diff.new_score, diff.delta) == (1.5, 2.0, 0.5)
    changed = {t.rule_id: t for t in diff.changed_tests}
    assert set(changed) == {"INFRA3", "MON3"}
    infra3 = changed["INFRA3"]
    assert (infra3.old_level, infra3.new_level, infra3.delta) == (
        Level.MANUAL,
        Level.AUTOMATED,
        0.5,
    )
    assert infra3.summary == (
        "INFRA3 became automated because `.github/workflows/ci.yml` now runs `tests/test_pipeline.py`"
    )
    assert not infra3.self_declared
    mon3 = changed["MON3"]
    assert mon3.self_declared
    assert mon3.causes[0].kind == "attestation_added"
    # Monitoring is the minimum, and it rose only through MON3's attestation.
    assert diff.score_rise_self_declared
    assert diff.self_declared_gain == 0.5
    # MODEL3's evidence moved from line 14 to 18: not a change.
    assert "MODEL3" not in {t.rule_id for t in diff.tests}
    sections = {s.section.value: s.delta for s in diff.sections}
    assert sections == {"data": 0, "model": 0, "infrastructure": 0.5, "monitoring": 0.5}


def test_compare_reverse_names_removed_evidence(base_report: Report, head_report: Report) -> None:
    diff = compare(head_report, base_report)
    changed = {t.rule_id: t for t in diff.changed_tests}
    assert changed["INFRA3"].summary == (
        "INFRA3 dropped to manual because `.github/workflows/ci.yml` no longer runs `tests/test_pipeline.py`"
    )
    assert changed["MON3"].summary.startswith(
        "MON3 dropped to none because the attestation by ana@example.org"
    )
    assert diff.delta == -0.5
    assert not diff.score_rise_self_declared


def test_repository_evidence_rise_is_not_self_declared(
    base_report: Report, head_report: Report
) -> None:
    # Only INFRA3 changes (repository evidence); the monitoring minimum keeps the score at 1.5.
    head = _replace(
        head_report, "MON3", **base_report.result("MON3").model_dump(exclude={"rule_id"})
    )  # type: ignore[union-attr]
    head = head.model_copy(update={"score": base_report.score.model_copy(update={"value": 1.5})})
    diff = compare(base_report, head)
    assert [t.rule_id for t in diff.changed_tests] == ["INFRA3"]
    assert not diff.score_rise_self_declared
    assert diff.self_declared_gain == 0


def test_expired_attestation_is_a_cause(head_report: Report) -> None:
    mon3 = head_report.result("MON3")
    assert mon3 is not None and mon3.attestation is not None
    expired = mon3.attestation.model_copy(update={"expired": True, "expires": "2026-01-31"})
    new = _replace(head_report, "MON3", attestation=expired, level=Level.NONE, points=0.0)
    diff = compare(head_report, new)
    (t,) = diff.changed_tests
    assert (
        t.summary
        == "MON3 dropped to none because the attestation by ana@example.org expired (2026-01-31)"
    )


def test_waiver_added_is_self_declared(head_report: Report) -> None:
    new = _replace(
        head_report, "MON4", waived="no model in production yet", level=Level.MANUAL, points=0.5
    )
    (t,) = compare(head_report, new).changed_tests
    assert t.self_declared
    assert "a waiver was added" in t.summary


def test_attestation_added_alongside_stronger_repo_evidence_is_not_self_declared(
    head_report: Report,
) -> None:
    from mlscore.models import Evidence, Location

    attestation = Attestation(rule="MON2", owner="bo", date="2026-01-01")
    alert = Evidence(
        summary="alert rule InputSchemaViolation",
        location=Location(path="deploy/alerts.yml", line=4),
        level=Level.AUTOMATED,
        kind="monitoring",
    )
    new = _replace(
        head_report,
        "MON2",
        attestation=attestation,
        evidence=(alert,),
        level=Level.AUTOMATED,
        points=1.0,
    )
    (t,) = compare(head_report, new).changed_tests
    assert not t.self_declared


def _write(tmp_path: Path, name: str, report: Report) -> Path:
    path = tmp_path / name
    path.write_text(report.model_dump_json(), encoding="utf-8")
    return path


def test_diff_command_text_json_and_fail_on_drop(
    tmp_path: Path, base_report: Report, head_report: Report, capsys
) -> None:  # type: ignore[no-untyped-def]
    old, new = _write(tmp_path, "old.json", base_report), _write(tmp_path, "new.json", head_report)
    assert main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Change since ba5e00123456: 1.5 -> 2 (+0.5)\n")
    assert "\x1b[" not in out
    assert (
        main(["diff", str(old), str(new), "--format", "json", "-o", str(tmp_path / "d.json")]) == 0
    )
    assert json.loads((tmp_path / "d.json").read_text())["delta"] == 0.5
    assert main(["diff", str(new), str(old), "--fail-on-drop"]) == 1
    assert main(["diff", str(old), str(new), "--fail-on-drop"]) == 0


def test_diff_command_bad_input_is_one_line_error(
    tmp_path: Path, head_report: Report, capsys
) -> None:  # type: ignore[no-untyped-def]
    good = _write(tmp_path, "good.json", head_report)
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe not json")
    assert main(["diff", str(bad), str(good)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlscore: error: ") and "not UTF-8" in err and err.count("\n") == 1
    other = tmp_path / "other.json"
    other.write_text('{"kind": "data"}')
    assert main(["diff", str(other), str(good)]) == 2
    assert "not an mlscore audit report" in capsys.readouterr().err
    assert main(["diff", str(tmp_path / "missing.json"), str(good)]) == 2
    assert "cannot read report" in capsys.readouterr().err
