"""Simple views of manifests, monitoring configs and dependency files, shaped for what the detectors ask."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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


def populate(ctx: Context, files: list[str], read: Any, diagnostics: list[Diagnostic]) -> None:
    """Fill ctx.manifests, ctx.monitoring and ctx.deps from their extractors."""
    from mlscore.facts import deps as deps_mod
    from mlscore.facts import manifests as manifests_mod
    from mlscore.facts import monitoring as monitoring_mod

    deps = deps_mod.extract_deps([p for p in files if deps_mod.wanted(p)], read)
    diagnostics.extend(deps.diagnostics)
    ctx.deps = DepsView(
        packages=[PackageView(r.name, r.spec, r.pinned, r.file, r.line,
                              r.group not in ("main",) and not r.group.startswith("optional"))
                  for r in deps.requirements],
        bots=[BotView(b.tool, tuple(b.ecosystems), b.file, b.line) for b in deps.bots],
        locks=[lock.file for lock in deps.locks],
    )

    mon = monitoring_mod.extract_monitoring([p for p in files if monitoring_mod.wanted(p) and _maybe_monitoring(p, read)],
                                            read)
    diagnostics.extend(mon.diagnostics)
    view = MonitoringView(dashboards=len(mon.dashboards))
    for rule in mon.alerts():
        mine = tuple(k for k, theirs in CATEGORY_MAP.items() if set(theirs) & set(rule.categories))
        if "skew" in mine and not re.search(r"(?i)skew|train", f"{rule.alert} {rule.expr}"):
            mine = tuple(c for c in mine if c != "skew")
        if "prediction" in mine and not re.search(r"(?i)predict|score|output|proba", f"{rule.alert} {rule.expr}"):
            mine = tuple(c for c in mine if c != "prediction")  # only its annotation mentions /predict
        view.alerts.append(AlertView(rule.alert or "", rule.expr, rule.file, rule.line, mine))
    ctx.monitoring = view

    man = manifests_mod.extract_manifests([p for p in files if manifests_mod.wanted(p) and not _generated_crd(p, read)],
                                          read)
    diagnostics.extend(man.diagnostics)
    ctx.manifests = _manifest_views(man)


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


def _manifest_views(man: Any) -> list[ManifestView]:
    out: list[ManifestView] = []
    for loc in man.sidecars:
        out.append(ManifestView(loc.path, loc.line or 1, "mlscore sidecar container", mlscore_sidecar=True))
    for res in man.resources:
        f = res.features or {}
        kind = res.kind
        summary = f"{kind} {res.name}"
        canary = auto_rollback = explainer = False
        if kind == "Rollout":
            steps = f.get("canary_steps") or []
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
            weights = f.get("weights") or []
            canary = len([w for w in weights if (w.get("weight") or 0) > 0]) > 1
            summary = f"Istio VirtualService {res.name} traffic split"
        elif kind == "SeldonDeployment":
            traffic = f.get("traffic") or []
            canary = len([t for t in traffic if t]) > 1
        elif kind == "Experiment":
            canary = len(f.get("candidates") or []) > 1
        pinned = None
        serves = kind in SERVING_KINDS and bool(res.containers or kind in ("InferenceService", "SeldonDeployment"))
        for container in res.containers:
            image = container.image
            if image is None or INFRA_IMAGE_RX.search(image.name or image.ref):
                continue
            if image.pinned and kind in SERVING_KINDS:
                pinned = image.ref
        if kind == "InferenceService":
            uri = str(f.get("storageUri") or "")
            if re.search(r"(/v\d+|/\d+|@sha256|:[\w.-]*\d)[/\w.-]*$", uri):
                pinned = uri
        if canary or auto_rollback or pinned or serves or explainer:
            out.append(ManifestView(res.file, res.line, summary, canary=canary, auto_rollback=auto_rollback,
                                    pinned_version=pinned, serves_model=serves, explainer=explainer))
    for sig in man.iac:
        if sig.signal in ("canary_traffic", "linear_traffic", "blue_green"):
            out.append(ManifestView(sig.file, sig.line, f"SageMaker deployment policy: {sig.text[:60]}", canary=True))
        elif sig.signal == "auto_rollback":
            out.append(ManifestView(sig.file, sig.line, f"automatic rollback: {sig.text[:60]}", auto_rollback=True))
        elif sig.signal == "sagemaker_endpoint":
            out.append(ManifestView(sig.file, sig.line, "SageMaker endpoint", serves_model=True))
    for docker in man.dockerfiles:
        command = f"{docker.entrypoint or ''} {docker.cmd or ''}"
        if SERVER_RX.search(command):
            out.append(ManifestView(docker.file, docker.cmd_line or docker.entrypoint_line or 1,
                                    f"container serves a model: {command.strip()[:60]}", serves_model=True))
    for svc in man.compose:
        if svc.command and SERVER_RX.search(svc.command):
            out.append(ManifestView(svc.file, svc.line, f"compose service {svc.name} serves a model", serves_model=True))
    for bento in getattr(man, "bentos", ()):
        out.append(ManifestView(bento.file, 1, "BentoML service", serves_model=True))
    return out
