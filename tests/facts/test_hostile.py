"""Hostile inputs: every extractor returns facts and Diagnostics, never raises, and does bounded work."""

from __future__ import annotations

import random

import pytest

from mlscore.facts.automation import build_automation
from mlscore.facts.ci import extract_ci
from mlscore.facts.deps import extract_deps
from mlscore.facts.manifests import extract_manifests
from mlscore.facts.monitoring import extract_monitoring
from mlscore.facts.schedules import extract_schedules


def _bomb() -> str:
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    prev = "a"
    for name in "bcdefghij":
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    return text


def _garbage(seed: int, size: int = 4000) -> str:
    rng = random.Random(seed)
    alphabet = "ab:-[]{}&*!|>'\"\\#\n\t $(){};=<>`%@" + "\x00\x1b\u2028\ufeff\ud7ff"
    return "".join(rng.choice(alphabet) for _ in range(size))


PATHS = [
    ".github/workflows/ci.yml", ".gitlab-ci.yml", "azure-pipelines.yml", ".circleci/config.yml", "Jenkinsfile",
    "cloudbuild.yaml", "buildspec.yml", ".travis.yml", "dvc.yaml", "prefect.yaml", "k8s/app.yaml", "Dockerfile",
    "docker-compose.yml", "chart/Chart.yaml", "chart/values.yaml", "model/MLmodel", "infra/main.tf",
    "monitoring/rules.yml", "grafana/dash.json", "requirements.txt", "pyproject.toml", "setup.cfg", "setup.py",
    "Pipfile", "Pipfile.lock", "poetry.lock", "environment.yml", ".github/dependabot.yml", "renovate.json",
    "dags/dag.py", "ops/crontab", "Makefile", "tox.ini", "noxfile.py", "scripts/run.sh",
]


def _run_all(files: dict[str, str]):
    paths = sorted(files)
    read = files.get
    ci = extract_ci(paths, read)
    sched = extract_schedules(paths, read)
    model = build_automation(paths, read, ci, sched)
    return ci, sched, model, extract_manifests(paths, read), extract_monitoring(paths, read), extract_deps(
        paths, read)


@pytest.mark.parametrize("seed", range(6))
def test_random_garbage_never_raises(seed: int) -> None:
    files = {p: _garbage(seed * 100 + k) for k, p in enumerate(PATHS)}
    for result in _run_all(files):
        assert all(d.path in files for d in result.diagnostics)


def test_alias_bombs_everywhere_are_refused() -> None:
    bomb = _bomb()
    yaml_paths = [p for p in PATHS if p.endswith((".yml", ".yaml")) or p == "model/MLmodel"]
    files = {p: bomb + ("kind: CronJob\napiVersion: v1\n" if p.startswith("k8s") else "") for p in yaml_paths}
    results = _run_all(files)
    refused = {d.path for r in results for d in r.diagnostics if "alias bomb" in d.message}
    # every YAML-reading extractor refused it; monitoring only parses YAML that looks like monitoring config
    assert refused == set(yaml_paths) - {"monitoring/rules.yml"}


def test_huge_and_deep_inputs_are_bounded() -> None:
    files = {
        ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    steps:\n      - run: |\n" + (
            "          echo " + "x" * 200 + "\n") * 20_000,
        "k8s/deep.yaml": "apiVersion: v1\nkind: CronJob\nspec: " + "[" * 5000 + "]" * 5000 + "\n",
        "Makefile": "all:\n\tpytest\n" + " " * 50_000 + "x\n",
        "Jenkinsfile": "pipeline { " + "sh '" * 50_000,
        "pyproject.toml": "dependencies = " + "[" * 5000 + "]" * 5000,
        "grafana/dash.json": '{"panels": ' + "[" * 50_000 + "]" * 50_000 + "}",
        "dags/dag.py": "import airflow\nx = " + "(" * 5000 + ")" * 5000,
    }
    ci, sched, _model, manifests, monitoring, deps = _run_all(files)
    assert {d.path for d in ci.diagnostics} == {".github/workflows/ci.yml"}  # too large to parse
    assert {d.path for d in sched.diagnostics} == {"k8s/deep.yaml", "dags/dag.py"}
    assert {d.path for d in monitoring.diagnostics} == {"grafana/dash.json"}
    assert manifests.resources == () and deps.requirements == ()


def test_unicode_and_crlf_inputs() -> None:
    files = {
        ".github/workflows/ci.yml": "on: push\r\njobs:\r\n  a:\r\n    steps:\r\n      - run: pytest tests/ünï\r\n",
        "requirements.txt": "\ufeffnumpy==1.0\r\nscikit-learn>=1\r\n",
        "tests/ünï/test_x.py": "",
    }
    ci, _s, model, _m, _mo, deps = _run_all(files)
    assert ci.jobs[0].steps[0].commands[0].argv == ("pytest", "tests/ünï")
    assert model.reached_paths() == {"tests/ünï/test_x.py"}
    assert [r.name for r in deps.requirements] == ["numpy", "scikit-learn"]


def test_long_pipes_newline_runs_and_megabyte_lines_take_linear_time() -> None:
    import time

    from mlscore.facts.shell import split_script

    n = 60_000
    files = {
        "Jenkinsfile": "pipeline {\n" + "\n" * n + "/* never closed " + "/*" * 5000 + "\n  sh 'pytest'\n",
        "ci/build.groovy": "pipeline {\n stages {\n" + "  // c\n" * n + "}}\n",
        "cdk/cdk.json": "{}",
        "cdk/app.py": "from aws_cdk import aws_codebuild as codebuild\nx = '" + "a" * 500_000 + "\ncodebuild.Pipeline"
                      "Project(self, 'p', build_spec=codebuild.BuildSpec.from_object({'phases': {'build': "
                      "{'commands': ['pytest tests']}}}))\n",
        "infra/main.tf": "".join(f'resource "aws_codebuild_project" "p{k}" {{\n  source {{ buildspec = "b.yml" }}\n}}\n'
                                 for k in range(2000)),
    }
    started = time.perf_counter()
    ci, *_rest = _run_all(files)
    assert time.perf_counter() - started < 15
    assert {j.file for j in ci.jobs} >= {"Jenkinsfile", "ci/build.groovy", "cdk/app.py"}
    started = time.perf_counter()
    parsed = split_script("pytest" + " | tee log" * 20_000 + "\n" + "a && " * 20_000 + "b\n", errexit=False)
    assert time.perf_counter() - started < 10 and len(parsed.commands) > 40_000


def test_commented_step_pattern_is_linear_on_a_comment_line_of_blanks() -> None:
    import time

    from mlscore.facts.ci import _commented_steps

    started = time.perf_counter()
    got = _commented_steps(".github/workflows/ci.yml", "#" + " " * 100_000 + "x\n  # - run: pytest tests\n")
    assert time.perf_counter() - started < 2
    assert [(c.line, c.text) for c in got] == [(2, "run: pytest tests")]
