"""The checked-in JSON Schema of the report is current, and real reports validate against it."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from mlscore.models import Report
from mlscore.report import render

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "report.schema.json"


def current_schema_text() -> str:
    schema = Report.model_json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/mlscore/mlscore/schemas/report.schema.json",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def test_checked_in_schema_is_up_to_date(golden) -> None:  # type: ignore[no-untyped-def]
    golden(SCHEMA_FILE.name, current_schema_text(), SCHEMA_FILE.parent)


def test_canonical_json_report_validates(head_report: Report, base_report: Report) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for report in (head_report, base_report):
        errors = [e.message for e in validator.iter_errors(json.loads(render(report, "json")))]
        assert errors == []


def test_schema_rejects_a_broken_report(head_report: Report) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    data = json.loads(render(head_report, "json"))
    data["results"][0]["level"] = "perfect"
    data["surprise"] = 1
    errors = list(Draft202012Validator(schema).iter_errors(data))
    assert len(errors) >= 2


def test_engine_report_validates_when_engine_exists(tmp_path: Path) -> None:
    import importlib.util

    import pytest

    if importlib.util.find_spec("mlscore.engine") is None:
        pytest.skip("mlscore.engine is not written yet")
    from mlscore.engine import run_audit  # type: ignore[attr-defined]

    (tmp_path / "train.py").write_text("import sklearn\n")
    report = run_audit(tmp_path)
    schema = json.loads(SCHEMA_FILE.read_text())
    errors = [
        e.message
        for e in Draft202012Validator(schema).iter_errors(json.loads(render(report, "json")))
    ]
    assert errors == []
