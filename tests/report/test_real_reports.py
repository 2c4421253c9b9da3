"""Every format on reports from the real audit engine: SARIF and JSON validate, the rest parse."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from jsonschema import Draft202012Validator

from mlscore.models import Report
from mlscore.report import FORMATS, RenderOptions, render

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "income-model"

_spec = importlib.util.spec_from_file_location(
    "mlscore_tests_sarif_checks_real", Path(__file__).parent / "sarif_checks.py"
)
assert _spec and _spec.loader
sarif_checks = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = sarif_checks
_spec.loader.exec_module(sarif_checks)


def _run_audit():  # type: ignore[no-untyped-def]
    if importlib.util.find_spec("mlscore.engine") is None:
        pytest.skip("mlscore.engine is not written yet")
    from mlscore.engine import run_audit  # type: ignore[attr-defined]

    return run_audit


def _hostile_repo(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "train.py").write_text(
        "import sklearn  # <script>alert('x')</script> | @octocat\n"
    )
    (root / "bad.ipynb").write_bytes(b"\xff\xfe{not json")
    (root / "odd name, with: commas%.py").write_text("x = 1\n")
    return root


@pytest.fixture(scope="module")
def real_reports(tmp_path_factory: pytest.TempPathFactory) -> list[Report]:
    run_audit = _run_audit()
    reports = [run_audit(_hostile_repo(tmp_path_factory.mktemp("hostile")))]
    if EXAMPLE.is_dir():
        reports.append(run_audit(EXAMPLE))
    return reports


def test_real_sarif_is_valid(real_reports: list[Report]) -> None:
    for report in real_reports:
        for options in (
            RenderOptions(),
            RenderOptions(path_prefix="sub/dir", anchor="pyproject.toml"),
        ):
            log = json.loads(render(report, "sarif", options))
            assert sarif_checks.schema_errors(log) == []
            assert sarif_checks.github_profile_errors(log) == []


def test_real_json_matches_checked_in_schema(real_reports: list[Report]) -> None:
    schema = json.loads((ROOT / "schemas" / "report.schema.json").read_text())
    for report in real_reports:
        data = json.loads(render(report, "json"))
        assert [e.message for e in Draft202012Validator(schema).iter_errors(data)] == []
        assert Report.model_validate(data) == report


def test_every_format_renders_real_reports(real_reports: list[Report]) -> None:
    for report in real_reports:
        for fmt in FORMATS:
            text = render(report, fmt, RenderOptions(max_chars=20_000))
            assert text.endswith("\n") and len(text) > 200, fmt
        ET.fromstring(render(report, "junit").encode())
        assert len(render(report, "markdown", RenderOptions(max_chars=5_000))) <= 5_000
        page = render(report, "html")
        assert "<script" not in page
