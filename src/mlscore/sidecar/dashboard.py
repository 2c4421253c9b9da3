"""A Grafana dashboard (JSON model) with one panel per exported metric family, from the same table."""

from __future__ import annotations

import json
from typing import Any

from mlscore.sidecar.config import SidecarConfig
from mlscore.sidecar.metrics import METRICS, MetricDef

UID = "mlscore-sidecar"

ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Traffic", ("mlscore_requests", "mlscore_request_duration_seconds", "mlscore_upstream_errors",
                 "mlscore_requests_rejected")),
    ("Drift", ("mlscore_drift_detected", "mlscore_drift_score_max", "mlscore_feature_drift_score",
               "mlscore_drifted_features", "mlscore_window_size_rows",
               "mlscore_window_rows", "mlscore_windows_closed", "mlscore_window_last_closed_timestamp_seconds",
               "mlscore_reference_rows")),
    ("Data quality and predictions", ("mlscore_schema_violations", "mlscore_predictions",
                                      "mlscore_predictions_nonfinite", "mlscore_predictions_out_of_range",
                                      "mlscore_rows_analysed")),
    ("Model", ("mlscore_model_info", "mlscore_model_trained_timestamp_seconds")),
    ("Sidecar", ("mlscore_events_received", "mlscore_events_analysed", "mlscore_events_dropped",
                 "mlscore_queue_depth", "mlscore_queue_bytes", "mlscore_queue_capacity",
                 "mlscore_event_processing_seconds", "mlscore_sidecar_start_timestamp_seconds")),
)

_UNITS = {"seconds": "s", "bytes": "bytes"}


def _selector(d: MetricDef) -> str:
    return '{model=~"$model"}' if "model" in d.labels else ""


def _targets(d: MetricDef) -> tuple[list[dict[str, Any]], str]:
    """PromQL for one family and the panel unit."""
    by = [x for x in d.labels if x != "le"]
    sel = _selector(d)
    if d.kind == "counter":
        grouping = f"sum by ({', '.join(by)}) " if by else "sum "
        expr = f"{grouping}(rate({d.exposed_name}{sel}[$__rate_interval]))"
        legend = " ".join(f"{{{{{x}}}}}" for x in by) or d.name
        return [{"expr": expr, "legendFormat": legend, "refId": "A"}], "ops"
    if d.kind == "histogram":
        keep = ", ".join([*by, "le"])
        out = []
        for ref, q in (("A", "0.5"), ("B", "0.99")):
            expr = f"histogram_quantile({q}, sum by ({keep}) (rate({d.name}_bucket{sel}[$__rate_interval])))"
            legend = (" ".join(f"{{{{{x}}}}}" for x in by) + f" p{int(float(q) * 100)}").strip()
            out.append({"expr": expr, "legendFormat": legend, "refId": ref})
        return out, "s"
    if d.name.endswith("_timestamp_seconds"):
        expr = f"time() - {d.name}{sel}"
        legend = " ".join(f"{{{{{x}}}}}" for x in d.labels) or "age"
        return [{"expr": expr, "legendFormat": legend, "refId": "A"}], "s"
    legend = " ".join(f"{{{{{x}}}}}" for x in d.labels) or d.name
    unit = next((u for suffix, u in _UNITS.items() if d.name.endswith(suffix)), "short")
    return [{"expr": f"{d.name}{sel}", "legendFormat": legend, "refId": "A"}], unit


def render_dashboard(config: SidecarConfig) -> str:
    """The dashboard JSON text (stable key order, so the committed copy can be checked)."""
    by_name = {d.name: d for d in METRICS}
    listed = {n for _, names in ROWS for n in names}
    missing = sorted(set(by_name) - listed)
    if missing:  # a new metric must get a panel
        raise ValueError(f"metrics without a dashboard row: {missing}")
    panels: list[dict[str, Any]] = []
    pid = 1
    y = 0
    panels.append({
        "id": pid, "type": "alertlist", "title": "mlscore alerts", "gridPos": {"x": 0, "y": y, "w": 24, "h": 6},
        "options": {"alertName": "Mlscore", "showOptions": "current", "maxItems": 20, "sortOrder": 1,
                    "stateFilter": {"firing": True, "pending": True}},
    })
    y += 6
    for title, names in ROWS:
        pid += 1
        panels.append({"id": pid, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})
        y += 1
        for i, name in enumerate(names):
            d = by_name[name]
            targets, unit = _targets(d)
            for t in targets:
                t["datasource"] = {"type": "prometheus", "uid": "${datasource}"}
            pid += 1
            panels.append({
                "id": pid, "type": "timeseries", "title": d.exposed_name, "description": d.help,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"x": (i % 2) * 12, "y": y + (i // 2) * 8, "w": 12, "h": 8},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                            "tooltip": {"mode": "multi"}},
                "targets": targets,
            })
        y += ((len(names) + 1) // 2) * 8
    dashboard = {
        "uid": UID,
        "title": "mlscore sidecar: drift and serving",
        "description": "Generated by `mlscore sidecar dashboard` from the sidecar's metric definitions.",
        "tags": ["mlscore", "ml-test-score", "drift"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            {"name": "model", "type": "query", "label": "Model", "includeAll": True, "multi": True,
             "allValue": ".*", "current": {"text": "All", "value": "$__all"},
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": "label_values(mlscore_requests_total, model)", "refId": "model"},
             "definition": "label_values(mlscore_requests_total, model)", "refresh": 2},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }
    return json.dumps(dashboard, indent=2) + "\n"
