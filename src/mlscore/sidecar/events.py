"""The unit of analysis: one observed request and/or response, from the proxy or the ingest tap."""

from __future__ import annotations

import random
from typing import Any


class Event:
    """One payload event. Bodies are raw bytes (proxy) or decoded JSON (ingest); None when absent."""

    __slots__ = ("model", "path", "protocol", "request", "response", "size", "source", "status", "version")

    def __init__(self, source: str, *, path: str | None = None, protocol: str | None = None,
                 model: str | None = None, version: str | None = None, status: int | None = None,
                 request: bytes | Any = None, response: bytes | Any = None, size: int = 0) -> None:
        self.source = source
        self.path = path
        self.protocol = protocol
        self.model = model
        self.version = version
        self.status = status
        self.request = request
        self.response = response
        self.size = size


def admit(metrics: Any, event: Event, sample_rate: float) -> bool:
    """Count ``event`` received and decide whether it is analysed: False (counted dropped as sampled_out) for the
    share ``sample_rate`` leaves out. The first step of both analysers' ``submit``."""
    metrics.child("mlscore_events_received", event.source).inc()
    if sample_rate < 1.0 and random.random() >= sample_rate:
        metrics.child("mlscore_events_dropped", event.source, "sampled_out").inc()
        return False
    return True

