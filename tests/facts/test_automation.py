"""automation.build_automation: what CI and pipelines actually run, through indirections."""

from __future__ import annotations

from mlscore.facts.automation import AutomationModel, build_automation
from mlscore.facts.ci import extract_ci
from mlscore.facts.schedules import extract_schedules

from .conftest import make_repo

PUSH = ("ci_push",)


def model(files: dict[str, str]) -> AutomationModel:
    paths, read = make_repo(files)
    return build_automation(paths, read, extract_ci(paths, read), extract_schedules(paths, read))


def wf(*runs: str, on: str = "push", extra: str = "") -> str:
    steps = "\n".join(f"      - run: {r}" for r in runs)
    return f"on: {on}\njobs:\n  a:\n    runs-on: ubuntu-latest\n{extra}    steps:\n{steps}\n"


def chains(m: AutomationModel, path: str) -> list[str]:
    return [r.chain_text for r in m.reaches(path)]


def test_pytest_paths_and_default_discovery_with_testpaths() -> None:
    m = model({
        ".github/workflows/ci.yml": wf("pip install -e .", "pytest"),
        "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
        "tests/test_a.py": "", "tests/unit/b_test.py": "", "tests/helper.py": "", "tests/conftest.py": "",
        "other/test_c.py": "",
    })
    assert m.reached_paths() == {"tests/test_a.py", "tests/unit/b_test.py", "tests/conftest.py"}
    r = m.reaches("tests/test_a.py")[0]
    assert (r.triggers, r.how, r.swallowed, r.chain_text) == (
        PUSH, "test", False, ".github/workflows/ci.yml:7 -> tests/test_a.py")
    assert [i.kind for i in m.invocations] == ["setup", "pytest"]
    assert m.invocations[0].setup_only


def test_pytest_explicit_args_options_and_missing() -> None:
    m = model({
        ".github/workflows/ci.yml": wf("python -m pytest -k slow --cov src tests/unit tests/missing "
                                       "--ignore=tests/unit/test_skip.py"),
        "src/pkg/__init__.py": "", "tests/unit/test_x.py": "", "tests/unit/test_skip.py": "",
    })
    assert m.reached_paths() == {"tests/unit/test_x.py"}
    assert [(u.reference, str(u.location)) for u in m.unresolved] == [("tests/missing", ".github/workflows/ci.yml:6")]


def test_make_targets_prerequisites_scripts_and_swallow_prefix() -> None:
    makefile = (
        "PY = python\n"
        ".PHONY: test\n"
        "all: lint test\n"
        "\n"
        "lint:\n"
        "\tflake8 src\n"
        "\n"
        "test: data\n"
        "\t$(PY) -m pytest tests -x\n"
        "\t-$(PY) scripts/eval.py\n"
        "\n"
        "data:\n"
        "\tbash scripts/get_data.sh\n"
    )
    m = model({
        ".github/workflows/ci.yml": wf("make"),
        "Makefile": makefile,
        "scripts/get_data.sh": "#!/bin/bash\nset -e\ndvc pull\npython -m mypkg.prepare --out data/\n",
        "scripts/eval.py": "",
        "src/mypkg/__init__.py": "", "src/mypkg/prepare.py": "from mypkg import features\n",
        "src/mypkg/features.py": "", "tests/test_a.py": "",
    })
    assert chains(m, "tests/test_a.py") == [".github/workflows/ci.yml:6 -> Makefile:8 -> Makefile:9 -> tests/test_a.py"]
    assert chains(m, "src/mypkg/prepare.py") == [
        ".github/workflows/ci.yml:6 -> Makefile:12 -> Makefile:13 -> scripts/get_data.sh:4 -> src/mypkg/prepare.py"]
    feat = m.reaches("src/mypkg/features.py")[0]
    assert (feat.how, feat.depth) == ("import", 1)
    ev = m.reaches("scripts/eval.py")[0]
    assert (ev.swallowed, ev.swallow_reason, ev.counts) == (True, "make recipe prefixed with '-'", False)
    assert [i.command for i in m.find(r"\bflake8\b")] == ["flake8 src"]


def test_swallowed_step_counts_only_when_surfaced() -> None:
    quiet = model({".github/workflows/ci.yml": wf("pytest tests || true"), "tests/test_a.py": ""})
    r = quiet.reaches("tests/test_a.py")[0]
    assert (r.swallowed, r.swallow_reason, r.surfaced, r.counts) == (True, "|| true", False, False)
    assert quiet.best("tests/test_a.py") is None
    loud = model({".github/workflows/ci.yml": wf("pytest tests > out.txt || true", "cml comment create out.txt"),
                  "tests/test_a.py": ""})
    r2 = loud.reaches("tests/test_a.py")[0]
    assert (r2.swallowed, r2.surfaced, r2.surfaces, r2.counts) == (True, True, ("pr_comment",), True)


def test_a_swallowed_step_writing_to_a_file_is_surfaced_only_by_publishing_that_file() -> None:
    """G7: `pytest > results/code.txt` not last in a script without errexit loses its status and its log; a later PR
    comment of other results does not surface it (Made-With-ML's workloads.sh), one of that file does."""
    script = "#!/bin/bash\npython -m pytest tests > results/code.txt\npython train.py > results/train.md\n"
    other = model({".github/workflows/ci.yml": wf("bash jobs/run.sh", "cml comment create results/train.md"),
                   "jobs/run.sh": script, "tests/test_a.py": "", "train.py": ""})
    r = other.reaches("tests/test_a.py")[0]
    assert (r.swallowed, r.surfaced, r.counts) == (True, False, False)
    same = model({".github/workflows/ci.yml": wf("bash jobs/run.sh", "cml comment create results/code.txt"),
                  "jobs/run.sh": script, "tests/test_a.py": "", "train.py": ""})
    r2 = same.reaches("tests/test_a.py")[0]
    assert (r2.swallowed, r2.surfaced, r2.counts) == (True, True, True)


def test_a_working_directory_the_tree_lacks_is_the_jobs_clone_of_the_repository() -> None:
    """Cloud Build clones the repository and runs steps in `dir: <clone>`; its paths are the tree's."""
    build = ("steps:\n- name: gcr.io/cloud-builders/git\n  args: [clone, --depth, '1', $_REPO_URL]\n"
             "- name: python:3.11\n  entrypoint: pytest\n  args: [src/tests/model_tests.py]\n  dir: my-repo\n")
    m = model({"build/ci.yaml": build, "src/tests/model_tests.py": ""})
    assert m.reached_paths() == {"src/tests/model_tests.py"}


def test_disabled_steps_and_jobs_reach_nothing() -> None:
    text = ("on: push\njobs:\n  a:\n    if: false\n    runs-on: x\n    steps:\n      - run: python a.py\n"
            "  b:\n    runs-on: x\n    steps:\n      - if: ${{ false }}\n        run: python b.py\n")
    m = model({".github/workflows/ci.yml": text, "a.py": "", "b.py": ""})
    assert m.reached_paths() == set()
    assert [(i.command, i.disabled) for i in m.invocations] == [("python a.py", True), ("python b.py", True)]


def test_missing_script_is_unresolved_not_reached() -> None:
    m = model({".github/workflows/ci.yml": wf("python scripts/train.py", "bash run_all.sh", "./deploy.sh")})
    assert m.reached_paths() == set()
    assert [u.reference for u in m.unresolved] == ["scripts/train.py", "run_all.sh", "deploy.sh"]


def test_working_directory_and_module_resolution_src_layout() -> None:
    text = ("on: [push, pull_request]\njobs:\n  a:\n    runs-on: x\n    defaults:\n      run:\n"
            "        working-directory: ml\n    steps:\n      - run: python -m trainer.train\n"
            "      - run: python scripts/validate.py\n")
    m = model({".github/workflows/ci.yml": text, "ml/src/trainer/__init__.py": "",
               "ml/src/trainer/train.py": "", "ml/scripts/validate.py": ""})
    assert m.reached_paths() == {"ml/src/trainer/train.py", "ml/scripts/validate.py"}
    assert m.reaches("ml/src/trainer/train.py")[0].triggers == ("ci_push", "ci_pull_request")


def test_schedule_trigger_and_best_for_monitoring() -> None:
    m = model({
        ".github/workflows/nightly.yml": wf("python monitor/drift.py", on="{schedule: [{cron: '0 2 * * *'}]}"),
        ".github/workflows/ci.yml": wf("python monitor/drift.py"),
        "monitor/drift.py": "",
    })
    best = m.best("monitor/drift.py", monitoring=True)
    assert best is not None and best.triggers == ("ci_schedule",)
    assert best.chain_text == ".github/workflows/nightly.yml:6 -> monitor/drift.py"


def test_tox_and_nox_sessions() -> None:
    tox = ("[tox]\nenvlist = py311, lint\n\n[testenv]\ncommands =\n    pytest {posargs:tests}\n\n"
           "[testenv:lint]\ncommands = flake8 src\n")
    nox = ("import nox\n\nnox.options.sessions = ['tests']\n\n@nox.session(python=['3.11'])\n"
           "def tests(session):\n    session.install('-e', '.')\n    session.run('pytest', 'tests/unit')\n\n"
           "@nox.session\ndef docs(session):\n    session.run('python', 'docs/build.py')\n")
    m = model({".github/workflows/ci.yml": wf("tox", "nox"), "tox.ini": tox, "noxfile.py": nox,
               "tests/test_a.py": "", "tests/unit/test_b.py": "", "docs/build.py": ""})
    assert chains(m, "tests/test_a.py") == [".github/workflows/ci.yml:6 -> tox.ini:6 -> tests/test_a.py"]
    assert chains(m, "tests/unit/test_b.py") == [
        ".github/workflows/ci.yml:6 -> tox.ini:6 -> tests/unit/test_b.py",
        ".github/workflows/ci.yml:7 -> noxfile.py:8 -> tests/unit/test_b.py"]
    assert "docs/build.py" not in m.reached_paths()  # not a default session
    assert [i.command for i in m.find("flake8")] == ["flake8 src"]


def test_dvc_repro_named_stage_with_upstream_and_pipeline_trigger() -> None:
    dvc = ("stages:\n  prepare:\n    cmd: python src/prepare.py\n    outs: [data/prepared]\n"
           "  train:\n    cmd: python src/train.py\n    deps: [data/prepared]\n    outs: [model.pkl]\n"
           "  report:\n    cmd: python src/report.py\n    deps: [model.pkl]\n")
    m = model({".github/workflows/ci.yml": wf("dvc repro train"), "dvc.yaml": dvc, "src/prepare.py": "",
               "src/train.py": "", "src/report.py": ""})
    assert sorted(r.triggers for r in m.reaches("src/train.py")) == [("ci_push",), ("pipeline",)]
    assert [r.triggers for r in m.reaches("src/report.py")] == [("pipeline",)]
    ci_train = next(r for r in m.reaches("src/train.py") if r.triggers == PUSH)
    assert ci_train.chain_text == ".github/workflows/ci.yml:6 -> dvc.yaml:5 -> dvc.yaml:6 -> src/train.py"
    assert [r.triggers for r in m.reaches("src/prepare.py")].count(PUSH) == 1


def test_notebooks_papermill_nbconvert_and_nbmake() -> None:
    m = model({".github/workflows/ci.yml": wf("papermill nb/train.ipynb out.ipynb -p alpha 0.1",
                                                "jupyter nbconvert --to notebook --execute nb/eda.ipynb",
                                                "pytest --nbmake nb/"),
               "nb/train.ipynb": "{}", "nb/eda.ipynb": "{}", "nb/other.ipynb": "{}"})
    assert {p: [r.how for r in m.reaches(p)] for p in sorted(m.reached_paths())} == {
        "nb/eda.ipynb": ["notebook", "notebook"], "nb/other.ipynb": ["notebook"],
        "nb/train.ipynb": ["notebook", "notebook"]}


def test_task_runners_poetry_uv_poe_and_console_scripts() -> None:
    pyproject = ('[project]\nname = "x"\n[project.scripts]\ntrain-model = "pkg.cli:main"\n'
                 '[tool.poe.tasks]\ntest = "pytest tests"\ncheck = ["lint", "test"]\nlint = "ruff check ."\n')
    m = model({".github/workflows/ci.yml": wf("poetry run poe check", "uv run train-model --epochs 1"),
               "pyproject.toml": pyproject, "tests/test_a.py": "", "src/pkg/__init__.py": "",
               "src/pkg/cli.py": ""})
    assert chains(m, "tests/test_a.py") == [
        ".github/workflows/ci.yml:6 -> pyproject.toml:7 -> pyproject.toml:6 -> tests/test_a.py"]
    assert m.reaches("src/pkg/cli.py")[0].how == "module"


def test_bash_c_and_composite_and_reusable() -> None:
    files = {
        ".github/workflows/ci.yml": ("on: pull_request\njobs:\n  a:\n    runs-on: x\n    steps:\n"
                                     "      - uses: ./.github/actions/check\n  b:\n"
                                     "    uses: ./.github/workflows/tests.yml\n"),
        ".github/workflows/tests.yml": wf("bash -c 'python -m pytest tests'", on="workflow_call"),
        ".github/actions/check/action.yml": ("runs:\n  using: composite\n  steps:\n"
                                            "    - run: python tools/check.py\n      shell: bash\n"),
        "tools/check.py": "", "tests/test_a.py": "",
    }
    m = model(files)
    assert chains(m, "tools/check.py") == [
        ".github/workflows/ci.yml:6 -> .github/actions/check/action.yml:4 -> tools/check.py"]
    r = m.reaches("tests/test_a.py")[0]
    assert r.triggers == ("ci_pull_request",)


def test_uncalled_reusable_workflow_triggers_nothing() -> None:
    m = model({".github/workflows/tests.yml": wf("pytest tests", on="workflow_call"), "tests/test_a.py": ""})
    assert m.reached_paths() == set()


def test_recursion_is_bounded() -> None:
    m = model({".github/workflows/ci.yml": wf("make a", "bash loop.sh"),
               "Makefile": "a: b\n\t$(MAKE) a\nb: a\n\tmake b\n", "loop.sh": "bash loop.sh\nbash loop.sh\n"})
    assert len(m.invocations) < 500


def test_python_inline_imports_are_reached_as_imports() -> None:
    text = ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: |\n          python -c \"\n"
            "          from src.data.download import main\n          print('ok')\n          \"\n")
    m = model({".github/workflows/ci.yml": text, "src/__init__.py": "", "src/data/__init__.py": "",
               "src/data/download.py": ""})
    (inv,) = m.invocations
    assert (inv.kind, inv.location.line, inv.targets) == ("python_inline", 7, ("src/data/download.py",))
    r = m.reaches("src/data/download.py")[0]
    assert (r.how, r.depth, r.chain_text) == ("import", 1, ".github/workflows/ci.yml:7 -> src/data/download.py")


def test_docker_build_compose_run_mlflow_run_kedro_run() -> None:
    files = {
        ".github/workflows/ci.yml": wf("docker build -f docker/Dockerfile .", "docker compose run api pytest tests",
                                       "mlflow run . -e train -P alpha=0.5", "kedro run"),
        "docker/Dockerfile": "FROM python:3.11\nCOPY . /app\nWORKDIR /app\nRUN python scripts/smoke.py\n",
        "scripts/smoke.py": "",
        "docker-compose.yml": "services:\n  api:\n    build: ./service\n    command: uvicorn app:app\n",
        "service/tests/test_api.py": "",
        "MLproject": "name: p\nentry_points:\n  train:\n    parameters: {alpha: float}\n"
                     "    command: python train.py --alpha {alpha}\n",
        "train.py": "",
        "src/proj/pipeline_registry.py": "", "src/proj/pipelines/features/pipeline.py": "",
    }
    m = model(files)
    assert chains(m, "scripts/smoke.py") == [".github/workflows/ci.yml:6 -> docker/Dockerfile:4 -> scripts/smoke.py"]
    assert chains(m, "service/tests/test_api.py") == [
        ".github/workflows/ci.yml:7 -> docker-compose.yml:2 -> service/tests/test_api.py"]
    assert chains(m, "train.py") == [".github/workflows/ci.yml:8 -> MLproject:5 -> train.py"]
    assert m.reaches("src/proj/pipelines/features/pipeline.py")[0].how == "stage"
    assert [i.kind for i in m.invocations if i.location.path == ".github/workflows/ci.yml"] == [
        "docker", "docker", "mlflow", "kedro"]


def test_step_event_conditions_narrow_triggers() -> None:
    text = ("on: [push, pull_request]\njobs:\n  a:\n    runs-on: x\n    steps:\n"
            "      - if: github.event_name == 'push'\n        run: python deploy.py\n")
    m = model({".github/workflows/ci.yml": text, "deploy.py": ""})
    assert m.reaches("deploy.py")[0].triggers == ("ci_push",)


def test_submitted_jobs_anyscale_azureml_kubectl_ray() -> None:
    files = {
        ".github/workflows/ci.yml": wf("anyscale jobs submit deploy/jobs/workloads.yaml --wait",
                                       "az ml job create --file ml/job.yml", "kubectl apply -f k8s/train-job.yaml",
                                       "ray job submit --working-dir . -- python tune.py"),
        "deploy/jobs/workloads.yaml": "name: w\nruntime_env:\n  working_dir: .\nentrypoint: bash deploy/jobs/run.sh\n",
        "deploy/jobs/run.sh": "python -m pytest tests/code > out.txt\ncat out.txt\n",
        "tests/code/test_a.py": "",
        "ml/job.yml": "code: ../src\ncommand: >-\n  python train.py --data ${{inputs.data}}\n",
        "src/train.py": "",
        "k8s/train-job.yaml": ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: t}\nspec:\n  template:\n    spec:\n"
                               "      containers:\n        - name: t\n          command: [python, jobs/evaluate.py]\n"),
        "jobs/evaluate.py": "", "tune.py": "",
    }
    m = model(files)
    r = m.reaches("tests/code/test_a.py")[0]
    assert r.chain_text == (".github/workflows/ci.yml:6 -> deploy/jobs/workloads.yaml:4 -> deploy/jobs/run.sh:1"
                            " -> tests/code/test_a.py")
    assert (r.swallowed, r.swallow_reason) == (True, "errexit off (set +e or shell without -e) and not the last command")
    assert chains(m, "src/train.py") == [".github/workflows/ci.yml:7 -> ml/job.yml:3 -> src/train.py"]
    assert chains(m, "jobs/evaluate.py") == [".github/workflows/ci.yml:8 -> k8s/train-job.yaml:9 -> jobs/evaluate.py"]
    assert chains(m, "tune.py") == [".github/workflows/ci.yml:9 -> tune.py"]


def test_pre_commit_gx_actions_and_python_shell() -> None:
    text = ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: pre-commit/action@v3.0.1\n"
            "      - uses: great-expectations/great_expectations_action@main\n        with:\n"
            "          CHECKPOINTS: 'taxi, churn'\n      - shell: python\n        run: |\n"
            "          from pipeline import validate\n          validate.main()\n")
    files = {
        ".github/workflows/ci.yml": text,
        ".pre-commit-config.yaml": ("repos:\n  - repo: local\n    hooks:\n      - id: schema\n"
                                    "        entry: python tools/check_schema.py\n        language: system\n"
                                    "        pass_filenames: false\n"),
        "tools/check_schema.py": "",
        "great_expectations/checkpoints/taxi.yml": "name: taxi\n",
        "pipeline/__init__.py": "", "pipeline/validate.py": "",
    }
    m = model(files)
    assert chains(m, "tools/check_schema.py") == [
        ".github/workflows/ci.yml:6 -> .pre-commit-config.yaml:4 -> tools/check_schema.py"]
    assert m.reaches("great_expectations/checkpoints/taxi.yml")[0].how == "config"
    assert [u.reference for u in m.unresolved] == ["checkpoints/churn"]
    assert m.reaches("pipeline/validate.py")[0].how == "import"


def test_surfacing_only_covers_earlier_steps() -> None:
    m = model({".github/workflows/ci.yml": wf("cml comment create report.md", "pytest tests || true"),
               "tests/test_a.py": ""})
    r = m.reaches("tests/test_a.py")[0]
    assert (r.swallowed, r.surfaced, r.counts) == (True, False, False)


def test_more_task_runners_unittest_and_make_dash_c() -> None:
    files = {
        ".github/workflows/ci.yml": wf("just test", "invoke lint", "hatch run cov", "pdm run check",
                                       "python -m unittest discover -s tests_u -p '*_check.py'", "make -C ml train",
                                       "tox -e py311"),
        "justfile": "default: test\n\ntest:\n    pytest tests_j\n",
        "tests_j/test_j.py": "",
        "tasks.py": ("from invoke import task\n\n@task\ndef lint(c):\n    c.run('python tools/lint_data.py')\n"),
        "tools/lint_data.py": "",
        "pyproject.toml": ('[tool.hatch.envs.default.scripts]\ncov = "pytest tests_h"\n'
                           '[tool.pdm.scripts]\ncheck = {cmd = "python tools/pdm_check.py"}\n'
                           '[tool.tox]\nlegacy_tox_ini = """\n[tox]\nenvlist = py311\n\n[testenv]\n'
                           'commands = pytest tests_t\n"""\n'),
        "tests_h/test_h.py": "", "tools/pdm_check.py": "", "tests_t/test_t.py": "",
        "tests_u/a_check.py": "", "tests_u/test_not_matching.py": "",
        "ml/Makefile": "train:\n\tpython train.py\n", "ml/train.py": "",
    }
    m = model(files)
    got = {p: m.reaches(p)[0].chain_text for p in sorted(m.reached_paths())}
    assert got == {
        "ml/train.py": ".github/workflows/ci.yml:11 -> ml/Makefile:1 -> ml/Makefile:2 -> ml/train.py",
        "tests_h/test_h.py": ".github/workflows/ci.yml:8 -> pyproject.toml:2 -> tests_h/test_h.py",
        "tests_j/test_j.py": ".github/workflows/ci.yml:6 -> justfile:3 -> tests_j/test_j.py",
        "tests_t/test_t.py": ".github/workflows/ci.yml:12 -> pyproject.toml:11 -> tests_t/test_t.py",
        "tests_u/a_check.py": ".github/workflows/ci.yml:10 -> tests_u/a_check.py",
        "tools/lint_data.py": ".github/workflows/ci.yml:7 -> tasks.py:4 -> tools/lint_data.py",
        "tools/pdm_check.py": ".github/workflows/ci.yml:9 -> pyproject.toml:4 -> tools/pdm_check.py",
    }


def test_schedulers_reach_what_they_run() -> None:
    files = {
        "k8s/cron.yaml": ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: drift}\nspec:\n"
                          "  schedule: '0 * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
                          "          containers:\n            - name: c\n              image: x:1\n"
                          "              command: [python, /app/monitoring/drift.py]\n"),
        "k8s/off.yaml": ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: off}\nspec:\n"
                         "  schedule: '0 * * * *'\n  suspend: true\n  jobTemplate:\n    spec:\n      template:\n"
                         "        spec:\n          containers:\n            - name: c\n"
                         "              command: [python, retrain.py]\n"),
        "monitoring/drift.py": "from monitoring import stats\n", "monitoring/__init__.py": "",
        "monitoring/stats.py": "", "retrain.py": "",
        "dags/train.py": ("from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
                          "with DAG('t', schedule='@daily') as dag:\n"
                          "    BashOperator(task_id='v', bash_command='python validate.py')\n"),
        "validate.py": "",
    }
    m = model(files)
    drift = m.reaches("monitoring/drift.py")[0]
    assert (drift.triggers, drift.scheduled, drift.chain_text) == (
        ("schedule",), True, "k8s/cron.yaml:1 -> k8s/cron.yaml:13 -> monitoring/drift.py")
    assert m.reaches("monitoring/stats.py")[0].how == "import"
    assert "retrain.py" not in m.reached_paths()  # suspended
    assert [(r.how, r.triggers) for r in m.reaches("dags/train.py")] == [("stage", ("schedule",))]
    assert m.reaches("validate.py")[0].chain_text == "dags/train.py:3 -> dags/train.py:4 -> validate.py"
    assert m.best("validate.py", monitoring=True) is not None


def test_python_dash_m_clis() -> None:
    m = model({".github/workflows/ci.yml": wf("python -m jupyter nbconvert --to html --execute nb/eda.ipynb",
                                                "python -m papermill nb/train.ipynb out.ipynb"),
               "nb/eda.ipynb": "{}", "nb/train.ipynb": "{}"})
    assert {p: m.reaches(p)[0].how for p in m.reached_paths()} == {"nb/eda.ipynb": "notebook",
                                                                   "nb/train.ipynb": "notebook"}
    assert [i.kind for i in m.invocations] == ["notebook", "notebook"]


def test_workspace_variables_are_the_repository_root() -> None:
    text = ("on: push\njobs:\n  a:\n    runs-on: x\n    defaults:\n      run:\n        working-directory: src\n"
            "    steps:\n      - run: python $GITHUB_WORKSPACE/tools/check.py\n"
            "      - run: cd ${{ github.workspace }}/ml && python train.py\n")
    m = model({".github/workflows/ci.yml": text, "tools/check.py": "", "ml/train.py": ""})
    assert m.reached_paths() == {"tools/check.py", "ml/train.py"}
    assert m.unresolved == ()


def test_tox_factor_conditional_commands_and_root_action() -> None:
    tox = ("[tox]\nenvlist = py311-{unit,integration}\n\n[testenv]\ncommands =\n"
           "    unit: pytest tests/unit\n    integration: pytest tests/integration\n")
    files = {".github/workflows/ci.yml": ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: ./\n"
                                          "      - run: tox -e py311-unit\n"),
             "action.yml": "runs:\n  using: composite\n  steps:\n    - run: python tools/lint.py\n      shell: bash\n",
             "tools/lint.py": "", "tox.ini": tox, "tests/unit/test_u.py": "", "tests/integration/test_i.py": ""}
    m = model(files)
    assert m.reached_paths() == {"tools/lint.py", "tests/unit/test_u.py"}


def test_nose2_dotted_names_with_test_functions_and_packages() -> None:
    m = model({".github/workflows/ci.yml": wf("nose2 -F -v TTS tests.zoo.test_models.test_offset_0 tests.nothing"),
               "TTS/__init__.py": "", "TTS/model.py": "", "tests/zoo/test_models.py": ""})
    assert m.reached_paths() == {"tests/zoo/test_models.py"}
    assert [u.reference for u in m.unresolved] == ["tests.nothing"]


def test_makefile_includes() -> None:
    m = model({".github/workflows/ci.yml": wf("make test"),
               "Makefile": "include mk/*.mk\n\nall:\n\techo hi\n",
               "mk/test.mk": "test:\n\tpytest tests\n", "tests/test_a.py": ""})
    assert chains(m, "tests/test_a.py") == [".github/workflows/ci.yml:6 -> mk/test.mk:1 -> mk/test.mk:2 -> tests/test_a.py"]


def test_docker_run_and_exec_commands() -> None:
    m = model({".github/workflows/ci.yml": wf("docker run --rm -v $PWD:/app -w /app img:1 pytest tests",
                                                "docker run --rm img:1", "docker exec -it api python /app/smoke.py"),
               "tests/test_a.py": "", "smoke.py": ""})
    assert m.reached_paths() == {"tests/test_a.py", "smoke.py"}


# --- scripts CI calls: follow them, with the shell's errexit semantics (G7, C14)

def _counts(m: AutomationModel, path: str) -> list[tuple[bool, str | None]]:
    return [(r.counts, r.swallow_reason) for r in m.reaches(path)]


SUITES = {"tests/unit/test_u.py": "", "tests/integration/test_i.py": ""}
TWO_SUITES = "#!/bin/bash\npytest tests/unit\npytest tests/integration\n"


def test_script_without_set_e_swallows_all_but_its_last_command() -> None:
    m = model({".github/workflows/ci.yml": wf("bash tasks/unit_test.sh"), "tasks/unit_test.sh": TWO_SUITES,
               **SUITES})
    assert _counts(m, "tests/unit/test_u.py") == [
        (False, "errexit off (set +e or shell without -e) and not the last command")]
    assert _counts(m, "tests/integration/test_i.py") == [(True, None)]
    assert chains(m, "tests/integration/test_i.py") == [
        ".github/workflows/ci.yml:6 -> tasks/unit_test.sh:3 -> tests/integration/test_i.py"]
    assert m.best("tests/unit/test_u.py") is None


def test_errexit_from_the_invocation_the_shebang_or_the_script() -> None:
    for step, script in (("bash -e tasks/t.sh", TWO_SUITES), ("sh -o errexit tasks/t.sh", TWO_SUITES),
                         ("./tasks/t.sh", "#!/bin/bash -e\npytest tests/unit\npytest tests/integration\n"),
                         ("bash tasks/t.sh", ("#!/bin/bash\nset -euo pipefail\npytest tests/unit\n"
                                              "pytest tests/integration\n"))):
        m = model({".github/workflows/ci.yml": wf(step), "tasks/t.sh": script, **SUITES})
        assert _counts(m, "tests/unit/test_u.py") == [(True, None)], step
    # `bash x.sh` reads the #! line as a comment: its -e does not apply
    m = model({".github/workflows/ci.yml": wf("bash tasks/t.sh"),
               "tasks/t.sh": "#!/bin/bash -e\npytest tests/unit\npytest tests/integration\n", **SUITES})
    assert _counts(m, "tests/unit/test_u.py")[0][0] is False


def test_sourced_script_runs_under_the_callers_options() -> None:
    script = "pytest tests/unit\npytest tests/integration\n"
    gh = model({".github/workflows/ci.yml": wf("source tasks/t.sh"), "tasks/t.sh": script, **SUITES})
    assert _counts(gh, "tests/unit/test_u.py") == [(True, None)]  # GitHub's bash runs with -e
    azure = ("trigger: [main]\npool: {vmImage: ubuntu-latest}\nsteps:\n  - script: |\n      . tasks/t.sh\n"
             "      echo done\n")
    az = model({"azure-pipelines.yml": azure, "tasks/t.sh": script, **SUITES})
    assert [c for c, _ in _counts(az, "tests/integration/test_i.py")] == [False]  # `echo done` decides the step


def test_sh_c_inline_scripts_and_their_options() -> None:
    m = model({".github/workflows/ci.yml": wf("sh -c 'pytest tests/unit; pytest tests/integration'"), **SUITES})
    assert (_counts(m, "tests/unit/test_u.py")[0][0], _counts(m, "tests/integration/test_i.py")[0][0]) == (False, True)
    m2 = model({".github/workflows/ci.yml": wf("bash -ec 'pytest tests/unit; pytest tests/integration'"), **SUITES})
    assert _counts(m2, "tests/unit/test_u.py") == [(True, None)]


def test_script_arguments_and_loops_over_literal_suites() -> None:
    loop = "#!/bin/sh\nfor suite in unit integration; do\n  python -m pytest tests/$suite\ndone\n"
    m = model({".github/workflows/ci.yml": wf("bash scripts/run.sh unit", "sh scripts/all.sh"),
               "scripts/run.sh": 'python -m pytest "tests/$1"\n', "scripts/all.sh": loop, **SUITES})
    assert [(r.chain_text, r.counts) for r in m.reaches("tests/unit/test_u.py")] == [
        (".github/workflows/ci.yml:6 -> scripts/run.sh:1 -> tests/unit/test_u.py", True),
        (".github/workflows/ci.yml:7 -> scripts/all.sh:3 -> tests/unit/test_u.py", False)]
    assert m.reaches("tests/unit/test_u.py")[1].swallow_reason == (
        "in a loop without errexit: only the last iteration's status reaches the caller")
    assert _counts(m, "tests/integration/test_i.py") == [(True, None)]


def test_script_directory_and_make_command_line_variables() -> None:
    files = {
        ".github/workflows/ci.yml": wf("bash tools/ci/check.sh", "make test SUITE=integration"),
        "tools/ci/check.sh": 'cd "$(dirname "$0")"\npython check_data.py\n',
        "tools/ci/check_data.py": "",
        "Makefile": "SUITE ?= unit\ntest:\n\tpytest tests/$(SUITE)\n",
        **SUITES,
    }
    m = model(files)
    assert chains(m, "tools/ci/check_data.py") == [
        ".github/workflows/ci.yml:6 -> tools/ci/check.sh:2 -> tools/ci/check_data.py"]
    assert "tests/integration/test_i.py" in m.reached_paths() and "tests/unit/test_u.py" not in m.reached_paths()


def test_make_recipe_loops_swallow_all_but_the_last_iteration_unless_shell_flags_say_e() -> None:
    # GNU make runs each recipe line with `sh -c` (no -e): a loop over packages reports only the last one (C14)
    mk = ("PACKAGES = libs/a libs/b\n\ntest:\n\tfor p in $(PACKAGES); do \\\n\t\t$(MAKE) -C $$p test; \\\n\tdone\n")
    sub = "test:\n\tpytest tests\n"
    files = {".github/workflows/ci.yml": wf("make test"), "libs/a/Makefile": sub, "libs/b/Makefile": sub,
             "libs/a/tests/test_a.py": "", "libs/b/tests/test_b.py": ""}
    m = model({**files, "Makefile": mk})
    assert (_counts(m, "libs/a/tests/test_a.py")[0][0], _counts(m, "libs/b/tests/test_b.py")[0][0]) == (False, True)
    strict = model({**files, "Makefile": ".SHELLFLAGS := -ec\n" + mk})
    assert _counts(strict, "libs/a/tests/test_a.py") == [(True, None)]


def test_argo_cron_workflow_runs_the_workflow_template_it_references() -> None:
    # argo-workflows docs (cron-workflows, workflow-templates): workflowSpec.workflowTemplateRef, templateRef
    template = ("apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata:\n  name: retrain\nspec:\n"
                "  entrypoint: main\n  templates:\n    - name: main\n      container:\n        image: py:1\n"
                "        command: [python, jobs/retrain.py]\n")
    cron = ("apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata:\n  name: nightly\nspec:\n"
            "  schedule: '0 2 * * *'\n  workflowSpec:\n    workflowTemplateRef:\n      name: retrain\n")
    steps = ("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: run-\nspec:\n"
             "  entrypoint: main\n  templates:\n    - name: main\n      steps:\n        - - name: r\n"
             "            templateRef:\n              name: retrain\n              template: main\n")
    m = model({"argo/template.yaml": template, "argo/cron.yaml": cron, "argo/run.yaml": steps,
               "jobs/retrain.py": ""})
    got = sorted((r.triggers, r.chain_text) for r in m.reaches("jobs/retrain.py"))
    assert got == [(("pipeline",), "argo/run.yaml:1 -> argo/template.yaml:11 -> jobs/retrain.py"),
                   (("pipeline",), "argo/template.yaml:1 -> argo/template.yaml:11 -> jobs/retrain.py"),
                   (("schedule",), "argo/cron.yaml:1 -> argo/template.yaml:11 -> jobs/retrain.py")]
