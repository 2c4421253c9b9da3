"""Each non-V2 protocol end to end against a stdlib server answering as its documentation says.

TF Serving, TorchServe, MLflow and BentoML do not run here, so these servers are emulations
(tests/probe/emulators.py); they check the adapters' paths, payload layouts and detection.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from mlscore.cli import main
from tests.probe import emulators as emu

ARGS = ["--requests", "40", "--concurrency", "2", "--format", "json", "-q", "--oversized-mb", "0.6"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    data = tmp_path_factory.mktemp("emu")
    rows = [[round(0.5 * i, 2), round(1.0 + 0.25 * i, 2), round(3.0 - 0.1 * i, 2)] for i in range(40)]
    with open(data / "sample.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(emu.FEATURES)
        w.writerows(rows)
    with open(data / "expected.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prediction"])
        w.writerows([[emu.score(r)] for r in rows])
    return data / "sample.csv", data / "expected.csv"


def probe(url: str, files: tuple[Path, Path], extra: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], dict[str, dict[str, Any]]]:
    sample, expected = files
    code = main(["probe", url, "--sample", str(sample), "--expected-predictions", str(expected), *ARGS, *extra])
    doc = json.loads(capsys.readouterr().out)
    return code, doc, {c["id"]: c for c in doc["checks"]}


def common_asserts(checks: dict[str, dict[str, Any]]) -> None:
    assert checks["skew"]["status"] == "passing", checks["skew"]["message"]
    assert checks["skew"]["details"]["rows_compared"] == 40
    assert checks["bad-input"]["status"] == "passing", checks["bad-input"]["message"]
    assert checks["determinism"]["status"] == "passing"
    assert checks["latency"]["status"] == "passing", checks["latency"]["message"]
    assert not [c for c in checks.values() if c["status"] == "error"], [c["message"] for c in checks.values() if c["status"] == "error"]


def test_tfserving(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with emu.serve(emu.TFServing) as url:
        code, doc, checks = probe(url, files, ["--model", "half"], capsys)
    assert doc["target"]["protocol"] == "tfserving"
    assert "answered a TF Serving model_version_status" in doc["target"]["detected_by"]
    assert doc["target"]["infer_path"] == "/v1/models/half:predict"
    common_asserts(checks)
    assert checks["readiness"]["status"] == "passing"
    assert checks["versions-available"]["status"] == "passing"
    assert set(checks["versions-available"]["details"]["answers"]) == set(emu.TF_VERSIONS)
    assert checks["metrics"]["status"] == "passing"
    assert checks["metrics"]["details"]["url"].endswith("/monitoring/prometheus/metrics")
    age = checks["model-age"]
    assert age["status"] == "failing" and "listed version '1700000000'" in age["details"]["source"]
    assert code == 1


def test_torchserve(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with emu.serve(emu.TorchServe) as url:
        code, doc, checks = probe(url, files, ["--model", "summer"], capsys)
    assert doc["target"]["protocol"] == "torchserve"
    assert 'GET /ping answered {"status":"Healthy"}' in doc["target"]["detected_by"]
    assert doc["target"]["infer_path"] == "/predictions/summer"
    common_asserts(checks)
    assert checks["liveness"]["status"] == "passing"
    assert "service-level only" in checks["readiness"]["message"]
    assert checks["metrics"]["status"] == "failing"
    assert code == 1  # no metrics, no version


def test_mlflow(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with emu.serve(emu.MLflow) as url:
        code, doc, checks = probe(url, files, [], capsys)
    assert doc["target"]["protocol"] == "mlflow"
    assert "GET /version a bare version number" in doc["target"]["detected_by"]
    assert doc["target"]["server"] == {"name": "mlflow", "version": "2.17.2"}
    assert doc["target"]["infer_path"] == "/invocations"
    common_asserts(checks)
    assert checks["metadata"]["status"] == "unknown"
    assert code == 1  # no metrics and no version: MLflow's scoring server shows neither


def test_bentoml(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with emu.serve(emu.BentoML) as url:
        code, doc, checks = probe(url, files, [], capsys)
    assert doc["target"]["protocol"] == "bentoml"
    assert "GET /docs.json an OpenAPI document" in doc["target"]["detected_by"]
    assert doc["target"]["infer_path"] == "/predict"
    assert any("body is {'input_data': [records]}" in d["message"] for d in doc["diagnostics"])
    common_asserts(checks)
    assert checks["metrics"]["status"] == "passing"
    assert "bentoml_service_request_duration_seconds" in checks["metrics"]["details"]["latency"]
    assert code == 1  # BentoML answers name no model version
