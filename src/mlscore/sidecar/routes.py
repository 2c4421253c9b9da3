"""Request paths to bounded labels: a route template, the model name and version, the protocol."""

from __future__ import annotations

import re
from typing import NamedTuple

from mlscore.sidecar.metrics import OTHER


class Route(NamedTuple):
    template: str
    model: str | None
    version: str | None
    protocol: str | None
    inference: bool


_PATTERNS: tuple[tuple[re.Pattern[str], str, str | None, bool], ...] = (
    (re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?/infer$"), "/v2/models/{model}/infer", "v2", True),
    (re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?/ready$"), "/v2/models/{model}/ready", None, False),
    (re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?$"), "/v2/models/{model}", None, False),
    (re.compile(r"^/v1/models/([^/:]+)(?:/versions/([^/:]+))?:(?:predict|classify|regress)$"),
     "/v1/models/{model}:predict", "tfserving", True),
    (re.compile(r"^/v1/models/([^/:]+)(?:/versions/([^/:]+))?(?:/metadata)?$"), "/v1/models/{model}", None, False),
    (re.compile(r"^/predictions/([^/]+)(?:/([^/]+))?$"), "/predictions/{model}", "torchserve", True),
)
_LITERAL = {
    "/invocations": ("mlflow", True), "/predict": ("json", True), "/v2/health/live": (None, False),
    "/v2/health/ready": (None, False), "/v2": (None, False), "/ping": (None, False), "/health": (None, False),
    "/metrics": (None, False), "/v2/repository/index": (None, False),
}
_CACHE: dict[str, Route] = {}
_CACHE_MAX = 4096


def classify(target: str) -> Route:
    """Map a request target (path and query) to its route template; unknown paths are ``other``."""
    hit = _CACHE.get(target)
    if hit is not None:
        return hit
    path = target.split("?", 1)[0]
    route = Route(OTHER, None, None, None, False)
    lit = _LITERAL.get(path)
    if lit is not None:
        route = Route(path, None, None, lit[0], lit[1])
    else:
        for pattern, template, protocol, inference in _PATTERNS:
            m = pattern.match(path)
            if m:
                route = Route(template, m.group(1), m.group(2), protocol, inference)
                break
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[target] = route
    return route
