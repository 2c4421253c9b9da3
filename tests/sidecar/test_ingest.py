"""The off-path tap: KServe/Seldon CloudEvents and plain JSON payload logs on POST /ingest."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from mlscore.sidecar.ingest import Malformed, parse_ingest
from tests.sidecar.helpers import (
    assert_accounted,
    iris_rows,
    request,
    running_sidecar,
    settle,
    total,
    v2_body,
)


def _kserve(kind: str, body: bytes, event_id: str) -> dict[str, str]:
    return {"ce-id": event_id, "ce-specversion": "1.0", "ce-source": "http://localhost:9081/",
            "ce-type": f"org.kubeflow.serving.inference.{kind}", "ce-inferenceservicename": "sklearn-iris",
            "ce-namespace": "default", "ce-component": "predictor", "content-type": "application/json"}


def test_parse_binary_structured_and_plain_events() -> None:
    req = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}).encode()
    (ev,) = parse_ingest("/ingest", _kserve("request", req, "1"), req)
    assert ev.request == req and ev.response is None and ev.model == "sklearn-iris"
    seldon = {"ce-type": "io.seldon.serving.inference.response", "ce-modelid": "iris", "content-type": "application/json"}
    (ev,) = parse_ingest("/ingest", seldon, b'{"predictions": [1]}')
    assert ev.response == b'{"predictions": [1]}' and ev.model == "iris"
    structured = json.dumps([{"specversion": "1.0", "type": "org.kubeflow.serving.inference.response", "id": "2",
                              "source": "x", "data": {"predictions": [0, 2]}}]).encode()
    (ev,) = parse_ingest("/ingest?model=m", {"content-type": "application/cloudevents-batch+json"}, structured)
    assert ev.response == {"predictions": [0, 2]} and ev.model == "m"
    plain = json.dumps([{"path": "/v2/models/iris/infer", "request": {"inputs": []}, "status": 200},
                        {"response": {"predictions": [1]}, "model": "a", "version": "3"}]).encode()
    evs = parse_ingest("/ingest", {"content-type": "application/json"}, plain)
    assert [e.path for e in evs] == ["/v2/models/iris/infer", None] and evs[1].version == "3"
    for bad_headers, bad_body in (({}, b"not json"), ({}, b"[1, 2]"), ({}, b'{"x": 1}'),
                                  ({"ce-type": "com.example.other"}, b"{}"),
                                  ({"content-type": "application/cloudevents+json"}, b'{"type": "a.request"}')):
        with pytest.raises(Malformed):
            parse_ingest("/ingest", bad_headers, bad_body)


@pytest.mark.integration
def test_ingest_endpoint_counts_every_event(tmp_path: Path) -> None:
    cfg = tmp_path / "sidecar.toml"
    cfg.write_text('[sidecar]\nwindow = "20"\nmin_window_rows = 10\nmax_body_bytes = 65536\n[model]\nname = "iris"\n')
    with running_sidecar(tmp_path, ["--config", str(cfg)]) as sc:  # tap only: no --upstream
        sent = 0
        for i in range(30):
            rows = iris_rows(1, seed=i)
            event_id = str(uuid.uuid4())
            req = json.dumps({"instances": rows}).encode()
            resp = json.dumps({"predictions": [1]}).encode()
            for kind, body in (("request", req), ("response", resp)):
                a = request(sc.metrics, "POST", "/ingest", body, headers=_kserve(kind, body, event_id))
                assert a.status == 202 and json.loads(a.body) == {"received": 1}
                sent += 1
        plain = json.dumps([{"path": "/v2/models/iris/infer", "request": json.loads(v2_body(iris_rows(2, seed=1)))}
                            for _ in range(5)]).encode()
        assert request(sc.metrics, "POST", "/ingest", plain).status == 202
        sent += 5
        assert request(sc.metrics, "POST", "/ingest", b"{broken").status == 400
        assert request(sc.metrics, "POST", "/ingest", b"[" + b"1," * 40000 + b"1]").status == 413
        assert request(sc.metrics, "GET", "/ingest").status == 405
        s = settle(sc.metrics)
        assert total(s, "mlscore_events_received_total", source="ingest") == sent + 2
        assert total(s, "mlscore_events_dropped_total", source="ingest", reason="malformed") == 1
        assert total(s, "mlscore_events_dropped_total", source="ingest", reason="too_large") == 1
        assert_accounted(s, "ingest")
        assert total(s, "mlscore_rows_analysed_total", model="sklearn-iris", kind="input") == 30
        assert total(s, "mlscore_predictions_total", model="sklearn-iris") == 30
        assert total(s, "mlscore_rows_analysed_total", model="iris", kind="input") == 10
        assert total(s, "mlscore_windows_closed_total", model="sklearn-iris") == 1
