"""Property tests: generated YAML/JSON/TOML/Python/notebook shapes, with values of every wrong type, through every
extractor. None may raise, and none may need the fault isolation's catch-all ("extractor failed" diagnostics):
a value of the wrong type is something to skip or report, not an exception.

The shapes follow each format's skeleton (a workflow's jobs and steps, a Kubernetes resource's spec, an alert
group's rules...) so the generated values reach the code that reads them; any value may be replaced by a
templated string (``{{ .Values.x }}``, ``${VAR}``), a null, a list where a map belongs, a map where a list
belongs, a huge integer, a NaN or unicode. Runs are derandomized (the same examples every run) and small, so the
module takes seconds.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlscore.engine import build_context
from mlscore.facts import automation, ci, deps, manifests, monitoring, schedules, views
from mlscore.facts.files import index_path
from mlscore.facts.notebooks import parse_notebook
from mlscore.facts.python import parse_python
from mlscore.facts.repo import collect

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TEMPLATED = st.sampled_from(["{{ .Values.x }}", "{{ .Values.weight.green }}", "${VAR}", "${{ secrets.TOKEN }}",
                             "{{- include \"x\" . | nindent 4 }}", "{% if x %}", "$(VAR)", "@daily", "*/5 * * * *"])
WORDS = st.sampled_from(["pytest tests", "python train.py", "dvc repro", "make test", "kubectl apply -f k8s",
                         "model.fit(X)", "latency", "drift", "x", "", " ", "-", "main", "push", "schedule", "true",
                         "gs://bucket/model/v1", "org/model:1.2.3", "org/model@sha256:" + "a" * 64, "1.2.3", "0"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), TEMPLATED, WORDS,
)
#: any value: a scalar of any type, or a list or a map of them, nested
ANY = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.one_of(WORDS, st.text(max_size=6)), inner, max_size=3), max_leaves=8)


def shaped(skeleton: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A map with some of ``skeleton``'s keys, each value drawn from its strategy or from ANY (a wrong type)."""
    return st.fixed_dictionaries({}, optional={k: st.one_of(v, ANY) for k, v in skeleton.items()})


def seq(item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(st.one_of(item, ANY), max_size=3)


STEP = shaped({"run": WORDS, "uses": WORDS, "with": ANY, "if": ANY, "continue-on-error": ANY, "shell": WORDS,
               "working-directory": WORDS, "name": WORDS, "env": ANY})
GITHUB = shaped({"on": ANY, "jobs": st.dictionaries(WORDS, shaped({
    "runs-on": WORDS, "steps": seq(STEP), "if": ANY, "needs": ANY, "strategy": ANY, "uses": WORDS,
    "defaults": ANY, "continue-on-error": ANY}), max_size=2), "defaults": ANY})
GITLAB = st.dictionaries(st.sampled_from(["stages", "include", "variables", "test", ".base", "deploy", "default"]),
                         shaped({"script": seq(WORDS), "stage": WORDS, "rules": ANY, "only": ANY, "except": ANY,
                                 "extends": ANY, "allow_failure": ANY, "when": ANY, "before_script": ANY}),
                         max_size=3)
AZURE = shaped({"trigger": ANY, "schedules": ANY, "pr": ANY, "steps": seq(shaped(
    {"script": WORDS, "task": WORDS, "inputs": ANY, "bash": WORDS, "condition": ANY})), "jobs": ANY, "stages": ANY})
CIRCLE = shaped({"version": ANY, "jobs": st.dictionaries(WORDS, shaped({"steps": seq(shaped({"run": ANY}))}),
                                                          max_size=2), "workflows": ANY})
CLOUDBUILD = shaped({"steps": seq(shaped({"name": WORDS, "args": ANY, "entrypoint": WORDS, "script": WORDS}))})
CODEBUILD = shaped({"phases": shaped({"build": shaped({"commands": seq(WORDS)}), "install": ANY})})
TRAVIS = shaped({"script": ANY, "install": ANY, "jobs": ANY, "matrix": ANY})
DVC = shaped({"stages": st.dictionaries(WORDS, shaped({"cmd": WORDS, "deps": ANY, "outs": ANY, "params": ANY,
                                                        "wdir": WORDS, "foreach": ANY, "do": ANY}), max_size=2)})
KINDS = st.sampled_from(["VirtualService", "Rollout", "InferenceService", "SeldonDeployment", "CronJob",
                         "Deployment", "Canary", "Experiment", "AnalysisTemplate", "HorizontalPodAutoscaler",
                         "PrometheusRule", "ServiceMonitor", "Workflow", "CronWorkflow", "Model", "List", "Pod"])
K8S = st.fixed_dictionaries({"apiVersion": st.one_of(WORDS, st.just("serving.kserve.io/v1beta1"),
                                                     st.just("machinelearning.seldon.io/v1"), ANY),
                             "kind": st.one_of(KINDS, ANY)},
                            optional={"metadata": ANY, "items": ANY, "spec": shaped({
                                "template": ANY, "jobTemplate": ANY, "schedule": ANY, "http": seq(shaped({
                                    "route": seq(shaped({"destination": ANY, "weight": ANY})), "mirror": ANY})),
                                "predictor": ANY, "predictors": ANY, "strategy": ANY, "analysis": ANY,
                                "candidates": ANY, "groups": ANY, "containers": ANY, "suspend": ANY,
                                "endpoints": ANY, "metrics": ANY, "explainer": ANY, "canaryTrafficPercent": ANY})})
COMPOSE = shaped({"services": st.dictionaries(WORDS, shaped({
    "image": WORDS, "build": ANY, "command": ANY, "healthcheck": ANY, "ports": ANY, "depends_on": ANY,
    "restart": ANY}), max_size=2)})
RULES = shaped({"groups": seq(shaped({"name": WORDS, "rules": seq(shaped({
    "alert": WORDS, "expr": WORDS, "for": ANY, "labels": ANY, "annotations": ANY, "record": WORDS}))}))})
DOCS: dict[str, st.SearchStrategy[Any]] = {
    ".github/workflows/ci.yml": GITHUB,
    ".gitlab-ci.yml": GITLAB,
    "azure-pipelines.yml": AZURE,
    ".circleci/config.yml": CIRCLE,
    "cloudbuild.yaml": CLOUDBUILD,
    "buildspec.yml": CODEBUILD,
    ".travis.yml": TRAVIS,
    "dvc.yaml": DVC,
    "k8s/app.yaml": K8S,
    "chart/templates/app.yaml": K8S,
    "docker-compose.yml": COMPOSE,
    "chart/values.yaml": shaped({"image": shaped({"repository": WORDS, "tag": ANY, "digest": ANY})}),
    "chart/Chart.yaml": shaped({"name": ANY, "version": ANY, "appVersion": ANY}),
    "monitoring/rules.yml": RULES,
    "prometheus/prometheus.yml": shaped({"scrape_configs": ANY, "rule_files": ANY, "alerting": ANY}),
    "alertmanager/alertmanager.yml": shaped({"route": ANY, "receivers": ANY}),
    "environment.yml": shaped({"dependencies": seq(st.one_of(WORDS, shaped({"pip": seq(WORDS)}))), "name": ANY}),
    ".github/dependabot.yml": shaped({"version": ANY, "updates": seq(shaped({
        "package-ecosystem": WORDS, "schedule": ANY, "directory": ANY, "directories": ANY}))}),
    "prefect.yaml": shaped({"deployments": seq(shaped({"name": WORDS, "entrypoint": WORDS, "schedule": ANY,
                                                       "schedules": ANY}))}),
    "model/MLmodel": shaped({"flavors": ANY, "signature": ANY, "run_id": ANY, "model_uuid": ANY}),
    "bentofile.yaml": shaped({"service": ANY, "python": ANY}),
}
JSON_DOCS: dict[str, st.SearchStrategy[Any]] = {
    "grafana/dashboard.json": shaped({"panels": ANY, "rows": ANY, "title": ANY, "alert": ANY}),
    "renovate.json": shaped({"enabledManagers": ANY, "schedule": ANY, "extends": ANY}),
    "Pipfile.lock": shaped({"default": ANY, "develop": ANY}),
    "infra/template.json": shaped({"AWSTemplateFormatVersion": ANY, "Resources": ANY}),
}
PY_LINES = st.lists(st.sampled_from([
    "import airflow", "from airflow import DAG", "with DAG('d', schedule_interval='@daily') as dag:",
    "    t = BashOperator(task_id='t', bash_command='python train.py')", "def test_x():", "    assert x == 1",
    "from sklearn.model_selection import GridSearchCV", "for C in [1, 2, 3]:", "    model.fit(X)",
    "setup(install_requires=['numpy==1.0', x], extras_require={'dev': ['pytest']})", "x = (", "@flow",
    "def f(", "class A(Base):", "    x: int = Field(ge=0)", "schedule.every(10).minutes.do(job)", "'''", "\t",
    "if True:", "    pass", "x = [" + "1, " * 30, "print(f'{x!r:>{w}}')", "async def g(): await h()",
]), max_size=12)


def _yaml(doc: Any, templated: bool) -> str:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    if templated:  # Helm writes placeholders unquoted: `weight: {{ .Values.weight }}`
        text = text.replace("'{{", "{{").replace("}}'", "}}")
    return text


def _toml_string(value: Any) -> str:
    return json.dumps(str(value), ensure_ascii=True)


@st.composite
def trees(draw: st.DrawFn) -> dict[str, str]:
    """Files of one generated repository: every structured format at its usual path."""
    files: dict[str, str] = {}
    for path, strategy in DOCS.items():
        docs = draw(st.lists(strategy, min_size=1, max_size=2))
        templated = draw(st.booleans())
        files[path] = "---\n".join(_yaml(d, templated) for d in docs)
    for path, strategy in JSON_DOCS.items():
        files[path] = json.dumps(draw(strategy))
    reqs = draw(st.lists(st.one_of(WORDS, st.text(max_size=20), st.just("-r other.txt"), st.just("pkg==1.* \\"),
                                   st.just("--hash=sha256:" + "0" * 64)), max_size=6))
    files["requirements.txt"] = "\n".join(reqs)
    deps_list = draw(st.lists(st.one_of(WORDS, TEMPLATED, st.text(max_size=10)), max_size=4))
    poetry = draw(st.dictionaries(st.sampled_from(["numpy", "python", "torch", "x"]),
                                  st.one_of(WORDS, TEMPLATED), max_size=3))
    files["pyproject.toml"] = ("[project]\nname = \"x\"\ndependencies = [" + ", ".join(map(_toml_string, deps_list))
                               + "]\n[tool.poetry.dependencies]\n"
                               + "".join(f"{k} = {_toml_string(v)}\n" for k, v in poetry.items()))
    files["setup.cfg"] = "[options]\ninstall_requires =\n" + "".join(f"    {r}\n" for r in reqs[:3])
    for path in ("dags/pipeline.py", "setup.py", "src/train.py", "tests/test_train.py"):
        files[path] = "\n".join(draw(PY_LINES)) + "\n"
    files["Jenkinsfile"] = "pipeline { stages { stage('t') { steps { sh '" + draw(WORDS) + "' } } } }\n"
    files["Dockerfile"] = "FROM " + draw(WORDS) + "\nRUN " + draw(WORDS) + "\nCMD " + json.dumps(
        draw(st.lists(ANY, max_size=3)), default=str) + "\n"
    files["ops/crontab"] = draw(st.sampled_from(["", "0 3 * * * python train.py", "@daily dvc repro", "* * *"]))
    files["notebooks/n.ipynb"] = json.dumps(draw(notebooks()), default=str)
    return files


@st.composite
def notebooks(draw: st.DrawFn) -> Any:
    cell = shaped({"cell_type": st.sampled_from(["code", "markdown", "raw"]),
                   "source": st.one_of(st.lists(st.sampled_from(["import x\n", "%pip install y\n", "model.fit(X)\n",
                                                                  "!ls\n", "# Results\n"]), max_size=3), WORDS),
                   "outputs": seq(shaped({"output_type": WORDS, "text": ANY, "data": ANY})),
                   "execution_count": ANY, "prompt_number": ANY, "input": ANY})
    return draw(st.one_of(shaped({"cells": seq(cell), "nbformat": ANY, "worksheets": ANY,
                                  "metadata": ANY}), ANY))


def _raw_extractors(files: dict[str, str]) -> list[Any]:
    paths, read = sorted(files), files.get
    ci_facts = ci.extract_ci(paths, read)
    sched = schedules.extract_schedules(paths, read)
    return [ci_facts, sched, automation.build_automation(paths, read, ci_facts, sched),
            deps.extract_deps(paths, read), manifests.extract_manifests(paths, read),
            monitoring.extract_monitoring(paths, read)]


def _failures(diagnostics: Any) -> list[str]:
    return [f"{d.path}: {d.message}" for d in diagnostics if "extractor failed" in d.message]


@SETTINGS
@given(trees())
def test_every_extractor_takes_any_shape_without_raising(files: dict[str, str]) -> None:
    results = _raw_extractors(files)  # no exception escapes any of them
    for result in results:
        assert not _failures(result.diagnostics)
    man = results[4]
    diagnostics: list[Any] = []
    views._manifest_views(man, diagnostics)  # the views detectors read, built from any resource features
    for rule in results[5].alerts():
        views._alert_view(rule)
    assert not _failures(diagnostics)


@SETTINGS
@given(trees())
def test_the_audit_context_is_built_from_any_tree_without_the_catch_all(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        facts = collect(index_path(root))
        ctx = build_context(facts)
        assert not ctx.cache.get("missing_facts")
        assert not _failures([*facts.diagnostics, *ctx.cache["diagnostics"]])


@SETTINGS
@given(notebooks())
def test_notebooks_of_any_shape_parse_or_say_why(doc: Any) -> None:
    nb = parse_notebook("n.ipynb", json.dumps(doc, default=str))
    if nb.error is None:
        assert nb.python is not None  # the code cells parse, cell by cell when one does not


@SETTINGS
@given(PY_LINES, st.text(max_size=40))
def test_python_of_any_shape_parses_or_says_why(lines: list[str], noise: str) -> None:
    for text in ("\n".join(lines), "\n".join(lines) + noise, noise):
        facts = parse_python("x.py", text)
        assert facts.error is None or facts.error.startswith("not parsed")
