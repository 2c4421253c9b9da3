"""What each serving protocol exposes over HTTP (health, readiness, metadata, versions, metrics),
and ``auto`` detection that records how it decided."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mlscore.probe import protocols
from mlscore.probe.http import HttpClient, ProbeError, Response, TransportError


@dataclass(frozen=True)
class Adapter:
    """HTTP conventions of one protocol; paths are relative to the target URL."""

    name: str
    title: str
    live_paths: tuple[str, ...]
    server_ready_paths: tuple[str, ...]
    metrics_paths: tuple[str, ...] = ("/metrics",)
    #: Other ports where servers of this protocol put metrics, as offsets or absolute ports.
    metrics_port_offsets: tuple[int, ...] = ()
    metrics_ports: tuple[int, ...] = ()
    model_scoped_readiness: bool = True

    def model_ready_path(self, model: str | None, version: str | None = None) -> str | None:
        if not model:
            return None
        if self.name == "v2":
            return f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/ready"
        if self.name == "tfserving":
            return f"/v1/models/{model}" + (f"/versions/{version}" if version else "")
        return None

    def metadata_path(self, model: str | None, version: str | None = None) -> str | None:
        if not model:
            return None
        if self.name == "v2":
            return f"/v2/models/{model}" + (f"/versions/{version}" if version else "")
        if self.name == "tfserving":
            return f"/v1/models/{model}" + (f"/versions/{version}" if version else "") + "/metadata"
        return None

    def server_metadata_path(self) -> str | None:
        return {"v2": "/v2", "bentoml": "/docs.json", "json": "/openapi.json"}.get(self.name)


ADAPTERS: dict[str, Adapter] = {
    "v2": Adapter(
        "v2", "Open Inference Protocol / KServe V2", ("/v2/health/live",), ("/v2/health/ready",),
        metrics_port_offsets=(2,), metrics_ports=(8082, 8002),
    ),
    "tfserving": Adapter(
        "tfserving", "TF Serving REST / KServe V1", (), (), metrics_paths=("/monitoring/prometheus/metrics", "/metrics"),
    ),
    "torchserve": Adapter(
        "torchserve", "TorchServe", ("/ping",), ("/ping",), metrics_port_offsets=(2,), metrics_ports=(8082,),
        model_scoped_readiness=False,
    ),
    "mlflow": Adapter("mlflow", "MLflow scoring server", ("/ping", "/health"), ("/ping",), model_scoped_readiness=False),
    "bentoml": Adapter("bentoml", "BentoML", ("/livez", "/healthz"), ("/readyz",), model_scoped_readiness=False),
    "json": Adapter(
        "json", "plain JSON service", ("/health", "/healthz", "/livez", "/ping"), ("/ready", "/readyz", "/health"),
        model_scoped_readiness=False,
    ),
}


@dataclass(frozen=True)
class Detection:
    """Which protocol the target speaks and the observations that decided it."""

    protocol: str
    reason: str
    tried: tuple[str, ...]
    server: dict[str, Any] = field(default_factory=dict)
    openapi: dict[str, Any] | None = None


def _try(client: HttpClient, method: str, path: str, tried: list[str], body: bytes | None = None) -> Response | None:
    try:
        resp = client.request(method, path, body=body, content_type="application/json" if body is not None else None)
    except TransportError as exc:
        if exc.kind in ("refused", "timeout", "tls", "dns"):
            raise
        tried.append(f"{method} {path} -> {exc.kind}")
        return None
    tried.append(resp.describe())
    return resp


def _json_object(resp: Response | None) -> dict[str, Any] | None:
    if resp is None:
        return None
    try:
        doc = resp.json()
    except protocols.PayloadError:
        return None
    return doc if isinstance(doc, dict) else None


def _not_json_note(responses: list[Response]) -> str:
    for resp in responses:
        if resp.status in (401, 403):
            return f"; {resp.describe()}: the server wants credentials, pass them with --header-env"
    for resp in responses:
        if resp.ok and resp.body and not resp.is_json():
            ctype = resp.content_type.split(";")[0] or "no content type"
            return f"; {resp.describe()} answered {ctype}, not JSON: {resp.snippet(60)!r}"
    return ""


def confirm(client: HttpClient, protocol: str, model: str | None) -> Detection:
    """Check that the target speaks ``protocol``; raise a one-line ProbeError when it does not."""
    tried: list[str] = []
    seen: list[Response] = []

    def get(path: str) -> Response | None:
        resp = _try(client, "GET", path, tried)
        if resp is not None:
            seen.append(resp)
        return resp

    if protocol == "v2":
        meta = _json_object(get("/v2"))
        if meta is not None and ("extensions" in meta or "name" in meta and "version" in meta):
            return Detection("v2", f"GET /v2 answered server metadata {_brief(meta)}", tuple(tried), _server(meta))
        live = get("/v2/health/live")
        if live is not None and live.ok and not _looks_catch_all(live):
            return Detection("v2", "GET /v2/health/live answered 2xx", tuple(tried))
        if model:
            ready = get(f"/v2/models/{model}/ready")
            if ready is not None and (
                (ready.ok and not _looks_catch_all(ready)) or "error" in (_json_object(ready) or {})
            ):
                return Detection("v2", f"GET /v2/models/{model}/ready answered in V2 style", tuple(tried))
    elif protocol == "tfserving":
        if not model:
            raise ProbeError("protocol tfserving needs --model (TF Serving has no model-free health path)")
        status = _json_object(get(f"/v1/models/{model}"))
        if status is not None and ("model_version_status" in status or "ready" in status or "error" in status):
            return Detection("tfserving", f"GET /v1/models/{model} answered a model status", tuple(tried))
    elif protocol == "torchserve":
        ping = _json_object(get("/ping"))
        if ping is not None and "status" in ping:
            return Detection("torchserve", f"GET /ping answered {_brief(ping)}", tuple(tried))
    elif protocol == "mlflow":
        pong = get("/ping")
        if pong is not None and pong.ok:
            version = get("/version")
            server = {"name": "mlflow", "version": version.body.decode("utf-8", "replace").strip()[:40]} if version is not None and version.ok else {}
            return Detection("mlflow", "GET /ping answered 2xx" + (" and GET /version named MLflow's version" if server else ""), tuple(tried), server)
    elif protocol == "bentoml":
        for path in ("/readyz", "/livez", "/healthz"):
            resp = get(path)
            if resp is not None and resp.ok:
                docs = _json_object(get("/docs.json"))
                return Detection("bentoml", f"GET {path} answered 2xx", tuple(tried), openapi=docs)
    elif protocol == "json":
        spec = _json_object(get("/openapi.json"))
        if spec is not None and "paths" in spec:
            return Detection("json", "GET /openapi.json answered an OpenAPI document", tuple(tried), _openapi_server(spec), spec)
        for path in ADAPTERS["json"].live_paths + ("/",):
            resp = get(path)
            if resp is not None and resp.status < 500:
                return Detection("json", f"{resp.describe()} (no OpenAPI document: pass --api)", tuple(tried))
    else:
        raise ProbeError(f"unknown protocol {protocol!r} (known: auto, {', '.join(protocols.PROTOCOLS)})")
    raise ProbeError(
        f"{client.base_url} does not answer the {protocol} protocol ({'; '.join(tried[:4])}){_not_json_note(seen)};"
        " try --protocol auto"
    )


def detect(client: HttpClient, model: str | None) -> Detection:
    """Try each protocol's health and metadata paths in turn; say which answered and how."""
    tried: list[str] = []
    seen: list[Response] = []

    def get(path: str) -> Response | None:
        resp = _try(client, "GET", path, tried)
        if resp is not None:
            seen.append(resp)
        return resp

    meta = _json_object(get("/v2"))
    if meta is not None and ("extensions" in meta or ("name" in meta and "version" in meta)):
        return Detection("v2", f"GET /v2 answered Open Inference server metadata {_brief(meta)}", tuple(tried), _server(meta))
    live = get("/v2/health/live")
    if live is not None and live.ok and not _looks_catch_all(live):
        return Detection("v2", "GET /v2/health/live answered 2xx", tuple(tried))
    if model:
        status = _json_object(get(f"/v1/models/{model}"))
        if status is not None and "model_version_status" in status:
            return Detection("tfserving", f"GET /v1/models/{model} answered a TF Serving model_version_status", tuple(tried))
        if status is not None and "ready" in status and "name" in status:
            return Detection("tfserving", f"GET /v1/models/{model} answered a KServe V1 model status", tuple(tried))
    ping = get("/ping")
    ping_doc = _json_object(ping)
    if ping_doc is not None and "status" in ping_doc:
        return Detection("torchserve", f"GET /ping answered {_brief(ping_doc)}", tuple(tried))
    if ping is not None and ping.ok:
        version = get("/version")
        if version is not None and version.ok and re.fullmatch(r"\s*\d+\.\d+[\w.+-]*\s*", version.body.decode("utf-8", "replace")):
            server = {"name": "mlflow", "version": version.body.decode().strip()}
            return Detection("mlflow", "GET /ping answered 2xx and GET /version a bare version number (MLflow scoring server)", tuple(tried), server)
        inv = _try(client, "POST", "/invocations", tried, body=b"{}")
        if inv is not None and inv.status not in (404, 405) and _json_object(inv) is not None:
            return Detection("mlflow", f"GET /ping answered 2xx and POST /invocations answered JSON ({inv.status})", tuple(tried))
    ready = get("/readyz")
    if ready is not None and ready.ok:
        docs = _json_object(get("/docs.json"))
        if docs is not None and "paths" in docs:
            return Detection("bentoml", "GET /readyz answered 2xx and GET /docs.json an OpenAPI document (BentoML)", tuple(tried), _openapi_server(docs), docs)
    spec = _json_object(get("/openapi.json"))
    if spec is not None and "paths" in spec:
        return Detection("json", "GET /openapi.json answered an OpenAPI document and no model-server path answered", tuple(tried), _openapi_server(spec), spec)
    raise ProbeError(
        f"cannot tell which protocol {client.base_url} speaks ({'; '.join(tried[:6])}){_not_json_note(seen)};"
        " pass --protocol"
    )


def _looks_catch_all(resp: Response) -> bool:
    """An HTML 200 for any path (a web app's catch-all route) is not a V2 health answer."""
    return bool(resp.body) and not resp.is_json()


def _brief(doc: dict[str, Any]) -> str:
    keep = {k: doc[k] for k in ("name", "version", "status") if k in doc and isinstance(doc[k], (str, int, float))}
    return protocols.dumps(keep).decode()[:120]


def _server(meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("name", "version"):
        if isinstance(meta.get(key), (str, int, float)):
            out[key] = str(meta[key])[:80]
    if isinstance(meta.get("extensions"), list):
        out["extensions"] = [str(e)[:40] for e in meta["extensions"][:20]]
    return out


def _openapi_server(spec: dict[str, Any]) -> dict[str, Any]:
    info = _as_dict(spec.get("info"))
    return {k: str(info[k])[:80] for k in ("title", "version") if k in info}


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------------------------------
# OpenAPI: find the inference route and body layout of a plain JSON service

_ROUTE_WORDS = ("predict", "infer", "score", "invocations", "classify", "regress", "inference")


@dataclass(frozen=True)
class JsonApi:
    """Where and how to POST rows to a plain JSON service."""

    path: str
    layout: str  # "records" (a list of objects), "wrapped" ({key: records}), "single" (one object per request)
    key: str | None = None
    fields: tuple[str, ...] = ()
    reason: str = ""


def json_api(spec: dict[str, Any] | None, api: str | None) -> JsonApi:
    """The route to POST to (``--api`` wins) and the body layout its request schema asks for."""
    paths = _as_dict(_as_dict(spec).get("paths"))
    posts = [p for p, ops in paths.items() if isinstance(ops, dict) and "post" in ops]
    if api:
        chosen = api if api.startswith("/") else "/" + api
        reason = "--api"
    else:
        ranked = sorted(
            (p for p in posts if any(w in p.lower() for w in _ROUTE_WORDS)),
            key=lambda p: (min(i for i, w in enumerate(_ROUTE_WORDS) if w in p.lower()), len(p)),
        )
        if not ranked:
            if len(posts) == 1:
                ranked = posts
            else:
                raise ProbeError(
                    "cannot tell which route serves predictions"
                    + (f" (POST routes: {', '.join(posts[:8])})" if posts else " (no OpenAPI document)")
                    + "; pass --api PATH"
                )
        chosen = ranked[0]
        reason = f"OpenAPI lists POST {chosen}"
    schema = _request_schema(spec or {}, chosen)
    if schema is None:
        return JsonApi(chosen, "wrapped", "instances", reason=reason + "; no request schema, sending {\"instances\": [...]}")
    if schema.get("type") == "array":
        return JsonApi(chosen, "records", fields=_fields(spec or {}, schema.get("items")), reason=reason + "; body is a list of records")
    props = _as_dict(schema.get("properties"))
    for key, sub in props.items():
        sub = _deref(spec or {}, sub)
        if isinstance(sub, dict) and sub.get("type") == "array":
            return JsonApi(chosen, "wrapped", key, _fields(spec or {}, sub.get("items")), reason + f"; body is {{{key!r}: [records]}}")
    return JsonApi(chosen, "single", fields=tuple(props), reason=reason + "; body is one record per request")


def _deref(spec: dict[str, Any], node: Any, depth: int = 0) -> Any:
    while isinstance(node, dict) and "$ref" in node and depth < 10:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return None
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node = target
        depth += 1
    if isinstance(node, dict) and isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
        return _deref(spec, node["allOf"][0], depth + 1)
    return node


def _request_schema(spec: dict[str, Any], path: str) -> dict[str, Any] | None:
    op = _as_dict(_as_dict(_as_dict(spec.get("paths")).get(path)).get("post"))
    body = _as_dict(_deref(spec, op.get("requestBody")))
    media = _as_dict(_as_dict(body.get("content")).get("application/json"))
    schema = _deref(spec, media.get("schema"))
    return schema if isinstance(schema, dict) and schema else None


def _fields(spec: dict[str, Any], items: Any) -> tuple[str, ...]:
    items = _deref(spec, items)
    props = items.get("properties") if isinstance(items, dict) else None
    return tuple(props) if isinstance(props, dict) else ()


def encode_json_rows(api: JsonApi, rows: list[list[Any]], names: list[str]) -> list[bytes]:
    """Request bodies for ``rows`` under a JSON service's layout (several bodies for ``single``)."""
    records = [dict(zip(names, r)) for r in rows]
    if api.layout == "records":
        return [protocols.dumps(records)]
    if api.layout == "wrapped":
        return [protocols.dumps({api.key: records})]
    return [protocols.dumps(rec) for rec in records] or [protocols.dumps({})]
