"""Small stdlib HTTP servers that answer like TF Serving, TorchServe, MLflow and BentoML do.

These are emulations written from each project's documented REST API (paths, bodies, status codes),
not the real servers (none of those runs here); MLServer is the real server in the other tests.
The model is the same everywhere: the score of a row is the sum of its features.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import math
import threading
from collections.abc import Iterator
from typing import Any

FEATURES = ("a", "b", "c")
TF_VERSIONS = ("1700000000", "1690000000")  # TF Serving versions are often epoch seconds


def score(row: list[Any]) -> float:
    return float(sum(float(v) for v in row))


class _Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # headers and body in one write: no Nagle / delayed-ACK stall per answer

    def send_json(self, status: int, doc: Any) -> None:
        self.send_text(status, json.dumps(doc), "application/json")

    def send_text(self, status: int, text: str, ctype: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self) -> Any:
        """The JSON body; ValueError (-> a 4xx) when it is not JSON or larger than 512 KiB."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if length > 512 * 1024:
            raise ValueError("payload too large")
        return json.loads(raw)

    def rows_or_400(self, rows: Any) -> list[list[Any]] | None:
        """Validate like a careful server: a list of rows of 3 finite numbers, else 400."""
        ok = isinstance(rows, list) and rows and all(
            isinstance(r, list) and len(r) == 3
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) < 1e6 for v in r)
            for r in rows
        )
        return rows if ok else None

    def log_message(self, format: str, *args: object) -> None:
        return


def _records_to_rows(records: Any) -> Any:
    if isinstance(records, list) and all(isinstance(r, dict) for r in records):
        return [[r.get(f) for f in FEATURES] if set(r) == set(FEATURES) else None for r in records]
    return records


class TFServing(_Base):
    def do_GET(self) -> None:
        status = [{"version": v, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}} for v in TF_VERSIONS]
        if self.path == "/v1/models/half":
            self.send_json(200, {"model_version_status": status})
        elif self.path.startswith("/v1/models/half/versions/") and not self.path.endswith("/metadata"):
            version = self.path.rsplit("/", 1)[1]
            found = [s for s in status if s["version"] == version]
            self.send_json(200 if found else 404, {"model_version_status": found} if found else {"error": f"Servable not found for request: Specific(half, {version})"})
        elif self.path == "/v1/models/half/metadata":
            self.send_json(200, {"model_spec": {"name": "half", "version": TF_VERSIONS[0]}, "metadata": {"signature_def": {"signature_def": {"serving_default": {}}}}})
        elif self.path == "/monitoring/prometheus/metrics":
            self.send_text(200, "# TYPE :tensorflow:serving:request_count counter\n:tensorflow:serving:request_count{model_name=\"half\",status=\"OK\"} 3\n"
                           "# TYPE :tensorflow:serving:request_latency histogram\n:tensorflow:serving:request_latency_bucket{le=\"10\"} 3\n"
                           ":tensorflow:serving:request_latency_sum 12\n:tensorflow:serving:request_latency_count 3\n", "text/plain")
        else:
            self.send_json(404, {"error": "Malformed request: GET " + self.path})

    def do_POST(self) -> None:
        if not self.path.startswith("/v1/models/half") or not self.path.endswith(":predict"):
            self.send_json(404, {"error": "Malformed request: POST " + self.path})
            return
        try:
            doc = self.body()
        except ValueError:
            self.send_json(400, {"error": "JSON Parse error"})
            return
        rows = self.rows_or_400(_records_to_rows(doc.get("instances")) if isinstance(doc, dict) else None)
        if rows is None:
            self.send_json(400, {"error": "Failed to process element: 0 of 'instances' list."})
            return
        self.send_json(200, {"predictions": [score(r) for r in rows]})


class TorchServe(_Base):
    def do_GET(self) -> None:
        if self.path == "/ping":
            self.send_json(200, {"status": "Healthy"})
        else:
            self.send_json(404, {"code": 404, "type": "ResourceNotFoundException", "message": "Requested resource is not found"})

    def do_POST(self) -> None:
        if self.path != "/predictions/summer":
            self.send_json(404, {"code": 404, "type": "ModelNotFoundException", "message": "Model not found"})
            return
        try:
            doc = self.body()
        except ValueError:
            self.send_json(400, {"code": 400, "type": "BadRequest", "message": "bad json"})
            return
        rows = self.rows_or_400(_records_to_rows(doc))
        if rows is None:
            self.send_json(400, {"code": 400, "type": "InvalidInput", "message": "rows of three numbers expected"})
            return
        self.send_json(200, [score(r) for r in rows])


class MLflow(_Base):
    def do_GET(self) -> None:
        if self.path in ("/ping", "/health"):
            self.send_text(200, "\n", "application/json")
        elif self.path == "/version":
            self.send_text(200, "2.17.2", "text/plain")
        else:
            self.send_text(404, "<!doctype html><title>404 Not Found</title>", "text/html")

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self.send_text(404, "<!doctype html><title>404 Not Found</title>", "text/html")
            return
        bad = {"error_code": "BAD_REQUEST", "message": "Failed to parse input"}
        try:
            doc = self.body()
        except ValueError:
            self.send_json(400, bad)
            return
        split = doc.get("dataframe_split") if isinstance(doc, dict) else None
        rows = None
        if isinstance(split, dict) and split.get("columns") == list(FEATURES):
            rows = self.rows_or_400(split.get("data"))
        if rows is None:
            self.send_json(400, bad)
            return
        self.send_json(200, {"predictions": [score(r) for r in rows]})


BENTO_OPENAPI = {
    "openapi": "3.0.2",
    "info": {"title": "Summer", "version": "1.0.0"},
    "paths": {
        "/predict": {
            "post": {
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictInput"}}}},
            }
        },
        "/healthz": {"get": {}},
    },
    "components": {
        "schemas": {
            "PredictInput": {
                "type": "object",
                "properties": {"input_data": {"type": "array", "items": {"type": "object", "properties": {f: {"type": "number"} for f in FEATURES}}}},
            }
        }
    },
}


class BentoML(_Base):
    def do_GET(self) -> None:
        if self.path in ("/readyz", "/livez", "/healthz"):
            self.send_text(200, "\n", "text/plain")
        elif self.path == "/docs.json":
            self.send_json(200, BENTO_OPENAPI)
        elif self.path == "/metrics":
            self.send_text(200, "# TYPE bentoml_service_request_total counter\nbentoml_service_request_total{endpoint=\"/predict\",http_response_code=\"200\"} 4\n"
                           "# TYPE bentoml_service_request_duration_seconds histogram\nbentoml_service_request_duration_seconds_bucket{le=\"0.1\"} 4\n"
                           "bentoml_service_request_duration_seconds_count 4\nbentoml_service_request_duration_seconds_sum 0.02\n", "text/plain")
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self.send_json(404, {"error": "not found"})
            return
        try:
            doc = self.body()
        except ValueError:
            self.send_json(400, {"error": "invalid json"})
            return
        rows = self.rows_or_400(_records_to_rows(doc.get("input_data")) if isinstance(doc, dict) else None)
        if rows is None:
            self.send_json(400, {"error": "input_data: rows of a, b, c expected"})
            return
        self.send_json(200, [score(r) for r in rows])


@contextlib.contextmanager
def serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
