"""Prometheus alerting rules for the sidecar's metrics, with thresholds from ``[alerts]`` in the config."""

from __future__ import annotations

from dataclasses import dataclass

from mlscore.sidecar.config import SidecarConfig
from mlscore.sidecar.metrics import BY_NAME

GROUP = "mlscore-sidecar"


@dataclass(frozen=True)
class AlertSpec:
    """One alert: its PromQL, how long it must hold, and the rubric test it automates."""

    name: str
    expr: str
    duration: str
    severity: str
    rubric: str
    summary: str
    description: str


def _m(name: str) -> str:
    """The exposed name of a defined metric (fails loudly if a rule names an undefined one)."""
    return BY_NAME[name].exposed_name


def alert_specs(config: SidecarConfig) -> list[AlertSpec]:
    """Every alert, built from the metric table and the config's thresholds."""
    a = config.alerts
    w = a.rate_window
    bucket = _m("mlscore_request_duration_seconds") + "_bucket"

    def p99(selector: str) -> str:
        return f"histogram_quantile(0.99, sum by (model, le) (rate({bucket}{selector})))"

    return [
        AlertSpec(
            "MlscoreInputDrift",
            f'max by (model) ({_m("mlscore_drift_detected")}{{kind="input"}}) == 1',
            a.drift_for, "warning", "MON3",
            "Serving inputs of {{ $labels.model }} drifted from the reference profile",
            "The last closed window's features differ from the reference (share of drifted features "
            f">= {a.drift_share}, per-feature tests and thresholds from the reference profile, "
            f"Benjamini-Hochberg at FDR {a.drift_fdr:g}). "
            "See mlscore_feature_drift_score for the features.",
        ),
        AlertSpec(
            "MlscoreFeaturesDrifted",
            f'max by (model) ({_m("mlscore_drifted_features")}{{kind="input"}}) >= {a.drift_features}',
            a.drift_for, "warning", "MON3",
            "{{ $value }} input features of {{ $labels.model }} drifted from the reference",
            f"At least {a.drift_features} features drifted in the last closed window (Benjamini-Hochberg at "
            f"FDR {a.drift_fdr:g} across the features), whatever share of the features that is. "
            "See mlscore_feature_drift_score for the features.",
        ),
        AlertSpec(
            "MlscorePredictionDrift",
            f'max by (model) ({_m("mlscore_drift_detected")}{{kind="prediction"}}) == 1',
            a.drift_for, "warning", "MON7",
            "Predictions of {{ $labels.model }} drifted from the reference",
            "The distribution of predictions in the last closed window differs from the reference predictions.",
        ),
        AlertSpec(
            "MlscoreNonFinitePredictions",
            f"sum by (model) (increase({_m('mlscore_predictions_nonfinite')}[{w}])) > 0",
            "0m", "critical", "MON5",
            "{{ $labels.model }} returned NaN or infinite predictions",
            f"NaN or infinite prediction values were returned in the last {w}.",
        ),
        AlertSpec(
            "MlscorePredictionsOutOfRange",
            f"sum by (model) (rate({_m('mlscore_predictions_out_of_range')}[{w}])) / "
            f"sum by (model) (rate({_m('mlscore_predictions')}[{w}])) > {a.out_of_range_ratio}",
            "5m", "warning", "MON5",
            "Predictions of {{ $labels.model }} leave the reference range",
            f"More than {a.out_of_range_ratio:g} of prediction values over {w} are outside the reference "
            "range (see mlscore_predictions_out_of_range_total).",
        ),
        AlertSpec(
            "MlscoreSchemaViolations",
            f"sum by (model) (rate({_m('mlscore_schema_violations')}[{w}])) / "
            f'sum by (model) (rate({_m("mlscore_rows_analysed")}{{kind="input"}}[{w}])) > {a.schema_violation_ratio}',
            "5m", "warning", "MON2",
            "Serving inputs of {{ $labels.model }} break the reference schema",
            f"More than {a.schema_violation_ratio:g} schema violations per input row over {w}; "
            "see mlscore_schema_violations_total by feature and kind.",
        ),
        AlertSpec(
            "MlscoreHighErrorRate",
            f'sum by (model) (rate({_m("mlscore_requests")}{{code="5xx"}}[{w}])) / '
            f"sum by (model) (rate({_m('mlscore_requests')}[{w}])) > {a.error_ratio}",
            a.error_for, "critical", "MON6",
            "{{ $labels.model }} answers with server errors",
            f"More than {a.error_ratio:g} of requests over {w} end in 5xx, "
            "including 502/504 when the model server is down or too slow.",
        ),
        AlertSpec(
            "MlscoreHighLatency",
            p99(f"[{w}]") + f" > {a.latency_p99_seconds}",
            a.latency_for, "warning", "MON6",
            "p99 latency of {{ $labels.model }} is high",
            f"p99 latency over {w} is above {a.latency_p99_seconds:g} s.",
        ),
        AlertSpec(
            "MlscoreLatencyCreep",
            p99(f"[{w}]") + f" > {a.latency_creep_ratio} * "
            + p99(f"[{a.latency_baseline}] offset {a.latency_baseline}"),
            a.latency_for, "warning", "MON6",
            "Latency of {{ $labels.model }} creeps up",
            f"p99 latency over {w} is more than {a.latency_creep_ratio:g} times the p99 of the "
            f"{a.latency_baseline} before the last {a.latency_baseline}.",
        ),
        AlertSpec(
            "MlscoreModelStale",
            f"time() - max by (model) ({_m('mlscore_model_trained_timestamp_seconds')}) > "
            f"{int(a.max_model_age_days * 86400)}",
            "10m", "warning", "MON4",
            "Model {{ $labels.model }} is older than its allowed age",
            f"The model was trained more than {a.max_model_age_days:g} days ago; retrain or raise "
            "max_model_age_days.",
        ),
        AlertSpec(
            "MlscoreEventsDropped",
            f'sum(rate({_m("mlscore_events_dropped")}{{reason=~"queue_full|analysis_error"}}[{w}])) / '
            f"sum(rate({_m('mlscore_events_received')}[{w}])) > {a.drop_ratio}",
            "10m", "warning", "MON2",
            "The mlscore sidecar drops events before analysis",
            f"More than {a.drop_ratio:g} of events over {w} are dropped for lack of capacity or by analysis "
            "errors: drift results cover less traffic than they should.",
        ),
        AlertSpec(
            "MlscoreAnalysisBacklog",
            f"max({_m('mlscore_queue_depth')}) / max({_m('mlscore_queue_capacity')}) > 0.9",
            "5m", "warning", "MON2",
            "The mlscore sidecar's analysis queue is nearly full",
            "Analysis cannot keep up with traffic; lower sample_rate or give the sidecar more CPU.",
        ),
        AlertSpec(
            "MlscoreSidecarDown",
            f'up{{job="{a.job}"}} == 0',
            "5m", "critical", "MON6",
            "Prometheus cannot scrape the mlscore sidecar",
            "No drift or serving metrics are collected while the sidecar's metrics port is unreachable.",
        ),
    ]


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON string escaping is valid YAML)."""
    import json

    return json.dumps(text)


def render_rules(config: SidecarConfig, *, kind: str = "rules") -> str:
    """The rule file text; ``kind="prometheusrule"`` wraps it for the prometheus-operator."""
    lines = [f"- name: {GROUP}", "  rules:"]
    for s in alert_specs(config):
        lines += [
            f"  - alert: {s.name}",
            f"    expr: '{s.expr}'",
            f"    for: {s.duration}",
            "    labels:",
            f"      severity: {s.severity}",
            f"      mltestscore: {s.rubric}",
            "    annotations:",
            f"      summary: {_quote(s.summary)}",
            f"      description: {_quote(s.description)}",
        ]
    header = ("# Generated by `mlscore sidecar alerts` from the sidecar's metric definitions; do not edit.\n"
              "# Regenerate after changing [alerts] in sidecar.toml.\n")
    if kind == "prometheusrule":
        body = "\n".join("    " + ln for ln in lines)
        return (header + "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n"
                f"  name: {GROUP}\n  labels:\n    app.kubernetes.io/name: mlscore-sidecar\nspec:\n"
                f"  groups:\n{body}\n")
    return header + "groups:\n" + "\n".join(lines) + "\n"
