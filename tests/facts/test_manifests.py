"""manifests.extract_manifests over Dockerfiles, Compose, Kubernetes CRDs, Helm, IaC and model files."""

from __future__ import annotations

from mlscore.facts.manifests import ManifestFacts, extract_manifests, image_ref, wanted

from .conftest import make_repo


def facts(files: dict[str, str]) -> ManifestFacts:
    return extract_manifests(*make_repo(files))


DOCKERFILE = """
FROM python:3.11-slim@sha256:abc AS build
RUN pip install -r requirements.txt && \\
    python -m pytest tests
FROM build
COPY --chown=app src/ /app/src/
HEALTHCHECK --interval=30s CMD curl -f http://localhost:8080/health || exit 1
USER app
EXPOSE 8080
CMD ["uvicorn", "app.main:app", "--port", "8080"]
"""


def test_dockerfile() -> None:
    df = facts({"Dockerfile": DOCKERFILE, "docker/serve.Dockerfile": "FROM ubuntu\nENTRYPOINT mlscore sidecar\n"})
    main = next(d for d in df.dockerfiles if d.file == "Dockerfile")
    assert [(b.name, b.tag, b.digest, b.pinned, b.line) for b in main.bases] == [
        ("python", "3.11-slim", "sha256:abc", True, 1)]
    assert [(c.line, c.argv) for c in main.runs] == [(2, ("pip", "install", "-r", "requirements.txt")),
                                                    (3, ("python", "-m", "pytest", "tests"))]
    assert (main.cmd, main.cmd_line, main.healthcheck_line, main.user, main.expose, main.copies) == (
        "uvicorn app.main:app --port 8080", 9, 6, "app", ("8080",), ("src/",))
    other = next(d for d in df.dockerfiles if d.file != "Dockerfile")
    assert other.bases[0].latest and not other.bases[0].pinned
    assert [str(s) for s in df.sidecars] == ["docker/serve.Dockerfile:2"]


def test_image_ref() -> None:
    assert image_ref("ghcr.io/a/b:1.2").model_dump(exclude={"line", "ref"}) == {
        "name": "ghcr.io/a/b", "tag": "1.2", "digest": None, "pinned": True, "latest": False}
    assert image_ref("localhost:5000/model").tag is None
    assert image_ref("model:latest").latest
    assert not image_ref("repo/x:${TAG}").latest


ROLLOUT = """
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: model-server
spec:
  replicas: 3
  revisionHistoryLimit: 5
  strategy:
    canary:
      abortScaleDownDelaySeconds: 30
      analysis:
        templates:
          - templateName: error-rate
      steps:
        - setWeight: 20
        - pause: {duration: 5m}
        - analysis:
            templates:
              - templateName: latency
        - setWeight: 100
  template:
    spec:
      containers:
        - name: server
          image: acme/model:2.1.0
          readinessProbe: {httpGet: {path: /ready, port: 8080}}
          resources: {limits: {cpu: "1"}}
        - name: monitor
          image: ghcr.io/acme/mlscore:0.3
          args: ["mlscore", "sidecar", "--upstream", "http://localhost:8080"]
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: error-rate
spec:
  metrics:
    - name: error-rate
      failureCondition: result[0] > 0.05
      provider:
        prometheus:
          query: sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))
"""


def test_argo_rollout_and_analysis_template() -> None:
    f = facts({"deploy/rollout.yaml": ROLLOUT})
    assert f.diagnostics == ()
    ro, at = f.resources
    assert (ro.kind, ro.name, ro.line) == ("Rollout", "model-server", 1)
    assert ro.features == {"replicas": 3, "revisionHistoryLimit": 5, "strategy": "canary",
                           "canary_steps": ["setWeight:20", "pause:5m", "analysis:latency", "setWeight:100"],
                           "canary_analysis": ["error-rate"], "traffic_routing": None,
                           "abort_scale_down_delay": 30, "blue_green": False}
    server, _monitor = ro.containers
    assert (server.image.tag, server.probes, server.resources, server.line) == ("2.1.0", ("readiness",), True, 24)
    assert [str(s) for s in f.sidecars] == ["deploy/rollout.yaml:28"]
    assert at.features["metrics"] == ["error-rate"]
    assert at.features["providers"] == ["prometheus"]
    assert at.features["conditions"] == ["failureCondition: result[0] > 0.05"]


def test_kserve_seldon_istio_flagger() -> None:
    text = """
    apiVersion: serving.kserve.io/v1beta1
    kind: InferenceService
    metadata: {name: sklearn-iris}
    spec:
      predictor:
        canaryTrafficPercent: 10
        logger: {mode: all, url: http://broker}
        model:
          modelFormat: {name: sklearn}
          storageUri: gs://bucket/models/iris/v3
      explainer:
        alibi: {type: AnchorTabular}
    ---
    apiVersion: networking.istio.io/v1beta1
    kind: VirtualService
    metadata: {name: model}
    spec:
      http:
        - route:
            - destination: {host: model, subset: v1}
              weight: 90
            - destination: {host: model, subset: v2}
              weight: 10
          mirror: {host: model, subset: v3}
    ---
    apiVersion: flagger.app/v1beta1
    kind: Canary
    metadata: {name: api}
    spec:
      provider: istio
      analysis:
        interval: 1m
        threshold: 5
        maxWeight: 50
        stepWeight: 10
        metrics:
          - name: request-success-rate
        webhooks:
          - name: load-test
    ---
    apiVersion: machinelearning.seldon.io/v1
    kind: SeldonDeployment
    metadata: {name: sd}
    spec:
      predictors:
        - name: main
          traffic: 75
        - name: canary
          traffic: 25
    """
    f = facts({"k8s/all.yaml": text})
    by = {r.kind: r.features for r in f.resources}
    assert by["InferenceService"] == {"canaryTrafficPercent": 10, "storageUri": "gs://bucket/models/iris/v3",
                                      "model_format": "sklearn", "logger": "all", "explainer": True,
                                      "transformer": False, "minReplicas": None}
    assert by["VirtualService"] == {"weights": [{"host": "model", "subset": "v1", "weight": 90},
                                                {"host": "model", "subset": "v2", "weight": 10}], "mirror": True}
    assert by["Canary"] == {"analysis": {"interval": "1m", "threshold": 5, "maxWeight": 50, "stepWeight": 10},
                            "metrics": ["request-success-rate"], "webhooks": ["load-test"], "provider": "istio"}
    assert by["SeldonDeployment"]["traffic"] == [{"name": "main", "traffic": 75, "shadow": False},
                                                 {"name": "canary", "traffic": 25, "shadow": False}]


def test_helm_templates_compose_iac_mlmodel_bento() -> None:
    files = {
        "chart/Chart.yaml": "apiVersion: v2\nname: model\nversion: 0.1.0\nappVersion: '1.4'\n",
        "chart/values.yaml": "image:\n  repository: acme/model\n  tag: ''\nreplicaCount: 2\n",
        "chart/templates/deployment.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"model.fullname\" . }}\n"
            "spec:\n  replicas: {{ .Values.replicaCount }}\n  template:\n    spec:\n      containers:\n"
            "        - name: app\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n"
            "          {{- if .Values.probes }}\n          livenessProbe: {httpGet: {path: /, port: 80}}\n"
            "          {{- end }}\n"),
        "docker-compose.yml": ("services:\n  api:\n    build: .\n    command: uvicorn app:app\n"
                               "    healthcheck:\n      test: [CMD, curl, -f, http://localhost]\n"
                               "  prom:\n    image: prom/prometheus\n"),
        "infra/main.tf": ('resource "aws_sagemaker_endpoint_configuration" "ec" {\n  production_variants {\n'
                          '    initial_variant_weight = 1\n  }\n  data_capture_config {\n  }\n}\n'),
        "model/MLmodel": ("flavors:\n  sklearn: {}\n  python_function: {}\nrun_id: abc\nsignature:\n"
                          "  inputs: '[{\"name\": \"x\", \"type\": \"double\"}]'\n  outputs: null\n"),
        "bentofile.yaml": "service: 'service:svc'\npython:\n  packages: [scikit-learn]\n",
    }
    f = facts(files)
    assert f.diagnostics == ()
    (chart,) = f.charts
    assert (chart.name, chart.app_version, [i.ref for i in chart.values_images]) == ("model", "1.4", ["acme/model"])
    (dep,) = f.resources
    assert (dep.kind, dep.templated, dep.containers[0].name, dep.containers[0].probes) == (
        "Deployment", True, "app", ("liveness",))
    assert [(s.name, s.build, s.healthcheck, s.image.latest if s.image else None) for s in f.compose] == [
        ("api", ".", True, None), ("prom", None, False, True)]
    assert [(s.line, s.signal) for s in f.iac] == [(1, "sagemaker_endpoint"), (2, "production_variant"),
                                                   (3, "variant_weight"), (5, "data_capture")]
    (mlm,) = f.mlmodels
    assert (mlm.flavors, mlm.signature, mlm.run_id) == (("sklearn", "python_function"), True, "abc")
    assert f.bentos[0].packages == ("scikit-learn",)


def test_hostile_yaml() -> None:
    f = facts({"k8s/bad.yaml": "apiVersion: v1\nkind: Pod\nspec: [", "k8s/list.yaml": "- apiVersion\n- kind\n"})
    assert f.resources == ()
    assert [d.path for d in f.diagnostics] == ["k8s/bad.yaml"]


def test_wanted() -> None:
    assert all(wanted(p) for p in ["Dockerfile", "docker/Dockerfile.gpu", "serve.dockerfile", "k8s/x.yaml",
                                   "infra/main.tf", "model/MLmodel", "chart/Chart.yaml", "docker-compose.yml"])
    assert not any(wanted(p) for p in [".github/workflows/ci.yml", "dvc.yaml", "environment.yml", "README.md",
                                       "package.json", "src/app.py"])
