"""Runs the structured extractors (CI, schedules, automation, manifests, monitoring, dependencies) over the
collected facts and hands detectors simple views of them."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlscore import guard
from mlscore.models import Diagnostic, Location

if TYPE_CHECKING:
    from mlscore.detectors.common import Context

#: A CI job that fetches the project's real data: tests in it run on real data (LABELING.md G8).
REAL_DATA_RX = re.compile(
    r"\bdvc\s+(pull|repro|fetch|checkout|get|import)\b|\bgsutil\s+(-m\s+)?cp\b|\baws\s+s3\s+(cp|sync)\b|"
    r"\bkaggle\s+(datasets|competitions)\s+download\b|\bgit\s+lfs\s+pull\b|\bazcopy\b"
)
CODE_CHECK_RX = re.compile(r"\b(pytest|py\.test|unittest|tox|nox|make\s+\w*(test|lint|check)|mypy|ruff|flake8|pylint|"
                           r"black\s+--check|pre-commit\s+run|python3?\s+-m\s+(pytest|unittest|mypy|ruff))\b")
DEPLOY_RX = re.compile(r"\b(kubectl\s+(apply|set\s+image|rollout)|helm\s+(upgrade|install)|gcloud\s+(run\s+deploy|"
                       r"app\s+deploy|ai\s+endpoints\s+deploy)|az\s+ml\s+online-deployment|sam\s+deploy|"
                       r"serverless\s+deploy|heroku\s+|fly\s+deploy|aws\s+sagemaker\s+(create|update)-endpoint|"
                       r"mlflow\s+deployments\s+create|bentoml\s+deploy|docker\s+push|terraform\s+apply)")


#: Lower-case words one of which a Python file must contain to be worth the scheduler extractor's time.
SCHEDULER_HINTS = ("dag", "airflow", "prefect", "dagster", "scheduledefinition", "dsl.pipeline", "kfp", "tfx", "kedro",
                   "flowspec", "metaflow", "sagemaker", "zenml", "flytekit", "apscheduler", "schedule.every",
                   "pipelinejob", "recurring_run", "create_schedule")


@dataclass
class JobView:
    file: str
    line: int
    name: str
    trigger_kinds: tuple[str, ...]
    checks_code: bool
    deploys: bool
    real_data: bool
    steps: tuple[Any, ...]
    commands: list[str] = field(default_factory=list)
    comments_pr: bool = False  # posts results to the pull request (CML, github-script...)


#: The Context fields each extractor's facts feed; a failed extractor makes the results that read them incomplete.
FEEDS: dict[str, tuple[str, ...]] = {
    "ci": ("ci", "automation"),
    "schedules": ("schedules", "automation"),
    "automation": ("automation",),
    "deps": ("deps",),
    "monitoring": ("monitoring",),
    "manifests": ("manifests",),
}


def missing_facts(ctx: Context, name: str, reason: str) -> None:
    """Record that extractor ``name`` produced no (or partial) facts, and why (read by the engine)."""
    ctx.cache.setdefault("missing_facts", {})[reason] = FEEDS.get(name, (name,))


def populate(ctx: Context, diagnostics: list[Diagnostic], *, budget: float | None = None) -> None:
    """Fill ``ctx`` with CI jobs, schedules, the automation model, manifests, monitoring and dependencies.

    Each extractor runs isolated and under ``budget`` seconds (``mlscore.guard.extract``): a file it fails on
    becomes a diagnostic and the others' facts stand; an extractor that fails as a whole or runs out of time
    leaves its facts empty and is recorded in ``ctx.cache["missing_facts"]``.
    """
    from mlscore.detectors.common import Run
    from mlscore.facts import automation as automation_mod
    from mlscore.facts import ci as ci_mod
    from mlscore.facts import schedules as schedules_mod

    facts = ctx.facts
    files = facts.paths()
    read = facts.read
    ci, why = guard.extract("ci", lambda items: ci_mod.extract_ci(items, read), [p for p in files if ci_mod.wanted(p)],
                            seconds=budget, diagnostics=diagnostics, empty=ci_mod.CiFacts)
    if why:
        missing_facts(ctx, "ci", why)
    python_files = [p for p in files if p.endswith(".py")]
    schedules, why = guard.extract(
        "schedules", lambda items: schedules_mod.extract_schedules(items, read, known=python_files),
        [p for p in files if schedules_mod.wanted(p) and (not p.endswith(".py") or facts.has_any(p, SCHEDULER_HINTS))],
        seconds=budget, diagnostics=diagnostics, empty=schedules_mod.ScheduleFacts)
    if why:
        missing_facts(ctx, "schedules", why)
    diagnostics.extend(ci.diagnostics)
    diagnostics.extend(schedules.diagnostics)

    # imports are followed with the automation model's own regex scan: parsing every imported file costs seconds
    def automate(items: list[Any]) -> Any:
        jobs = tuple(i for i in items if not isinstance(i, schedules_mod.PipelineEntry))
        entries = tuple(i for i in items if isinstance(i, schedules_mod.PipelineEntry))
        return automation_mod.build_automation(
            files, read, ci.model_copy(update={"jobs": jobs}), schedules.model_copy(update={"entries": entries}),
            imports=facts.import_targets, import_triggers=("pipeline", "schedule"))

    model, why = guard.extract("automation", automate, [*ci.jobs, *schedules.entries], seconds=budget,
                               diagnostics=diagnostics, empty=automation_mod.AutomationModel,
                               where=lambda item: getattr(item, "file", None))
    if why:
        missing_facts(ctx, "automation", why)
    diagnostics.extend(model.diagnostics)

    jobs: list[JobView] = []
    job_by_line: dict[tuple[str, int], JobView] = {}
    for job in ci.jobs:
        try:
            view = _job_view(job, automation_mod)
        except Exception as exc:  # noqa: BLE001 - one odd job must not cost the others
            diagnostics.append(guard.failure("ci", job.file, exc))
            continue
        if job.disabled:
            continue
        jobs.append(view)
        for step in view.steps:
            job_by_line[(step.file, step.line)] = view
        job_by_line[(job.file, job.line)] = view
    ctx.ci = jobs
    ctx.schedules = [_ScheduleView(e) for e in schedules.entries]
    ctx.cache["dvc_stages"] = list(schedules.dvc)
    _reaches(ctx, model, jobs, job_by_line, Run, diagnostics)
    _optional_extractors(ctx, files, read, diagnostics, budget)


def _job_view(job: Any, automation_mod: Any) -> JobView:
    commands = [c.text for step in _all_steps(job.steps) for c in step.commands]
    kinds = automation_mod.trigger_kinds(job.triggers)
    return JobView(
        file=job.file,
        line=job.line,
        name=job.name or job.id,
        trigger_kinds=tuple(k.replace("ci_", "") for k in kinds),
        checks_code=any(CODE_CHECK_RX.search(c) for c in commands) and not job.swallowed and not job.disabled,
        deploys=any(DEPLOY_RX.search(c) for c in commands) or bool(job.needs and any(
            re.search(r"deploy|release|publish", (s.name or "") + (s.uses.name if s.uses else ""), re.I)
            for s in job.steps)),
        real_data=any(REAL_DATA_RX.search(c) for c in commands),
        steps=tuple(_all_steps(job.steps)),
        commands=commands,
        comments_pr="pr_comment" in job.surfaces and not job.disabled,
    )


def _reaches(ctx: Context, model: Any, jobs: list[JobView], job_by_line: dict[tuple[str, int], JobView], run: Any,
             diagnostics: list[Diagnostic]) -> None:
    """The automation model's reaches and invocations as detector-side Runs; one odd entry costs only itself."""

    def job_of(chain: tuple[Location, ...]) -> JobView | None:
        if not chain:
            return None
        first = chain[0]
        exact = job_by_line.get((first.path, first.line or 0))
        if exact is not None:
            return exact
        best = None
        for view in jobs:  # the job whose steps start before this line, closest first
            if view.file == first.path and view.line <= (first.line or 0) and (best is None or view.line > best.line):
                best = view
        return best

    failed = 0
    for path, reaches in model.reach_map.items():
        for reach in reaches:
            try:
                job = job_of(reach.chain)
                real = bool(job and job.real_data) or any(t in ("pipeline", "schedule") for t in reach.triggers)
                for kind in _ordered(reach.triggers):
                    ctx.automation.add(path, run(
                        kind=kind,
                        location=reach.chain[0] if reach.chain else Location(path=path),
                        chain=tuple(str(loc) for loc in reach.chain),
                        swallowed=reach.swallowed,
                        surfaced=reach.surfaced,
                        real_data=real,
                        how=reach.how,
                    ))
            except Exception as exc:  # noqa: BLE001
                failed += 1
                if failed <= 20:
                    diagnostics.append(guard.failure("automation", path, exc))
    for inv in model.invocations:
        if inv.disabled:
            continue
        try:
            job = job_of(inv.chain)
            real = bool(job and job.real_data)
            target = ctx.automation.setup if inv.setup_only else ctx.automation.invocations
            for kind in _ordered(inv.triggers)[:1]:
                target.append((inv.command, run(
                    kind=kind, location=inv.location, chain=tuple(str(loc) for loc in inv.chain),
                    swallowed=inv.swallowed, surfaced=inv.surfaced, real_data=real)))
        except Exception as exc:  # noqa: BLE001
            failed += 1
            if failed <= 20:
                diagnostics.append(guard.failure("automation", getattr(inv.location, "path", None), exc))


_KIND_ORDER = ("schedule", "ci_schedule", "pipeline", "ci_push", "ci_pull_request", "ci_release", "ci_manual", "ci_other")


def _ordered(kinds: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(kinds), key=lambda k: _KIND_ORDER.index(k) if k in _KIND_ORDER else 99))


def _all_steps(steps: tuple[Any, ...]) -> list[Any]:
    out = []
    for step in steps:
        if step.disabled:
            continue
        out.append(step)
        out.extend(_all_steps(step.expanded))
    return out


@dataclass
class _ScheduleView:
    entry: Any

    @property
    def path(self) -> str:
        return str(self.entry.file)

    @property
    def line(self) -> int:
        return int(self.entry.line)

    @property
    def cron(self) -> str:
        return self.entry.cron or ""

    @property
    def disabled(self) -> bool:
        return not self.entry.enabled

    @property
    def trains(self) -> bool:
        # the files' names, not their folders: a data-preparation DAG under `pipelines/` does not train
        text = " ".join(c.text for c in self.entry.commands) + " " + " ".join(
            posixpath.basename(p) for p in self.entry.python_files) + " " + " ".join(
            posixpath.basename(t) for t in self.entry.tasks) + " " + \
            self.entry.name
        return self.entry.trigger == "schedule" or not self.entry.enabled and bool(self.entry.cron) if re.search(
            r"(?i)train|(?<![a-z])fit(?![a-z])|dvc\s+repro|pipeline", text) else False


def _optional_extractors(ctx: Context, files: list[str], read: Any, diagnostics: list[Diagnostic],
                         budget: float | None = None) -> None:
    """Manifests, monitoring configs and dependency files, each from its own extractor module."""
    from mlscore.facts import views

    views.populate(ctx, files, read, diagnostics, budget=budget)
