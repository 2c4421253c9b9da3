"""The probe's checks: each sends a bounded number of requests and returns one rubric-tied Check."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlscore.models import Check
from mlscore.probe import protocols
from mlscore.probe.adapters import Detection
from mlscore.probe.endpoint import (
    Endpoint,
    non_finite,
    primary,
    probability_problems,
    with_value,
)
from mlscore.probe.http import BudgetExhausted, Response, TransportError
from mlscore.probe.metrics import MetricsScrape, scrape_metrics


@dataclass
class Options:
    """Tunable limits and thresholds of the checks (the CLI's options)."""

    requests: int = 200
    concurrency: int = 4
    warmup: int = 5
    repeat: int = 5
    batch_size: int = 32
    skew_rows: int = 200
    atol: float = 1e-6
    rtol: float = 1e-6
    max_mismatch_rate: float = 0.0
    p99_budget_ms: float | None = None
    max_age_days: float | None = 90.0
    oversized_bytes: int = 4 * 1024 * 1024
    versions: tuple[str, ...] = ()
    metrics_url: str | None = None
    prediction_column: str | None = None
    output: str | None = None


@dataclass
class Context:
    """Everything the checks share: the endpoint, the sample, and what earlier checks learned."""

    endpoint: Endpoint
    detection: Detection
    options: Options
    rows: list[list[Any]] = field(default_factory=list)
    rows_source: str = ""
    expected: list[Any] | None = None
    expected_source: str = ""
    metadata: dict[str, Any] | None = None
    served_versions: list[str] = field(default_factory=list)
    served_version: str | None = None
    metadata_tried: bool = False
    version_tried: bool = False
    metrics_before: MetricsScrape | None = None
    latency_samples: list[tuple[float, float]] = field(default_factory=list)
    versions_seen: dict[str, int] = field(default_factory=dict)
    tfs_status: dict[str, Any] | None = None

    @property
    def client(self):  # type: ignore[no-untyped-def]
        return self.endpoint.client

    @property
    def model(self) -> str | None:
        return self.endpoint.model

    @property
    def numeric_columns(self) -> list[int]:
        if not self.rows:
            return []
        return [j for j in range(len(self.rows[0])) if all(_is_num(r[j]) for r in self.rows)]


CheckFn = Callable[[Context], Check]


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(id: str, rules: tuple[str, ...], title: str, status: str, message: str, **details: Any) -> Check:
    return Check(id=id, rules=rules, title=title, status=status, message=message, details=_jsonable(details))  # type: ignore[arg-type]


def _jsonable(value: Any) -> Any:
    """Details must survive JSON: non-finite floats become strings, tuples lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _get(ctx: Context, path: str | None) -> Response | None:
    if path is None:
        return None
    return ctx.client.get(path)


# --------------------------------------------------------------------------------------------
# Liveness and readiness (INFRA6)


def check_liveness(ctx: Context) -> Check:
    adapter = ctx.endpoint.adapter
    title = "The server answers its liveness endpoint"
    seen: list[str] = []
    for path in adapter.live_paths:
        resp = ctx.client.get(path)
        seen.append(resp.describe())
        if resp.ok:
            return _check("liveness", ("INFRA6",), title, "passing", f"{resp.describe()} in {resp.elapsed_s * 1000:.1f} ms", answers=seen)
    if not adapter.live_paths:
        return _check("liveness", ("INFRA6",), title, "unknown", f"{adapter.title} has no liveness endpoint; readiness is checked per model instead")
    return _check("liveness", ("INFRA6",), title, "failing", f"no liveness endpoint answered 2xx ({'; '.join(seen)})", answers=seen)


def check_readiness(ctx: Context) -> Check:
    adapter = ctx.endpoint.adapter
    rules = ("INFRA6",)
    title = "The model reports ready, and readiness is model-scoped"
    server_ready: Response | None = None
    for path in adapter.server_ready_paths:
        resp = ctx.client.get(path)
        if resp.status not in (404, 405):  # the first readiness path the server has is its answer
            server_ready = resp
            break
    model_path = adapter.model_ready_path(ctx.model)
    if model_path is None:
        if server_ready is None:
            return _check("readiness", rules, title, "unknown", f"{adapter.title} has no readiness endpoint")
        status = "passing" if server_ready.ok else "failing"
        return _check(
            "readiness", rules, title, status,
            f"{server_ready.describe()}; readiness is service-level only in {adapter.title}, so it cannot say whether the model itself is loaded",
            server_ready=server_ready.status,
        )
    model_ready = ctx.client.get(model_path)
    details: dict[str, Any] = {"model_ready": model_ready.status, "model_ready_path": model_path}
    if server_ready is not None:
        details["server_ready"] = server_ready.status
    model_ok = model_ready.ok
    if ctx.endpoint.protocol == "tfserving" and model_ok:
        doc = _json_or_none(model_ready)
        ctx.tfs_status = doc if isinstance(doc, dict) else None
        states = [s.get("state") for s in (doc or {}).get("model_version_status", []) if isinstance(s, dict)]
        if states:
            details["version_states"] = states
            model_ok = "AVAILABLE" in states
        elif isinstance(doc, dict) and "ready" in doc:
            model_ok = bool(doc.get("ready"))
    if model_ok:
        return _check("readiness", rules, title, "passing", f"{model_ready.describe()}" + (f"; {server_ready.describe()}" if server_ready else ""), **details)
    if server_ready is not None and server_ready.ok:
        loaded = ""
        index = _repository_index(ctx) if ctx.endpoint.protocol == "v2" else None
        if index is not None:
            ready_models = sorted({str(e.get("name")) for e in index if isinstance(e, dict) and e.get("state") == "READY"})
            details["models_ready_on_server"] = len(ready_models)
            loaded = " with no model loaded" if not ready_models else f" ({len(ready_models)} other model(s) loaded)"
        return _check(
            "readiness", rules, title, "failing",
            f"{server_ready.describe()}{loaded} although model {ctx.model!r} is not ready ({model_ready.describe()}: {model_ready.snippet(80)}); "
            f"a load balancer using server readiness would send traffic to a server without the model: probe {model_path} instead",
            **details,
        )
    return _check("readiness", rules, title, "failing", f"model {ctx.model!r} is not ready: {model_ready.describe()}: {model_ready.snippet(80)}", **details)


def _repository_index(ctx: Context) -> list[Any] | None:
    """MLServer's model repository extension: every model with its version and state."""
    try:
        resp = ctx.client.post("/v2/repository/index", b"{}")
    except TransportError:
        return None
    doc = _json_or_none(resp) if resp.ok else None
    return doc[:1000] if isinstance(doc, list) else None


def _json_or_none(resp: Response | None) -> Any:
    if resp is None:
        return None
    try:
        return resp.json()
    except protocols.PayloadError:
        return None


# --------------------------------------------------------------------------------------------
# Metadata and versions (INFRA6, INFRA7)


def check_metadata(ctx: Context) -> Check:
    rules = ("INFRA6",)
    title = "The model describes itself (metadata: name, inputs, outputs)"
    ep = ctx.endpoint
    path = ep.adapter.metadata_path(ctx.model)
    if path is None:
        path = ep.adapter.server_metadata_path()
    if path is None:
        return _check("metadata", rules, title, "unknown", f"{ep.adapter.title} has no metadata endpoint")
    resp = ctx.client.get(path)
    doc = _json_or_none(resp)
    if not resp.ok or not isinstance(doc, dict):
        return _check("metadata", rules, title, "failing", f"{resp.describe()}: {resp.snippet(80)}", path=path)
    ctx.metadata = doc
    summary = _metadata_summary(ep.protocol, doc)
    missing = [k for k in ("inputs", "outputs") if k in summary and not summary[k]]
    note = f"; declares no {' or '.join(missing)} (clients and the probe cannot validate payloads against it)" if missing else ""
    return _check("metadata", rules, title, "passing", f"{resp.describe()}{note}", path=path, **summary)


def _metadata_summary(protocol: str, doc: dict[str, Any]) -> dict[str, Any]:
    if protocol == "v2":
        return {
            "name": str(doc.get("name"))[:120],
            "platform": str(doc.get("platform") or "")[:120],
            "versions": [str(v)[:80] for v in _as_list(doc.get("versions"))[:20]],
            "inputs": [_tensor_brief(t) for t in _as_list(doc.get("inputs")) if isinstance(t, dict)][:50],
            "outputs": [_tensor_brief(t) for t in _as_list(doc.get("outputs")) if isinstance(t, dict)][:50],
        }
    if protocol == "tfserving":
        meta = doc.get("metadata")
        outer = meta.get("signature_def") if isinstance(meta, dict) else None
        sig = outer.get("signature_def") if isinstance(outer, dict) else None
        return {"signatures": sorted(str(k) for k in sig)[:20] if isinstance(sig, dict) else []}
    if protocol in ("json", "bentoml"):
        info = doc.get("info")
        if not isinstance(info, dict):
            return {}
        return {"api_title": str(info.get("title"))[:120], "api_version": str(info.get("version"))[:40]}
    return {"keys": sorted(str(k) for k in doc)[:20]}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _tensor_brief(t: dict[str, Any]) -> str:
    return f"{t.get('name')}:{t.get('datatype')}{t.get('shape')}"


def ensure_metadata(ctx: Context) -> None:
    """Fetch the model metadata once when a check needs it and the metadata check did not run."""
    if ctx.metadata is not None or ctx.metadata_tried:
        return
    ctx.metadata_tried = True
    path = ctx.endpoint.adapter.metadata_path(ctx.model)
    if path is None:
        return
    doc = _json_or_none(ctx.client.get(path))
    if isinstance(doc, dict):
        ctx.metadata = doc


def ensure_served_version(ctx: Context) -> None:
    """The version named by an infer response, when the version check did not run."""
    if ctx.served_version is not None or ctx.version_tried or not ctx.rows:
        return
    ctx.version_tried = True
    outcome = ctx.endpoint.safe_predict(ctx.rows[:1])
    ctx.served_version = outcome.model_version


def check_version(ctx: Context) -> Check:
    rules = ("INFRA6", "INFRA7")
    title = "The served model version is visible"
    sources: list[str] = []
    found: dict[str, str] = {}
    ep = ctx.endpoint
    ensure_metadata(ctx)
    if ctx.rows:
        ctx.version_tried = True
        outcome = ep.safe_predict(ctx.rows[:1])
        if outcome.model_version:
            found["infer response"] = outcome.model_version
        sources.append("infer response" + ("" if outcome.error is None else f" ({outcome.error[:80]})"))
    if ctx.metadata and isinstance(ctx.metadata.get("versions"), list) and ctx.metadata["versions"]:
        found["metadata versions"] = ", ".join(str(v) for v in ctx.metadata["versions"][:10])
    sources.append("metadata versions")
    listed = _listed_versions(ctx)
    if listed:
        ctx.served_versions = listed
        found["repository"] = ", ".join(listed[:10])
    if ep.protocol == "v2":
        sources.append("POST /v2/repository/index")
    if ep.protocol == "tfserving":
        sources.append("model_version_status")
    if not found:
        return _check(
            "version", rules, title, "failing",
            f"no version visible (looked at: {', '.join(sources)}); without it a canary or rollback cannot be verified from outside",
            looked_at=sources,
        )
    served = found.get("infer response") or found.get("metadata versions") or found.get("repository")
    ctx.served_version = found.get("infer response")
    return _check("version", rules, title, "passing", f"served version {served!r} (from {', '.join(found)})", versions=found)


def _listed_versions(ctx: Context) -> list[str]:
    """Versions of the model the server lists (V2 repository index, TF Serving status, --versions)."""
    ep = ctx.endpoint
    listed: list[str] = []
    if ep.protocol == "v2" and ctx.model:
        doc = _repository_index(ctx)
        if doc is not None:
            for entry in doc:
                if isinstance(entry, dict) and entry.get("name") == ctx.model and entry.get("version"):
                    listed.append(str(entry["version"])[:80])
    if ep.protocol == "tfserving" and ctx.tfs_status:
        for status in ctx.tfs_status.get("model_version_status", [])[:100]:
            if isinstance(status, dict) and status.get("version") is not None:
                listed.append(str(status["version"]))
    if ctx.metadata and isinstance(ctx.metadata.get("versions"), list):
        listed.extend(str(v)[:80] for v in ctx.metadata["versions"][:100])
    listed.extend(ctx.options.versions)
    return list(dict.fromkeys(listed))


def check_versions_available(ctx: Context) -> Check:
    rules = ("INFRA7", "INFRA6")
    title = "More than one version answers (a rollback target is loaded)"
    ep = ctx.endpoint
    ensure_metadata(ctx)
    listed = ctx.served_versions or _listed_versions(ctx)
    if not listed:
        return _check("versions-available", rules, title, "unknown", "the server lists no versions for this model; pass --versions to check named ones")
    answering: list[str] = []
    answers: dict[str, Any] = {}
    for version in listed[:5]:
        path = ep.adapter.model_ready_path(ctx.model, version)
        if path is not None:
            resp = ctx.client.get(path)
            answers[version] = resp.status
            ok = resp.ok
            if ep.protocol == "tfserving" and ok:
                doc = _json_or_none(resp)
                states = [s.get("state") for s in (doc or {}).get("model_version_status", []) if isinstance(s, dict)]
                ok = "AVAILABLE" in states if states else ok
        elif ctx.rows:
            outcome = ep.safe_predict(ctx.rows[:1], version)
            answers[version] = outcome.status
            ok = outcome.error is None
        else:
            continue
        if ok:
            answering.append(version)
    if len(answering) >= 2:
        return _check("versions-available", rules, title, "passing", f"{len(answering)} versions answer ({', '.join(answering)}): a previous version is loaded to roll back to", answers=answers)
    if len(answering) == 1:
        return _check(
            "versions-available", rules, title, "failing",
            f"only version {answering[0]!r} answers: no previous version is loaded, so a rollback means a redeploy", answers=answers,
        )
    return _check("versions-available", rules, title, "failing", f"none of the listed versions answers ({answers})", answers=answers)


# --------------------------------------------------------------------------------------------
# Model age (MON4)

_AGE_KEYS = re.compile(r"(creat|train|built|build|timestamp|updated|registered|date|time)", re.IGNORECASE)


def check_model_age(ctx: Context) -> Check:
    rules = ("MON4",)
    title = "The model is not too old (age from metadata)"
    ensure_metadata(ctx)
    ensure_served_version(ctx)
    if not ctx.served_versions:
        ctx.served_versions = _listed_versions(ctx)
    candidates: list[tuple[str, Any]] = []
    if ctx.served_version:
        candidates.append((f"served version {ctx.served_version!r}", ctx.served_version))
    if ctx.metadata:
        _collect_dates(ctx.metadata, "metadata", candidates, 0)
    for version in ctx.served_versions:
        candidates.append((f"listed version {version!r}", version))
    now = dt.datetime.now(dt.timezone.utc)
    for source, value in candidates:
        when = _parse_when(value)
        if when is not None and dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc) <= when <= now + dt.timedelta(days=1):
            age_days = (now - when).total_seconds() / 86400
            details = {"source": source, "timestamp": when.isoformat(), "age_days": round(age_days, 2), "max_age_days": ctx.options.max_age_days}
            msg = f"model is {age_days:.1f} days old ({source} = {str(value)[:40]!r})"
            if ctx.options.max_age_days is not None and age_days > ctx.options.max_age_days:
                return _check("model-age", rules, title, "failing", f"{msg}, over the {ctx.options.max_age_days:g}-day limit", **details)
            return _check("model-age", rules, title, "passing", msg, **details)
    return _check(
        "model-age", rules, title, "unknown",
        "no creation time in the metadata and no timestamp-like version; publish one (e.g. a dated version or a metadata parameter)",
    )


def _collect_dates(node: Any, where: str, out: list[tuple[str, Any]], depth: int) -> None:
    if depth > 4 or len(out) > 50:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                _collect_dates(value, f"{where}.{key}", out, depth + 1)
            elif _AGE_KEYS.search(str(key)):
                out.append((f"{where}.{key}", value))


def _parse_when(value: Any) -> dt.datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\d{10}(\.\d+)?|\d{13}", value.strip())):
        number = float(value)
        if number > 1e12:
            number /= 1000.0
        if 9.4e8 <= number <= 4.1e9:
            return dt.datetime.fromtimestamp(number, dt.timezone.utc)
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = re.search(r"(19|20)\d{2}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", text)
    if match:
        try:
            parsed = dt.datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    match = re.search(r"(?<!\d)((?:19|20)\d{6})(?:[T_-]?(\d{4,6}))?(?!\d)", text)
    if match:
        stamp = match.group(1) + (match.group(2) or "").ljust(6, "0")[:6]
        try:
            return dt.datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------------------------
# Metrics (MON6)


def check_metrics(ctx: Context) -> Check:
    rules = ("MON6",)
    title = "A Prometheus metrics endpoint exposes serving metrics"
    scrape = scrape_metrics(ctx.client, ctx.endpoint.adapter, ctx.options.metrics_url)
    if scrape.url is None:
        return _check("metrics", rules, title, "failing", f"no Prometheus metrics endpoint found (tried {', '.join(scrape.tried[:8])}); pass --metrics-url if it is elsewhere", tried=scrape.tried)
    details: dict[str, Any] = {
        "url": scrape.url,
        "families": len(scrape.families),
        "latency": scrape.latency[:10],
        "requests": scrape.requests[:10],
        "errors": scrape.errors[:10],
        "memory": scrape.memory[:5],
        "sample_families": sorted(scrape.families)[:40],
    }
    moved: list[str] = []
    if ctx.metrics_before is not None and ctx.metrics_before.url == scrape.url:
        for name in scrape.requests:
            delta = scrape.totals.get(name, 0.0) - ctx.metrics_before.totals.get(name, 0.0)
            if delta > 0:
                moved.append(f"{name} +{delta:g}")
        details["moved_during_probe"] = moved
    kinds = [k for k, v in (("latency", scrape.latency), ("request counts", scrape.requests), ("errors", scrape.errors), ("memory", scrape.memory)) if v]
    missing = [k for k in ("latency", "request counts") if k not in kinds]
    base = f"{scrape.url}: {len(scrape.families)} metric families; serving metrics for {', '.join(kinds) or 'nothing'}"
    if moved:
        base += f"; counters moved with the probe's traffic ({', '.join(moved[:3])})"
    if missing:
        return _check("metrics", rules, title, "failing", f"{base}; no {' or '.join(missing)} metric", **details)
    return _check("metrics", rules, title, "passing", base, **details)


# --------------------------------------------------------------------------------------------
# Latency and its trend (MON6)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def measure_latency(ep: Endpoint, body: bytes, requests: int, concurrency: int, warmup: int) -> dict[str, Any]:
    """Closed-loop load: ``concurrency`` workers, each on its own keep-alive connection."""
    for _ in range(warmup):
        ep.post(body)
    samples: list[tuple[float, float, int]] = []
    failures: list[str] = []
    stopped: list[str] = []
    versions: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(requests))
    stop = threading.Event()

    def worker() -> None:
        try:
            while not stop.is_set():
                with lock:
                    if next(counter, None) is None:
                        return
                try:
                    resp = ep.client.timed_post(ep.infer_path(), body)
                except BudgetExhausted as exc:
                    with lock:
                        stopped.append(str(exc))
                    stop.set()
                    return
                except TransportError as exc:
                    with lock:
                        failures.append(str(exc))
                    continue
                with lock:
                    samples.append((resp.started_at, resp.elapsed_s, resp.status))
                    version = _answer_version(resp)
                    if version is not None:
                        versions[version] = versions.get(version, 0) + 1
        finally:
            ep.client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, concurrency))]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    samples.sort()
    return {"samples": samples, "failures": failures, "wall_s": wall, "stopped": stopped[0] if stopped else None,
            "versions": versions}


_VERSION_FIELD = re.compile(rb'"model_version"\s*:\s*"([^"\\]{1,80})"')


def _answer_version(resp: Response) -> str | None:
    """The model version an answer names (V2 ``model_version``, or a version header), cheaply."""
    for header in ("x-model-version", "model-version", "x-version"):
        if header in resp.headers:
            return resp.headers[header][:80]
    if 200 <= resp.status < 300:
        match = _VERSION_FIELD.search(resp.body[:4096])
        if match:
            return match.group(1).decode("utf-8", "replace")
    return None


def check_latency(ctx: Context) -> Check:
    rules = ("MON6",)
    title = "Latency and throughput at a bounded concurrency"
    if not ctx.rows:
        return _check("latency", rules, title, "skipped", "no input row to send (pass --sample, or declare inputs in the model metadata)")
    ep = ctx.endpoint
    body = ep.encode(ctx.rows[:1])[0]
    n = min(ctx.options.requests, max(0, ctx.client.budget.remaining_requests() - ctx.options.warmup - 60))
    if n < 10:
        return _check("latency", rules, title, "skipped", "not enough of the request cap left for a latency run")
    result = measure_latency(ep, body, n, ctx.options.concurrency, ctx.options.warmup)
    samples = result["samples"]
    ctx.latency_samples = [(s[0], s[1]) for s in samples if 200 <= s[2] < 300]
    ctx.versions_seen = dict(result["versions"])
    ok = [s[1] for s in samples if 200 <= s[2] < 300]
    bad = [s for s in samples if not 200 <= s[2] < 300]
    if not ok:
        if not bad and not result["failures"] and result["stopped"]:
            return _check("latency", rules, title, "skipped", f"not run: {result['stopped']} (raise --max-requests or --time-budget)")
        return _check("latency", rules, title, "failing", f"no request succeeded ({len(bad)} non-2xx, {len(result['failures'])} failed: {(result['failures'] or ['-'])[0]})")
    ms = [v * 1000 for v in ok]
    stats = {
        "requests": len(samples),
        "ok": len(ok),
        "non_2xx": len(bad),
        "transport_failures": len(result["failures"]),
        "concurrency": ctx.options.concurrency,
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "throughput_rps": round(len(samples) / result["wall_s"], 1) if result["wall_s"] > 0 else None,
        "wall_s": round(result["wall_s"], 3),
        "max_rate": ctx.client.budget.min_interval and round(1 / ctx.client.budget.min_interval, 1),
        "method": "closed loop, one keep-alive connection per worker, time from send to last byte; requests paced by --max-rate",
        "versions_seen": dict(result["versions"]),
    }
    msg = (
        f"p50 {stats['p50_ms']:.2f} ms, p95 {stats['p95_ms']:.2f} ms, p99 {stats['p99_ms']:.2f} ms, "
        f"{stats['throughput_rps']} req/s over {len(samples)} requests at concurrency {ctx.options.concurrency}"
    )
    if result["stopped"]:
        stats["stopped_early"] = result["stopped"]
        msg += f" (stopped early: {result['stopped']})"
    problems = []
    if bad or result["failures"]:
        codes = sorted({s[2] for s in bad})
        problems.append(f"{len(bad) + len(result['failures'])} of {len(samples) + len(result['failures'])} requests failed" + (f" (HTTP {', '.join(map(str, codes))})" if codes else ""))
    budget = ctx.options.p99_budget_ms
    if budget is not None and stats["p99_ms"] > budget:
        problems.append(f"p99 over the {budget:g} ms budget")
    if problems:
        return _check("latency", rules, title, "failing", f"{msg}; {'; '.join(problems)}", **stats)
    return _check("latency", rules, title, "passing", msg, **stats)


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2.0
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return cov / var if var else 0.0


def check_latency_trend(ctx: Context) -> Check:
    rules = ("MON6",)
    title = "Latency does not creep up during the run (slow leak)"
    samples = ctx.latency_samples
    if len(samples) < 40:
        return _check("latency-trend", rules, title, "skipped", "needs at least 40 latency samples from the latency check")
    ms = [s[1] * 1000 for s in samples]
    quarter = len(ms) // 4
    first = statistics.median(ms[:quarter])
    last = statistics.median(ms[-quarter:])
    rho = spearman(list(range(len(ms))), ms)
    ratio = last / first if first > 0 else math.inf
    details = {"first_quarter_p50_ms": round(first, 3), "last_quarter_p50_ms": round(last, 3), "ratio": round(ratio, 3), "spearman": round(rho, 3), "samples": len(ms)}
    msg = f"median {first:.2f} ms in the first {quarter} requests, {last:.2f} ms in the last {quarter} (x{ratio:.2f}, rank correlation with request order {rho:+.2f})"
    if ratio >= 1.5 and last - first >= 1.0 and rho >= 0.5:
        return _check("latency-trend", rules, title, "failing", f"latency grows with every request: {msg}; a slow leak (queue, cache, memory) under only {len(ms)} requests", **details)
    return _check("latency-trend", rules, title, "passing", msg, **details)


def check_traffic_split(ctx: Context) -> Check:
    rules = ("INFRA6",)
    title = "Answers come from more than one model version (a canary traffic split)"
    seen = ctx.versions_seen
    if not ctx.latency_samples:
        return _check("traffic-split", rules, title, "skipped", "needs the answers of the latency run")
    if not seen:
        return _check("traffic-split", rules, title, "unknown", "the answers name no model version, so a traffic split cannot be seen")
    total = sum(seen.values())
    shares = ", ".join(f"{v} {n / total:.0%}" for v, n in sorted(seen.items(), key=lambda kv: -kv[1]))
    details = {"versions_seen": seen, "answers": total}
    if len(seen) >= 2:
        return _check("traffic-split", rules, title, "passing", f"{total} answers came from {len(seen)} versions ({shares}): traffic is split between versions", **details)
    return _check(
        "traffic-split", rules, title, "unknown",
        f"all {total} answers came from version {next(iter(seen))!r}: no traffic split now (a canary shows only during a rollout)",
        **details,
    )


# --------------------------------------------------------------------------------------------
# Bad input must be rejected with 4xx (MON2)


@dataclass
class Case:
    name: str
    body: bytes
    note: str
    content_type: str = "application/json"


def bad_input_cases(ctx: Context) -> list[Case]:
    ep = ctx.endpoint
    rows = [list(r) for r in ctx.rows[:1]]
    names = list(ep.feature_names)
    cases: list[Case] = []
    doc = ep.raw_document(rows)
    numeric = ctx.numeric_columns
    col = numeric[0] if numeric else 0
    fname = names[col] if col < len(names) else str(col)

    def add(name: str, document: Any, note: str) -> None:
        cases.append(Case(name, document if isinstance(document, bytes) else protocols.dumps(document), note))

    if rows and len(rows[0]) > 1:
        add("missing-feature", ep.raw_document([r[:-1] for r in rows], names[:-1]), f"feature {names[-1] if names else 'last'!r} left out")
        add("extra-feature", ep.raw_document([r + [0.0] for r in rows], names + ["unexpected_feature"]), "one unexpected extra feature")
    if rows:
        add("wrong-type", ep.raw_document(with_value(rows, col, "not-a-number"), names), f"string in numeric feature {fname!r}")
        add("null-value", ep.raw_document(with_value(rows, col, None), names), f"null in feature {fname!r}")
        add("nan-value", ep.raw_document(with_value(rows, col, math.nan), names), f"NaN in feature {fname!r}")
        add("infinity", ep.raw_document(with_value(rows, col, math.inf), names), f"Infinity in feature {fname!r}")
        absurd = [[1e38 if j in numeric else v for j, v in enumerate(r)] for r in rows]
        add("out-of-range", ep.raw_document(absurd, names), "1e38 in every numeric feature")
    if ep.batches:
        add("empty-batch", ep.raw_document([], names), "a batch of zero rows")
    if ep.protocol == "v2" and rows:
        bad_shape = json.loads(protocols.dumps(doc))
        bad_shape["inputs"][0]["shape"][0] += 1
        add("shape-mismatch", bad_shape, "shape says more rows than data holds")
    add("empty-object", {}, "an empty JSON object")
    body = protocols.dumps(doc)
    cases.append(Case("malformed-json", body[: max(1, len(body) // 2)], "truncated JSON"))
    if rows and ep.batches and ctx.options.oversized_bytes > 0:
        row_bytes = max(1, len(protocols.dumps(rows[0])) + 1)
        count = ctx.options.oversized_bytes // row_bytes + 1
        big = ep.raw_document(rows * count, names)
        cases.append(Case("oversized", protocols.dumps(big), f"{count} rows, about {ctx.options.oversized_bytes / 2**20:.0f} MiB"))
    return cases


def check_bad_input(ctx: Context) -> Check:
    rules = ("MON2",)
    title = "Schema-violating inputs get a 4xx, not a 5xx or a silent prediction"
    if not ctx.rows:
        return _check("bad-input", rules, title, "skipped", "no valid input row to derive bad inputs from (pass --sample)")
    verdicts: list[dict[str, Any]] = []
    for case in bad_input_cases(ctx):
        try:
            resp = ctx.endpoint.post(case.body, content_type=case.content_type)
        except TransportError as exc:
            verdicts.append({"case": case.name, "input": case.note, "status": None, "verdict": "no-answer", "answer": str(exc)[:160]})
            continue
        if 400 <= resp.status < 500:
            verdict = "rejected"
        elif resp.status >= 500:
            verdict = "server-error"
        else:
            verdict = "accepted"
        verdicts.append({"case": case.name, "input": case.note, "status": resp.status, "verdict": verdict, "answer": resp.snippet(160)})
    alive = _still_alive(ctx)
    server_errors = [v for v in verdicts if v["verdict"] == "server-error"]
    accepted = [v for v in verdicts if v["verdict"] == "accepted"]
    no_answer = [v for v in verdicts if v["verdict"] == "no-answer"]
    details = {"cases": verdicts, "alive_after": alive}
    if not (server_errors or accepted or no_answer) and alive is not False:
        return _check("bad-input", rules, title, "passing", f"all {len(verdicts)} malformed inputs got a 4xx", **details)
    parts = []
    if server_errors:
        parts.append(f"{len(server_errors)} got a 5xx (client error reported as server error): " + ", ".join(f"{v['case']} {v['status']}" for v in server_errors))
    if accepted:
        parts.append(f"{len(accepted)} got a prediction instead of a 4xx: " + ", ".join(f"{v['case']} {v['status']}" for v in accepted))
    if no_answer:
        parts.append(f"{len(no_answer)} got no answer: " + ", ".join(v["case"] for v in no_answer))
    if alive is False:
        parts.append("the server stopped answering after the bad inputs")
    leaks = [v["case"] for v in server_errors if re.search(r"Error:|Traceback|\.py\b|builtins\.", v["answer"])]
    if leaks:
        details["internal_error_text_in"] = leaks
        parts.append(f"internal error text returned to the client for {', '.join(leaks)}")
    return _check("bad-input", rules, title, "failing", f"of {len(verdicts)} malformed inputs, " + "; ".join(parts), **details)


def _still_alive(ctx: Context) -> bool | None:
    """Whether a valid request still gets a prediction after the bad ones (None: no budget left)."""
    try:
        outcome = ctx.endpoint.predict(ctx.rows[:1])
    except BudgetExhausted:
        return None
    except TransportError:
        return False
    return outcome.error is None


# --------------------------------------------------------------------------------------------
# Edge inputs give finite, in-range outputs; tiny perturbations change little (MON5)


def check_edge_inputs(ctx: Context) -> Check:
    rules = ("MON5",)
    title = "Edge inputs give finite outputs, probabilities in [0, 1], stable under tiny perturbations"
    if not ctx.rows or not ctx.numeric_columns:
        return _check("edge-inputs", rules, title, "skipped", "needs a sample row with numeric features (pass --sample)")
    base = list(ctx.rows[0])
    numeric = ctx.numeric_columns
    columns = list(zip(*ctx.rows))

    def row_with(fn: Callable[[int], float]) -> list[Any]:
        return [fn(j) if j in numeric else base[j] for j in range(len(base))]

    cases: list[tuple[str, list[Any]]] = [
        ("zeros", row_with(lambda j: 0.0)),
        ("sample-min", row_with(lambda j: float(min(columns[j])))),
        ("sample-max", row_with(lambda j: float(max(columns[j])))),
        ("negated-max", row_with(lambda j: -float(max(columns[j])))),
        ("tiny", row_with(lambda j: 1e-30)),
        ("huge", row_with(lambda j: 1e38)),
        ("huge-negative", row_with(lambda j: -1e38)),
    ]
    results: list[dict[str, Any]] = []
    problems: list[str] = []
    output = ctx.options.output
    # Outputs that are fractions in [0, 1] on ordinary rows are probabilities (or scores) of a
    # classifier: an edge input must not push them outside [0, 1] either.
    normal = ctx.endpoint.safe_predict(ctx.rows[: min(len(ctx.rows), 32 if ctx.endpoint.batches else 1)])
    normal_numbers = protocols.flat_numbers(normal.predictions) if normal.error is None and normal.predictions is not None else None
    unit_range = bool(normal_numbers) and all(0.0 <= v <= 1.0 for v in normal_numbers or []) and any(
        0.0 < v < 1.0 for v in normal_numbers or []
    )
    for name, row in cases:
        outcome = ctx.endpoint.safe_predict([row])
        entry: dict[str, Any] = {"case": name, "input": _EDGE_INPUTS.get(name, ""), "status": outcome.status}
        if outcome.error is not None:
            status = outcome.status
            entry["answer"] = outcome.error[:160]
            if status is not None and 400 <= status < 500:
                entry["verdict"] = "rejected"
            else:
                entry["verdict"] = "error"
                problems.append(f"{name}: {outcome.error[:100]}")
        else:
            bad = non_finite(outcome.predictions) + probability_problems(outcome.predictions, (output or "",))
            if unit_range and not bad:
                numbers = protocols.flat_numbers(outcome.predictions or []) or []
                outside = [v for v in numbers if math.isfinite(v) and not 0.0 <= v <= 1.0]
                if outside:
                    bad.append(f"output {outside[0]:g} outside [0, 1], where ordinary rows give values in [0, 1]")
            entry["output"] = _short(outcome.predictions)
            entry["verdict"] = "bad-output" if bad else "finite"
            if bad:
                problems.append(f"{name}: {'; '.join(bad[:3])}")
        results.append(entry)
    base_out = ctx.endpoint.safe_predict([base])
    nudged = [v * (1 + 1e-6) if j in numeric else v for j, v in enumerate(base)]
    nudged_out = ctx.endpoint.safe_predict([nudged])
    stability: dict[str, Any] = {}
    if base_out.error is None and nudged_out.error is None:
        a = protocols.flat_numbers(base_out.predictions or [])
        b = protocols.flat_numbers(nudged_out.predictions or [])
        if a is not None and b is not None and len(a) == len(b) and a:
            delta = max(abs(x - y) for x, y in zip(a, b))
            stability = {"relative_perturbation": 1e-6, "max_output_change": delta}
            if not math.isfinite(delta) or delta > 1e-3 * max(1.0, max(abs(x) for x in a if math.isfinite(x)) if any(math.isfinite(x) for x in a) else 1.0):
                problems.append(f"a 1e-6 relative nudge of the inputs changed the output by {delta:.3g}")
    details = {"cases": results, "stability": stability, "outputs_in_unit_range": unit_range}
    if problems:
        return _check("edge-inputs", rules, title, "failing", f"{len(problems)} problem(s): " + "; ".join(problems[:4]), **details)
    rejected = [r["case"] for r in results if r["verdict"] == "rejected"]
    msg = f"{len(results) - len(rejected)} edge inputs gave finite outputs" + (f", {len(rejected)} rejected with 4xx ({', '.join(rejected)})" if rejected else "")
    if stability:
        msg += f"; a 1e-6 nudge changed outputs by at most {stability['max_output_change']:.3g}"
    return _check("edge-inputs", rules, title, "passing", msg, **details)


_EDGE_INPUTS = {
    "zeros": "every numeric feature 0",
    "sample-min": "each numeric feature at its sample minimum",
    "sample-max": "each numeric feature at its sample maximum",
    "negated-max": "each numeric feature at minus its sample maximum",
    "tiny": "every numeric feature 1e-30",
    "huge": "every numeric feature 1e38",
    "huge-negative": "every numeric feature -1e38",
}


def _short(predictions: Any, limit: int = 160) -> str:
    text = json.dumps(predictions, default=str)
    return text[:limit] + ("..." if len(text) > limit else "")


# --------------------------------------------------------------------------------------------
# Determinism (MON5)


def check_determinism(ctx: Context) -> Check:
    rules = ("MON5",)
    title = "The same input gives the same output"
    if not ctx.rows:
        return _check("determinism", rules, title, "skipped", "no input row to repeat (pass --sample)")
    rows = ctx.rows[: min(len(ctx.rows), ctx.options.batch_size if ctx.endpoint.batches else 1)]
    answers: list[str] = []
    errors: list[str] = []
    for _ in range(max(2, ctx.options.repeat)):
        outcome = ctx.endpoint.safe_predict(rows)
        if outcome.error is not None:
            errors.append(outcome.error[:120])
        else:
            answers.append(json.dumps(outcome.predictions, sort_keys=True, default=str))
    distinct = len(set(answers))
    details = {"repeats": len(answers) + len(errors), "rows_per_request": len(rows), "distinct_outputs": distinct, "errors": errors[:3]}
    if len(answers) < 2:
        return _check("determinism", rules, title, "error", f"could not get two answers: {(errors or ['-'])[0]}", **details)
    if distinct == 1:
        return _check("determinism", rules, title, "passing", f"{len(answers)} identical requests of {len(rows)} rows gave 1 distinct output", **details)
    return _check("determinism", rules, title, "failing", f"{len(answers)} identical requests gave {distinct} different outputs", **details)


# --------------------------------------------------------------------------------------------
# Prediction-level training/serving skew (MON3)


def compare_prediction(expected: Any, served: Any, atol: float, rtol: float) -> float | None:
    """The absolute difference (max over vector elements); None when equal, inf when incomparable."""
    if isinstance(expected, list) or isinstance(served, list):
        e = expected if isinstance(expected, list) else [expected]
        s = served if isinstance(served, list) else [served]
        if len(e) != len(s):
            return math.inf
        diffs = [compare_prediction(a, b, atol, rtol) for a, b in zip(e, s)]
        worst = [d for d in diffs if d is not None]
        return max(worst) if worst else None
    if _is_num(expected) and _is_num(served):
        if math.isnan(expected) and math.isnan(served):
            return None
        diff = abs(float(expected) - float(served))
        if diff <= atol + rtol * abs(float(expected)):
            return None
        return diff if math.isfinite(diff) else math.inf
    if _is_num(expected) and isinstance(served, str) or isinstance(expected, str) and _is_num(served):
        try:
            return compare_prediction(float(expected), float(served), atol, rtol)
        except ValueError:
            return math.inf
    return None if expected == served else math.inf


def check_skew(ctx: Context) -> Check:
    rules = ("MON3",)
    title = "Served predictions match offline predictions on replayed rows (training/serving skew)"
    if not ctx.rows:
        return _check("skew", rules, title, "skipped", "no reference rows to replay: pass --sample")
    if ctx.expected is None:
        return _check("skew", rules, title, "skipped", "no offline predictions to compare with: pass --expected-predictions")
    n = min(len(ctx.rows), len(ctx.expected), ctx.options.skew_rows)
    size = ctx.options.batch_size if ctx.endpoint.batches else 1
    served: list[Any] = []
    for start in range(0, n, size):
        chunk = ctx.rows[start : min(n, start + size)]
        outcome = ctx.endpoint.safe_predict(chunk)
        if outcome.error is not None:
            return _check("skew", rules, title, "error", f"replaying rows {start}..{start + len(chunk) - 1} failed: {outcome.error[:160]}", replayed=len(served))
        preds = primary(outcome.predictions, ctx.options.output)
        if preds is None or len(preds) != len(chunk):
            return _check("skew", rules, title, "error", f"the answer for rows {start}..{start + len(chunk) - 1} has {len(preds or [])} predictions, not {len(chunk)}")
        served.extend(preds)
    mismatches: list[tuple[float, int]] = []
    for i in range(n):
        diff = compare_prediction(ctx.expected[i], served[i], ctx.options.atol, ctx.options.rtol)
        if diff is not None:
            mismatches.append((diff, i))
    rate = len(mismatches) / n if n else 0.0
    mismatches.sort(key=lambda t: (-t[0], t[1]))
    worst = [
        {"row": i, "expected": _jsonable(ctx.expected[i]), "served": _jsonable(served[i]), "abs_diff": _jsonable(d)}
        for d, i in mismatches[:5]
    ]
    details = {
        "rows_compared": n,
        "mismatches": len(mismatches),
        "mismatch_rate": round(rate, 6),
        "max_mismatch_rate": ctx.options.max_mismatch_rate,
        "atol": ctx.options.atol,
        "rtol": ctx.options.rtol,
        "worst_rows": worst,
        "sample": ctx.rows_source,
        "expected": ctx.expected_source,
    }
    msg = f"{len(mismatches)} of {n} replayed rows differ from the offline predictions ({rate:.1%})"
    if rate > ctx.options.max_mismatch_rate:
        worst_text = ", ".join(f"row {w['row']}: expected {_short(w['expected'], 40)}, served {_short(w['served'], 40)}" for w in worst[:3])
        return _check("skew", rules, title, "failing", f"{msg}; worst: {worst_text}", **details)
    return _check("skew", rules, title, "passing", msg, **details)
