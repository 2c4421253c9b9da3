"""Next steps in the repository's own terms: its CI system, orchestrator, tracker, serving stack and columns.

Rule remediations (``rules/*.yaml``) may name placeholders such as ``{ci_job}`` or ``{slices}``. ``profile(ctx)``
reads what the tree already uses (dependencies, CI files, orchestrator files, schemas and data headers) and
``render`` fills the placeholders with it, so a project on MLflow and mise is not told to add a DVC stage, and a
bike-rental model is not told to slice by country and device. Without an audit (``mlscore explain``) the generic
wording in ``GENERIC`` is used.
"""

from __future__ import annotations

import re
from typing import Any

from mlscore.detectors.common import Context
from mlscore.remediation import GENERIC, PLACEHOLDERS, render

__all__ = ["GENERIC", "PLACEHOLDERS", "profile", "render"]



_CI_NAMES = {"github": "GitHub Actions", "gitlab": "GitLab CI", "azure": "Azure Pipelines", "cloudbuild": "Cloud Build",
             "codebuild": "AWS CodeBuild", "jenkins": "Jenkins", "circleci": "CircleCI", "travis": "Travis CI",
             "bitbucket": "Bitbucket Pipelines", "buildkite": "Buildkite", "tekton": "Tekton", "drone": "Drone"}
_CI_JOB = {"GitHub Actions": "a GitHub Actions job", "GitLab CI": "a GitLab CI job",
           "Azure Pipelines": "an Azure Pipelines job", "Cloud Build": "a Cloud Build step",
           "AWS CodeBuild": "a CodeBuild phase", "Jenkins": "a Jenkins stage", "CircleCI": "a CircleCI job"}
_CI_SCHEDULE = {"GitHub Actions": "a scheduled GitHub Actions workflow (on: schedule)",
                "GitLab CI": "a scheduled GitLab pipeline", "Azure Pipelines": "a scheduled Azure Pipelines run",
                "Jenkins": "a Jenkins cron trigger", "CircleCI": "a scheduled CircleCI pipeline"}
#: (module imported by the project's code, marker file, a pipeline step, a schedule), for each orchestrator.
_ORCHESTRATORS: tuple[tuple[str, str, str, str], ...] = (
    ("sagemaker", "", "a step of the SageMaker pipeline (a ProcessingStep or TuningStep before registration)",
     "a SageMaker pipeline schedule (EventBridge)"),
    ("google.cloud.aiplatform", "", "a component of the Vertex AI pipeline",
     "a Vertex AI pipeline schedule (PipelineJob.create_schedule)"),
    ("kfp", "", "a component of the Kubeflow pipeline", "a Kubeflow recurring run"),
    ("azure.ai.ml", "", "a step of the Azure ML pipeline job", "an Azure ML schedule"),
    ("kedro", "", "a node of the Kedro pipeline, before training", "a scheduled `kedro run`"),
    ("prefect", "prefect.yaml", "a task of the Prefect flow that trains the model", "a Prefect deployment schedule"),
    ("airflow", "", "a task of the Airflow DAG that trains the model", "the Airflow DAG's schedule"),
    ("dagster", "", "an asset or op of the Dagster job that trains the model", "a Dagster schedule"),
    ("metaflow", "", "a step of the Metaflow flow", "a Metaflow @schedule"),
    ("zenml", "", "a step of the ZenML pipeline", "a ZenML schedule"),
    ("flytekit", "", "a task of the Flyte workflow", "a Flyte launch plan schedule"),
    ("dvc", "dvc.yaml", "a DVC stage before training, run by dvc repro in CI or on a schedule", ""),
)


def _orchestrator(ctx: Context) -> tuple[str, str, str, str] | None:
    """The orchestrator the project's own code uses most (imports and marker files), not one a dependency drags in."""
    scores: dict[int, int] = {}
    importers = _importers(ctx)
    for i, (module, marker, _step, _schedule) in enumerate(_ORCHESTRATORS):
        count = importers.get(module, 0)
        if marker and ctx.facts.exists(marker):
            count += 3
        if count:
            scores[i] = count
    if not scores:
        return None
    return _ORCHESTRATORS[max(scores, key=lambda i: (scores[i], -i))]


def _importers(ctx: Context) -> dict[str, int]:
    """For each orchestrator and tuner module, how many of the project's Python files import it: one literal
    question per file for all of them, then the modules one by one only in the files that import any (a 20,000-file
    tree asked twenty questions per file took a second)."""

    def compute() -> dict[str, int]:
        modules = dict.fromkeys(m for m, *_rest in (*_ORCHESTRATORS, *_TUNERS))
        needles = {m: (f"import {m}", f"from {m}") for m in modules}
        every = tuple(n for pair in needles.values() for n in pair)
        counts: dict[str, int] = {}
        for path in ctx.facts.python_paths:
            if not ctx.facts.has_any(path, every):
                continue
            for module, pair in needles.items():
                if ctx.facts.has_any(path, pair):
                    counts[module] = counts.get(module, 0) + 1
        return counts

    return ctx.memo("advice_importers", compute)  # type: ignore[no-any-return]


#: (module imported by the project's code, the tuner to suggest) in order of preference.
_TUNERS = (("sagemaker", "a SageMaker HyperparameterTuner"), ("google.cloud.aiplatform", "a Vertex AI HyperparameterTuningJob"),
           ("azure.ai.ml", "an Azure ML sweep job"), ("ray", "Ray Tune"), ("wandb", "a Weights & Biases sweep"),
           ("keras", "Keras Tuner"), ("optuna", "Optuna"), ("sklearn", "GridSearchCV or RandomizedSearchCV"))
_TRACKERS = (("mlflow", "MLflow (logged to the run)"), ("wandb", "Weights & Biases (logged to the run)"),
             ("clearml", "ClearML"), ("neptune", "Neptune"), ("comet-ml", "Comet"))
_ROLLOUTS: tuple[tuple[str, str], ...] = (
    ("kserve", "a KServe InferenceService with canaryTrafficPercent, checked before promoting"),
    ("seldon", "a Seldon traffic split between the old and new model, checked before promoting"),
    ("sagemaker", "a SageMaker endpoint DeploymentConfig with a canary traffic-routing step and CloudWatch alarms "
                  "that roll back automatically"),
    ("azure-ai-ml", "a share of the Azure ML online endpoint's traffic on the new deployment "
                    "(az ml online-endpoint update --traffic), checked before shifting the rest"),
    ("google-cloud-aiplatform", "a Vertex AI endpoint traffic_split that sends a share to the new model, checked "
                                "before moving all traffic"),
    ("bentoml", "a second BentoML deployment behind a weighted route, checked before switching"),
)
#: Words of column names that make good slices: who or where the example comes from.
_SLICE_WORD_RX = re.compile(r"(?i)country|region|state|city|zip|postcode|device|platform|channel|segment|category|"
                            r"gender|sex|age|language|lang|locale|store|shop|season|weekday|day_of_week|hour|type|"
                            r"class|group|tier|plan|brand|source")


def _packages(ctx: Context) -> set[str]:
    deps = ctx.deps
    names = {getattr(p, "name", "").lower().replace("_", "-") for p in getattr(deps, "packages", ())} if deps else set()
    return {n for n in names if n}


def _ci_name(ctx: Context) -> str | None:
    counts: dict[str, int] = {}
    for job in ctx.ci:
        path = getattr(job, "file", "")
        system = ("github" if path.startswith(".github/") else "gitlab" if "gitlab" in path else
                  "azure" if "azure" in path or "devops-pipelines" in path else "cloudbuild" if "cloudbuild" in path
                  else "codebuild" if "buildspec" in path else "jenkins" if "Jenkinsfile" in path else
                  "circleci" if ".circleci" in path else "travis" if ".travis" in path else
                  "bitbucket" if "bitbucket" in path else None)
        if system is not None:
            counts[system] = counts.get(system, 0) + 1
    if counts:
        return _CI_NAMES[max(counts, key=lambda k: counts[k])]
    return None


def _test_command(ctx: Context) -> str:
    texts = [t for _c, t in ((r.kind, t) for t, r in ctx.automation.invocations)]
    for text in texts:
        m = re.search(r"\b(make\s+test\w*|tox\b[^\n;&|]*|nox\b[^\n;&|]*|uv\s+run\s+pytest|poetry\s+run\s+pytest|"
                      r"just\s+test\w*|mise\s+run\s+test\w*|pytest)\b", text)
        if m:
            return f"`{m.group(1).strip()}`"
    if ctx.facts.exists("Makefile") and re.search(r"(?m)^test\w*:", ctx.facts.read("Makefile") or ""):
        return "`make test`"
    return "pytest"


def _slices(ctx: Context) -> str | None:
    """Two columns that make good slices, from declared schemas or the header of a committed data file."""
    columns: list[str] = []
    for path in ctx.facts.paths():
        if not path.endswith(".csv") or not re.search(r"(?i)(^|/)data", path):
            continue
        text = ctx.facts.read(path)
        header = text.split("\n", 1)[0] if text else ""
        if not header and ctx.facts.index.read_text(path, limit=4096) is not None:
            header = (ctx.facts.index.read_text(path, limit=4096) or "").split("\n", 1)[0]
        columns = [c.strip().strip('"') for c in header.split(",") if c.strip()]
        if columns:
            break
    if not columns:
        for _py, _line, name in _constrained(ctx):
            columns.append(name)
    chosen = [c for c in columns if _SLICE_WORD_RX.search(c)][:2]
    if not chosen:
        return None
    return " and ".join(f"`{c}`" for c in chosen)


def _constrained(ctx: Context) -> list[Any]:
    try:
        from mlscore.detectors.data import _constrained_models

        return list(_constrained_models(ctx))
    except Exception:  # noqa: BLE001 - advice is best effort; the audit's results do not depend on it
        return []


def profile(ctx: Context) -> dict[str, str]:
    """What the repository uses, as the wording of each placeholder (falls back to ``GENERIC``)."""

    def compute() -> dict[str, str]:
        out = dict(GENERIC)
        packages = _packages(ctx)
        ci = _ci_name(ctx)
        if ci is not None:
            out["ci"] = ci
            out["ci_job"] = _CI_JOB.get(ci, f"a {ci} job")
            out["schedule"] = _CI_SCHEDULE.get(ci, out["schedule"])
            out["dependency_bot"] = ("Dependabot (.github/dependabot.yml) or Renovate" if ci == "GitHub Actions"
                                     else "Renovate")
        orchestrator = _orchestrator(ctx)
        if orchestrator is not None:
            _module, _marker, step, schedule = orchestrator
            out["pipeline_step"] = step
            if schedule:
                out["schedule"] = schedule
        elif ci is not None:
            out["pipeline_step"] = f"a step of the training job that {ci} runs"
        for dist, wording in _TRACKERS:
            if dist in packages:
                out["tracker"] = wording
                break
        for dist, wording in _ROLLOUTS:
            if dist in packages or any(dist.replace("-", "") in h.signal.tool.replace("-", "")
                                       for h in _hits(ctx)):
                out["rollout"] = wording
                break
        for module, wording in _TUNERS:
            if _importers(ctx).get(module):
                out["tuner"] = wording
                break
        data = next((p for p in ctx.facts.paths() if re.search(r"(?i)(^|/)data(sets?)?/[^/]*\.(csv|parquet|jsonl)$", p)
                     and not re.search(r"(?i)(^|/)(tests?|fixtures?)/", p)), None)
        if data is not None:
            out["train_data"] = data
        out["test_command"] = _test_command(ctx)
        slices = _slices(ctx)
        if slices:
            out["slices"] = slices
        return out

    return ctx.memo("advice_profile", compute)  # type: ignore[no-any-return]


def _hits(ctx: Context) -> list[Any]:
    from mlscore.detectors.signal_levels import hits

    return hits(ctx)
