"""Monitoring configuration as facts: Prometheus rules and scrape configs, Alertmanager, Grafana dashboards,
provisioning and alerting, cloud alarms in IaC; plus PromQL helpers to tell what an alert watches.

Public API
- ``wanted(path) -> bool``: whether ``extract_monitoring`` reads this path (YAML/JSON/``*.rules``/``*.tf``; YAML
  and JSON are then only parsed when their text looks like monitoring config).
- ``extract_monitoring(files, read) -> MonitoringFacts``.
- ``AlertRule``: ``file``, ``line``, ``group``, ``alert`` (None for recording rules), ``record``, ``expr``,
  ``for_``, ``labels``, ``annotations`` (keys -> text), ``metrics`` (metric names in ``expr``), ``categories``
  (``classify`` of the expression's metric names and the alert name; the summary/description only when those
  give nothing), ``source``: ``prometheus`` (rule file), ``prometheus_crd`` (``PrometheusRule``),
  ``grafana`` (provisioned or panel alert).
- ``ScrapeConfig``: ``file``, ``line``, ``job``, ``targets``, ``metrics_path``. ``PrometheusConfig``: ``file``,
  ``rule_files``, ``alertmanagers`` (bool), ``scrape_configs`` (a ``ServiceMonitor``/``PodMonitor`` gives one
  PrometheusConfig with one ScrapeConfig named after it).
- ``Receiver``: ``name``, ``kinds`` (slack, email, pagerduty, webhook, opsgenie, msteams, telegram, discord, sns,
  victorops, pushover, wechat, webex). ``AlertmanagerConfig``: ``file``, ``line``, ``receivers``, ``route_receiver``,
  ``routes`` (count), ``notifies`` (some receiver has a notification channel).
- ``Panel``: ``title``, ``line`` (of its ``"title"`` in the JSON text), ``exprs``, ``metrics``, ``categories``. ``Dashboard``: ``file``,
  ``title``, ``panels``.
- ``Provisioning``: ``file``, ``kind`` (datasources | dashboards | alerting | notifiers | contactpoints),
  ``datasource_types``.
- ``CloudAlarm``: ``file``, ``line``, ``kind`` (cloudwatch_alarm, datadog_monitor, gcp_alert_policy,
  azure_metric_alert, newrelic_alert, sagemaker_monitoring_schedule), ``text``, ``categories``.
- ``MonitoringFacts``: ``rules``, ``prometheus``, ``alertmanagers``, ``dashboards``, ``provisioning``, ``alarms``,
  ``diagnostics``; ``alerts()`` (rules with an ``alert`` name), ``alerts_in(*categories)``.
- ``metric_names(expr) -> list[str]``: metric names a PromQL expression mentions (functions, keywords, label
  matchers, ``by (...)`` lists and durations removed).
- ``expr_signals(expr) -> str``: what to classify a PromQL expression by (metric names, telling functions,
  5xx matchers; other label values left out).
- ``classify(*texts) -> tuple[str, ...]``: categories of an expression/name/annotation text: ``latency``,
  ``error_rate``, ``nan``, ``drift``, ``prediction``, ``staleness``, ``data_quality``, ``resource``,
  ``availability``, ``throughput`` (``CATEGORY_PATTERNS`` holds the regexes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mlscore import guard
from mlscore.facts import linear
from mlscore.facts.yamlsafe import as_dict, as_list, line_of, load_yaml_docs, strip_templates
from mlscore.models import Diagnostic

Reader = Callable[[str], "str | None"]

CATEGORY_PATTERNS: dict[str, re.Pattern[str]] = {
    "latency": re.compile(r"latenc|duration|response_time|_seconds_bucket|histogram_quantile|request_seconds|"
                          r"inference_seconds|predict\w*_seconds|_time_seconds|\bp9\d\b|slow", re.IGNORECASE),
    "error_rate": re.compile(r"error|exception|fail|status=~?\"5|code=~?\"5|status_code=~?\"5|5xx|\"5\.\.\"", re.IGNORECASE),
    "nan": re.compile(r"\bnan\b|_nan_|nan_|non_?finite|isnan|isfinite|infinit|\binf\b", re.IGNORECASE),
    "drift": re.compile(r"drift|\bpsi\b|_psi|psi_|\bks_|_ks\b|kolmogorov|wasserstein|jensen|js_div|kl_div|"
                        r"population_stability|distribution_shift|chi2|skew", re.IGNORECASE),
    "prediction": re.compile(r"predict|confidence|probabilit|model_output|output_dist|class_dist", re.IGNORECASE),
    "staleness": re.compile(r"\bage\b|_age|staleness|stale|last_(success|train|update|run|refresh)|freshness|"
                            r"timestamp|time\(\)\s*-|since_last|model_version_created", re.IGNORECASE),
    "data_quality": re.compile(r"missing|null|schema|invalid|out_of_range|violation|data_quality|validation", re.IGNORECASE),
    "resource": re.compile(r"\bcpu|memory|mem_|gpu|disk|oom|container_spec|node_filesystem", re.IGNORECASE),
    "availability": re.compile(r"\bup\b|absent\(|probe_success|health|unavailable|down\b", re.IGNORECASE),
    "throughput": re.compile(r"requests_total|_requests\b|qps|throughput|rps\b", re.IGNORECASE),
}

_PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear", "histogram_quantile", "abs", "ceil",
    "floor", "round", "exp", "ln", "log2", "log10", "sqrt", "clamp", "clamp_min", "clamp_max", "absent",
    "absent_over_time", "changes", "resets", "time", "timestamp", "vector", "scalar", "sort", "sort_desc",
    "label_replace", "label_join", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
    "count_over_time", "quantile_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time",
    "present_over_time", "holt_winters", "day_of_week", "day_of_month", "hour", "minute", "month", "year",
    "days_in_month", "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "inf", "nan", "sgn", "histogram_count", "histogram_sum", "histogram_fraction", "le",
}


def metric_names(expr: str) -> list[str]:
    """Metric names mentioned by a PromQL expression (best effort, never raises)."""
    s = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)  # range selectors
    s = re.sub(r"\"[^\"]*\"|'[^']*'", " ", s)
    out: list[str] = []
    for m in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", s):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in _PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", name):
            continue
        out.append(name)
    return list(dict.fromkeys(out))


def expr_signals(expr: str) -> str:
    """Text to classify a PromQL expression by: its metric names, telling functions and 5xx matchers (label
    values such as ``handler="/predict"`` are left out: they say where, not what)."""
    parts = metric_names(expr)
    for fn in ("histogram_quantile", "absent", "time()", "timestamp"):
        if fn in expr:
            parts.append(fn)
    if re.search(r"(status|code|status_code)\s*=~?\s*\"5", expr):
        parts.append("5xx")
    return " ".join(parts)


def classify(*texts: str | None) -> tuple[str, ...]:
    """Categories (``CATEGORY_PATTERNS`` keys) matched by any of ``texts``, in the dict's order."""
    joined = " ".join(t for t in texts if t)
    return tuple(k for k, rx in CATEGORY_PATTERNS.items() if rx.search(joined))


class _Rec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertRule(_Rec):
    file: str
    line: int
    group: str | None = None
    alert: str | None = None
    record: str | None = None
    expr: str = ""
    for_: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    metrics: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    source: Literal["prometheus", "prometheus_crd", "grafana"] = "prometheus"


class ScrapeConfig(_Rec):
    file: str
    line: int
    job: str
    targets: tuple[str, ...] = ()
    metrics_path: str | None = None


class PrometheusConfig(_Rec):
    file: str
    rule_files: tuple[str, ...] = ()
    alertmanagers: bool = False
    scrape_configs: tuple[ScrapeConfig, ...] = ()


class Receiver(_Rec):
    name: str
    kinds: tuple[str, ...] = ()


class AlertmanagerConfig(_Rec):
    file: str
    line: int
    receivers: tuple[Receiver, ...] = ()
    route_receiver: str | None = None
    routes: int = 0
    notifies: bool = False


class Panel(_Rec):
    title: str
    line: int | None = None
    exprs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


class Dashboard(_Rec):
    file: str
    title: str
    panels: tuple[Panel, ...] = ()


class Provisioning(_Rec):
    file: str
    kind: str
    datasource_types: tuple[str, ...] = ()


class CloudAlarm(_Rec):
    file: str
    line: int
    kind: str
    text: str
    categories: tuple[str, ...] = ()


class MonitoringFacts(_Rec):
    rules: tuple[AlertRule, ...] = ()
    prometheus: tuple[PrometheusConfig, ...] = ()
    alertmanagers: tuple[AlertmanagerConfig, ...] = ()
    dashboards: tuple[Dashboard, ...] = ()
    provisioning: tuple[Provisioning, ...] = ()
    alarms: tuple[CloudAlarm, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    def alerts(self) -> list[AlertRule]:
        return [r for r in self.rules if r.alert]

    def alerts_in(self, *categories: str) -> list[AlertRule]:
        return [r for r in self.rules if r.alert and set(categories) & set(r.categories)]


# --------------------------------------------------------------------------------------------------- detection

_YAML = re.compile(r"\.ya?ml$")
_SKIP = re.compile(r"^\.github/|^\.gitlab|^\.circleci/|(^|/)(dvc|params|environment|\.pre-commit-config|"
                   r"mkdocs|prefect|bentofile)\.ya?ml$|(^|/)(package(-lock)?|tsconfig|\.eslintrc)\.json$")
# `[ \t]`, not `\s`: with MULTILINE, `^\s*-?\s*` backtracks across every blank line of a large file. RE2 (linear
# time, one DFA pass): Python's engine tried every alternative at every position, 1.4 s on one 2 MB CRD.
_YAML_HINT = linear.compile(r"(?m)^[ \t]*-?[ \t]*(alert|expr|record)[ \t]*:|scrape_configs[ \t]*:|^[ \t]*receivers[ \t]*:|"
                            r"kind:[ \t]*(PrometheusRule|ServiceMonitor|PodMonitor)"
                            r"|^[ \t]*(datasources|providers|contactPoints|groups|notifiers)[ \t]*:")
_ALARMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cloudwatch_alarm", re.compile(r"aws_cloudwatch_metric_alarm|AWS::CloudWatch::Alarm|cloudwatch\.Alarm\(")),
    ("datadog_monitor", re.compile(r"datadog_monitor\b")),
    ("gcp_alert_policy", re.compile(r"google_monitoring_alert_policy")),
    ("azure_metric_alert", re.compile(r"azurerm_monitor_metric_alert|azurerm_monitor_scheduled_query_rules_alert")),
    ("newrelic_alert", re.compile(r"newrelic_alert_condition|newrelic_nrql_alert_condition")),
    ("sagemaker_monitoring_schedule", re.compile(r"aws_sagemaker_monitoring_schedule|"
                                                 r"AWS::SageMaker::MonitoringSchedule")),
)


def wanted(path: str) -> bool:
    """Whether ``extract_monitoring`` reads this path (content decides later what is parsed)."""
    if _SKIP.search(path):
        return False
    return bool(_YAML.search(path)) or path.endswith((".json", ".rules", ".tf", ".template"))


# --------------------------------------------------------------------------------------------------- parsers

def _str_map(v: Any) -> dict[str, str]:
    return {str(k): str(x) for k, x in v.items()} if isinstance(v, dict) else {}


def _rule_categories(signals: str, name: str | None, annotations: dict[str, str]) -> tuple[str, ...]:
    """What an alert watches: from its expression's metrics and its name; the summary/description only
    when those say nothing (with endpoint paths such as ``/predict`` removed: they say where, not what)."""
    cats = classify(signals, name)
    if cats:
        return cats
    text = " ".join(annotations.get(k, "") for k in ("summary", "description", "message"))
    return classify(re.sub(r"/[\w/{}.:-]+", " ", text))


def _rule_groups(path: str, groups: Any, source: str) -> list[AlertRule]:
    out: list[AlertRule] = []
    for g in groups if isinstance(groups, list) else []:
        if not isinstance(g, dict):
            continue
        rules = g.get("rules")
        for k, r in enumerate(rules if isinstance(rules, list) else []):
            if not isinstance(r, dict) or not ("alert" in r or "record" in r or "title" in r):
                continue
            if "title" in r and "alert" not in r:  # Grafana unified alerting provisioning
                exprs = [str(d["model"].get("expr")) for d in as_list(r.get("data"))
                         if isinstance(d, dict) and isinstance(d.get("model"), dict) and d["model"].get("expr")]
                expr = " ; ".join(exprs)
                name = str(r.get("title"))
                out.append(AlertRule(
                    file=path, line=line_of(rules, k) or 1, group=str(g.get("name")) if g.get("name") else None,
                    alert=name, expr=expr, for_=str(r["for"]) if r.get("for") else None,
                    labels=_str_map(r.get("labels")), annotations=_str_map(r.get("annotations")),
                    metrics=tuple(m for e in exprs for m in metric_names(e)),
                    categories=_rule_categories(" ".join(expr_signals(e) for e in exprs), name,
                                                _str_map(r.get("annotations"))),
                    source="grafana"))
                continue
            expr = str(r.get("expr", "")).strip()
            alert = str(r["alert"]) if r.get("alert") else None
            annotations = _str_map(r.get("annotations"))
            out.append(AlertRule(
                file=path, line=line_of(rules, k) or 1, group=str(g.get("name")) if g.get("name") else None,
                alert=alert, record=str(r["record"]) if r.get("record") else None, expr=expr,
                for_=str(r["for"]) if r.get("for") else None, labels=_str_map(r.get("labels")),
                annotations=annotations, metrics=tuple(metric_names(expr)),
                categories=_rule_categories(expr_signals(expr), alert, annotations),
                source=source))  # type: ignore[arg-type]
    return out


_RECEIVER_KINDS = ("slack", "email", "pagerduty", "webhook", "opsgenie", "msteams", "telegram", "discord", "sns",
                   "victorops", "pushover", "wechat", "webex")


def _alertmanager(path: str, doc: dict[str, Any]) -> AlertmanagerConfig:
    recs: list[Receiver] = []
    for r in as_list(doc.get("receivers")):
        if not isinstance(r, dict):
            continue
        kinds = tuple(k for k in _RECEIVER_KINDS if isinstance(r.get(f"{k}_configs"), list) and r[f"{k}_configs"])
        recs.append(Receiver(name=str(r.get("name", "")), kinds=kinds))
    route = as_dict(doc.get("route"))

    def count(rt: Any, depth: int = 0) -> int:
        if not isinstance(rt, dict) or depth > 20:
            return 0
        return sum(1 + count(x, depth + 1) for x in as_list(rt.get("routes")))

    return AlertmanagerConfig(file=path, line=line_of(doc, "receivers") or 1, receivers=tuple(recs),
                              route_receiver=str(route["receiver"]) if route.get("receiver") else None,
                              routes=count(route), notifies=any(r.kinds for r in recs))


def _prometheus(path: str, doc: dict[str, Any]) -> PrometheusConfig:
    scrapes: list[ScrapeConfig] = []
    sc = doc.get("scrape_configs")
    for k, s in enumerate(sc if isinstance(sc, list) else []):
        if not isinstance(s, dict):
            continue
        targets: list[str] = []
        for st in as_list(s.get("static_configs")):
            if isinstance(st, dict):
                targets.extend(str(t) for t in as_list(st.get("targets")))
        scrapes.append(ScrapeConfig(file=path, line=line_of(sc, k) or 1, job=str(s.get("job_name", "")),
                                    targets=tuple(targets),
                                    metrics_path=str(s["metrics_path"]) if s.get("metrics_path") else None))
    alerting = doc.get("alerting")
    return PrometheusConfig(
        file=path, rule_files=tuple(str(r) for r in as_list(doc.get("rule_files"))),
        alertmanagers=isinstance(alerting, dict) and bool(alerting.get("alertmanagers")),
        scrape_configs=tuple(scrapes))


def _dashboard(path: str, doc: dict[str, Any], text: str = "") -> tuple[Dashboard | None, list[AlertRule]]:
    dash: dict[str, Any] = doc["dashboard"] if isinstance(doc.get("dashboard"), dict) else doc
    if not isinstance(dash.get("panels"), list) and not isinstance(dash.get("rows"), list):
        return None, []
    panels: list[Panel] = []
    alerts: list[AlertRule] = []
    cursor = [0]

    def title_line(title: str) -> int | None:
        """Line of the panel's ``"title": ...`` in the JSON text, searching forward from the last panel."""
        if not text or not title:
            return None
        m = re.compile(r'"title"\s*:\s*' + re.escape(json.dumps(title))).search(text, cursor[0])
        if m is None:
            return None
        cursor[0] = m.end()
        return text.count("\n", 0, m.start()) + 1

    def walk(items: Any, depth: int) -> None:
        for p in items if isinstance(items, list) else []:
            if not isinstance(p, dict) or depth > 5:
                continue
            exprs = [str(t.get("expr") or t.get("query") or "") for t in as_list(p.get("targets"))
                     if isinstance(t, dict) and (t.get("expr") or t.get("query"))]
            title = str(p.get("title", ""))
            if exprs or (title and p.get("type") not in ("row", "text", None)):
                metrics = [m for e in exprs for m in metric_names(e)]
                panels.append(Panel(title=title, line=title_line(title), exprs=tuple(exprs),
                                    metrics=tuple(dict.fromkeys(metrics)),
                                    categories=classify(title, *(expr_signals(e) for e in exprs))))
            if isinstance(p.get("alert"), dict):
                a = p["alert"]
                name = str(a.get("name") or title)
                alerts.append(AlertRule(file=path, line=1, group=str(dash.get("title", "")), alert=name,
                                        expr=" ; ".join(exprs), metrics=tuple(m for e in exprs for m in
                                                                             metric_names(e)),
                                        categories=classify(name, *(expr_signals(e) for e in exprs)),
                                        source="grafana"))
            walk(p.get("panels"), depth + 1)

    walk(dash.get("panels"), 0)
    for row in as_list(dash.get("rows")):
        if isinstance(row, dict):
            walk(row.get("panels"), 1)
    return Dashboard(file=path, title=str(dash.get("title", "")), panels=tuple(panels)), alerts


def _alarms(path: str, text: str) -> list[CloudAlarm]:
    out: list[CloudAlarm] = []
    if not any(rx.search(text) for _, rx in _ALARMS):
        return out
    lines = text.split("\n")
    for n, line in enumerate(lines, start=1):
        for kind, rx in _ALARMS:
            if rx.search(line) and not line.strip().startswith(("#", "//")):
                block = "\n".join(lines[n - 1:n + 30])
                out.append(CloudAlarm(file=path, line=n, kind=kind, text=line.strip()[:200],
                                      categories=classify(block)))
    return out


def extract_monitoring(files: Iterable[str], read: Reader) -> MonitoringFacts:
    """Parse every monitoring configuration among ``files``; see the module docstring."""
    diags: list[Diagnostic] = []
    rules: list[AlertRule] = []
    proms: list[PrometheusConfig] = []
    ams: list[AlertmanagerConfig] = []
    dashboards: list[Dashboard] = []
    prov: list[Provisioning] = []
    alarms: list[CloudAlarm] = []
    for path in sorted(f for f in files if wanted(f)):
        guard.check()  # the extractor budget, where the timer cannot interrupt (cooperative)
        text = read(path)
        if text is None:
            continue
        lim = guard.limit()  # a per-file time budget: one slow file costs only its own facts
        try:
            with lim:
                if path.endswith((".tf", ".template")):
                    alarms.extend(_alarms(path, text))
                    continue
                if path.endswith(".json"):
                    if '"panels"' not in text and '"rows"' not in text:
                        if "AWS::" in text:
                            alarms.extend(_alarms(path, text))
                        continue
                    try:
                        doc = json.loads(text)
                    except (ValueError, RecursionError):
                        diags.append(Diagnostic(path=path, message="malformed JSON (Grafana dashboard?), ignored"))
                        continue
                    if isinstance(doc, dict):
                        dash, panel_alerts = _dashboard(path, doc, text)
                        if dash is not None:
                            dashboards.append(dash)
                            rules.extend(panel_alerts)
                    continue
                if not _YAML_HINT.search(text) and not path.endswith(".rules"):
                    if "AWSTemplateFormatVersion" in text:
                        alarms.extend(_alarms(path, text))
                    continue
                templated = "{{" in text
                docs, d = load_yaml_docs(path, strip_templates(text) if templated else text)
                if not templated:
                    diags.extend(d)
                if "AWSTemplateFormatVersion" in text:
                    alarms.extend(_alarms(path, text))
                for doc in docs:
                    if not isinstance(doc, dict):
                        continue
                    if doc.get("kind") in ("ServiceMonitor", "PodMonitor"):
                        spec = as_dict(doc.get("spec"))
                        eps = as_list(spec.get("endpoints")) or as_list(spec.get("podMetricsEndpoints"))
                        meta = as_dict(doc.get("metadata"))
                        proms.append(PrometheusConfig(file=path, scrape_configs=(ScrapeConfig(
                            file=path, line=line_of(doc) or 1, job=str(meta.get("name", doc["kind"])),
                            targets=tuple(str(e.get("port") or e.get("targetPort") or "") for e in eps
                                          if isinstance(e, dict)),
                            metrics_path=next((str(e["path"]) for e in eps if isinstance(e, dict) and e.get("path")),
                                              None)),)))
                        continue
                    if doc.get("kind") == "PrometheusRule":
                        spec = as_dict(doc.get("spec"))
                        rules.extend(_rule_groups(path, spec.get("groups"), "prometheus_crd"))
                        continue
                    if isinstance(doc.get("groups"), list):
                        rules.extend(_rule_groups(path, doc["groups"], "prometheus"))
                    if "scrape_configs" in doc or "rule_files" in doc:
                        proms.append(_prometheus(path, doc))
                    if isinstance(doc.get("receivers"), list) and ("route" in doc or "global" in doc):
                        ams.append(_alertmanager(path, doc))
                    for key in ("datasources", "providers", "contactPoints", "notifiers"):
                        if isinstance(doc.get(key), list) and ("apiVersion" in doc or "grafana" in path.lower()
                                                               or "provisioning" in path):
                            types = tuple(str(x.get("type")) for x in doc[key] if isinstance(x, dict) and x.get("type"))
                            kind = {"providers": "dashboards", "contactPoints": "contactpoints"}.get(key, key)
                            prov.append(Provisioning(file=path, kind=kind, datasource_types=types))
                    if isinstance(doc.get("groups"), list) and any(
                            isinstance(g, dict) and any(isinstance(r, dict) and "title" in r
                                                        for r in as_list(g.get("rules")))
                            for g in doc["groups"]):
                        prov.append(Provisioning(file=path, kind="alerting"))
        except Exception as exc:  # noqa: BLE001 - one file must not cost the others their facts
            diags.append(guard.failure("monitoring", path, exc))
        if lim.overrun:
            diags.append(guard.stopped("monitoring", path, lim.seconds))
    return MonitoringFacts(rules=tuple(rules), prometheus=tuple(proms), alertmanagers=tuple(ams),
                           dashboards=tuple(dashboards), provisioning=tuple(prov), alarms=tuple(alarms),
                           diagnostics=tuple(diags))


__all__ = [
    "AlertRule",
    "AlertmanagerConfig",
    "CloudAlarm",
    "Dashboard",
    "MonitoringFacts",
    "Panel",
    "PrometheusConfig",
    "Provisioning",
    "Receiver",
    "ScrapeConfig",
    "classify",
    "expr_signals",
    "extract_monitoring",
    "metric_names",
    "wanted",
]
