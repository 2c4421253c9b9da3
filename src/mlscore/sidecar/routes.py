"""Request paths to bounded labels: a route template, the model name and version, the protocol.

Recognition is the probe's (:func:`mlscore.probe.protocols.parse_path`); this module only turns its answer
into a label value from a fixed set, so no path a client sends can create a new series.
"""

from __future__ import annotations

from typing import NamedTuple

from mlscore.probe.protocols import parse_path
from mlscore.sidecar.metrics import OTHER


class Route(NamedTuple):
    template: str
    model: str | None
    version: str | None
    protocol: str | None
    inference: bool


_TEMPLATES: dict[tuple[str, str], str] = {
    ("v2", "infer"): "/v2/models/{model}/infer",
    ("v2", "ready"): "/v2/models/{model}/ready",
    ("v2", "metadata"): "/v2/models/{model}",
    ("v2", "live"): "/v2/health/live",
    ("v2", "server_ready"): "/v2/health/ready",
    ("v2", "server_metadata"): "/v2",
    ("tfserving", "infer"): "/v1/models/{model}:predict",
    ("tfserving", "metadata"): "/v1/models/{model}/metadata",
    ("tfserving", "ready"): "/v1/models/{model}",
    ("mlflow", "infer"): "/invocations",
    ("torchserve", "infer"): "/predictions/{model}",
    ("torchserve", "ping"): "/ping",
}
#: Paths no protocol claims but common enough to keep apart from "other".
_LITERAL = {"/predict": ("json", True), "/health": (None, False), "/metrics": (None, False),
            "/v2/repository/index": (None, False)}
_CACHE: dict[str, Route] = {}
_CACHE_MAX = 4096


def classify(target: str) -> Route:
    """Map a request target (path and query) to its route template; unknown paths are ``other``."""
    hit = _CACHE.get(target)
    if hit is not None:
        return hit
    path = target.split("?", 1)[0]
    parsed = parse_path(path)
    if parsed is not None and (parsed.protocol, parsed.kind) in _TEMPLATES:
        inference = parsed.kind == "infer"
        route = Route(_TEMPLATES[(parsed.protocol, parsed.kind)], parsed.model, parsed.version,
                      parsed.protocol if inference else None, inference)
    elif path in _LITERAL:
        protocol, inference = _LITERAL[path]
        route = Route(path, None, None, protocol, inference)
    else:
        route = Route(OTHER, None, None, None, False)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[target] = route
    return route
