"""Deployment manifests as facts: Dockerfiles, Compose, Kubernetes (incl. KServe, Seldon, Argo Rollouts, Flagger,
Istio), Helm charts, SageMaker endpoint IaC, BentoML and MLflow model files; read as text, never applied.

Public API
- ``wanted(path) -> bool``: whether ``extract_manifests`` reads this path (``MANIFEST_GLOBS``). YAML files are
  then only parsed as Kubernetes when they contain ``apiVersion:`` and ``kind:``; Terraform/CloudFormation only
  scanned when they mention SageMaker.
- ``extract_manifests(files, read) -> ManifestFacts``.
- ``ImageRef``: ``ref`` as written, ``name``, ``tag``, ``digest``, ``pinned`` (digest or a tag other than
  ``latest``), ``latest`` (no tag or ``latest``), ``line``.
- ``Dockerfile``: ``file``, ``bases`` (``ImageRef`` per FROM), ``runs`` (``ShellCommand`` per RUN command),
  ``cmd``/``entrypoint`` (text + ``cmd_line``/``entrypoint_line``), ``healthcheck_line`` (None without a
  HEALTHCHECK, or with ``HEALTHCHECK NONE``), ``user``, ``expose``, ``copies`` (COPY/ADD sources).
- ``ComposeService``: ``file``/``line``/``name``, ``image``, ``build`` (context dir), ``command``, ``healthcheck``,
  ``restart``, ``ports``, ``depends_on``.
- ``Container``: ``name``, ``image`` (``ImageRef``), ``command`` (argv incl. args), ``line``, ``probes`` (subset of
  liveness/readiness/startup), ``resources`` (requests/limits declared), ``ports``.
- ``K8sResource``: ``file``, ``line``, ``api_version``, ``kind``, ``name``, ``namespace``, ``containers``,
  ``templated`` (came from a Helm template), and ``features`` (JSON-simple dict, keys per kind):
  - workloads (Deployment, StatefulSet, DaemonSet, Rollout, Job, CronJob, Pod): ``replicas``,
    ``revisionHistoryLimit``, ``strategy`` (type), ``minReadySeconds``, ``progressDeadlineSeconds``.
  - Argo ``Rollout``: ``canary_steps`` (e.g. ``["setWeight:20", "pause", "analysis:success-rate"]``),
    ``canary_analysis`` (background analysis templates), ``traffic_routing``, ``blue_green`` (bool),
    ``auto_promotion`` (bool or None), ``pre_promotion_analysis``/``post_promotion_analysis`` (template names),
    ``abort_scale_down_delay``, ``rollback_window``.
  - ``AnalysisTemplate``/``ClusterAnalysisTemplate``: ``metrics`` (names), ``providers``, ``conditions``
    (success/failure conditions), ``queries``.
  - Flagger ``Canary``: ``analysis`` (interval, threshold, maxWeight, stepWeight, iterations), ``metrics``,
    ``webhooks``, ``provider``.
  - Istio ``VirtualService``: ``weights`` (``[{"host":..., "subset":..., "weight":...}]``), ``mirror`` (bool).
  - KServe ``InferenceService``: ``canaryTrafficPercent``, ``storageUri``, ``model_format``, ``logger`` (mode or
    None), ``explainer``/``transformer`` (bool), ``minReplicas``.
  - Seldon ``SeldonDeployment``: ``traffic`` (per predictor), ``shadow``; Seldon Core 2 ``Experiment``:
    ``candidates`` (model and weight), ``mirror``; ``Model``: ``storageUri``.
  - ``HorizontalPodAutoscaler``: ``min``/``max``; ``Service``/``Ingress``: nothing extra.
- ``HelmChart``: ``file``, ``name``, ``version``, ``app_version``; ``values_images`` (``ImageRef`` found in
  ``values*.yaml``: ``image.repository`` + ``image.tag``).
- ``IacSignal``: regex hits in Terraform/CloudFormation/CDK text: ``signal`` in ``sagemaker_endpoint``,
  ``production_variant``, ``variant_weight``, ``data_capture``, ``blue_green``, ``auto_rollback``,
  ``model_monitor``, ``canary_traffic``, ``linear_traffic``; ``file``, ``line``, ``text``.
- ``MLmodelFile``: ``file``, ``flavors``, ``signature`` (bool), ``inputs``/``outputs`` (raw signature text),
  ``run_id``, ``model_uuid``. ``Bentofile``: ``file``, ``service``, ``packages``.
- ``sidecars``: ``Location``s of containers/services running ``mlscore sidecar`` (image or command).
- ``ManifestFacts``: the lists above plus ``diagnostics``; ``resources_of(kind)``.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from mlscore import guard
from mlscore.facts.shell import ShellCommand, split_script
from mlscore.facts.yamlsafe import (
    as_dict,
    as_list,
    line_of,
    load_yaml,
    load_yaml_docs,
    strip_templates,
)
from mlscore.models import Diagnostic, Location

Reader = Callable[[str], "str | None"]

MANIFEST_GLOBS = (
    "**/Dockerfile", "**/Dockerfile.*", "**/*.dockerfile", "**/Containerfile", "**/docker-compose*.yml",
    "**/docker-compose*.yaml", "**/compose*.yml", "**/compose*.yaml", "**/*.yaml|*.yml (apiVersion + kind)",
    "**/Chart.yaml", "**/values*.yaml", "**/*.tf", "**/*.json|*.yaml|*.template (CloudFormation, SageMaker)",
    "**/bentofile.yaml", "**/MLmodel",
)


class _Rec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ImageRef(_Rec):
    ref: str
    name: str
    tag: str | None = None
    digest: str | None = None
    pinned: bool = False
    latest: bool = False
    line: int | None = None


class Dockerfile(_Rec):
    file: str
    bases: tuple[ImageRef, ...] = ()
    runs: tuple[ShellCommand, ...] = ()
    cmd: str | None = None
    cmd_line: int | None = None
    entrypoint: str | None = None
    entrypoint_line: int | None = None
    healthcheck_line: int | None = None
    user: str | None = None
    expose: tuple[str, ...] = ()
    copies: tuple[str, ...] = ()


class ComposeService(_Rec):
    file: str
    line: int
    name: str
    image: ImageRef | None = None
    build: str | None = None
    command: str | None = None
    healthcheck: bool = False
    restart: str | None = None
    ports: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()


class Container(_Rec):
    name: str
    image: ImageRef | None = None
    command: tuple[str, ...] = ()
    line: int | None = None
    probes: tuple[str, ...] = ()
    resources: bool = False
    ports: tuple[int, ...] = ()


class K8sResource(_Rec):
    file: str
    line: int
    api_version: str
    kind: str
    name: str
    namespace: str | None = None
    containers: tuple[Container, ...] = ()
    templated: bool = False
    features: dict[str, Any] = {}


class HelmChart(_Rec):
    file: str
    name: str
    version: str | None = None
    app_version: str | None = None
    values_images: tuple[ImageRef, ...] = ()


class IacSignal(_Rec):
    file: str
    line: int
    signal: str
    text: str


class MLmodelFile(_Rec):
    file: str
    flavors: tuple[str, ...] = ()
    signature: bool = False
    inputs: str | None = None
    outputs: str | None = None
    run_id: str | None = None
    model_uuid: str | None = None


class Bentofile(_Rec):
    file: str
    service: str | None = None
    packages: tuple[str, ...] = ()


class ManifestFacts(_Rec):
    dockerfiles: tuple[Dockerfile, ...] = ()
    compose: tuple[ComposeService, ...] = ()
    resources: tuple[K8sResource, ...] = ()
    charts: tuple[HelmChart, ...] = ()
    iac: tuple[IacSignal, ...] = ()
    mlmodels: tuple[MLmodelFile, ...] = ()
    bentos: tuple[Bentofile, ...] = ()
    sidecars: tuple[Location, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    def resources_of(self, *kinds: str) -> list[K8sResource]:
        return [r for r in self.resources if r.kind in kinds]


# --------------------------------------------------------------------------------------------------- helpers

_DOCKERFILE = re.compile(r"(^|/)(Dockerfile([._-][^/]*)?|[^/]+\.dockerfile|Containerfile)$", re.IGNORECASE)
_COMPOSE = re.compile(r"(^|/)(docker-)?compose[^/]*\.ya?ml$")
_YAML = re.compile(r"\.ya?ml$")
_SKIP_YAML = re.compile(r"^\.github/|^\.gitlab|^\.circleci/|(^|/)(dvc|params|environment|mkdocs|\.pre-commit-config|"
                        r"codecov|\.readthedocs|prefect|bentofile|conda[^/]*|meta|\.?dependabot|renovate)\.ya?ml$")


def wanted(path: str) -> bool:
    """Whether ``extract_manifests`` reads this path."""
    base = posixpath.basename(path)
    if _DOCKERFILE.search(path) or base in ("MLmodel", "Chart.yaml", "bentofile.yaml"):
        return True
    if _YAML.search(path):
        return not _SKIP_YAML.search(path)
    return path.endswith((".tf", ".template", ".json")) and not path.endswith(("package.json", ".ipynb"))


def image_ref(ref: str, line: int | None = None) -> ImageRef:
    """Parse ``registry/name:tag@sha256:...`` into an ImageRef."""
    ref = ref.strip().strip("'\"")
    digest = None
    if "@" in ref:
        ref_part, digest = ref.split("@", 1)
    else:
        ref_part = ref
    tag = None
    last = ref_part.rsplit("/", 1)[-1]
    if ":" in last:
        name_last, tag = last.split(":", 1)
        name = ref_part[: len(ref_part) - len(last)] + name_last
    else:
        name = ref_part
    dynamic = "$" in ref or "{" in ref or "TEMPLATE" in ref
    latest = not digest and (tag is None or tag == "latest") and not dynamic
    return ImageRef(ref=ref, name=name, tag=tag, digest=digest, pinned=bool(digest) or (
        tag is not None and tag != "latest" and not dynamic), latest=latest, line=line)


def _is_sidecar(image: str | None, command: Iterable[str]) -> bool:
    cmd = " ".join(command)
    return bool(re.search(r"\bmlscore\b.*\bsidecar\b", cmd)) or bool(
        image and re.search(r"mlscore[^/]*sidecar|mlscore.*:.*sidecar", image))


# --------------------------------------------------------------------------------------------------- Dockerfile


def parse_dockerfile(path: str, text: str) -> Dockerfile:
    """Instructions of a Dockerfile (continuations joined; JSON-form commands decoded)."""
    bases: list[ImageRef] = []
    runs: list[ShellCommand] = []
    cmd = entry = user = None
    cmd_line = entry_line = health = None
    expose: list[str] = []
    copies: list[str] = []
    stages: set[str] = set()
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        start = i
        raw = lines[i]
        while raw.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            nxt = lines[i]
            if nxt.lstrip().startswith("#"):
                continue
            raw = raw.rstrip()[:-1] + "\n" + nxt
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = re.match(r"^(\w+)\s*(.*)$", stripped, re.DOTALL)
        if not m:
            continue
        instr, rest = m.group(1).upper(), m.group(2).strip()
        lineno = start + 1
        if instr == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            if parts:
                if parts[0].lower() not in stages and parts[0] != "scratch":
                    bases.append(image_ref(parts[0], lineno))
                if len(parts) >= 3 and parts[1].lower() == "as":
                    stages.add(parts[2].lower())
        elif instr == "RUN":
            body = _json_or_shell(rest)
            body = re.sub(r"^(--\S+\s+)+", "", body)
            runs.extend(split_script(body.replace("\\\n", " "), first_line=lineno, errexit=False).commands)
        elif instr == "CMD":
            cmd, cmd_line = _json_or_shell(rest), lineno
        elif instr == "ENTRYPOINT":
            entry, entry_line = _json_or_shell(rest), lineno
        elif instr == "HEALTHCHECK":
            health = None if rest.upper().startswith("NONE") else lineno
        elif instr == "USER":
            user = rest
        elif instr == "EXPOSE":
            expose.extend(rest.split())
        elif instr in ("COPY", "ADD"):
            parts = [p for p in _json_or_shell(rest).split() if not p.startswith("--")]
            copies.extend(parts[:-1])
    return Dockerfile(file=path, bases=tuple(bases), runs=tuple(runs), cmd=cmd, cmd_line=cmd_line, entrypoint=entry,
                      entrypoint_line=entry_line, healthcheck_line=health, user=user, expose=tuple(expose),
                      copies=tuple(copies))


def _json_or_shell(rest: str) -> str:
    if rest.startswith("["):
        try:
            arr = json.loads(rest)
            if isinstance(arr, list):
                return " ".join(str(a) if re.fullmatch(r"[\w@%+=:,./-]+", str(a)) else "'" + str(a) + "'"
                                for a in arr)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            pass
    return rest


# --------------------------------------------------------------------------------------------------- Kubernetes


def _pod_spec(kind: str, spec: dict[str, Any]) -> Any:
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return as_dict(as_dict(as_dict(spec.get("jobTemplate")).get("spec")).get("template")).get("spec")
    tmpl = spec.get("template")
    if isinstance(tmpl, dict):
        return tmpl.get("spec")
    return None


def _container(c: dict[str, Any], line: int | None) -> Container:
    argv: list[str] = []
    for key in ("command", "args"):
        v = c.get(key)
        if isinstance(v, list):
            argv.extend(str(x) for x in v)
        elif isinstance(v, str):
            argv.append(v)
    probes = tuple(p for p in ("liveness", "readiness", "startup") if isinstance(c.get(p + "Probe"), dict))
    res = c.get("resources")
    ports = tuple(int(p["containerPort"]) for p in c.get("ports") or [] if isinstance(p, dict)
                  and isinstance(p.get("containerPort"), int))
    img = c.get("image")
    return Container(name=str(c.get("name", "")), image=image_ref(str(img), line_of(c, "image")) if img else None,
                     command=tuple(argv), line=line, probes=probes,
                     resources=isinstance(res, dict) and bool(res.get("limits") or res.get("requests")),
                     ports=ports)


def _containers_of(pod: Any) -> list[Container]:
    out: list[Container] = []
    if not isinstance(pod, dict):
        return out
    for key in ("initContainers", "containers"):
        lst = pod.get(key)
        for k, c in enumerate(lst if isinstance(lst, list) else []):
            if isinstance(c, dict):
                out.append(_container(c, line_of(lst, k)))
    return out


def _names(items: Any, key: str = "name") -> list[str]:
    return [str(i.get(key)) for i in items if isinstance(i, dict) and i.get(key)] if isinstance(items, list) else []


def _rollout_steps(steps: Any) -> list[str]:
    out: list[str] = []
    for st in steps if isinstance(steps, list) else []:
        if not isinstance(st, dict):
            continue
        for k, v in st.items():
            if k == "setWeight":
                out.append(f"setWeight:{v}")
            elif k == "pause":
                out.append("pause" + (f":{v.get('duration')}" if isinstance(v, dict) and v.get("duration") else ""))
            elif k == "analysis":
                names = _names(v.get("templates"), "templateName") if isinstance(v, dict) else []
                out.append("analysis:" + ",".join(names))
            elif k == "experiment":
                out.append("experiment")
            else:
                out.append(str(k))
    return out


def _features(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    spec = as_dict(doc.get("spec"))
    f: dict[str, Any] = {}
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Rollout", "ReplicaSet"):
        for key in ("replicas", "revisionHistoryLimit", "minReadySeconds", "progressDeadlineSeconds"):
            if isinstance(spec.get(key), (int, str)) and not isinstance(spec.get(key), bool):
                f[key] = spec[key]
        strat = spec.get("strategy") if kind != "StatefulSet" else spec.get("updateStrategy")
        if isinstance(strat, dict):
            if strat.get("type"):
                f["strategy"] = str(strat["type"])
            elif kind == "Rollout":
                f["strategy"] = "canary" if "canary" in strat else ("blueGreen" if "blueGreen" in strat else None)
    if kind == "Rollout":
        strat = as_dict(spec.get("strategy"))
        canary = strat.get("canary")
        if isinstance(canary, dict):
            f["canary_steps"] = _rollout_steps(canary.get("steps"))
            an = canary.get("analysis")
            f["canary_analysis"] = _names(an.get("templates"), "templateName") if isinstance(an, dict) else []
            f["traffic_routing"] = sorted(canary["trafficRouting"]) if isinstance(canary.get("trafficRouting"),
                                                                                  dict) else None
            if canary.get("abortScaleDownDelaySeconds") is not None:
                f["abort_scale_down_delay"] = canary.get("abortScaleDownDelaySeconds")
        bg = strat.get("blueGreen")
        f["blue_green"] = isinstance(bg, dict)
        if isinstance(bg, dict):
            f["auto_promotion"] = bg.get("autoPromotionEnabled") if isinstance(bg.get("autoPromotionEnabled"),
                                                                               bool) else None
            for key, out in (("prePromotionAnalysis", "pre_promotion_analysis"),
                             ("postPromotionAnalysis", "post_promotion_analysis")):
                v = bg.get(key)
                f[out] = _names(v.get("templates"), "templateName") if isinstance(v, dict) else []
            if bg.get("abortScaleDownDelaySeconds") is not None:
                f["abort_scale_down_delay"] = bg.get("abortScaleDownDelaySeconds")
        if isinstance(spec.get("rollbackWindow"), dict):
            f["rollback_window"] = spec["rollbackWindow"].get("revisions")
    elif kind in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
        metrics = spec.get("metrics")
        f["metrics"] = _names(metrics)
        providers: list[str] = []
        conds: list[str] = []
        queries: list[str] = []
        for m in metrics if isinstance(metrics, list) else []:
            if not isinstance(m, dict):
                continue
            prov = m.get("provider")
            if isinstance(prov, dict):
                providers.extend(str(k) for k in prov)
                for pv in prov.values():
                    if isinstance(pv, dict) and isinstance(pv.get("query"), str):
                        queries.append(pv["query"].strip())
            for key in ("successCondition", "failureCondition"):
                if m.get(key):
                    conds.append(f"{key}: {m[key]}")
        f["providers"], f["conditions"], f["queries"] = sorted(set(providers)), conds, queries
    elif kind == "Canary":
        an = as_dict(spec.get("analysis"))
        f["analysis"] = {k: an[k] for k in ("interval", "threshold", "maxWeight", "stepWeight", "iterations")
                         if k in an and not isinstance(an[k], (dict, list))}
        f["metrics"] = _names(an.get("metrics"))
        f["webhooks"] = _names(an.get("webhooks"))
        f["provider"] = spec.get("provider")
    elif kind == "VirtualService":
        weights: list[dict[str, Any]] = []
        mirror = False
        for route in as_list(spec.get("http")):
            if not isinstance(route, dict):
                continue
            mirror = mirror or "mirror" in route
            for dest in as_list(route.get("route")):
                if isinstance(dest, dict) and isinstance(dest.get("destination"), dict):
                    d = dest["destination"]
                    weights.append({"host": d.get("host"), "subset": d.get("subset"), "weight": dest.get("weight")})
        f["weights"], f["mirror"] = weights, mirror
    elif kind == "InferenceService":
        pred = as_dict(spec.get("predictor"))
        model = as_dict(pred.get("model"))
        if not model:
            model = next((v for v in pred.values() if isinstance(v, dict) and "storageUri" in v), {})
        f["canaryTrafficPercent"] = pred.get("canaryTrafficPercent", spec.get("canaryTrafficPercent"))
        f["storageUri"] = model.get("storageUri")
        fmt = model.get("modelFormat")
        f["model_format"] = fmt.get("name") if isinstance(fmt, dict) else None
        logger = pred.get("logger")
        f["logger"] = (logger.get("mode") or "all") if isinstance(logger, dict) else None
        f["explainer"] = isinstance(spec.get("explainer"), dict)
        f["transformer"] = isinstance(spec.get("transformer"), dict)
        f["minReplicas"] = pred.get("minReplicas")
    elif kind == "SeldonDeployment":
        preds = spec.get("predictors")
        f["traffic"] = [{"name": p.get("name"), "traffic": p.get("traffic"), "shadow": bool(p.get("shadow"))}
                        for p in preds if isinstance(p, dict)] if isinstance(preds, list) else []
        f["shadow"] = any(t["shadow"] for t in f["traffic"])
    elif kind == "Experiment" and "seldon" in str(doc.get("apiVersion", "")):
        cands = spec.get("candidates")
        f["candidates"] = [{"name": c.get("name") or c.get("modelName"), "weight": c.get("weight")}
                           for c in cands if isinstance(c, dict)] if isinstance(cands, list) else []
        f["mirror"] = isinstance(spec.get("mirror"), dict)
    elif kind == "Model" and "seldon" in str(doc.get("apiVersion", "")):
        f["storageUri"] = spec.get("storageUri")
    elif kind == "HorizontalPodAutoscaler":
        f["min"], f["max"] = spec.get("minReplicas"), spec.get("maxReplicas")
    return {k: v for k, v in f.items() if _jsonable(v)}


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False


def _k8s(path: str, text: str, diags: list[Diagnostic]) -> list[K8sResource]:
    templated = "{{" in text
    if templated:
        text = strip_templates(text)
    docs, d = load_yaml_docs(path, text)
    if not templated:
        diags.extend(d)
    out: list[K8sResource] = []
    for doc in docs:
        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not item.get("kind") or not item.get("apiVersion"):
                continue
            kind = str(item["kind"])
            meta = as_dict(item.get("metadata"))
            spec = as_dict(item.get("spec"))
            pod = _pod_spec(kind, spec)
            containers = _containers_of(pod)
            if kind == "InferenceService":
                for part in ("predictor", "transformer", "explainer"):
                    p = spec.get(part)
                    if isinstance(p, dict):
                        containers.extend(_containers_of(p))
            out.append(K8sResource(
                file=path, line=line_of(item) or 1, api_version=str(item["apiVersion"]), kind=kind,
                name=str(meta.get("name", "")), namespace=str(meta["namespace"]) if meta.get("namespace") else None,
                containers=tuple(containers), templated=templated, features=_features(kind, item)))
    return out


# --------------------------------------------------------------------------------------------------- Compose, Helm, IaC, MLmodel


def _compose(path: str, doc: Any) -> list[ComposeService]:
    services = doc.get("services") if isinstance(doc, dict) else None
    out: list[ComposeService] = []
    if not isinstance(services, dict):
        return out
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        build = svc.get("build")
        ctx = build if isinstance(build, str) else (build.get("context") if isinstance(build, dict) else None)
        cmd = svc.get("command")
        cmd_s = " ".join(map(str, cmd)) if isinstance(cmd, list) else (str(cmd) if cmd is not None else None)
        dep = svc.get("depends_on")
        img = svc.get("image")
        out.append(ComposeService(
            file=path, line=line_of(services, name) or 1, name=str(name),
            image=image_ref(str(img), line_of(svc, "image")) if img else None,
            build=str(ctx) if ctx is not None else None, command=cmd_s,
            healthcheck=isinstance(svc.get("healthcheck"), dict) and not svc["healthcheck"].get("disable"),
            restart=str(svc["restart"]) if svc.get("restart") else None,
            ports=tuple(str(p) for p in as_list(svc.get("ports"))),
            depends_on=tuple(map(str, dep)) if isinstance(dep, (list, dict)) else ()))
    return out


_IAC_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sagemaker_endpoint", re.compile(r"aws_sagemaker_endpoint(_configuration)?\b|AWS::SageMaker::Endpoint(Config)?\b|"
                                      r"sagemaker\.CfnEndpoint(Config)?\b"
                                      r"|\.deploy\(\s*initial_instance_count")),
    ("production_variant", re.compile(r"production_variants?|ProductionVariants?\b")),
    ("variant_weight", re.compile(r"initial_variant_weight|InitialVariantWeight|DesiredWeight|desired_weight")),
    ("data_capture", re.compile(r"data_capture_config|DataCaptureConfig|enable_capture|EnableCapture")),
    ("blue_green", re.compile(r"blue_green_update_policy|BlueGreenUpdatePolicy")),
    ("auto_rollback", re.compile(r"auto_rollback_configuration|AutoRollbackConfiguration")),
    ("canary_traffic", re.compile(r"canary_size|CanarySize|ALL_AT_ONCE|\"CANARY\"|'CANARY'|= \"CANARY\"")),
    ("linear_traffic", re.compile(r"linear_step_size|LinearStepSize")),
    ("model_monitor", re.compile(r"aws_sagemaker_monitoring_schedule|AWS::SageMaker::MonitoringSchedule|"
                                 r"create_monitoring_schedule|DefaultModelMonitor|ModelQualityMonitor")),
)


def _iac(path: str, text: str) -> list[IacSignal]:
    if not re.search(r"sagemaker|SageMaker", text):
        return []
    out: list[IacSignal] = []
    for n, line in enumerate(text.split("\n"), start=1):
        s = line.strip()
        if not s or s.startswith(("#", "//")):
            continue
        for signal, rx in _IAC_PATTERNS:
            if rx.search(line):
                out.append(IacSignal(file=path, line=n, signal=signal, text=s[:200]))
    return out


def _values_images(path: str, doc: Any) -> list[ImageRef]:
    out: list[ImageRef] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 8 or len(out) > 50:
            return
        if isinstance(node, dict):
            repo_ = node.get("repository")
            if isinstance(repo_, str) and ("tag" in node or "digest" in node):
                tag = node.get("tag")
                ref = repo_ + (f":{tag}" if tag not in (None, "") else "") + (
                    f"@{node['digest']}" if node.get("digest") else "")
                out.append(image_ref(ref, line_of(node, "repository")))
            for v in node.values():
                walk(v, depth + 1)
        elif isinstance(node, list):
            for v in node:
                walk(v, depth + 1)

    walk(doc, 0)
    return out


# --------------------------------------------------------------------------------------------------- entry point


def extract_manifests(files: Iterable[str], read: Reader) -> ManifestFacts:
    """Parse every deployment manifest among ``files``; see the module docstring."""
    diags: list[Diagnostic] = []
    dockerfiles: list[Dockerfile] = []
    compose: list[ComposeService] = []
    resources: list[K8sResource] = []
    charts: list[HelmChart] = []
    iac: list[IacSignal] = []
    mlmodels: list[MLmodelFile] = []
    bentos: list[Bentofile] = []
    values: dict[str, list[ImageRef]] = {}
    for path in sorted(f for f in files if wanted(f)):
        guard.check()  # the extractor budget, where the timer cannot interrupt (cooperative)
        base = posixpath.basename(path)
        lim = guard.limit()  # a per-file time budget: one slow file costs only its own facts
        try:
            with lim:
                if _DOCKERFILE.search(path):
                    text = read(path)
                    if text is not None:
                        dockerfiles.append(parse_dockerfile(path, text))
                    continue
                if base == "MLmodel":
                    text = read(path)
                    doc, d = load_yaml(path, text or "")
                    diags.extend(d)
                    if isinstance(doc, dict):
                        sig = doc.get("signature") if isinstance(doc.get("signature"), dict) else None
                        flavors = doc.get("flavors")
                        mlmodels.append(MLmodelFile(
                            file=path, flavors=tuple(map(str, flavors)) if isinstance(flavors, dict) else (),
                            signature=bool(sig and (sig.get("inputs") or sig.get("outputs"))),
                            inputs=str(sig.get("inputs"))[:2000] if sig and sig.get("inputs") else None,
                            outputs=str(sig.get("outputs"))[:2000] if sig and sig.get("outputs") else None,
                            run_id=str(doc["run_id"]) if doc.get("run_id") else None,
                            model_uuid=str(doc["model_uuid"]) if doc.get("model_uuid") else None))
                    continue
                text = read(path)
                if text is None:
                    continue
                if path.endswith((".tf", ".template", ".json")) or (_YAML.search(path) and "AWSTemplateFormatVersion"
                                                                     in text):
                    iac.extend(_iac(path, text))
                    if not _YAML.search(path):
                        continue
                if base == "bentofile.yaml":
                    doc, d = load_yaml(path, text)
                    diags.extend(d)
                    if isinstance(doc, dict):
                        py = as_dict(doc.get("python"))
                        pk = py.get("packages")
                        bentos.append(Bentofile(file=path, service=str(doc["service"]) if doc.get("service") else None,
                                                packages=tuple(map(str, pk)) if isinstance(pk, list) else ()))
                    continue
                if base == "Chart.yaml":
                    doc, d = load_yaml(path, text)
                    diags.extend(d)
                    if isinstance(doc, dict):
                        charts.append(HelmChart(file=path, name=str(doc.get("name", "")),
                                                version=str(doc["version"]) if doc.get("version") else None,
                                                app_version=str(doc["appVersion"]) if doc.get("appVersion") else None))
                    continue
                if re.match(r"values[^/]*\.ya?ml$", base):
                    doc, d = load_yaml(path, text if "{{" not in text else strip_templates(text))
                    diags.extend(d)
                    values[posixpath.dirname(path)] = _values_images(path, doc)
                    continue
                if _COMPOSE.search(path):
                    doc, d = load_yaml(path, text)
                    diags.extend(d)
                    compose.extend(_compose(path, doc))
                    continue
                if _YAML.search(path) and "apiVersion" in text and "kind" in text:
                    resources.extend(_k8s(path, text, diags))
        except Exception as exc:  # noqa: BLE001 - one file must not cost the others their facts
            diags.append(guard.failure("manifests", path, exc))
        if lim.overrun:
            diags.append(guard.stopped("manifests", path, lim.seconds))
    charts = [c.model_copy(update={"values_images": tuple(values.get(posixpath.dirname(c.file), ()))})
              for c in charts]
    sidecars: list[Location] = []
    for r in resources:
        for c in r.containers:
            if _is_sidecar(c.image.ref if c.image else None, c.command):
                sidecars.append(Location(path=r.file, line=c.line or r.line))
    for s in compose:
        if _is_sidecar(s.image.ref if s.image else None, [s.command or ""]):
            sidecars.append(Location(path=s.file, line=s.line))
    for df in dockerfiles:
        if _is_sidecar(None, [df.cmd or "", df.entrypoint or ""]):
            sidecars.append(Location(path=df.file, line=df.entrypoint_line or df.cmd_line))
    return ManifestFacts(dockerfiles=tuple(dockerfiles), compose=tuple(compose), resources=tuple(resources),
                         charts=tuple(charts), iac=tuple(iac), mlmodels=tuple(mlmodels), bentos=tuple(bentos),
                         sidecars=tuple(sidecars), diagnostics=tuple(diags))
