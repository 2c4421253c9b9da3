"""Simple views of manifests, monitoring configs and dependency files, shaped for what the detectors ask."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlscore import guard
from mlscore.models import Diagnostic

if TYPE_CHECKING:
    from mlscore.detectors.common import Context

#: Processes that serve a model over the network.
SERVER_RX = re.compile(r"\b(uvicorn|gunicorn|hypercorn|mlserver\s+start|bentoml\s+serve|torchserve|"
                       r"tensorflow_model_server|mlflow\s+models\s+serve|tritonserver|flask\s+run|"
                       r"seldon-core-microservice|kserve|streamlit\s+run|gradio)\b")
#: Images that are infrastructure, not the project's model.
INFRA_IMAGE_RX = re.compile(r"(?i)(prometheus|grafana|alertmanager|redis|postgres|mysql|mongo|nginx|traefik|envoy|"
                            r"busybox|alpine|ubuntu|debian|minio|kafka|zookeeper|elasticsearch|kibana|jaeger|loki|"
                            r"node-exporter|kube-state-metrics|pushgateway|memcached|rabbitmq|mlflow)")
SERVING_KINDS = {"Deployment", "StatefulSet", "Rollout", "InferenceService", "SeldonDeployment", "Model",
                 "Service.serving.knative.dev", "DeploymentConfig"}

# detector category -> categories of mlscore.facts.monitoring.classify
CATEGORY_MAP = {
    "latency": ("latency", "throughput"),
    "resources": ("resource",),
    "nonfinite": ("nan",),
    "drift": ("drift",),
    "skew": ("drift",),
    "input": ("data_quality",),
    "prediction": ("prediction",),
    "age": ("staleness",),
    "errors": ("error_rate", "availability"),
}


@dataclass(frozen=True)
class AlertView:
    name: str
    expr: str
    path: str
    line: int
    categories: tuple[str, ...]


@dataclass
class MonitoringView:
    alerts: list[AlertView] = field(default_factory=list)
    dashboards: int = 0
    #: the tree sends fired alerts on (an Alertmanager receiver with a notifier, Prometheus configured with an
    #: Alertmanager, Grafana contact points or notifiers); without one, alerts fire only in a UI a person must
    #: watch (LABELING.md C13)
    notifies: bool = False


@dataclass(frozen=True)
class ManifestView:
    path: str
    line: int
    summary: str
    canary: bool = False
    auto_rollback: bool = False
    pinned_version: str | None = None
    serves_model: bool = False
    explainer: bool = False
    mlscore_sidecar: bool = False
    #: the serving command (a Dockerfile's ENTRYPOINT + CMD, a Compose service's command), for shell signals
    command: str | None = None


@dataclass(frozen=True)
class PackageView:
    name: str
    spec: str
    pinned: bool
    file: str
    line: int
    dev: bool


@dataclass(frozen=True)
class BotView:
    tool: str
    ecosystems: tuple[str, ...]
    path: str
    line: int


@dataclass
class DepsView:
    packages: list[PackageView] = field(default_factory=list)
    bots: list[BotView] = field(default_factory=list)
    locks: list[str] = field(default_factory=list)


def populate(ctx: Context, files: list[str], read: Any, diagnostics: list[Diagnostic], *,
             budget: float | None = None) -> None:
    """Fill ctx.manifests, ctx.monitoring and ctx.deps from their extractors, each isolated and under ``budget``
    seconds (see ``mlscore.guard.extract``); one record that does not fit its view costs only itself."""
    from mlscore.facts import deps as deps_mod
    from mlscore.facts import integrate
    from mlscore.facts import manifests as manifests_mod
    from mlscore.facts import monitoring as monitoring_mod

    deps, why = guard.extract("deps", lambda items: deps_mod.extract_deps(items, read),
                              [p for p in files if deps_mod.wanted(p)], seconds=budget, diagnostics=diagnostics,
                              empty=deps_mod.DepsFacts)
    if why:
        integrate.missing_facts(ctx, "deps", why)
    diagnostics.extend(deps.diagnostics)
    view_deps = DepsView(locks=[lock.file for lock in deps.locks])
    for r in deps.requirements:
        _isolated(diagnostics, "deps", r, lambda r=r: view_deps.packages.append(PackageView(
            r.name, r.spec, r.pinned, r.file, r.line, r.group not in ("main",) and not r.group.startswith("optional"))))
    for b in deps.bots:
        _isolated(diagnostics, "deps", b, lambda b=b: view_deps.bots.append(BotView(b.tool, tuple(b.ecosystems),
                                                                                    b.file, b.line)))
    ctx.deps = view_deps

    mon, why = guard.extract("monitoring", lambda items: monitoring_mod.extract_monitoring(items, read),
                             [p for p in files if monitoring_mod.wanted(p) and _maybe_monitoring(p, read)],
                             seconds=budget, diagnostics=diagnostics, empty=monitoring_mod.MonitoringFacts)
    if why:
        integrate.missing_facts(ctx, "monitoring", why)
    diagnostics.extend(mon.diagnostics)
    view = MonitoringView(dashboards=len(mon.dashboards), notifies=any(a.notifies for a in mon.alertmanagers) or any(
        p.alertmanagers for p in mon.prometheus) or any(p.kind in ("contactpoints", "notifiers") for p in mon.provisioning))
    for rule in mon.alerts():
        _isolated(diagnostics, "monitoring", rule, lambda rule=rule: view.alerts.append(_alert_view(rule)))
    ctx.monitoring = view

    man, why = guard.extract("manifests", lambda items: manifests_mod.extract_manifests(items, read),
                             [p for p in files if manifests_mod.wanted(p) and not _generated_crd(p, read)],
                             seconds=budget, diagnostics=diagnostics, empty=manifests_mod.ManifestFacts)
    if why:
        integrate.missing_facts(ctx, "manifests", why)
    diagnostics.extend(man.diagnostics)
    ctx.manifests = _manifest_views(man, diagnostics)


def _isolated(diagnostics: list[Diagnostic], extractor: str, record: Any, build: Any) -> None:
    """Build one view record; a record whose values do not fit becomes a diagnostic naming its file."""
    try:
        build()
    except Exception as exc:  # noqa: BLE001 - one odd record must not cost the others
        diagnostics.append(guard.failure(extractor, getattr(record, "file", None) or getattr(record, "path", None),
                                         exc))


def _alert_view(rule: Any) -> AlertView:
    mine = tuple(k for k, theirs in CATEGORY_MAP.items() if set(theirs) & set(rule.categories))
    if "skew" in mine and not re.search(r"(?i)skew|train", f"{rule.alert} {rule.expr}"):
        mine = tuple(c for c in mine if c != "skew")
    if "prediction" in mine and not re.search(r"(?i)predict|score|output|proba", f"{rule.alert} {rule.expr}"):
        mine = tuple(c for c in mine if c != "prediction")  # only its annotation mentions /predict
    return AlertView(rule.alert or "", rule.expr, rule.file, rule.line, mine)


def _number(value: Any) -> float | None:
    """A traffic weight or percentage as a number: ints, floats and numeric strings ('20', '20%'); None for a
    template placeholder ('{{ .Values.weight }}' after stripping), a boolean, a mapping or anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        m = re.fullmatch(r"[ \t]*([0-9]{1,6}(?:\.[0-9]{1,6})?)[ \t]*%?[ \t]*", value)
        return float(m.group(1)) if m else None
    return None


_MONITORING_WORDS = ("alert", "expr", "record:", "scrape_configs", "receivers", "prometheusrule", "servicemonitor",
                     "podmonitor", "datasources", "providers", "contactpoints", "groups", "notifiers", "panels",
                     "cloudwatch", "datadog_monitor", "alert_policy", "monitoring_schedule")


def _maybe_monitoring(path: str, read: Any) -> bool:
    """A cheap substring test before the monitoring extractor's regular expressions (slow on megabyte files)."""
    text = read(path) or ""
    if len(text) < 65536:
        return True
    lower = text.lower()
    return any(word in lower for word in _MONITORING_WORDS)


def _generated_crd(path: str, read: Any) -> bool:
    """Large generated CustomResourceDefinition bundles deploy no model; parsing them costs seconds."""
    text = read(path) or ""
    return len(text) > 200_000 and "kind: CustomResourceDefinition" in text


def _manifest_views(man: Any, diagnostics: list[Diagnostic] | None = None) -> list[ManifestView]:
    out: list[ManifestView] = []
    for loc in man.sidecars:
        out.append(ManifestView(loc.path, loc.line or 1, "mlscore sidecar container", mlscore_sidecar=True))
    for res in man.resources:
        try:
            view = _resource_view(res)
        except Exception as exc:  # noqa: BLE001 - one odd resource must not cost the others
            if diagnostics is not None:
                diagnostics.append(guard.failure("manifests", res.file, exc))
            continue
        if view is not None:
            out.append(view)
    for item in (*man.iac, *man.dockerfiles, *man.compose, *getattr(man, "bentos", ())):
        try:
            view = _other_view(item)
        except Exception as exc:  # noqa: BLE001
            if diagnostics is not None:
                diagnostics.append(guard.failure("manifests", getattr(item, "file", None), exc))
            continue
        if view is not None:
            out.append(view)
    return out


def _resource_view(res: Any) -> ManifestView | None:
    """The deployment facts of one Kubernetes resource. Feature values are whatever the YAML held (templated
    strings, nulls, lists where maps belong), so each is checked for its type before it is compared."""
    f = res.features if isinstance(res.features, dict) else {}
    kind = res.kind
    summary = f"{kind} {res.name}"
    canary = auto_rollback = explainer = False
    if kind == "Rollout":
        steps = _as_list(f.get("canary_steps"))
        analysis = bool(f.get("canary_analysis") or any(str(s).startswith("analysis") for s in steps)
                        or f.get("pre_promotion_analysis") or f.get("post_promotion_analysis"))
        canary = bool(steps) or bool(f.get("blue_green") and analysis)
        auto_rollback = analysis
        summary = f"Argo Rollout {res.name}: " + (", ".join(map(str, steps[:4])) if steps else "blue-green")
    elif kind == "Canary":
        canary = auto_rollback = True
        summary = f"Flagger Canary {res.name}"
    elif kind == "InferenceService":
        pct = f.get("canaryTrafficPercent")
        canary = pct is not None
        explainer = bool(f.get("explainer"))
        summary = f"KServe InferenceService {res.name}" + (f" canaryTrafficPercent={pct}" if canary else "")
    elif kind == "VirtualService":
        # a destination takes traffic when its weight is positive, or set by a template (Helm's
        # `weight: {{ .Values.weight.green }}`: a split whose values are chosen at deploy time)
        weighted = [w for w in _as_list(f.get("weights")) if isinstance(w, dict) and (
            (_number(w.get("weight")) or 0) > 0 or _templated(w.get("weight")))]
        canary = len(weighted) > 1
        summary = f"Istio VirtualService {res.name} traffic split"
    elif kind == "SeldonDeployment":
        canary = len([t for t in _as_list(f.get("traffic")) if t]) > 1
    elif kind == "Experiment":
        canary = len(_as_list(f.get("candidates"))) > 1
    pinned = None
    serves = kind in SERVING_KINDS and bool(res.containers or kind in ("InferenceService", "SeldonDeployment"))
    for container in res.containers:
        image = container.image
        if image is None or INFRA_IMAGE_RX.search(image.name or image.ref):
            continue
        if image.pinned and kind in SERVING_KINDS:
            pinned = image.ref
    if kind == "InferenceService":
        uri = f.get("storageUri")
        uri = uri if isinstance(uri, str) else ""
        if re.search(r"(/v\d+|/\d+|@sha256|:[\w.-]*\d)[/\w.-]*$", uri[:2000]):
            pinned = uri
    if canary or auto_rollback or pinned or serves or explainer:
        return ManifestView(res.file, res.line, summary, canary=canary, auto_rollback=auto_rollback,
                            pinned_version=pinned, serves_model=serves, explainer=explainer)
    return None


def _other_view(item: Any) -> ManifestView | None:
    """The deployment facts of a SageMaker IaC signal, a Dockerfile, a Compose service or a Bento."""
    from mlscore.facts import manifests as m

    if isinstance(item, m.IacSignal):
        if item.signal in ("canary_traffic", "linear_traffic", "blue_green"):
            return ManifestView(item.file, item.line, f"SageMaker deployment policy: {item.text[:60]}", canary=True)
        if item.signal == "auto_rollback":
            return ManifestView(item.file, item.line, f"automatic rollback: {item.text[:60]}", auto_rollback=True)
        if item.signal == "sagemaker_endpoint":
            return ManifestView(item.file, item.line, "SageMaker endpoint", serves_model=True)
        return None
    if isinstance(item, m.Dockerfile):
        command = f"{item.entrypoint or ''} {item.cmd or ''}"
        if SERVER_RX.search(command):
            return ManifestView(item.file, item.cmd_line or item.entrypoint_line or 1,
                                f"container serves a model: {command.strip()[:60]}", serves_model=True,
                                command=command.strip())
        return None
    if isinstance(item, m.ComposeService):
        if item.command and SERVER_RX.search(item.command):
            return ManifestView(item.file, item.line, f"compose service {item.name} serves a model", serves_model=True,
                                command=item.command)
        return None
    if isinstance(item, m.Bentofile):
        return ManifestView(item.file, 1, "BentoML service", serves_model=True)
    return None


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _templated(value: Any) -> bool:
    """A value a template fills in at deploy time: Helm/Jinja placeholders (blanked to TEMPLATE) or ${VAR}."""
    return isinstance(value, str) and ("TEMPLATE" in value or "{{" in value or "${" in value)
