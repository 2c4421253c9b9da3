"""Unit tests of the probe's pure pieces: statistics, comparisons, dates, metrics, OpenAPI, client, files."""

from __future__ import annotations

import datetime as dt
import http.server
import math
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlscore.errors import InputError
from mlscore.probe import http as probe_http
from mlscore.probe.adapters import encode_json_rows, json_api
from mlscore.probe.checks import _parse_when, compare_prediction, percentile, spearman
from mlscore.probe.endpoint import non_finite, probability_problems
from mlscore.probe.http import Budget, BudgetExhausted, HttpClient, ProbeError, TransportError
from mlscore.probe.metrics import MetricsScrape, classify, parse_exposition
from mlscore.probe.run import redact_text, secret_values
from mlscore.probe.sample import read_table


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 50))


def test_spearman_sees_monotone_trends_and_ignores_noise() -> None:
    xs = list(range(50))
    assert spearman(xs, [x * x for x in xs]) == pytest.approx(1.0)
    assert spearman(xs, [-x for x in xs]) == pytest.approx(-1.0)
    assert spearman(xs, [1.0] * 50) == 0.0
    assert abs(spearman(xs, [(x * 7919) % 50 for x in xs])) < 0.3


def test_compare_prediction() -> None:
    assert compare_prediction(1.0, 1.0 + 1e-9, 1e-6, 0) is None
    assert compare_prediction(1.0, 1.1, 1e-6, 0) == pytest.approx(0.1)
    assert compare_prediction([0.2, 0.8], [0.3, 0.7], 1e-6, 0) == pytest.approx(0.1)
    assert compare_prediction([0.2, 0.8], [0.2], 1e-6, 0) == math.inf
    assert compare_prediction("setosa", "setosa", 0, 0) is None
    assert compare_prediction("setosa", "virginica", 0, 0) == math.inf
    assert compare_prediction(1, "1", 0, 0) is None
    assert compare_prediction(math.nan, math.nan, 0, 0) is None
    assert compare_prediction(1.0, math.nan, 0, 0) == math.inf
    assert compare_prediction(100.0, 100.5, 0, 0.01) is None


def test_dates_from_versions_and_metadata() -> None:
    utc = dt.timezone.utc
    assert _parse_when(1700000000) == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=utc)
    assert _parse_when("1700000000000") == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=utc)
    assert _parse_when("2026-11-01T10:00:00Z") == dt.datetime(2026, 11, 1, 10, tzinfo=utc)
    assert _parse_when("model-2025-01-02") == dt.datetime(2025, 1, 2, tzinfo=utc)
    assert _parse_when("20260115") == dt.datetime(2026, 1, 15, tzinfo=utc)
    assert _parse_when("v20260115_1230") == dt.datetime(2026, 1, 15, 12, 30, tzinfo=utc)
    for junk in ("v1", "1", 3, True, None, "20261399", "2026-13-40"):
        assert _parse_when(junk) is None, junk


MLSERVER_METRICS = """\
# HELP model_infer_request_success_total Model infer request success count
# TYPE model_infer_request_success_total counter
model_infer_request_success_total{model="iris",version="v1"} 224.0
# TYPE model_infer_request_success_created gauge
model_infer_request_success_created{model="iris",version="v1"} 1.79e+09
# TYPE model_infer_request_failure_total counter
model_infer_request_failure_total{model="iris",version="v1"} 6.0
# TYPE rest_server_request_duration_seconds histogram
rest_server_request_duration_seconds_bucket{le="0.005",method="POST"} 10.0
rest_server_request_duration_seconds_count{method="POST"} 12.0
rest_server_request_duration_seconds_sum{method="POST"} 0.5
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.2e+08
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 1912.0
garbage line that is not a sample
weird_metric{a="b"} NaN
"""


def test_metrics_exposition_is_parsed_and_classified() -> None:
    families, totals = parse_exposition(MLSERVER_METRICS)
    assert families["rest_server_request_duration_seconds"] == "histogram"
    assert totals["model_infer_request_success_total"] == 224.0
    assert totals["rest_server_request_duration_seconds"] == 12.0  # the _count, not buckets or _sum
    assert "weird_metric" in families and "weird_metric" not in totals
    scrape = MetricsScrape("http://x/metrics", [], families, totals)
    classify(scrape)
    assert scrape.latency == ["rest_server_request_duration_seconds"]
    assert scrape.errors == ["model_infer_request_failure_total"]
    assert "model_infer_request_success_total" in scrape.requests
    assert scrape.memory == ["process_resident_memory_bytes"]
    assert not any("created" in n or "python_gc" in n for n in scrape.latency + scrape.requests)


def _spec(schema: dict, path: str = "/predict") -> dict:
    return {
        "paths": {path: {"post": {"requestBody": {"content": {"application/json": {"schema": schema}}}}}, "/health": {"get": {}}},
        "components": {"schemas": {"Req": {"type": "object", "properties": {"instances": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}}}},
                                   "Row": {"type": "object", "properties": {"a": {}, "b": {}}}}},
    }


def test_openapi_decides_route_and_layout() -> None:
    wrapped = json_api(_spec({"$ref": "#/components/schemas/Req"}), None)
    assert (wrapped.path, wrapped.layout, wrapped.key, wrapped.fields) == ("/predict", "wrapped", "instances", ("a", "b"))
    records = json_api(_spec({"type": "array", "items": {"$ref": "#/components/schemas/Row"}}, "/v1/score"), None)
    assert (records.path, records.layout) == ("/v1/score", "records")
    single = json_api(_spec({"$ref": "#/components/schemas/Row"}), None)
    assert single.layout == "single"
    assert encode_json_rows(single, [[1, 2], [3, 4]], ["a", "b"]) == [b'{"a":1,"b":2}', b'{"a":3,"b":4}']
    assert encode_json_rows(wrapped, [[1, 2]], ["a", "b"]) == [b'{"instances":[{"a":1,"b":2}]}']
    assert json_api(_spec({}), "score").path == "/score"
    with pytest.raises(ProbeError, match=r"cannot tell which route serves predictions \(POST routes: /a, /b\)"):
        json_api({"paths": {"/a": {"post": {}}, "/b": {"post": {}}}}, None)
    with pytest.raises(ProbeError, match="no OpenAPI document"):
        json_api(None, None)


def test_output_checks() -> None:
    assert non_finite({"p": [[0.1, float("nan")]], "y": [1]}) == ["p: nan"]
    assert sorted(non_finite([None, "Infinity", 2.0])) == ["output: 'Infinity'", "output: null"]
    assert probability_problems({"predict_proba": [[0.2, 0.8], [0.5, 0.6], [1.2, -0.2]]}) == [
        "predict_proba row 1: sums to 1.1, not 1", "predict_proba row 2: values outside [0, 1]"]
    assert probability_problems([[0.5, 0.5]], ("predict_proba",)) == []
    assert probability_problems([[3.0]], ("predict",)) == []


def test_secrets_are_redacted_with_and_without_scheme() -> None:
    secrets = secret_values({"Authorization": "Bearer tok-123456", "X-Key": "abc"})
    assert secrets == ["Bearer tok-123456", "tok-123456"]  # 3-character values are too short to hunt for
    assert redact_text('{"error": "bad token tok-123456"}', secrets) == '{"error": "bad token [redacted]"}'


def test_budget_caps_requests_and_paces_rate() -> None:
    budget = Budget(max_requests=3, time_budget_s=10, max_rate=50)
    started = time.monotonic()
    for _ in range(3):
        budget.acquire()
    assert time.monotonic() - started >= 0.035  # 3 slots at 50/s: the 3rd starts 40 ms after the 1st
    with pytest.raises(BudgetExhausted, match="request cap of 3 reached"):
        budget.acquire()
    expired = Budget(max_requests=10, time_budget_s=0.01, max_rate=None)
    time.sleep(0.02)
    with pytest.raises(BudgetExhausted, match="time budget of 0.01 s used up"):
        expired.acquire()


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Keeps connections alive but drops every one after one answer (a stale keep-alive)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"ok": true}' if self.path != "/big" else b"x" * 5000
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True  # without telling the client

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"5\r\n[1.5]\r\n0\r\n\r\n")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture()
def flaky() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_client_retries_a_stale_keep_alive_once(flaky: str) -> None:
    client = HttpClient(flaky, budget=Budget(10, 10, None))
    assert [client.get("/").status for _ in range(3)] == [200, 200, 200]
    assert client.budget.sent == 3  # a retry on a fresh connection is not a second request of the budget


def test_client_refuses_oversized_answers(flaky: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe_http, "MAX_RESPONSE_BYTES", 1000)
    with pytest.raises(TransportError, match="answer larger than"):
        HttpClient(flaky).get("/big")


def test_timed_post_falls_back_for_chunked_answers(flaky: str) -> None:
    client = HttpClient(flaky, budget=Budget(10, 10, None))
    response = client.timed_post("/predict", b"{}")
    assert response.status == 200 and response.json() == [1.5]


def test_timed_post_reports_a_refused_connection() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(TransportError, match="connection refused"):
        HttpClient(f"http://127.0.0.1:{port}").timed_post("/x", b"{}")


def test_sample_readers(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "s.csv").write_text("a,b,label\n1,2.5,x\n3,4.5,y\n")
    table = read_table(tmp_path / "s.csv", 10)
    assert table.columns == ("a", "b", "label") and table.select(["b", "a"]) == [[2.5, 1], [4.5, 3]]
    pq.write_table(pa.table({"a": list(range(100)), "b": [0.5] * 100}), tmp_path / "s.parquet", row_group_size=10)
    assert len(read_table(tmp_path / "s.parquet", 25).rows) == 25
    (tmp_path / "s.jsonl").write_text('{"a": 1, "b": 2}\n\n{"a": 3, "c": 4}\n')
    jsonl = read_table(tmp_path / "s.jsonl", 10)
    assert jsonl.columns == ("a", "b", "c") and jsonl.rows == ((1, 2, None), (3, None, 4))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.parquet", b"PAR1 this is not parquet", "not a readable Parquet file"),
        ("bad.jsonl", b'{"a": 1}\n[1, 2]\n', "bad.jsonl:2: not a JSON object"),
        ("bad.jsonl", b"\xff\xfe\x00\x00garbage\n", "not a JSON object"),
        ("empty.csv", b"", "not a readable CSV file"),
        ("header.csv", b"a,b\n", "no rows"),
        ("data.xlsx", b"PK", "unsupported file type .xlsx"),
    ],
)
def test_sample_readers_reject_bad_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message.replace(".", r"\.")):
        read_table(path, 10)
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "missing.csv", 10)
