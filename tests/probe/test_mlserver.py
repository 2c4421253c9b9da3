"""Integration: every probe check against a real MLServer 1.7.1 serving iris models trained in the test."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mlscore.cli import main
from mlscore.probe.report import ProbeReport
from tests.probe.conftest import Served

pytestmark = pytest.mark.integration

FAST = ["--requests", "60", "--concurrency", "2", "--oversized-mb", "1", "-q"]


def probe(args: list[str], out: Path) -> tuple[int, dict[str, Any]]:
    code = main(["probe", *args, "-o", str(out), *FAST])
    return code, json.loads(out.read_text())


def checks_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in doc["checks"]}


@pytest.fixture(scope="module")
def full_run(served: Served, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("full") / "probe.json"
    code, doc = probe(
        [
            served.server.url, "--model", "iris", "--sample", str(served.sample_csv), "--drop", "species",
            "--expected-predictions", str(served.expected_classes),
        ],
        out,
    )
    return code, doc, out


def test_report_is_the_contract_the_audit_reads(full_run: tuple[int, dict[str, Any], Path]) -> None:
    code, doc, out = full_run
    assert code == 1  # MLServer fails the bad-input check (and rollback), so the probe exits 1
    assert doc["kind"] == "probe" and doc["schema_version"] == "1" and doc["generated_at"].endswith("Z")
    report = ProbeReport.model_validate_json(out.read_text())
    ids = [c.id for c in report.checks]
    assert ids == [
        "liveness", "readiness", "metadata", "version", "versions-available", "model-age", "determinism",
        "skew", "edge-inputs", "latency", "latency-trend", "traffic-split", "metrics", "bad-input",
    ]
    assert {r for c in report.checks for r in c.rules} == {"INFRA6", "INFRA7", "MON2", "MON3", "MON4", "MON5", "MON6"}
    assert not [c for c in report.checks if c.status == "error"], [c.message for c in report.checks if c.status == "error"]
    assert report.target.protocol == "v2" and report.target.detected
    assert "GET /v2 answered" in report.target.detected_by and report.target.server["name"] == "mlserver"
    assert report.requests_sent <= report.limits.max_requests


def test_health_metadata_and_versions(full_run: tuple[int, dict[str, Any], Path]) -> None:
    checks = checks_of(full_run[1])
    assert checks["liveness"]["status"] == "passing"
    assert checks["readiness"]["status"] == "passing"
    assert checks["readiness"]["details"]["model_ready"] == 200
    assert checks["metadata"]["status"] == "passing"
    assert "declares no inputs or outputs" in checks["metadata"]["message"]  # MLServer's default metadata
    assert checks["version"]["status"] == "passing"
    assert checks["version"]["details"]["versions"]["infer response"] in ("v1", "v2")
    available = checks["versions-available"]
    assert available["status"] == "passing", available["message"]
    assert available["details"]["answers"] == {"v1": 200, "v2": 200} or set(available["details"]["answers"]) == {"v1", "v2"}
    assert checks["model-age"]["status"] == "unknown"  # "v1"/"v2" say nothing about age


def test_metrics_found_on_port_plus_two_and_move_with_traffic(full_run: tuple[int, dict[str, Any], Path], served: Served) -> None:
    metrics = checks_of(full_run[1])["metrics"]
    assert metrics["status"] == "passing", metrics["message"]
    assert metrics["details"]["url"] == served.server.metrics_url
    assert "rest_server_request_duration_seconds" in metrics["details"]["latency"]
    assert any(m.startswith("model_infer_request_success_total +") for m in metrics["details"]["moved_during_probe"])


def test_latency_and_trend_are_measured(full_run: tuple[int, dict[str, Any], Path]) -> None:
    checks = checks_of(full_run[1])
    latency = checks["latency"]["details"]
    assert checks["latency"]["status"] == "passing", checks["latency"]["message"]
    assert latency["requests"] == 60 and latency["ok"] == 60
    assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    assert latency["throughput_rps"] > 0
    assert checks["latency-trend"]["status"] in ("passing", "failing")  # noise on a shared machine; the leak test is elsewhere
    assert checks["latency-trend"]["details"]["samples"] == 60
    split = checks["traffic-split"]
    assert split["status"] == "unknown" and len(split["details"]["versions_seen"]) == 1
    assert split["details"]["answers"] == 60 and "no traffic split now" in split["message"]


def test_mlserver_answers_500_to_malformed_inputs_and_accepts_1e38(full_run: tuple[int, dict[str, Any], Path]) -> None:
    bad = checks_of(full_run[1])["bad-input"]
    assert bad["status"] == "failing"
    verdicts = {c["case"]: (c["status"], c["verdict"]) for c in bad["details"]["cases"]}
    # measured MLServer 1.7.1 behaviour (SERVING.md truth table)
    assert verdicts["wrong-type"] == (500, "server-error")
    assert verdicts["missing-feature"] == (500, "server-error")
    assert verdicts["null-value"] == (500, "server-error")
    assert verdicts["shape-mismatch"] == (500, "server-error")
    assert verdicts["empty-batch"] == (500, "server-error")
    assert verdicts["out-of-range"] == (200, "accepted")
    assert verdicts["empty-object"] == (422, "rejected")
    assert verdicts["malformed-json"] == (422, "rejected")
    assert "client error reported as server error" in bad["message"] and "out-of-range 200" in bad["message"]
    # with the inference worker process (parallel_workers=1) the exception text reaches the client
    assert "wrong-type" in bad["details"]["internal_error_text_in"]
    wrong_type = next(c for c in bad["details"]["cases"] if c["case"] == "wrong-type")
    assert "could not convert string to float" in wrong_type["answer"]
    assert bad["details"]["alive_after"] is True


def test_edge_inputs_determinism_and_skew_pass_on_a_consistent_model(full_run: tuple[int, dict[str, Any], Path]) -> None:
    checks = checks_of(full_run[1])
    edge = checks["edge-inputs"]
    assert edge["status"] == "passing", edge["message"]
    assert {c["case"]: c["verdict"] for c in edge["details"]["cases"]}["huge"] == "finite"
    assert checks["determinism"]["status"] == "passing"
    assert checks["determinism"]["details"]["distinct_outputs"] == 1
    skew = checks["skew"]
    assert skew["status"] == "passing", skew["message"]
    assert skew["details"]["rows_compared"] == 150 and skew["details"]["mismatches"] == 0


def test_skew_catches_a_mismatched_preprocessing_step(served: Served, tmp_path: Path) -> None:
    # The served model lacks the StandardScaler the offline pipeline has; probabilities are compared.
    code, doc = probe(
        [
            served.server.url, "--model", "iris-unscaled", "--protocol", "v2", "--sample", str(served.sample_parquet),
            "--expected-predictions", str(served.expected_proba), "--model-output", "predict_proba", "--atol", "1e-3",
            "--check", "skew",
        ],
        tmp_path / "skew.json",
    )
    skew = checks_of(doc)["skew"]
    assert code == 1 and skew["status"] == "failing"
    assert skew["details"]["rows_compared"] == 150
    assert skew["details"]["mismatch_rate"] > 0.5
    worst = skew["details"]["worst_rows"]
    assert len(worst) == 5 and worst[0]["abs_diff"] >= worst[-1]["abs_diff"] > 1e-3
    assert len(worst[0]["expected"]) == 3 and len(worst[0]["served"]) == 3
    assert "rows differ from the offline predictions" in skew["message"] and "worst: row" in skew["message"]


def test_same_model_passes_skew_on_probabilities_from_jsonl(served: Served, tmp_path: Path) -> None:
    code, doc = probe(
        [
            served.server.url, "--model", "iris", "--sample", str(served.sample_jsonl), "--expected-predictions",
            str(served.expected_proba), "--model-output", "predict_proba", "--atol", "1e-9", "--check", "skew",
            "--check", "edge-inputs",
        ],
        tmp_path / "ok.json",
    )
    checks = checks_of(doc)
    assert code == 0, checks
    assert checks["skew"]["details"]["mismatches"] == 0
    assert checks["edge-inputs"]["status"] == "passing"  # probabilities finite, in [0, 1], summing to 1


def test_model_age_from_a_dated_version(served: Served, tmp_path: Path) -> None:
    base = [served.server.url, "--model", "dated", "--sample", str(served.sample_csv), "--drop", "species",
            "--check", "model-age"]
    code, doc = probe(base, tmp_path / "age.json")
    age = checks_of(doc)["model-age"]
    assert code == 0 and age["status"] == "passing", age["message"]
    assert 10 <= age["details"]["age_days"] < 11.1
    assert served.dated_version in age["details"]["source"]
    code, doc = probe([*base, "--max-age-days", "5"], tmp_path / "old.json")
    age = checks_of(doc)["model-age"]
    assert code == 1 and age["status"] == "failing" and "over the 5-day limit" in age["message"]


def test_server_says_ready_while_the_model_is_gone(served: Served, tmp_path: Path) -> None:
    request = urllib.request.Request(f"{served.server.url}/v2/repository/models/doomed/unload", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    code, doc = probe([served.server.url, "--model", "doomed", "--protocol", "v2", "--check", "readiness"], tmp_path / "r.json")
    ready = checks_of(doc)["readiness"]
    assert code == 1 and ready["status"] == "failing"
    others = len({m.name for m in served.models.values()} - {"doomed"})
    assert ready["details"] == {
        "model_ready": 404, "model_ready_path": "/v2/models/doomed/ready", "server_ready": 200, "models_ready_on_server": others,
    }
    assert f"GET /v2/health/ready -> 200 ({others} other model(s) loaded) although model 'doomed' is not ready" in ready["message"]


def test_server_says_ready_with_no_model_loaded(tmp_path: Path) -> None:
    """MLServer's /v2/health/ready stays 200 after its only model is unloaded (SERVING.md §2)."""
    from tests.support.mlserver import require_mlserver, running_mlserver, train_iris_model

    root = tmp_path / "solo"
    spec = train_iris_model(root / "solo", "solo", "v1")
    with running_mlserver(root, [spec], executable=require_mlserver()) as server:
        request = urllib.request.Request(f"{server.url}/v2/repository/models/solo/unload", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        code, doc = probe([server.url, "--model", "solo", "--check", "liveness", "--check", "readiness"], tmp_path / "solo.json")
    checks = checks_of(doc)
    assert code == 1 and checks["liveness"]["status"] == "passing"
    ready = checks["readiness"]
    assert ready["status"] == "failing" and ready["details"]["models_ready_on_server"] == 0
    assert ready["message"].startswith("GET /v2/health/ready -> 200 with no model loaded although model 'solo' is not ready (GET /v2/models/solo/ready -> 404")
    assert "probe /v2/models/solo/ready instead" in ready["message"]


def test_every_format_renders_the_real_report(full_run: tuple[int, dict[str, Any], Path]) -> None:
    from mlscore.probe.render import render

    report = ProbeReport.model_validate_json(full_run[2].read_text())
    text = render(report, "text")
    assert "FAIL  bad-input" in text and "rubric: INFRA6" in text
    markdown = render(report, "markdown")
    assert "| `bad-input` | MON2 | ❌ failing |" in markdown and "| wrong-type | 500 | server-error |" in markdown
    html = render(report, "html")
    assert "<!doctype html>" in html.lower() and "bad-input" in html and "<script" not in html.lower()
    assert "Content-Security-Policy" in html and "<svg" in html  # the shared base, latency bars
    assert json.loads(render(report, "json")) == json.loads(full_run[2].read_text())


def test_mixed_type_features_use_the_pandas_codec(served: Served, tmp_path: Path) -> None:
    """A ColumnTransformer pipeline with a string column: rows go as one named tensor per column."""
    code, doc = probe(
        [
            served.server.url, "--model", "income", "--sample", str(served.income_sample), "--drop", "label",
            "--expected-predictions", str(served.income_expected), "--check", "skew", "--check", "bad-input",
            "--check", "determinism",
        ],
        tmp_path / "income.json",
    )
    checks = checks_of(doc)
    assert any("pandas codec" in d["message"] for d in doc["diagnostics"])
    assert checks["skew"]["status"] == "passing", checks["skew"]["message"]
    assert checks["skew"]["details"]["rows_compared"] == 120 and checks["skew"]["details"]["mismatches"] == 0
    assert checks["determinism"]["status"] == "passing"
    bad = {c["case"]: c["verdict"] for c in checks["bad-input"]["details"]["cases"]}
    assert bad["missing-feature"] in ("server-error", "rejected")  # a column the pipeline needs is absent
    assert set(bad) >= {"wrong-type", "null-value", "empty-batch", "shape-mismatch", "malformed-json", "oversized"}
    assert code == 1  # MLServer does not reject every bad input with a 4xx
