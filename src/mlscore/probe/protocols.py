"""Pure payload codecs for the model-serving protocols mlscore understands (stdlib only).

Shared by ``mlscore probe`` (to build requests and read answers) and by the sidecar (to read
traffic it sees). Nothing here does I/O or imports httpx; every function is total: a body that
does not parse as the protocol's payload raises :class:`PayloadError`, nothing else escapes.

Protocols (the names used everywhere in mlscore):

- ``v2``: Open Inference Protocol / KServe V2 (MLServer, KServe, Triton, Seldon Core 2):
  ``POST /v2/models/{m}[/versions/{v}]/infer`` with ``{"inputs": [tensor...]}``.
- ``tfserving``: TF Serving REST and KServe V1: ``POST /v1/models/{m}[/versions/{v}]:predict`` with
  ``{"instances": [...]}`` (rows) or ``{"inputs": ...}`` (columns); answers ``predictions``/``outputs``.
- ``torchserve``: ``POST /predictions/{m}[/{v}]``, body as the handler wants (JSON handled).
- ``mlflow``: MLflow scoring server ``POST /invocations`` with ``dataframe_split``,
  ``dataframe_records``, ``instances`` or ``inputs`` (JSON) or a CSV body; answers ``predictions``.
- ``bentoml``: BentoML >= 1.2 ``POST /{api_name}``, JSON keyed by the API's parameter names.
- ``json``: any JSON service: records, a dict of columns, or one of the common wrappers.

Column naming. Named inputs keep their names (V2 tensors of one column, dict rows, dataframe
columns). Positional columns are named ``"0"``, ``"1"``, ... unless ``feature_names`` is given
and has the right length. A V2 request with one 2-D tensor is positional (clients name that tensor
arbitrarily, e.g. ``input-0``); with several 2-D tensors, columns are ``"{tensor}[{j}]"``.

Predictions. One output: a list with one item per row (a number, or a list for a multi-column
output such as class probabilities). Several outputs: a dict output name -> such a list.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

PROTOCOLS: tuple[str, ...] = ("v2", "tfserving", "torchserve", "mlflow", "bentoml", "json")

#: Largest body the decoders accept (bytes); callers should cap earlier, this is the last guard.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Deepest JSON nesting accepted before decoding (guards the recursive decoder).
MAX_DEPTH = 64

Columns = dict[str, list[Any]]
Predictions = list[Any] | dict[str, list[Any]]

V2_DATATYPES = (
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64", "BYTES",
)


class PayloadError(ValueError):
    """A body that is not a valid payload of the named protocol; the message says what is wrong."""


# --------------------------------------------------------------------------------------------
# Paths


@dataclass(frozen=True)
class Route:
    """What a request path says: protocol, model, version and the kind of endpoint."""

    protocol: str
    kind: Literal["infer", "ready", "metadata", "live", "server_ready", "server_metadata", "ping"]
    model: str | None = None
    version: str | None = None
    verb: str | None = None


_SEG = r"[^/]+"
_ROUTES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(rf"^/v2/models/(?P<m>{_SEG})(?:/versions/(?P<v>{_SEG}))?/infer$"), "v2", "infer"),
    (re.compile(rf"^/v2/models/(?P<m>{_SEG})(?:/versions/(?P<v>{_SEG}))?/ready$"), "v2", "ready"),
    (re.compile(rf"^/v2/models/(?P<m>{_SEG})(?:/versions/(?P<v>{_SEG}))?$"), "v2", "metadata"),
    (re.compile(r"^/v2/health/live$"), "v2", "live"),
    (re.compile(r"^/v2/health/ready$"), "v2", "server_ready"),
    (re.compile(r"^/v2/?$"), "v2", "server_metadata"),
    (
        re.compile(
            r"^/v1/models/(?P<m>[^/:]+)(?:/versions/(?P<v>[^/:]+)|/labels/(?P<l>[^/:]+))?"
            r":(?P<verb>predict|classify|regress|explain)$"
        ),
        "tfserving",
        "infer",
    ),
    (re.compile(r"^/v1/models/(?P<m>[^/:]+)(?:/versions/(?P<v>[^/:]+))?/metadata$"), "tfserving", "metadata"),
    (re.compile(r"^/v1/models/(?P<m>[^/:]+)(?:/versions/(?P<v>[^/:]+)|/labels/(?P<l>[^/:]+))?$"), "tfserving", "ready"),
    (re.compile(r"^/invocations$"), "mlflow", "infer"),
    (re.compile(r"^/ping$"), "torchserve", "ping"),
    (re.compile(rf"^/predictions/(?P<m>{_SEG})(?:/(?P<v>{_SEG}))?$"), "torchserve", "infer"),
)


def parse_path(path: str) -> Route | None:
    """Recognise a request path (query string ignored); None when no known protocol claims it.

    ``/ping`` is TorchServe's but MLflow answers it too; ``mlflow`` is only certain from
    ``/invocations``. BentoML and plain JSON routes are user-named, so no path proves them.
    """
    if not isinstance(path, str):
        return None
    path = path.split("?", 1)[0].split("#", 1)[0]
    if len(path) > 4096:
        return None
    if len(path) > 1 and path.endswith("/") and not path.startswith("/v2/") and path != "/v2/":
        path = path.rstrip("/")
    for pattern, protocol, kind in _ROUTES:
        match = pattern.match(path)
        if match:
            groups = match.groupdict()
            return Route(
                protocol=protocol,
                kind=kind,  # type: ignore[arg-type]
                model=groups.get("m"),
                version=groups.get("v") or groups.get("l"),
                verb=groups.get("verb"),
            )
    return None


def detect_protocol(path: str) -> str | None:
    """The protocol an inference path belongs to (``/v2/models/x/infer`` -> ``"v2"``), else None."""
    route = parse_path(path)
    return route.protocol if route is not None and route.kind == "infer" else None


def model_from_path(protocol: str, path: str) -> str | None:
    """The model name in an inference path of ``protocol``, when the path carries one."""
    _check_protocol(protocol)
    route = parse_path(path)
    if route is None or route.protocol != protocol:
        return None
    return route.model


def infer_path(protocol: str, model: str | None, version: str | None = None, api: str | None = None) -> str:
    """The inference path for a model (``api`` is the BentoML/JSON route, default ``/predict``)."""
    _check_protocol(protocol)
    if protocol == "v2":
        _need_model(protocol, model)
        return f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
    if protocol == "tfserving":
        _need_model(protocol, model)
        return f"/v1/models/{model}" + (f"/versions/{version}" if version else "") + ":predict"
    if protocol == "torchserve":
        _need_model(protocol, model)
        return f"/predictions/{model}" + (f"/{version}" if version else "")
    if protocol == "mlflow":
        return "/invocations"
    route = api or "/predict"
    return route if route.startswith("/") else "/" + route


# --------------------------------------------------------------------------------------------
# Exchanges (what the sidecar wants in one call)


@dataclass(frozen=True)
class Exchange:
    """One decoded request/response pair."""

    protocol: str
    model: str | None
    version: str | None
    inputs: Columns | None
    predictions: Predictions | None
    errors: tuple[str, ...] = field(default=())


def parse_exchange(
    protocol: str | None,
    path: str,
    request_body: bytes | None,
    request_content_type: str | None = None,
    response_body: bytes | None = None,
    response_content_type: str | None = None,
    feature_names: list[str] | None = None,
) -> Exchange:
    """Decode both sides of one call; a side that does not parse is None with its error listed.

    ``protocol=None`` detects it from the path (``json`` when the path says nothing).
    """
    route = parse_path(path)
    if protocol is None:
        protocol = route.protocol if route is not None and route.kind == "infer" else "json"
    _check_protocol(protocol)
    errors: list[str] = []
    inputs: Columns | None = None
    predictions: Predictions | None = None
    if request_body is not None:
        try:
            inputs = parse_request(protocol, request_body, request_content_type, feature_names)
        except PayloadError as exc:
            errors.append(f"request: {exc}")
    if response_body is not None:
        try:
            predictions = parse_response(protocol, response_body, response_content_type)
        except PayloadError as exc:
            errors.append(f"response: {exc}")
    same = route if route is not None and route.protocol == protocol else None
    return Exchange(
        protocol=protocol,
        model=same.model if same else None,
        version=same.version if same else None,
        inputs=inputs,
        predictions=predictions,
        errors=tuple(errors),
    )


# --------------------------------------------------------------------------------------------
# Requests


def parse_request(
    protocol: str,
    body: bytes,
    content_type: str | None = None,
    feature_names: list[str] | None = None,
) -> Columns:
    """The input rows of a request as columns: feature name -> values (one per row)."""
    _check_protocol(protocol)
    if protocol == "mlflow" and _is_csv(content_type):
        return _csv_columns(body)
    doc = loads(body, content_type)
    if protocol == "v2":
        return _v2_request(doc, feature_names)
    if protocol == "tfserving":
        return _tf_request(doc, feature_names)
    if protocol == "mlflow":
        return _mlflow_request(doc, feature_names)
    return _generic_columns(doc, feature_names)


def parse_response(protocol: str, body: bytes, content_type: str | None = None) -> Predictions:
    """The predictions in a response: a list (one item per row) or a dict output name -> list."""
    _check_protocol(protocol)
    if protocol == "mlflow" and _is_csv(content_type):
        cols = _csv_columns(body)
        return next(iter(cols.values())) if len(cols) == 1 else cols
    doc = loads(body, content_type)
    if protocol == "v2":
        return _v2_response(doc)
    if protocol in ("tfserving", "mlflow"):
        if isinstance(doc, dict):
            for key in ("predictions", "outputs"):
                if key in doc:
                    return _predictions_value(doc[key], key)
            if protocol == "tfserving":
                raise PayloadError(_no_key(doc, "'predictions' or 'outputs'"))
        return _generic_predictions(doc)
    return _generic_predictions(doc)


def error_message(body: bytes, content_type: str | None = None) -> str | None:
    """The error text of an error body: OIP/TF Serving ``{"error": ...}``, FastAPI ``{"detail": ...}``."""
    try:
        doc = loads(body, content_type)
    except PayloadError:
        return None
    if isinstance(doc, dict):
        for key in ("error", "detail", "message", "errors"):
            if key in doc:
                value = doc[key]
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                return text[:500]
    return None


# --------------------------------------------------------------------------------------------
# Encoders (used by the probe)


def encode_request(
    protocol: str,
    rows: list[list[Any]],
    feature_names: list[str] | None = None,
    *,
    datatype: str = "FP64",
    input_name: str = "input-0",
    request_id: str | None = None,
) -> bytes:
    """A request body carrying ``rows`` (lists of feature values in ``feature_names`` order).

    ``v2`` sends one 2-D tensor (the layout MLServer's sklearn runtime expects). Values are sent
    as given, so callers can put None, strings or absurd numbers in on purpose; float NaN and
    infinities become the non-standard JSON literals ``NaN``/``Infinity``.
    """
    return dumps(
        request_document(protocol, rows, feature_names, datatype=datatype, input_name=input_name, request_id=request_id)
    )


def request_document(
    protocol: str,
    rows: list[list[Any]],
    feature_names: list[str] | None = None,
    *,
    datatype: str = "FP64",
    input_name: str = "input-0",
    request_id: str | None = None,
) -> Any:
    """The JSON document :func:`encode_request` sends (for callers that alter it first)."""
    _check_protocol(protocol)
    width = len(rows[0]) if rows else (len(feature_names) if feature_names else 0)
    names = feature_names if feature_names and len(feature_names) == width else None
    if protocol == "v2":
        doc: Any = {
            "inputs": [
                {"name": input_name, "shape": [len(rows), width], "datatype": datatype, "data": rows}
            ]
        }
        if request_id is not None:
            doc["id"] = request_id
        return doc
    if protocol == "tfserving":
        return {"instances": [dict(zip(names, r)) for r in rows] if names else rows}
    if protocol == "mlflow":
        return {"dataframe_split": {"columns": names or [str(j) for j in range(width)], "data": rows}}
    records: Any = [dict(zip(names, r)) for r in rows] if names else rows
    return {"input_data": records} if protocol == "bentoml" else records


def dumps(doc: Any) -> bytes:
    """Compact JSON bytes; non-finite floats are written as the NaN/Infinity literals, and values
    JSON has no type for (dates, decimals from a Parquet sample) as their text."""
    return json.dumps(doc, separators=(",", ":"), default=_json_default).encode()


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


# --------------------------------------------------------------------------------------------
# Decoding helpers


def loads(body: bytes, content_type: str | None = None) -> Any:
    """Parse a JSON body defensively: size and depth capped, non-UTF-8 and junk -> PayloadError."""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise PayloadError(f"body must be bytes, not {type(body).__name__}")
    body = bytes(body)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadError(f"body of {len(body)} bytes is over the {MAX_BODY_BYTES}-byte limit")
    if content_type and not _is_json_type(content_type):
        head = body.lstrip()[:1]
        if head not in (b"{", b"["):
            raise PayloadError(f"content type {content_type.split(';')[0].strip()!r} is not JSON")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise PayloadError("body is empty")
    _check_depth(text)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"body is not JSON: {str(exc)[:120]}") from None


_DEPTH_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_depth(text: str) -> None:
    """Reject JSON nested deeper than MAX_DEPTH (strings skipped by the regex engine, not per char)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for match in _DEPTH_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise PayloadError(f"JSON nested deeper than {MAX_DEPTH} levels")
        elif token in ("]", "}"):
            depth -= 1


def _is_json_type(content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    return base in ("", "application/json", "text/json", "*/*") or base.endswith("+json")


def _is_csv(content_type: str | None) -> bool:
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in ("text/csv", "application/csv")


def _csv_columns(body: bytes) -> Columns:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadError(f"body of {len(body)} bytes is over the {MAX_BODY_BYTES}-byte limit")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"CSV body is not UTF-8 (byte {exc.start})") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise PayloadError(f"CSV body does not parse: {exc}") from None
    rows = [r for r in rows if r]
    if not rows:
        raise PayloadError("CSV body has no header row")
    header, data = rows[0], rows[1:]
    if any(len(r) != len(header) for r in data):
        raise PayloadError(f"CSV rows do not all have {len(header)} fields")
    return {name: [_csv_value(r[j]) for r in data] for j, name in enumerate(header)}


def _csv_value(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise PayloadError(f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")


def _need_model(protocol: str, model: str | None) -> None:
    if not model:
        raise PayloadError(f"protocol {protocol!r} needs a model name")


def _no_key(doc: dict[str, Any], wanted: str) -> str:
    keys = ", ".join(sorted(str(k) for k in doc)[:8]) or "none"
    return f"no {wanted} key (keys: {keys})"


def _positional(width: int, feature_names: list[str] | None) -> list[str]:
    if feature_names is not None and len(feature_names) == width:
        return [str(n) for n in feature_names]
    return [str(j) for j in range(width)]


def _rows_to_columns(rows: list[Any], feature_names: list[str] | None, where: str) -> Columns:
    """Rows that are all lists (positional), all dicts (named) or all scalars (one column)."""
    if not rows:
        return {}
    if all(isinstance(r, dict) for r in rows):
        names: list[str] = []
        for r in rows:
            for k in r:
                if k not in names:
                    names.append(k)
        return {str(n): [r.get(n) for r in rows] for n in names}
    if all(isinstance(r, list) for r in rows):
        width = len(rows[0])
        if any(len(r) != width for r in rows):
            raise PayloadError(f"{where}: rows have different lengths")
        cols = _positional(width, feature_names)
        return {cols[j]: [r[j] for r in rows] for j in range(width)}
    if all(not isinstance(r, (dict, list)) for r in rows):
        return {_positional(1, feature_names)[0]: list(rows)}
    raise PayloadError(f"{where}: rows mix lists, objects and scalars")


def _dict_to_columns(doc: dict[str, Any], where: str) -> Columns:
    """A dict of columns ``{"a": [1, 2], "b": [3, 4]}`` or one record ``{"a": 1, "b": 3}``."""
    if not doc:
        raise PayloadError(f"{where}: empty object")
    values = list(doc.values())
    if all(isinstance(v, list) for v in values):
        length = len(values[0])
        if any(len(v) != length for v in values):
            raise PayloadError(f"{where}: columns have different lengths")
        return {str(k): list(v) for k, v in doc.items()}
    if all(not isinstance(v, list) for v in values):
        return {str(k): [v] for k, v in doc.items()}
    raise PayloadError(f"{where}: mixes list and scalar values")


def _v2_request(doc: Any, feature_names: list[str] | None) -> Columns:
    if not isinstance(doc, dict):
        raise PayloadError("V2 request must be a JSON object")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise PayloadError("V2 request needs a non-empty 'inputs' list")
    tensors = [_v2_tensor(t, f"inputs[{i}]") for i, t in enumerate(inputs)]
    columns: Columns = {}
    if len(tensors) == 1:
        name, rows = tensors[0]
        return _rows_to_columns(rows, feature_names, "inputs[0]")
    for name, rows in tensors:
        if rows and isinstance(rows[0], list):
            width = len(rows[0])
            for j in range(width):
                columns[f"{name}[{j}]"] = [r[j] if isinstance(r, list) and j < len(r) else None for r in rows]
        else:
            columns[name] = rows
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise PayloadError("V2 request: input tensors have different batch sizes")
    return columns


def _v2_tensor(tensor: Any, where: str) -> tuple[str, list[Any]]:
    """A V2 tensor as (name, rows); each row a scalar (1-D / [N,1]) or a list (2-D)."""
    if not isinstance(tensor, dict):
        raise PayloadError(f"{where} is not an object")
    name = tensor.get("name")
    shape = tensor.get("shape")
    data = tensor.get("data")
    if not isinstance(name, str):
        raise PayloadError(f"{where}.name must be a string")
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise PayloadError(f"{where}.shape must be a list of non-negative integers")
    datatype = tensor.get("datatype")
    if datatype is not None and datatype not in V2_DATATYPES:
        raise PayloadError(f"{where}.datatype {str(datatype)[:20]!r} is not a V2 datatype")
    if not isinstance(data, list):
        data = [data]
    flat = _flatten(data, where)
    total = math.prod(shape) if shape else 1
    if len(flat) != total:
        raise PayloadError(f"{where}: shape {shape} needs {total} values, data has {len(flat)}")
    if len(shape) <= 1:
        return name, flat
    batch = shape[0]
    width = total // batch if batch else math.prod(shape[1:])
    rows = [flat[i * width : (i + 1) * width] for i in range(batch)]
    if width == 1:
        return name, [r[0] for r in rows]
    return name, rows


def _flatten(data: list[Any], where: str) -> list[Any]:
    out: list[Any] = []
    stack: list[Any] = [iter(data)]
    while stack:
        try:
            item = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        if isinstance(item, list):
            if len(stack) > MAX_DEPTH:
                raise PayloadError(f"{where}.data nested too deep")
            stack.append(iter(item))
        elif isinstance(item, dict):
            raise PayloadError(f"{where}.data holds an object")
        else:
            out.append(item)
    return out


def _v2_response(doc: Any) -> Predictions:
    if not isinstance(doc, dict):
        raise PayloadError("V2 response must be a JSON object")
    outputs = doc.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        raise PayloadError("V2 response needs a non-empty 'outputs' list" + (
            f" (error: {str(doc['error'])[:200]})" if "error" in doc else ""
        ))
    tensors = [_v2_tensor(t, f"outputs[{i}]") for i, t in enumerate(outputs)]
    if len(tensors) == 1:
        return tensors[0][1]
    return {name: rows for name, rows in tensors}


def _tf_request(doc: Any, feature_names: list[str] | None) -> Columns:
    if not isinstance(doc, dict):
        raise PayloadError("TF Serving request must be a JSON object")
    if "instances" in doc:
        rows = doc["instances"]
        if not isinstance(rows, list):
            raise PayloadError("'instances' must be a list")
        return _rows_to_columns(rows, feature_names, "instances")
    if "inputs" in doc:
        return _columnar(doc["inputs"], feature_names, "inputs")
    raise PayloadError(_no_key(doc, "'instances' or 'inputs'"))


def _columnar(value: Any, feature_names: list[str] | None, where: str) -> Columns:
    if isinstance(value, dict):
        return _dict_to_columns(value, where)
    if isinstance(value, list):
        return _rows_to_columns(value, feature_names, where)
    raise PayloadError(f"'{where}' must be a list or an object")


def _mlflow_request(doc: Any, feature_names: list[str] | None) -> Columns:
    if not isinstance(doc, dict):
        raise PayloadError("MLflow request must be a JSON object")
    if "dataframe_split" in doc:
        split = doc["dataframe_split"]
        if not isinstance(split, dict) or not isinstance(split.get("data"), list):
            raise PayloadError("'dataframe_split' needs a 'data' list")
        data = split["data"]
        columns = split.get("columns")
        if columns is not None and not isinstance(columns, list):
            raise PayloadError("'dataframe_split.columns' must be a list")
        if columns is not None:
            if any(not isinstance(r, list) or len(r) != len(columns) for r in data):
                raise PayloadError(f"'dataframe_split.data' rows must have {len(columns)} values")
            return {str(c): [r[j] for r in data] for j, c in enumerate(columns)}
        return _rows_to_columns(data, feature_names, "dataframe_split.data")
    if "dataframe_records" in doc:
        records = doc["dataframe_records"]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise PayloadError("'dataframe_records' must be a list of objects")
        return _rows_to_columns(records, feature_names, "dataframe_records")
    if "instances" in doc:
        return _columnar(doc["instances"], feature_names, "instances")
    if "inputs" in doc:
        return _columnar(doc["inputs"], feature_names, "inputs")
    raise PayloadError(_no_key(doc, "'dataframe_split', 'dataframe_records', 'instances' or 'inputs'"))


_WRAPPERS = ("instances", "inputs", "dataframe_records", "records", "rows", "data", "features", "input_data", "input", "X")


def _generic_columns(doc: Any, feature_names: list[str] | None) -> Columns:
    if isinstance(doc, list):
        return _rows_to_columns(doc, feature_names, "body")
    if isinstance(doc, dict):
        if "dataframe_split" in doc:
            return _mlflow_request(doc, feature_names)
        for key in _WRAPPERS:
            if key in doc and isinstance(doc[key], (list, dict)) and len(doc) <= 3:
                return _columnar(doc[key], feature_names, key)
        if len(doc) == 1:
            (key, value), = doc.items()
            if isinstance(value, (list, dict)):
                return _columnar(value, feature_names, str(key))
        return _dict_to_columns(doc, "body")
    raise PayloadError(f"request body is a JSON {type(doc).__name__}, not rows or columns")


_PREDICTION_KEYS = (
    "predictions", "prediction", "outputs", "output", "predicted", "result", "results",
    "scores", "score", "probabilities", "probability", "y", "label", "labels",
)


def _generic_predictions(doc: Any) -> Predictions:
    if isinstance(doc, list):
        return _predictions_value(doc, "body")
    if isinstance(doc, dict):
        for key in _PREDICTION_KEYS:
            if key in doc:
                return _predictions_value(doc[key], key)
        if "error" in doc or "detail" in doc:
            raise PayloadError(f"response is an error: {error_message(dumps(doc)) or ''}"[:240])
        if doc and all(isinstance(v, list) for v in doc.values()):
            return {str(k): list(v) for k, v in doc.items()}
        raise PayloadError(_no_key(doc, "predictions"))
    if isinstance(doc, (int, float)) and not isinstance(doc, bool):
        return [doc]
    raise PayloadError(f"response body is a JSON {type(doc).__name__}, not predictions")


def _predictions_value(value: Any, where: str) -> Predictions:
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            names: list[str] = []
            for v in value:
                for k in v:
                    if k not in names:
                        names.append(k)
            if len(names) == 1:
                return [v.get(names[0]) for v in value]
            return {str(n): [v.get(n) for v in value] for n in names}
        return value
    if isinstance(value, dict):
        if value and all(isinstance(v, list) for v in value.values()):
            return {str(k): list(v) for k, v in value.items()}
        raise PayloadError(f"'{where}' is an object whose values are not lists")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    raise PayloadError(f"'{where}' is a {type(value).__name__}, not a list of predictions")


def flat_numbers(predictions: Predictions) -> list[float] | None:
    """All numbers in predictions (nested lists flattened); None if anything is not a number."""
    values = predictions.values() if isinstance(predictions, dict) else [predictions]
    out: list[float] = []
    for value in values:
        try:
            items = _flatten(list(value), "predictions")
        except PayloadError:
            return None
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                return None
            out.append(float(item))
    return out
