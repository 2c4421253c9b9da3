"""The analysis worker in process: windows, drift against the reference, schema and prediction checks, drops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlscore.sidecar.analysis import Analyzer, load_reference
from mlscore.sidecar.config import AlertSettings, ProxySettings, SidecarConfig
from mlscore.sidecar.events import Event
from mlscore.sidecar.metrics import Metrics
from tests.sidecar.helpers import iris_rows, v2_body


@pytest.fixture(scope="module")
def ref_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.linear_model import LogisticRegression

    from tests.sidecar.helpers import make_reference
    from tests.support.mlserver import iris_data

    x, y, _ = iris_data()
    model = LogisticRegression(max_iter=1000).fit(x, y)
    return make_reference(tmp_path_factory.mktemp("ref") / "ref.json", model)


def _analyzer(ref_path: Path, **sidecar: object) -> tuple[Analyzer, Metrics]:
    cfg = SidecarConfig(sidecar=ProxySettings(**{"window": "100", "min_window_rows": 50, **sidecar}),
                        alerts=AlertSettings())
    metrics = Metrics()
    return Analyzer(cfg, metrics, load_reference(str(ref_path), "prediction")), metrics


def _v2_response(preds: list[float]) -> bytes:
    return json.dumps({"model_name": "iris", "model_version": "v1", "outputs": [
        {"name": "predict", "shape": [len(preds), 1], "datatype": "FP64", "data": preds}]}).encode()


def _value(m: Metrics, name: str, *labels: str) -> float:
    v = m.registry.get_sample_value(name, dict(zip(_labels(name), labels)))
    return 0.0 if v is None else v


def _labels(name: str) -> tuple[str, ...]:
    from mlscore.sidecar.metrics import BY_NAME

    base = name.removesuffix("_total")
    return BY_NAME[base].labels


def _feed(a: Analyzer, rows: list[list[float]], preds: list[float] | None = None) -> None:
    for i, r in enumerate(rows):
        resp = _v2_response([preds[i]]) if preds is not None else None
        a.submit(Event("proxy", path="/v2/models/iris/infer", protocol="v2", model="iris", status=200,
                       request=v2_body([r]), response=resp, size=100))
    while a.queue:
        ev = a.queue.popleft()
        a.queue_bytes -= ev.size
        a.process(ev)


def test_same_distribution_is_quiet_and_shifted_inputs_drift(ref_path: Path) -> None:
    a, m = _analyzer(ref_path)
    quiet = 0
    for seed in range(5):  # five windows of 100 resampled training rows
        _feed(a, iris_rows(100, seed=seed), [0.0] * 50 + [1.0] * 25 + [2.0] * 25)
        quiet += int(_value(m, "mlscore_drift_detected", "iris", "input"))
    assert _value(m, "mlscore_windows_closed_total", "iris") == 5
    assert quiet <= 1  # a 5%-level test per feature, half the features must drift
    _feed(a, iris_rows(100, seed=99, shift_sd=2.0), [2.0] * 100)
    assert _value(m, "mlscore_drift_detected", "iris", "input") == 1
    assert _value(m, "mlscore_drifted_features", "iris", "input") == 4
    assert _value(m, "mlscore_drift_detected", "iris", "prediction") == 1
    score = m.registry.get_sample_value("mlscore_feature_drift_score", {
        "model": "iris", "kind": "input", "feature": "petal_length", "method": "ks"})
    assert score is not None and score > 0.99  # 1 - p-value
    assert _value(m, "mlscore_schema_violations_total", "iris", "petal_length", "out_of_range") > 0
    assert _value(m, "mlscore_events_analysed_total", "proxy") == 600
    assert a.last_results["iris/input"]["drifted"] is True


def test_non_finite_and_out_of_range_predictions_are_counted(ref_path: Path) -> None:
    a, m = _analyzer(ref_path)
    body = json.dumps({"model_name": "iris", "outputs": [
        {"name": "predict", "shape": [4, 1], "datatype": "FP64", "data": [1.0, 7.0, -3.0, 0.0]}]}).encode()
    nan_body = b'{"model_name":"iris","outputs":[{"name":"p","shape":[2],"datatype":"FP64","data":[NaN,Infinity]}]}'
    for resp in (body, nan_body):
        a.submit(Event("proxy", path="/v2/models/iris/infer", status=200, request=v2_body([[5.0, 3.0, 1.5, 0.2]]),
                       response=resp, size=10))
    while a.queue:
        a.process(a.queue.popleft())
    assert _value(m, "mlscore_predictions_total", "iris") == 6
    assert _value(m, "mlscore_predictions_nonfinite_total", "iris") == 2
    assert _value(m, "mlscore_predictions_out_of_range_total", "iris") == 2  # 7 and -3 outside [0, 2]


def test_a_full_queue_drops_and_counts(ref_path: Path) -> None:
    a, m = _analyzer(ref_path, queue_events=10)
    for _ in range(25):
        a.submit(Event("proxy", path="/v2/models/iris/infer", request=v2_body([[5.0, 3.0, 1.5, 0.2]]), size=10))
    assert len(a.queue) == 10
    assert _value(m, "mlscore_events_dropped_total", "proxy", "queue_full") == 15
    while a.queue:
        a.process(a.queue.popleft())
    received = _value(m, "mlscore_events_received_total", "proxy")
    assert received == 25 == _value(m, "mlscore_events_analysed_total", "proxy") + 15


def test_byte_bound_and_analysis_errors_never_escape(ref_path: Path) -> None:
    a, m = _analyzer(ref_path, queue_bytes=4096)
    a.submit(Event("proxy", request=b"x" * 5000, size=5000))  # over the byte budget on its own
    assert _value(m, "mlscore_events_dropped_total", "proxy", "queue_full") == 1
    for body in (b"\x00\xff" * 10, b"[]", b'{"inputs": 5}', b'{"a": {"b": [1, [2, {"c": 3}]]}}', b"1e999"):
        a.submit(Event("ingest", request=body, size=len(body)))
    while a.queue:
        a.process(a.queue.popleft())
    received = _value(m, "mlscore_events_received_total", "ingest")
    analysed = _value(m, "mlscore_events_analysed_total", "ingest")
    dropped = sum(v for (k, v) in _dropped(m, "ingest"))
    assert received == 5 and analysed + dropped == 5


def _dropped(m: Metrics, source: str) -> list[tuple[str, float]]:
    out = []
    for fam in m.registry.collect():
        for s in fam.samples:
            if s.name == "mlscore_events_dropped_total" and s.labels["source"] == source:
                out.append((s.labels["reason"], s.value))
    return out


def test_model_labels_are_capped(ref_path: Path) -> None:
    a, m = _analyzer(ref_path, max_models=3)
    for i in range(20):
        a.submit(Event("proxy", model=f"m{i}", request=v2_body([[5.0, 3.0, 1.5, 0.2]]), size=10))
    while a.queue:
        a.process(a.queue.popleft())
    models = {s.labels["model"] for fam in m.registry.collect() for s in fam.samples
              if s.name == "mlscore_rows_analysed_total"}
    assert models == {"m0", "m1", "m2", "other"}
    assert len(a.windows) == 4


def test_payloads_are_logged_only_when_asked(ref_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    secret = b'{"inputs": "SECRET-PAYLOAD"}'
    for log_payloads in (False, True):
        a, _ = _analyzer(ref_path, log_payloads=log_payloads)
        with caplog.at_level(logging.INFO, logger="mlscore.sidecar"):
            a.process(Event("proxy", path="/v2/models/iris/infer", request=secret, size=len(secret)))
        assert ("SECRET-PAYLOAD" in caplog.text) is log_payloads
        caplog.clear()


@pytest.mark.parametrize(("path", "request_body", "response_body"), [
    ("/v1/models/iris:predict", {"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}, {"predictions": [0, 2]}),
    ("/invocations", {"dataframe_split": {"columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
                                          "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}},
     {"predictions": [0, 2]}),
    ("/predictions/iris", [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
                           {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}],
     [0, 2]),
    ("/predict", [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], {"predictions": [0, 2]}),
])
def test_every_protocol_feeds_the_windows(ref_path: Path, path: str, request_body: object,
                                          response_body: object) -> None:
    a, m = _analyzer(ref_path)
    a.process(Event("proxy", path=path, model="iris", status=200, request=json.dumps(request_body).encode(),
                    response=json.dumps(response_body).encode(), size=10))
    assert _value(m, "mlscore_events_analysed_total", "proxy") == 1
    assert _value(m, "mlscore_rows_analysed_total", "iris", "input") == 2
    assert _value(m, "mlscore_predictions_total", "iris") == 2
    assert a.windows["iris"].buffer["petal_length"] == [1.4, 5.2]  # columns named from the reference


def test_time_windows_close_on_time_only_with_enough_rows(ref_path: Path) -> None:
    a, m = _analyzer(ref_path, window="30s", min_window_rows=50)
    _feed(a, iris_rows(20, seed=1))
    a.windows["iris"].opened -= 31  # as if 31 s had passed
    a.close_due_windows()
    assert _value(m, "mlscore_windows_closed_total", "iris") == 0  # 20 rows < min_window_rows: keeps accumulating
    _feed(a, iris_rows(40, seed=2))
    a.close_due_windows()
    assert _value(m, "mlscore_windows_closed_total", "iris") == 1
    assert _value(m, "mlscore_window_size_rows", "iris", "input") == 60
    assert _value(m, "mlscore_drift_detected", "iris", "input") == 0
    assert a.windows["iris"].rows == 0
