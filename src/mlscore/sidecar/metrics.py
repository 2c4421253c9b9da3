"""Metric definitions (one table) and the private prometheus-client registry built from them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

OTHER = "other"

#: Latency buckets in seconds: fine at the low end, where a sidecar's cost shows.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROCESSING_BUCKETS = (0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 1.0)


@dataclass(frozen=True)
class MetricDef:
    """One exported metric family: the single source for the registry, the docs, rules and dashboard."""

    name: str
    kind: Literal["counter", "gauge", "histogram"]
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()

    @property
    def exposed_name(self) -> str:
        """The name as Prometheus sees it (counters end in ``_total``)."""
        return self.name + "_total" if self.kind == "counter" else self.name


METRICS: tuple[MetricDef, ...] = (
    # traffic seen by the proxy
    MetricDef("mlscore_requests", "counter",
              "Requests forwarded by the proxy, by model, route template and status class.",
              ("model", "route", "code")),
    MetricDef("mlscore_request_duration_seconds", "histogram",
              "Time from the request head received to the response fully sent, through the proxy.",
              ("model", "route"), LATENCY_BUCKETS),
    MetricDef("mlscore_upstream_errors", "counter",
              "Requests the upstream did not answer: connect refused, timeout, reset (answered 502/504).",
              ("reason",)),
    MetricDef("mlscore_requests_rejected", "counter",
              "Requests the sidecar answered itself without forwarding (too large, malformed HTTP).",
              ("reason",)),
    # events: every sample the analysis could see
    MetricDef("mlscore_events_received", "counter",
              "Payload events received for analysis (one per proxied request or ingested log event).",
              ("source",)),
    MetricDef("mlscore_events_analysed", "counter",
              "Events whose payloads were decoded and added to a window.", ("source",)),
    MetricDef("mlscore_events_dropped", "counter",
              "Events not analysed, by reason; received = analysed + dropped once the queue is empty.",
              ("source", "reason")),
    MetricDef("mlscore_queue_depth", "gauge", "Events waiting in the analysis queue or being analysed."),
    MetricDef("mlscore_queue_bytes", "gauge", "Payload bytes held by the analysis queue."),
    MetricDef("mlscore_queue_capacity", "gauge", "Maximum events the analysis queue holds before dropping."),
    MetricDef("mlscore_event_processing_seconds", "histogram",
              "Analysis time per event (decode and profile update).", (), PROCESSING_BUCKETS),
    # windows and drift
    MetricDef("mlscore_rows_analysed", "counter", "Rows added to windows, by model and kind (input, prediction).",
              ("model", "kind")),
    MetricDef("mlscore_window_rows", "gauge", "Rows in the current open window.", ("model", "kind")),
    MetricDef("mlscore_window_size_rows", "gauge",
              "Rows in the last closed window (the sample size behind the drift scores).", ("model", "kind")),
    MetricDef("mlscore_windows_closed", "counter", "Windows closed and compared with the reference.", ("model",)),
    MetricDef("mlscore_window_last_closed_timestamp_seconds", "gauge",
              "Unix time the last window closed and was compared with the reference.", ("model",)),
    MetricDef("mlscore_reference_rows", "gauge", "Rows in the reference profile."),
    MetricDef("mlscore_feature_drift_score", "gauge",
              "Drift of one feature in the last closed window (larger is more drift: 1 - p for tests, "
              "the distance for distances).",
              ("model", "kind", "feature", "method")),
    MetricDef("mlscore_drift_score_max", "gauge",
              "Largest drift statistic over the features of the last closed window.", ("model", "kind")),
    MetricDef("mlscore_drift_detected", "gauge",
              "1 when the last closed window drifted from the reference, else 0.", ("model", "kind")),
    MetricDef("mlscore_drifted_features", "gauge",
              "Number of features that drifted in the last closed window.", ("model", "kind")),
    MetricDef("mlscore_schema_violations", "counter",
              "Input values that break the reference schema, by feature and kind.",
              ("model", "feature", "kind")),
    MetricDef("mlscore_predictions", "counter", "Prediction values seen in responses.", ("model",)),
    MetricDef("mlscore_predictions_nonfinite", "counter", "Prediction values that are NaN or infinite.",
              ("model",)),
    MetricDef("mlscore_predictions_out_of_range", "counter",
              "Finite prediction values outside the reference range.", ("model",)),
    # model
    MetricDef("mlscore_model_info", "gauge", "1 for each model and version seen in traffic.",
              ("model", "version")),
    MetricDef("mlscore_model_trained_timestamp_seconds", "gauge",
              "Unix time the model was trained, from the reference profile or config.", ("model",)),
    MetricDef("mlscore_sidecar_start_timestamp_seconds", "gauge", "Unix time this sidecar started."),
)

BY_NAME: dict[str, MetricDef] = {m.name: m for m in METRICS}


class LabelCap:
    """Fold label values beyond the first ``limit`` distinct ones into ``other``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) < self.limit:
            self._seen.add(value)
            return value
        return OTHER


class Metrics:
    """The live metric objects on a private registry, with cached children for the hot path."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
        )

        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series double the exposition and no rule uses them
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.families: dict[str, Any] = {}
        for d in METRICS:
            if d.kind == "counter":
                fam: Any = Counter(d.name, d.help, d.labels, registry=self.registry)
            elif d.kind == "gauge":
                fam = Gauge(d.name, d.help, d.labels, registry=self.registry)
            else:
                fam = Histogram(d.name, d.help, d.labels, registry=self.registry, buckets=d.buckets)
            self.families[d.name] = fam
        self._children: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.family("mlscore_sidecar_start_timestamp_seconds").set(time.time())

    def family(self, name: str) -> Any:
        return self.families[name]

    def child(self, name: str, *labels: str) -> Any:
        """The labelled child of a family, cached: ``labels()`` costs a lock and a dict build."""
        key = (name, labels)
        c = self._children.get(key)
        if c is None:
            fam = self.families[name]
            c = fam.labels(*labels) if labels else fam
            self._children[key] = c
        return c

    def remove(self, name: str, *labels: str) -> None:
        """Drop one labelled series (e.g. a feature no longer among the exported ones)."""
        self._children.pop((name, labels), None)
        try:
            self.families[name].remove(*labels)
        except KeyError:
            pass

    def exposition(self) -> bytes:
        from prometheus_client.exposition import generate_latest

        return generate_latest(self.registry)


def metrics_table_markdown() -> str:
    """The README/docs table of exported metrics, from the same definitions."""
    lines = ["| metric | type | labels | meaning |", "| --- | --- | --- | --- |"]
    for d in METRICS:
        labels = ", ".join(f"`{x}`" for x in d.labels) or "-"
        lines.append(f"| `{d.exposed_name}` | {d.kind} | {labels} | {d.help} |")
    return "\n".join(lines) + "\n"
