"""Unit tests of the pure payload codecs in mlscore.probe.protocols (no server, no httpx)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlscore.probe import protocols as p
from mlscore.probe.protocols import PayloadError


def b(doc: object) -> bytes:
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("path", "protocol", "model", "version"),
    [
        ("/v2/models/iris/infer", "v2", "iris", None),
        ("/v2/models/iris/versions/v1/infer", "v2", "iris", "v1"),
        ("/v1/models/half:predict", "tfserving", "half", None),
        ("/v1/models/half/versions/3:predict", "tfserving", "half", "3"),
        ("/v1/models/half/labels/stable:classify", "tfserving", "half", "stable"),
        ("/invocations", "mlflow", None, None),
        ("/invocations?x=1", "mlflow", None, None),
        ("/predictions/resnet", "torchserve", "resnet", None),
        ("/predictions/resnet/2.0", "torchserve", "resnet", "2.0"),
    ],
)
def test_infer_paths_are_recognised(path: str, protocol: str, model: str | None, version: str | None) -> None:
    assert p.detect_protocol(path) == protocol
    route = p.parse_path(path)
    assert route is not None and route.kind == "infer"
    assert (route.model, route.version) == (model, version)
    assert p.model_from_path(protocol, path) == model


@pytest.mark.parametrize("path", ["/", "/predict", "/v2/models/iris/ready", "/v2/health/live", "/ping", "x" * 5000])
def test_non_infer_paths_have_no_protocol(path: str) -> None:
    assert p.detect_protocol(path) is None


def test_health_paths_are_classified() -> None:
    assert p.parse_path("/v2/models/iris/ready") == p.Route("v2", "ready", "iris")
    assert p.parse_path("/v2/health/ready") == p.Route("v2", "server_ready")
    assert p.parse_path("/v1/models/half") == p.Route("tfserving", "ready", "half")
    assert p.parse_path("/v1/models/half/metadata") == p.Route("tfserving", "metadata", "half")


def test_infer_path_round_trips() -> None:
    for protocol in ("v2", "tfserving", "torchserve"):
        path = p.infer_path(protocol, "m", "7")
        assert p.detect_protocol(path) == protocol
        assert p.model_from_path(protocol, path) == "m"
    assert p.infer_path("mlflow", None) == "/invocations"
    assert p.infer_path("json", None, api="score") == "/score"
    with pytest.raises(PayloadError, match="needs a model"):
        p.infer_path("v2", None)


def test_v2_single_2d_tensor_is_positional_and_takes_feature_names() -> None:
    body = b({"inputs": [{"name": "input-0", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2, 3], [4, 5, 6]]}]})
    assert p.parse_request("v2", body) == {"0": [1, 4], "1": [2, 5], "2": [3, 6]}
    assert p.parse_request("v2", body, None, ["a", "b", "c"]) == {"a": [1, 4], "b": [2, 5], "c": [3, 6]}
    flat = b({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}]})
    assert p.parse_request("v2", flat) == {"0": [1, 4], "1": [2, 5], "2": [3, 6]}


def test_v2_pandas_codec_columns_keep_names() -> None:
    body = b(
        {
            "parameters": {"content_type": "pd"},
            "inputs": [
                {"name": "age", "shape": [2], "datatype": "INT64", "data": [30, 40]},
                {"name": "city", "shape": [2, 1], "datatype": "BYTES", "data": ["a", "b"]},
                {"name": "emb", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]},
            ],
        }
    )
    assert p.parse_request("v2", body) == {"age": [30, 40], "city": ["a", "b"], "emb[0]": [1, 3], "emb[1]": [2, 4]}


def test_v2_response_single_and_multiple_outputs() -> None:
    one = b({"outputs": [{"name": "predict", "shape": [2, 1], "datatype": "INT64", "data": [0, 2]}]})
    assert p.parse_response("v2", one) == [0, 2]
    two = b(
        {
            "outputs": [
                {"name": "predict", "shape": [2, 1], "datatype": "INT64", "data": [0, 2]},
                {"name": "predict_proba", "shape": [2, 2], "datatype": "FP64", "data": [0.9, 0.1, 0.2, 0.8]},
            ]
        }
    )
    assert p.parse_response("v2", two) == {"predict": [0, 2], "predict_proba": [[0.9, 0.1], [0.2, 0.8]]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"inputs": [', "not JSON"),
        (b"[" * 10_000 + b"]" * 10_000, "deeper"),
        (b({"inputs": []}), "non-empty 'inputs'"),
        (b({"inputs": [{"name": "x", "shape": [1, 4], "data": [1, 2]}]}), "needs 4 values"),
        (b({"inputs": [{"name": "x", "shape": [-1], "data": [1]}]}), "non-negative"),
        (b({"inputs": [{"name": "x", "shape": [1], "datatype": "FLOAT", "data": [1]}]}), "not a V2 datatype"),
        (b({"inputs": [{"name": "x", "shape": [1], "data": [{"a": 1}]}]}), "holds an object"),
        (b([1, 2]), "must be a JSON object"),
    ],
)
def test_malformed_v2_requests_raise_payload_error(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        p.parse_request("v2", body)


def test_v2_error_response_is_a_payload_error_naming_the_error() -> None:
    with pytest.raises(PayloadError, match="X has 3 features"):
        p.parse_response("v2", b({"error": "ValueError: X has 3 features"}))


def test_tfserving_rows_and_columns() -> None:
    assert p.parse_request("tfserving", b({"instances": [[1, 2], [3, 4]]})) == {"0": [1, 3], "1": [2, 4]}
    assert p.parse_request("tfserving", b({"instances": [{"a": 1, "b": 2}]})) == {"a": [1], "b": [2]}
    assert p.parse_request("tfserving", b({"inputs": {"a": [1, 2], "b": [3, 4]}})) == {"a": [1, 2], "b": [3, 4]}
    assert p.parse_response("tfserving", b({"predictions": [[0.1, 0.9]]})) == [[0.1, 0.9]]
    assert p.parse_response("tfserving", b({"outputs": {"score": [1, 2]}})) == {"score": [1, 2]}
    with pytest.raises(PayloadError, match="'instances' or 'inputs'"):
        p.parse_request("tfserving", b({"rows": []}))
    with pytest.raises(PayloadError, match="different lengths"):
        p.parse_request("tfserving", b({"instances": [[1, 2], [3]]}))


def test_mlflow_formats() -> None:
    split = b({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}})
    assert p.parse_request("mlflow", split) == {"a": [1, 3], "b": [2, 4]}
    records = b({"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]})
    assert p.parse_request("mlflow", records) == {"a": [1, 3], "b": [2, 4]}
    assert p.parse_request("mlflow", b({"instances": [[1, 2]]})) == {"0": [1], "1": [2]}
    assert p.parse_request("mlflow", b({"inputs": {"a": [1]}})) == {"a": [1]}
    assert p.parse_request("mlflow", b"a,b\n1,2.5\n3,x\n", "text/csv") == {"a": [1, 3], "b": [2.5, "x"]}
    assert p.parse_response("mlflow", b({"predictions": [1, 0]})) == [1, 0]
    assert p.parse_response("mlflow", b({"predictions": [{"p": 0.1}, {"p": 0.7}]})) == [0.1, 0.7]
    with pytest.raises(PayloadError, match="rows must have 2 values"):
        p.parse_request("mlflow", b({"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}))
    with pytest.raises(PayloadError, match="CSV rows"):
        p.parse_request("mlflow", b"a,b\n1\n", "text/csv")


def test_generic_json_shapes() -> None:
    assert p.parse_request("json", b([{"a": 1}, {"a": 2}])) == {"a": [1, 2]}
    assert p.parse_request("json", b({"a": 1, "b": "x"})) == {"a": [1], "b": ["x"]}
    assert p.parse_request("json", b({"features": [[1, 2]]}), None, ["u", "v"]) == {"u": [1], "v": [2]}
    assert p.parse_request("bentoml", b({"input_data": [[1, 2]]})) == {"0": [1], "1": [2]}
    assert p.parse_request("torchserve", b({"data": [1, 2, 3]})) == {"0": [1, 2, 3]}
    assert p.parse_response("json", b({"prediction": 0.3})) == [0.3]
    assert p.parse_response("json", b([0.1, 0.2])) == [0.1, 0.2]
    assert p.parse_response("bentoml", b(7)) == [7]
    with pytest.raises(PayloadError, match="response is an error"):
        p.parse_response("json", b({"detail": [{"msg": "field required"}]}))
    with pytest.raises(PayloadError, match="not rows or columns"):
        p.parse_request("json", b("hello"))
    with pytest.raises(PayloadError, match="not JSON"):
        p.parse_response("json", b"<html>oops</html>", "text/html")


def test_unknown_protocol_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="unknown protocol"):
        p.parse_request("grpc", b"{}")


def test_parse_exchange_detects_protocol_and_keeps_errors_per_side() -> None:
    request = p.encode_request("v2", [[1.0, 2.0]], ["a", "b"])
    response = b({"error": "boom"})
    exchange = p.parse_exchange(None, "/v2/models/m/versions/3/infer", request, "application/json", response)
    assert (exchange.protocol, exchange.model, exchange.version) == ("v2", "m", "3")
    assert exchange.inputs == {"0": [1.0], "1": [2.0]}
    assert exchange.predictions is None and exchange.errors and exchange.errors[0].startswith("response:")
    named = p.parse_exchange("v2", "/v2/models/m/infer", request, None, None, None, ["a", "b"])
    assert named.inputs == {"a": [1.0], "b": [2.0]}


@pytest.mark.parametrize("protocol", p.PROTOCOLS)
def test_encode_then_parse_round_trips(protocol: str) -> None:
    rows = [[1.5, 2.0], [3.0, -4.0]]
    body = p.encode_request(protocol, rows, ["a", "b"])
    columns = p.parse_request(protocol, body, "application/json", ["a", "b"])
    assert columns == {"a": [1.5, 3.0], "b": [2.0, -4.0]}


def test_error_message_reads_oip_and_fastapi_bodies() -> None:
    assert p.error_message(b({"error": "Model nope not found"})) == "Model nope not found"
    assert "missing" in (p.error_message(b({"detail": [{"type": "missing"}]})) or "")
    assert p.error_message(b"not json") is None


def test_flat_numbers() -> None:
    assert p.flat_numbers([[0.1, 0.9], [1, 0]]) == [0.1, 0.9, 1.0, 0.0]
    assert p.flat_numbers({"a": [1], "b": [[2, 3]]}) == [1.0, 2.0, 3.0]
    assert p.flat_numbers(["x"]) is None


def test_importing_protocols_does_not_import_httpx() -> None:
    code = "import sys, mlscore.probe.protocols; print('httpx' in sys.modules, 'pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_dumps_writes_values_json_has_no_type_for() -> None:
    import datetime
    import decimal

    doc = {"when": datetime.date(2026, 1, 2), "amount": decimal.Decimal("1.5"), "nan": float("nan")}
    assert p.dumps(doc) == b'{"when":"2026-01-02","amount":"1.5","nan":NaN}'
