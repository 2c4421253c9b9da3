"""One model endpoint seen through its protocol: send rows, get predictions, or send raw bodies."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from mlscore.probe import protocols
from mlscore.probe.adapters import ADAPTERS, Adapter, JsonApi, encode_json_rows
from mlscore.probe.http import HttpClient, Response, TransportError


@dataclass
class Outcome:
    """What one inference call gave: the response, and predictions or why there are none."""

    response: Response | None
    predictions: protocols.Predictions | None = None
    error: str | None = None
    model_version: str | None = None

    @property
    def status(self) -> int | None:
        return self.response.status if self.response is not None else None


class Endpoint:
    """Encodes rows for one protocol, posts them to the model's inference route, decodes answers."""

    def __init__(
        self,
        client: HttpClient,
        protocol: str,
        model: str | None,
        feature_names: list[str],
        *,
        version: str | None = None,
        outputs: tuple[str, ...] = (),
        json_api: JsonApi | None = None,
        datatype: str = "FP64",
        v2_codec: str = "np",
        column_types: list[str] | None = None,
        input_name: str = "input-0",
    ) -> None:
        self.client = client
        self.protocol = protocol
        self.adapter: Adapter = ADAPTERS[protocol]
        self.model = model
        self.version = version
        self.feature_names = list(feature_names)
        self.outputs = tuple(outputs)
        self.json_api = json_api
        self.datatype = datatype
        self.v2_codec = v2_codec
        self.input_name = input_name
        self.column_types = dict(zip(self.feature_names, column_types or []))

    # -- paths ---------------------------------------------------------------------------

    def infer_path(self, version: str | None = None) -> str:
        api = self.json_api.path if self.json_api is not None else None
        return protocols.infer_path(self.protocol, self.model, version or self.version, api)

    @property
    def batches(self) -> bool:
        """Whether one request can carry several rows."""
        return not (self.json_api is not None and self.json_api.layout == "single")

    # -- encoding ------------------------------------------------------------------------

    def v2_document(self, rows: list[list[Any]], names: list[str] | None = None) -> dict[str, Any]:
        """One 2-D tensor (codec ``np``), or one tensor per column (codec ``pd``, MLServer's pandas
        codec: what a pipeline with named, mixed-type columns needs)."""
        names = names if names is not None else self.feature_names
        width = len(rows[0]) if rows else len(names)
        doc: dict[str, Any]
        if self.v2_codec == "pd":
            doc = {"parameters": {"content_type": "pd"}, "inputs": []}
            for j, name in enumerate(names[:width] if rows else names):
                column = [r[j] for r in rows]
                datatype = self.column_types.get(name) or v2_datatype(column)
                tensor: dict[str, Any] = {"name": name, "shape": [len(rows), 1], "datatype": datatype, "data": column}
                if datatype == "BYTES":
                    tensor["parameters"] = {"content_type": "str"}
                doc["inputs"].append(tensor)
        else:
            doc = {"inputs": [{"name": self.input_name, "shape": [len(rows), width], "datatype": self.datatype, "data": rows}]}
        if self.outputs:
            doc["outputs"] = [{"name": o} for o in self.outputs]
        return doc

    def encode(self, rows: list[list[Any]], names: list[str] | None = None) -> list[bytes]:
        """Request bodies for ``rows`` (one body, or one per row for single-record JSON services)."""
        names = names if names is not None else self.feature_names
        if self.protocol == "v2":
            return [protocols.dumps(self.v2_document(rows, names))]
        if self.json_api is not None:
            return encode_json_rows(self.json_api, rows, names)
        return [protocols.encode_request(self.protocol, rows, names)]

    def raw_document(self, rows: list[list[Any]], names: list[str] | None = None) -> Any:
        """The JSON document :meth:`encode` would send (for building malformed variants)."""
        names = names if names is not None else self.feature_names
        if self.protocol == "v2":
            return self.v2_document(rows, names)
        if self.json_api is not None:
            records = [dict(zip(names, r)) for r in rows]
            if self.json_api.layout == "records":
                return records
            if self.json_api.layout == "wrapped":
                return {self.json_api.key: records}
            return records[0] if records else {}
        return protocols.request_document(self.protocol, rows, names)

    # -- calls ---------------------------------------------------------------------------

    def post(self, body: bytes, version: str | None = None, content_type: str = "application/json") -> Response:
        return self.client.post(self.infer_path(version), body, content_type)

    def predict(self, rows: list[list[Any]], version: str | None = None) -> Outcome:
        """Send rows (in one request when the protocol batches) and decode the predictions."""
        bodies = self.encode(rows)
        outcomes = [self.decode(self.post(body, version)) for body in bodies]
        if len(outcomes) == 1:
            return outcomes[0]
        merged: list[Any] = []
        for outcome in outcomes:
            if outcome.error is not None or outcome.predictions is None:
                return outcome
            preds = outcome.predictions
            merged.extend(preds if isinstance(preds, list) else [preds])
        return Outcome(outcomes[-1].response, merged, None, outcomes[-1].model_version)

    def decode(self, response: Response) -> Outcome:
        if not response.ok:
            return Outcome(response, None, f"{response.describe()}: {response.snippet()}")
        try:
            predictions = protocols.parse_response(self.protocol, response.body, response.content_type)
        except protocols.PayloadError as exc:
            return Outcome(response, None, f"{response.describe()} but the answer is not a {self.protocol} response: {exc}")
        version = None
        if self.protocol == "v2":
            try:
                doc = response.json()
                version = doc.get("model_version") if isinstance(doc, dict) else None
            except protocols.PayloadError:
                pass
        if version is None:
            for header in ("x-model-version", "model-version", "x-version"):
                if header in response.headers:
                    version = response.headers[header][:80]
                    break
        return Outcome(response, predictions, None, str(version)[:80] if version is not None else None)

    def safe_predict(self, rows: list[list[Any]], version: str | None = None) -> Outcome:
        """Like :meth:`predict`, but a transport failure becomes an Outcome with an error."""
        try:
            return self.predict(rows, version)
        except TransportError as exc:
            return Outcome(None, None, str(exc))


def v2_datatype(values: list[Any]) -> str:
    """The V2 datatype for a column of sample values (None and NaN ignored)."""
    kinds = {type(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))}
    if not kinds:
        return "FP64"
    if kinds == {bool}:
        return "BOOL"
    if kinds == {int}:
        return "INT64"
    if kinds <= {int, float}:
        return "FP64"
    return "BYTES"


def primary(predictions: protocols.Predictions | None, output: str | None = None) -> list[Any] | None:
    """The list of per-row predictions of the chosen (or first) output."""
    if predictions is None:
        return None
    if isinstance(predictions, dict):
        if output and output in predictions:
            return predictions[output]
        return next(iter(predictions.values()), None)
    return predictions


def non_finite(predictions: protocols.Predictions | None) -> list[str]:
    """Descriptions of NaN/infinite numbers (and non-numbers where numbers belong) in predictions."""
    if predictions is None:
        return []
    found: list[str] = []
    items = predictions.items() if isinstance(predictions, dict) else [("output", predictions)]
    for name, values in items:
        stack: list[Any] = [values]
        while stack and len(found) < 10:
            value = stack.pop()
            if isinstance(value, list):
                stack.extend(value)
            elif value is None:
                found.append(f"{name}: null")
            elif isinstance(value, float) and not math.isfinite(value):
                found.append(f"{name}: {value}")
            elif isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
                found.append(f"{name}: {value!r}")
    return found


def probability_problems(predictions: protocols.Predictions | None, names: tuple[str, ...] = ()) -> list[str]:
    """Outputs that look like probabilities but leave [0, 1] or do not sum to 1 per row."""
    if not isinstance(predictions, dict):
        candidates = {"output": predictions} if predictions is not None and "prob" in " ".join(names).lower() else {}
    else:
        candidates = {k: v for k, v in predictions.items() if "prob" in k.lower()}
    problems: list[str] = []
    for name, rows in candidates.items():
        for i, row in enumerate(rows or []):
            values = row if isinstance(row, list) else [row]
            nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if any(not (0.0 <= v <= 1.0) for v in nums if math.isfinite(v)):
                problems.append(f"{name} row {i}: values outside [0, 1]")
            elif len(nums) > 1 and all(math.isfinite(v) for v in nums) and abs(sum(nums) - 1.0) > 1e-3:
                problems.append(f"{name} row {i}: sums to {sum(nums):.4g}, not 1")
            if len(problems) >= 5:
                return problems
    return problems


def with_value(rows: list[list[Any]], column: int, value: Any) -> list[list[Any]]:
    out = copy.deepcopy(rows)
    for row in out:
        row[column] = value
    return out
