"""Integration: a real FastAPI service (uvicorn) that misbehaves on purpose makes each check fail usefully."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlscore.cli import main
from tests.probe import misbehaving_app
from tests.support.servers import running_uvicorn

pytestmark = pytest.mark.integration

APP_DIR = Path(__file__).parent
TOKEN = "s3cret-Token-123"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from sklearn.datasets import load_iris

    data = tmp_path_factory.mktemp("misbehaving")
    rows = load_iris().data.tolist()
    sample = data / "sample.csv"
    expected = data / "expected.csv"
    with open(sample, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(misbehaving_app.FEATURES)
        w.writerows(rows)
    with open(expected, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prediction"])
        w.writerows([[misbehaving_app.offline_score(dict(zip(misbehaving_app.FEATURES, r)))] for r in rows])
    return sample, expected


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with running_uvicorn(APP_DIR, "misbehaving_app:app", env={"MISBEHAVE_TOKEN": TOKEN}) as url:
        yield url


@pytest.fixture(scope="module")
def run(app_url: str, files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    sample, expected = files
    out = tmp_path_factory.mktemp("run")
    env_name = "MLSCORE_TEST_MODEL_TOKEN"
    import os

    os.environ[env_name] = f"Bearer {TOKEN}"
    try:
        results: dict[str, Any] = {}
        for fmt in ("json", "md", "html", "txt"):
            path = out / f"probe.{fmt}"
            results[fmt] = path
        code = main([
            "probe", app_url, "--sample", str(sample), "--expected-predictions", str(expected), "--atol", "1e-3",
            "--header-env", f"Authorization={env_name}", "--requests", "80", "--concurrency", "2", "--oversized-mb", "0.5",
            "-o", str(results["json"]), "-q",
        ])
        doc = json.loads(results["json"].read_text())
        from mlscore.probe.render import render
        from mlscore.probe.report import ProbeReport

        report = ProbeReport.model_validate(doc)
        for fmt, name in (("md", "markdown"), ("html", "html"), ("txt", "text")):
            results[fmt].write_text(render(report, name))
    finally:
        del os.environ[env_name]
    return {"code": code, "doc": doc, "checks": {c["id"]: c for c in doc["checks"]}, "paths": results}


def test_protocol_detected_from_openapi_and_route_chosen(run: dict[str, Any]) -> None:
    target = run["doc"]["target"]
    assert run["code"] == 1
    assert target["protocol"] == "json" and target["detected"] is True
    assert "GET /openapi.json answered an OpenAPI document" in target["detected_by"]
    assert target["infer_path"] == "/predict"
    assert any("body is {'rows': [records]}" in d["message"] for d in run["doc"]["diagnostics"])


def test_not_ready_is_reported(run: dict[str, Any]) -> None:
    ready = run["checks"]["readiness"]
    assert ready["status"] == "failing"
    assert "GET /ready -> 503" in ready["message"] and "service-level only" in ready["message"]


def test_bad_input_500s_and_silent_predictions(run: dict[str, Any]) -> None:
    bad = run["checks"]["bad-input"]
    assert bad["status"] == "failing"
    verdicts = {c["case"]: (c["status"], c["verdict"]) for c in bad["details"]["cases"]}
    assert verdicts["wrong-type"] == (500, "server-error")
    assert verdicts["missing-feature"] == (500, "server-error")
    assert verdicts["null-value"] == (500, "server-error")
    assert verdicts["empty-batch"] == (500, "server-error")
    assert verdicts["nan-value"] == (200, "accepted")
    assert verdicts["extra-feature"] == (200, "accepted")
    assert verdicts["empty-object"] == (422, "rejected")
    assert "client error reported as server error" in bad["message"]
    assert "internal error text returned to the client" in bad["message"]


def test_nan_and_out_of_range_outputs_fail_edge_inputs(run: dict[str, Any]) -> None:
    edge = run["checks"]["edge-inputs"]
    assert edge["status"] == "failing"
    verdicts = {c["case"]: c["verdict"] for c in edge["details"]["cases"]}
    assert verdicts["zeros"] == "bad-output" and verdicts["huge"] == "bad-output"
    assert "zeros: output: nan" in edge["message"]
    assert "huge: output 1.5 outside [0, 1], where ordinary rows give values in [0, 1]" in edge["message"]
    assert edge["details"]["outputs_in_unit_range"] is True


def test_noise_fails_determinism(run: dict[str, Any]) -> None:
    det = run["checks"]["determinism"]
    assert det["status"] == "failing"
    assert det["details"]["distinct_outputs"] > 1
    assert "identical requests gave" in det["message"]


def test_unit_bug_fails_skew(run: dict[str, Any]) -> None:
    skew = run["checks"]["skew"]
    assert skew["status"] == "failing", skew["message"]
    assert skew["details"]["rows_compared"] == 150 and skew["details"]["mismatch_rate"] > 0.5
    assert len(skew["details"]["worst_rows"]) == 5 and "worst: row" in skew["message"]


def test_slow_leak_and_503s_fail_latency(run: dict[str, Any]) -> None:
    latency = run["checks"]["latency"]
    assert latency["status"] == "failing"
    assert "requests failed (HTTP 503)" in latency["message"]
    trend = run["checks"]["latency-trend"]
    assert trend["status"] == "failing", (trend["message"], run["checks"]["latency"]["message"])
    assert trend["details"]["ratio"] >= 1.5 and trend["details"]["spearman"] >= 0.5
    assert "latency grows with every request" in trend["message"]


def test_no_metrics_no_version(run: dict[str, Any]) -> None:
    checks = run["checks"]
    assert checks["metrics"]["status"] == "failing"
    assert "no Prometheus metrics endpoint found" in checks["metrics"]["message"]
    assert checks["version"]["status"] == "failing"
    assert "no version visible" in checks["version"]["message"]
    assert checks["versions-available"]["status"] == "unknown"
    assert checks["model-age"]["status"] == "unknown"


def test_header_value_never_reaches_any_report(run: dict[str, Any]) -> None:
    assert run["doc"]["target"]["headers"] == ["Authorization (from env MLSCORE_TEST_MODEL_TOKEN)"]
    for path in run["paths"].values():
        text = path.read_text()
        assert TOKEN not in text, path
    # the app echoes the token in its 500 bodies: the report carries the redaction instead
    assert "[redacted]" in run["paths"]["json"].read_text()
    # and the requests did authenticate (otherwise every prediction would be a 401)
    assert run["checks"]["latency"]["details"]["ok"] > 0


def test_unhealthy_service_fails_liveness(files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running_uvicorn(APP_DIR, "misbehaving_app:app", env={"MISBEHAVE_UNHEALTHY": "1"}) as url:
        code = main(["probe", url, "--protocol", "json", "--check", "liveness", "--format", "json", "-q"])
    doc = json.loads(capsys.readouterr().out)
    live = doc["checks"][0]
    assert code == 1 and live["status"] == "failing"
    assert "GET /health -> 500" in live["message"]



def test_a_probe_without_the_token_fails_with_401s(app_url: str, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["probe", app_url, "--sample", str(files[0]), "--check", "latency", "--requests", "10", "--format", "json", "-q"])
    latency = json.loads(capsys.readouterr().out)["checks"][0]
    assert code == 1 and latency["status"] == "failing"
    assert "no request succeeded (10 non-2xx" in latency["message"]
