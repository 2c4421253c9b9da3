"""monitoring.extract_monitoring and the PromQL helpers."""

from __future__ import annotations

import json

from mlscore.facts.monitoring import (
    MonitoringFacts,
    classify,
    extract_monitoring,
    metric_names,
    wanted,
)

from .conftest import make_repo


def facts(files: dict[str, str]) -> MonitoringFacts:
    return extract_monitoring(*make_repo(files))


RULES = """
groups:
  - name: model
    rules:
      - record: job:request_latency_seconds:p95
        expr: histogram_quantile(0.95, sum(rate(request_latency_seconds_bucket[5m])) by (le))
      - alert: HighLatency
        expr: job:request_latency_seconds:p95 > 0.5
        for: 10m
        labels: {severity: page}
        annotations:
          summary: p95 latency above 500 ms
      - alert: PredictionDrift
        expr: max(model_feature_psi{feature=~".+"}) > 0.2
      - alert: NaNPredictions
        expr: increase(model_nan_predictions_total[15m]) > 0
      - alert: ModelTooOld
        expr: time() - model_trained_timestamp_seconds > 7 * 86400
"""


def test_prometheus_rule_file() -> None:
    f = facts({"monitoring/alerts.yml": RULES})
    assert f.diagnostics == ()
    got = [(r.line, r.alert, r.record, r.for_, r.metrics, r.categories) for r in f.rules]
    assert got == [
        (4, None, "job:request_latency_seconds:p95", None, ("request_latency_seconds_bucket",), ("latency",)),
        (6, "HighLatency", None, "10m", ("job:request_latency_seconds:p95",), ("latency",)),
        (12, "PredictionDrift", None, None, ("model_feature_psi",), ("drift", "prediction")),
        (14, "NaNPredictions", None, None, ("model_nan_predictions_total",), ("nan", "prediction")),
        (16, "ModelTooOld", None, None, ("model_trained_timestamp_seconds",), ("staleness",)),
    ]
    assert [a.alert for a in f.alerts_in("staleness", "drift")] == ["PredictionDrift", "ModelTooOld"]
    assert f.rules[1].labels == {"severity": "page"}


def test_prometheus_rule_crd_prometheus_and_alertmanager() -> None:
    crd = ("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: r}\nspec:\n  groups:\n"
           "    - name: g\n      rules:\n        - alert: HighErrorRate\n"
           "          expr: sum(rate(http_requests_total{status=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m])) > 0.05\n")
    prom = ("global: {scrape_interval: 15s}\nrule_files: [alerts.yml]\nalerting:\n  alertmanagers:\n"
            "    - static_configs: [{targets: ['alertmanager:9093']}]\nscrape_configs:\n  - job_name: model\n"
            "    metrics_path: /metrics\n    static_configs:\n      - targets: ['api:8000']\n")
    am = ("route:\n  receiver: team\n  routes:\n    - receiver: pager\nreceivers:\n  - name: team\n"
          "    slack_configs: [{channel: '#ml'}]\n  - name: pager\n")
    f = facts({"k8s/rules.yaml": crd, "prometheus/prometheus.yml": prom, "alertmanager/alertmanager.yml": am})
    (rule,) = f.rules
    assert (rule.source, rule.alert, rule.metrics, rule.categories) == (
        "prometheus_crd", "HighErrorRate", ("http_requests_total",), ("error_rate", "throughput"))
    (p,) = f.prometheus
    assert (p.rule_files, p.alertmanagers, [(s.job, s.targets, s.metrics_path) for s in p.scrape_configs]) == (
        ("alerts.yml",), True, [("model", ("api:8000",), "/metrics")])
    (a,) = f.alertmanagers
    assert (a.route_receiver, a.routes, a.notifies, [(r.name, r.kinds) for r in a.receivers]) == (
        "team", 1, True, [("team", ("slack",)), ("pager", ())])


def test_grafana_dashboard_provisioning_and_alerting() -> None:
    dash = {"dashboard": {"title": "Model", "panels": [
        {"type": "row", "title": "r", "panels": []},
        {"type": "timeseries", "title": "Prediction distribution",
         "targets": [{"expr": "sum(rate(model_prediction_bucket[5m])) by (le)"}]},
        {"type": "graph", "title": "Latency", "targets": [{"expr": "histogram_quantile(0.9, rate(x_seconds_bucket[1m]))"}],
         "alert": {"name": "Slow"}},
    ]}}
    files = {
        "grafana/dashboards/model.json": json.dumps(dash, indent=1),
        "grafana/provisioning/datasources/ds.yaml": "apiVersion: 1\ndatasources:\n  - name: P\n    type: prometheus\n",
        "grafana/provisioning/alerting/rules.yaml": (
            "apiVersion: 1\ngroups:\n  - orgId: 1\n    name: ml\n    rules:\n      - uid: a\n        title: Drift high\n"
            "        data:\n          - refId: A\n            model: {expr: 'feature_drift_score > 0.3'}\n"),
        "package.json": "{}",
    }
    f = facts(files)
    (d,) = f.dashboards
    assert [(p.line, p.title, p.metrics, p.categories) for p in d.panels] == [
        (12, "Prediction distribution", ("model_prediction_bucket",), ("prediction",)),
        (21, "Latency", ("x_seconds_bucket",), ("latency",))]
    assert [(r.alert, r.source, r.categories) for r in f.rules] == [
        ("Slow", "grafana", ("latency",)), ("Drift high", "grafana", ("drift",))]
    assert [(p.file.split("/")[-2], p.kind, p.datasource_types) for p in f.provisioning] == [
        ("alerting", "alerting", ()), ("datasources", "datasources", ("prometheus",))]


def test_cloud_alarms_in_terraform() -> None:
    tf = ('resource "aws_cloudwatch_metric_alarm" "latency" {\n  metric_name = "ModelLatency"\n'
          '  namespace = "AWS/SageMaker"\n  threshold = 500\n}\n')
    (alarm,) = facts({"infra/alarms.tf": tf}).alarms
    assert (alarm.line, alarm.kind, alarm.categories) == (1, "cloudwatch_alarm", ("latency",))


def test_label_values_do_not_classify_but_5xx_matchers_do() -> None:
    f = facts({"r.yml": "groups:\n  - name: g\n    rules:\n      - alert: A\n"
                        "        expr: rate(http_request_size_bytes_sum{handler=\"/predict\"}[5m]) > 1e6\n"
                        "      - alert: B\n        expr: rate(http_requests_total{code=~\"5..\"}[5m]) > 1\n"})
    assert [(r.alert, r.categories) for r in f.rules] == [("A", ()), ("B", ("error_rate", "throughput"))]


def test_metric_names_and_classify() -> None:
    assert metric_names('sum by (model) (rate(errors_total{job="api"}[5m])) / on(model) requests_total offset 1h') == [
        "errors_total", "requests_total"]
    assert metric_names("absent(up{job='model'}) or vector(0)") == ["up"]
    assert classify("model_input_missing_values_total") == ("data_quality",)
    assert classify("up == 0") == ("availability",)


def test_hostile_inputs() -> None:
    f = facts({"alerts.yml": "groups:\n  - name: x\n    rules: [\n", "dash.json": '{"panels": [',
               "alerts.rules": "groups: 7\n"})
    assert f.rules == () and f.dashboards == ()
    assert sorted(d.path for d in f.diagnostics) == ["alerts.yml", "dash.json"]


def test_wanted() -> None:
    assert all(wanted(p) for p in ["prometheus.yml", "k8s/rules.yaml", "grafana/d.json", "alerts.rules", "main.tf"])
    assert not any(wanted(p) for p in [".github/workflows/ci.yml", "package.json", "src/a.py", "README.md"])


def test_annotations_do_not_override_what_the_expression_says() -> None:
    rules = ("groups:\n  - name: g\n    rules:\n      - alert: ChurnLatencyP99High\n"
             "        expr: histogram_quantile(0.99, sum by (le) (rate(churn_request_latency_seconds_bucket[5m]))) > 0.2\n"
             "        annotations:\n          summary: p99 latency of /predict above 200 ms\n"
             "      - alert: A1\n        expr: foo_bar > 1\n        annotations:\n"
             "          summary: model too stale, retrain\n")
    f = facts({"alerts.yml": rules})
    assert [(r.alert, r.categories) for r in f.rules] == [("ChurnLatencyP99High", ("latency",)),
                                                          ("A1", ("staleness",))]
