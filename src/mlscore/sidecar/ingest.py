"""The off-path tap: payload logs (KServe/Seldon CloudEvents, binary or structured, or plain JSON) to events.

Accepted bodies on ``POST /ingest``:

- CloudEvents binary mode (what the KServe logger and the Seldon executor send): ``ce-type`` ends in
  ``.request`` or ``.response``, the body is the request or response payload itself; the model comes from
  ``ce-modelid``, ``ce-inferenceservicename`` or an ``?model=`` query parameter.
- CloudEvents structured mode (``application/cloudevents+json``, or ``-batch+json`` for a list): the
  same, with ``type``, ``data`` (or ``data_base64``) and the extension attributes in the JSON.
- Plain JSON: ``{"request": ..., "response": ..., "path": "/v2/models/iris/infer", "model": "iris",
  "version": "v1", "protocol": "v2", "status": 200}`` (every key optional but one of request/response),
  or a list of such objects.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qs

from mlscore.sidecar.events import Event

MAX_BATCH = 10_000


class Malformed(Exception):
    """The body is not an accepted payload log; counted as one dropped event."""


def _side(ce_type: str) -> str | None:
    t = ce_type.lower()
    if t.endswith("request") or ".request" in t:
        return "request"
    if t.endswith("response") or ".response" in t:
        return "response"
    return None


def _event(side: str, payload: Any, size: int, *, model: str | None, version: str | None = None,
           path: str | None = None, protocol: str | None = None, status: int | None = None) -> Event:
    kwargs: dict[str, Any] = {side: payload}
    return Event("ingest", path=path, protocol=protocol, model=model, version=version, status=status,
                 size=size, **kwargs)


def _str(v: Any) -> str | None:
    return v[:256] if isinstance(v, str) and v else None


def parse_ingest(target: str, headers: dict[str, str], body: bytes) -> list[Event]:
    """Turn one ``/ingest`` request into events; raise Malformed when it is none of the formats."""
    query = parse_qs(target.partition("?")[2])
    q_model = query.get("model", [None])[0]
    ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    ce_type = headers.get("ce-type")
    if ce_type is not None:  # binary mode: the body is the payload
        side = _side(ce_type)
        if side is None:
            raise Malformed(f"ce-type {ce_type[:60]!r} is neither a request nor a response")
        if not body:
            raise Malformed("empty CloudEvent body")
        model = _str(headers.get("ce-modelid")) or _str(headers.get("ce-inferenceservicename")) or q_model
        return [_event(side, body, len(body), model=model, path=_str(headers.get("ce-endpoint"))
                       if (headers.get("ce-endpoint") or "").startswith("/") else None)]
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise Malformed("body is not JSON") from None
    items = doc if isinstance(doc, list) else [doc]
    if len(items) > MAX_BATCH:
        raise Malformed(f"more than {MAX_BATCH} events in one body")
    share = max(1, len(body) // max(1, len(items)))
    events: list[Event] = []
    for item in items:
        if not isinstance(item, dict):
            raise Malformed("each event must be a JSON object")
        if "specversion" in item or ctype.startswith("application/cloudevents"):
            side = _side(str(item.get("type", "")))
            if side is None:
                raise Malformed("CloudEvent type is neither a request nor a response")
            if "data_base64" in item:
                try:
                    data: Any = base64.b64decode(str(item["data_base64"]), validate=True)
                except (binascii.Error, ValueError):
                    raise Malformed("data_base64 is not base64") from None
            elif "data" in item:
                data = item["data"]
            else:
                raise Malformed("CloudEvent without data")
            model = _str(item.get("modelid")) or _str(item.get("inferenceservicename")) or q_model
            events.append(_event(side, data, share, model=model))
            continue
        if "request" not in item and "response" not in item:
            raise Malformed("plain event needs 'request' or 'response'")
        status = item.get("status")
        events.append(Event(
            "ingest", path=_str(item.get("path")), protocol=_str(item.get("protocol")),
            model=_str(item.get("model")) or q_model, version=_str(item.get("version")),
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            request=item.get("request"), response=item.get("response"), size=share,
        ))
    return events
