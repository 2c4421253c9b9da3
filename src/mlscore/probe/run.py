"""Run a probe: connect, decide the protocol, run every check within the caps, build the report."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlscore import __version__
from mlscore.errors import InputError
from mlscore.models import Check, Diagnostic
from mlscore.probe import checks as C
from mlscore.probe.adapters import ADAPTERS, confirm, detect, json_api
from mlscore.probe.endpoint import Endpoint, v2_datatype
from mlscore.probe.http import Budget, BudgetExhausted, HttpClient, ProbeError, TransportError
from mlscore.probe.metrics import scrape_metrics
from mlscore.probe.report import ProbeLimits, ProbeReport, ProbeTarget
from mlscore.probe.sample import read_table

PREDICTION_COLUMNS = ("prediction", "predictions", "pred", "y_pred", "predicted", "label", "score", "output")


@dataclass
class ProbeConfig:
    """Everything one probe run needs; built by the CLI, or by tests and benchmarks directly."""

    url: str
    model: str | None = None
    protocol: str = "auto"
    sample: str | None = None
    expected_predictions: str | None = None
    features: tuple[str, ...] = ()
    drop_columns: tuple[str, ...] = ()
    api: str | None = None
    outputs: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    header_sources: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 5.0
    time_budget_s: float = 25.0
    max_requests: int = 1000
    max_rate: float | None = 500.0
    verify_tls: bool = True
    ca_file: str | None = None
    options: C.Options = field(default_factory=C.Options)
    checks: tuple[str, ...] = ()
    v2_codec: str = "auto"


CHECKS: tuple[tuple[str, C.CheckFn], ...] = (
    ("liveness", C.check_liveness),
    ("readiness", C.check_readiness),
    ("metadata", C.check_metadata),
    ("version", C.check_version),
    ("versions-available", C.check_versions_available),
    ("model-age", C.check_model_age),
    ("determinism", C.check_determinism),
    ("skew", C.check_skew),
    ("edge-inputs", C.check_edge_inputs),
    ("latency", C.check_latency),
    ("latency-trend", C.check_latency_trend),
    ("traffic-split", C.check_traffic_split),
    ("metrics", C.check_metrics),
    ("bad-input", C.check_bad_input),
)
CHECK_IDS = tuple(name for name, _ in CHECKS)
_RULES = {
    "liveness": ("INFRA6",), "readiness": ("INFRA6",), "metadata": ("INFRA6",), "version": ("INFRA6", "INFRA7"),
    "versions-available": ("INFRA7", "INFRA6"), "model-age": ("MON4",), "determinism": ("MON5",), "skew": ("MON3",),
    "edge-inputs": ("MON5",), "latency": ("MON6",), "latency-trend": ("MON6",), "traffic-split": ("INFRA6",), "metrics": ("MON6",), "bad-input": ("MON2",),
}


def run_probe(config: ProbeConfig, progress: Callable[[str], None] | None = None) -> ProbeReport:
    """Probe ``config.url``; raise ProbeError (one line) when it cannot be probed at all."""
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    budget = Budget(config.max_requests, config.time_budget_s, config.max_rate)
    client = HttpClient(
        config.url, headers=config.headers, timeout_s=config.timeout_s, verify_tls=config.verify_tls,
        ca_file=config.ca_file, budget=budget,
    )
    diagnostics: list[Diagnostic] = []
    secrets = secret_values(config.headers)
    try:
        say(f"connecting to {client.base_url}")
        if config.protocol == "auto":
            detection = detect(client, config.model)
        else:
            detection = confirm(client, config.protocol, config.model)
        say(f"protocol {detection.protocol}: {detection.reason}")
        api = json_api(detection.openapi, config.api) if detection.protocol in ("json", "bentoml") else None
        if detection.protocol in ("v2", "tfserving", "torchserve") and not config.model:
            model = _only_model(client, detection.protocol)
            if model is None:
                raise InputError(f"protocol {detection.protocol} needs --model (the model's name on the server)")
            diagnostics.append(Diagnostic(message=f"--model not given; the server lists one model, {model!r}"))
        else:
            model = config.model
        rows, names, rows_source = _load_rows(config, client, detection.protocol, model, diagnostics)
        expected, expected_source = _load_expected(config, len(rows))
        codec = config.v2_codec
        if codec == "auto":
            codec = "np" if all(isinstance(v, (int, float)) and not isinstance(v, bool) for r in rows for v in r) else "pd"
        if detection.protocol == "v2" and codec == "pd":
            diagnostics.append(Diagnostic(message="V2 requests use the pandas codec (one named tensor per column)"))
        column_types = [v2_datatype([r[j] for r in rows]) for j in range(len(names))] if rows else None
        input_name, datatype = "input-0", "FP64"
        if detection.protocol == "v2" and model:
            declared = _declared_v2_inputs(client, model)
            if codec == "np" and len(declared) == 1 and declared[0][1] in ("FP16", "FP32", "FP64"):
                input_name, datatype = declared[0]
                diagnostics.append(Diagnostic(message=f"V2 input tensor {input_name} {datatype}, as the model metadata declares"))
            elif codec == "pd" and declared and column_types:
                by_name = dict(declared)
                column_types = [by_name.get(n, t) for n, t in zip(names, column_types)]
        endpoint = Endpoint(
            client, detection.protocol, model, names, outputs=config.outputs, json_api=api, v2_codec=codec,
            column_types=column_types, input_name=input_name, datatype=datatype,
        )
        ctx = C.Context(
            endpoint=endpoint, detection=detection, options=config.options, rows=rows, rows_source=rows_source,
            expected=expected, expected_source=expected_source,
        )
        selected = [(name, fn) for name, fn in CHECKS if not config.checks or name in config.checks]
        results: list[Check] = []
        for name, fn in selected:
            if name == "determinism" and any(n == "metrics" for n, _ in selected):
                ctx.metrics_before = _quiet_scrape(ctx)
            say(f"check {name}")
            results.append(_run_one(name, fn, ctx))
        target = ProbeTarget(
            url=client.base_url, model=model, protocol=detection.protocol, detected=config.protocol == "auto",
            detected_by=detection.reason, tried=detection.tried[:12], server=detection.server,
            infer_path=endpoint.infer_path(), headers=tuple(f"{k} (from env {config.header_sources[k]})" if k in config.header_sources else k for k in config.headers),
        )
        if api is not None:
            diagnostics.append(Diagnostic(message=f"inference route {api.path}: {api.reason}"))
    except ProbeError as exc:
        raise ProbeError(redact_text(str(exc), secrets)) from None
    finally:
        client.close()
    report = ProbeReport(
        version=__version__,
        generated_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        target=target,
        limits=ProbeLimits(
            max_requests=config.max_requests, time_budget_s=config.time_budget_s, max_rate=config.max_rate,
            timeout_s=config.timeout_s, requests=config.options.requests, concurrency=config.options.concurrency,
            verify_tls=config.verify_tls,
        ),
        requests_sent=budget.sent,
        duration_s=round(time.monotonic() - started, 3),
        checks=tuple(results),
        diagnostics=tuple(diagnostics),
    )
    return redact(report, secrets)


def secret_values(headers: dict[str, str]) -> list[str]:
    """Header values to hide, and the credential part of ``Scheme credential`` values."""
    out: list[str] = []
    for value in headers.values():
        out.append(value)
        parts = value.split(None, 1)
        if len(parts) == 2 and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", parts[0]):
            out.append(parts[1])
    return sorted({s for s in out if len(s) >= 4}, key=len, reverse=True)


def redact_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
        text = text.replace(json.dumps(secret)[1:-1], "[redacted]")
    return text


def redact(report: ProbeReport, secrets: list[str]) -> ProbeReport:
    """Replace every occurrence of a secret (e.g. a token echoed in an error body) in the report."""
    if not secrets:
        return report
    return ProbeReport.model_validate_json(redact_text(report.model_dump_json(), secrets))


def _run_one(name: str, fn: C.CheckFn, ctx: C.Context) -> Check:
    rules = _RULES[name]
    try:
        return fn(ctx)
    except BudgetExhausted as exc:
        return Check(id=name, rules=rules, title=name, status="skipped", message=f"not run: {exc} (raise --max-requests or --time-budget)")
    except TransportError as exc:
        return Check(id=name, rules=rules, title=name, status="error", message=str(exc))
    except Exception as exc:  # noqa: BLE001 - one check failing must not lose the report
        return Check(id=name, rules=rules, title=name, status="error", message=f"internal error in the check: {type(exc).__name__}: {str(exc)[:200]}")


def _quiet_scrape(ctx: C.Context):  # type: ignore[no-untyped-def]
    try:
        return scrape_metrics(ctx.client, ctx.endpoint.adapter, ctx.options.metrics_url)
    except (TransportError, BudgetExhausted):
        return None


def _declared_v2_inputs(client: HttpClient, model: str) -> list[tuple[str, str]]:
    """(name, datatype) of the inputs a V2 model's metadata declares (Triton requires them exactly)."""
    try:
        resp = client.get(f"/v2/models/{model}")
        doc = resp.json() if resp.ok else None
    except Exception:  # noqa: BLE001 - metadata is optional here; the metadata check reports problems
        return []
    inputs = doc.get("inputs") if isinstance(doc, dict) else None
    out = []
    for item in inputs if isinstance(inputs, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("datatype"), str):
            out.append((item["name"][:200], item["datatype"][:10]))
    return out


def _only_model(client: HttpClient, protocol: str) -> str | None:
    if protocol != "v2":
        return None
    try:
        resp = client.post("/v2/repository/index", b"{}")
        doc = resp.json() if resp.ok else None
    except Exception:  # noqa: BLE001
        return None
    names = {str(e.get("name")) for e in doc if isinstance(e, dict) and e.get("name")} if isinstance(doc, list) else set()
    return names.pop() if len(names) == 1 else None


def _load_rows(
    config: ProbeConfig, client: HttpClient, protocol: str, model: str | None, diagnostics: list[Diagnostic]
) -> tuple[list[list[Any]], list[str], str]:
    """Rows to send: from --sample, else synthetic rows shaped by the declared V2 input metadata."""
    limit = max(config.options.skew_rows, config.options.batch_size, 1)
    if config.sample:
        table = read_table(config.sample, limit)
        if config.features:
            missing = [f for f in config.features if f not in table.columns]
            if missing:
                raise InputError(f"{config.sample}: no column(s) {', '.join(missing)} (columns: {', '.join(table.columns[:20])})")
            names = list(config.features)
        else:
            names = [c for c in table.columns if c not in config.drop_columns]
        if not names:
            raise InputError(f"{config.sample}: no feature columns left")
        return table.select(names), names, f"{config.sample} (first {len(table.rows)} rows)"
    if protocol == "v2" and model:
        try:
            resp = client.get(f"/v2/models/{model}")
            doc = resp.json() if resp.ok else None
        except Exception:  # noqa: BLE001
            doc = None
        inputs = doc.get("inputs") if isinstance(doc, dict) else None
        if isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], dict):
            shape = inputs[0].get("shape")
            dtype = str(inputs[0].get("datatype", ""))
            if isinstance(shape, list) and len(shape) == 2 and isinstance(shape[1], int) and shape[1] > 0 and dtype.startswith(("FP", "INT", "UINT")):
                width = shape[1]
                rows = [[float((i + j) % 5) for j in range(width)] for i in range(8)]
                names = [str(j) for j in range(width)]
                diagnostics.append(Diagnostic(message=f"no --sample: sending synthetic rows shaped by the declared input {inputs[0].get('name')} {shape}"))
                return rows, names, "synthetic (from model metadata)"
    diagnostics.append(Diagnostic(message="no --sample and no declared input shape: checks that send inputs are skipped"))
    return [], list(config.features), "none"


def _load_expected(config: ProbeConfig, n_rows: int) -> tuple[list[Any] | None, str]:
    if not config.expected_predictions:
        return None, ""
    if not config.sample:
        raise InputError("--expected-predictions needs --sample (the rows they were computed from)")
    table = read_table(config.expected_predictions, max(n_rows, 1))
    column = config.options.prediction_column
    if column is not None:
        if column not in table.columns:
            raise InputError(f"{config.expected_predictions}: no column {column!r} (columns: {', '.join(table.columns[:20])})")
        return table.column(column), f"{config.expected_predictions}:{column}"
    for name in PREDICTION_COLUMNS:
        if name in table.columns:
            return table.column(name), f"{config.expected_predictions}:{name}"
    if len(table.columns) == 1:
        return table.column(table.columns[0]), f"{config.expected_predictions}:{table.columns[0]}"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for r in table.rows for v in r):
        return [list(r) for r in table.rows], f"{config.expected_predictions} (all {len(table.columns)} columns as a vector)"
    raise InputError(f"{config.expected_predictions}: several columns; name the prediction column with --prediction-column")


__all__ = ["ADAPTERS", "CHECK_IDS", "ProbeConfig", "run_probe"]
