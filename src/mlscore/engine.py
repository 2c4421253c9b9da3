"""Runs the selected rules over a tree's facts, applies attestations and waivers, and builds the Report."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlscore import __version__, guard
from mlscore.catalog import RuleSpec, load_catalog
from mlscore.config import Config, load_config
from mlscore.detectors import DETECTORS, resolve_params
from mlscore.detectors.common import Automation, Context, Outcome
from mlscore.errors import InputError
from mlscore.facts.files import FileIndex, index_git_ref, index_path
from mlscore.facts.repo import RepoFacts, collect
from mlscore.models import (
    Check,
    Diagnostic,
    Evidence,
    Level,
    Location,
    Report,
    RuleResult,
    Section,
    Target,
)
from mlscore.scoring import points_for, score

Progress = Callable[[str], None]
MAX_EXTRA_REPORT_BYTES = 64 * 1024 * 1024


def run_audit(
    path: str | Path,
    *,
    ref: str | None = None,
    config: Config | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    config_file: Path | None = None,
    isolated: bool = False,
    overrides: dict[str, Any] | None = None,
) -> Report:
    """Audit the tree at ``path`` (or the commit ``ref`` of the repository there) and return the report.

    Without ``config``, the configuration is resolved from ``config_file``, ``overrides`` and the audited
    tree's own files: for a ``ref``, the files of that commit.
    """
    root = Path(path)
    if not root.exists():
        raise InputError(f"{path}: no such file or directory")
    if not root.is_dir():
        raise InputError(f"{path}: not a directory (audit a repository or project folder)")
    now = now or dt.datetime.now(dt.timezone.utc)
    if progress:
        progress("indexing files")
    index = index_git_ref(root, ref) if ref else index_path(root)
    if config is None:
        config = load_config(root, config_file=config_file, isolated=isolated, overrides=overrides,
                             today=now.date(), tree=index if ref else None)
    catalog = load_catalog(config.rules_dirs)
    rules = catalog.select(config.select, config.ignore)
    from mlscore.signals import scanner

    scanner(tuple(config.signal_dirs))  # a broken signal file of --config is a usage error before any work
    if config.exclude:
        _exclude(index, config.exclude)
    if progress:
        progress(f"reading {len(index)} files")
    facts = collect(index, (lambda n, t: progress(f"read {n}/{t} files")) if progress else None)
    target = _target(root, index)
    # the audit's own budget: no extractor or detector runs past it, whatever their own budgets say
    with guard.ceiling(config.audit_budget or None):
        ctx = build_context(facts, extractor_budget=config.extractor_budget or None)
        ctx.cache["remote_url"] = target.remote_url
        ctx.cache["signal_dirs"] = tuple(config.signal_dirs)
        if index.from_git:
            from mlscore.facts.git import read_history

            ctx.cache["git"] = lambda: read_history(root, index.commit)  # read only when a detector asks
        used, report_notes = _add_reports(ctx, root, index, config, now)
        if config.tests_reports:  # mlscore-tests.json from pytest-mlscore (those in the tree are read anyway)
            from mlscore.facts.test_reports import load_tests_report

            ctx.cache["tests_reports"] = [(str(p), load_tests_report(Path(p))) for p in config.tests_reports]
            used = [*used, *map(str, config.tests_reports)]
        if progress:
            progress("running detectors")
        results = [evaluate(rule, ctx, config) for rule in rules]
    notes = list(config.notes)
    diagnostics = sorted(
        {(d.path or "", d.message, d.severity): d for d in (*index.diagnostics, *facts.diagnostics, *ctx.cache.get(
            "diagnostics", []), *notes)}.values(),
        key=lambda d: (d.path or "", d.message),
    )
    diagnostics = report_notes + diagnostics  # first: the 500-item cap must never hide why evidence was ignored
    return Report(
        version=__version__,
        generated_at=now.replace(microsecond=0).isoformat(),
        target=target,
        config_digest=config.digest(),
        selected=tuple(r.id for r in rules),
        score=score(results, config.scoring),
        results=tuple(results),
        diagnostics=tuple(diagnostics[:500]),
        inputs=tuple(used),
    )


def _exclude(index: FileIndex, patterns: tuple[str, ...]) -> None:
    from fnmatch import fnmatch

    for path in list(index.entries):
        if any(fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns):
            del index.entries[path]


def evaluate(rule: RuleSpec, ctx: Context, config: Config) -> RuleResult:
    """Run a rule's detectors, each isolated and under ``config.detector_budget``: a detector that raises or
    runs out of time becomes an incomplete result and a diagnostic naming the test, never a crash."""
    outcomes: list[Outcome] = []
    error = None
    incomplete: list[str] = []
    diagnostics: list[Diagnostic] = ctx.cache.setdefault("diagnostics", [])
    for spec in rule.detectors:
        detector = DETECTORS.get(spec.name)
        if detector is None:
            error = f"unknown detector {spec.name!r}"
            incomplete.append(error)
            continue
        try:
            params = resolve_params(spec.name, dict(spec.params))
        except ValueError as exc:
            error = f"rules/{rule.id}.yaml: {exc}"
            incomplete.append(error)
            continue
        touched = _watch(ctx)
        run = guard.run(lambda: detector(ctx, params), seconds=config.detector_budget or None)  # noqa: B023
        if run.ok and isinstance(run.value, Outcome):
            outcomes.append(run.value)
        elif run.ok:  # a detector bug, but not a reason to score a silent 0
            incomplete.append(f"detector {spec.name} returned no outcome")
        elif isinstance(run.error, guard.Unavailable):  # shared facts it needs failed earlier (already reported)
            incomplete.append(f"detector {spec.name} needs {run.error}")
        elif run.error is not None:
            error = f"detector {spec.name} failed: {type(run.error).__name__}: {run.error}"
            incomplete.append(f"detector {spec.name} failed: {type(run.error).__name__}")
            diagnostics.append(Diagnostic(message=f"{rule.id}: detector {spec.name} failed: "
                                                  f"{type(run.error).__name__}; the test is incomplete",
                                          severity="error"))
        elif run.overrun:
            incomplete.append(f"detector {spec.name} {run.reason()}")
            diagnostics.append(Diagnostic(message=f"{rule.id}: detector {spec.name} {run.reason()}; the test is "
                                                  "incomplete", severity="error"))
        if run.late:
            diagnostics.append(Diagnostic(message=f"{rule.id}: detector {spec.name} took {run.seconds:.1f} s, over "
                                                  f"its {guard.fmt_seconds(run.budget)} time budget"))
        missing = _degraded(ctx, touched)
        if missing:
            incomplete.extend(r for r in missing if r not in incomplete)
    outcome = max(outcomes, key=lambda o: o.level.rank) if outcomes else Outcome(Level.NONE)
    outcome = _with_declared_tests(ctx, rule.id, outcome, config)
    level, evidence, rationale = outcome.level, list(outcome.evidence), outcome.rationale
    attestation = None
    for att in config.attestations:
        if att.rule != rule.id:
            continue
        attestation = att
        if att.expired:
            rationale = (rationale + "; " if rationale else "") + f"attestation by {att.owner} expired on {att.expires}"
            continue
        if att.level.rank > level.rank:
            level = att.level
            rationale = f"attested by {att.owner} on {att.date}" + (f": {att.note}" if att.note else "")
        evidence.append(Evidence(summary=f"attested by {att.owner} on {att.date}" + (f" ({att.link})" if att.link else ""),
                                 location=Location(path=att.link) if att.link else None, level=att.level,
                                 kind="attestation"))
    waived = next((reason for rid, reason, _src in config.waivers if rid == rule.id), None)
    if not rationale:
        rationale = "not decided: " + "; ".join(incomplete) if incomplete and not outcomes else "no evidence found"
    next_step = outcome.next_step or _next_step(rule, level, ctx)
    return RuleResult(
        rule_id=rule.id,
        section=Section(rule.section),
        title=rule.title,
        level=level,
        points=points_for(level, config.scoring),
        status=outcome.status,
        evidence=tuple(evidence[:12]),
        rationale=rationale,
        next_step=next_step,
        human_only=rule.human_only,
        attestation=attestation,
        waived=waived,
        error=error,
        incomplete="; ".join(incomplete)[:500] if incomplete else None,
    )


def _with_declared_tests(ctx: Context, rule_id: str, outcome: Outcome, config: Config) -> Outcome:
    """Add the tests the team declared for ``rule_id`` (@pytest.mark.mlscore, mlscore_rubric, mlscore-tests.json;
    mlscore.detectors.declared), an evidence source of every rubric test, isolated like a detector."""
    from mlscore.detectors.common import best
    from mlscore.detectors.declared import declared_outcomes
    from mlscore.models import Status

    run = guard.run(lambda: declared_outcomes(ctx, rule_id), seconds=config.detector_budget or None)
    if not run.ok or not run.value:
        if run.error is not None and not isinstance(run.error, guard.Unavailable):
            ctx.cache.setdefault("diagnostics", []).append(Diagnostic(
                message=f"{rule_id}: declared tests not read: {type(run.error).__name__}", severity="error"))
        return outcome
    failing = [o for o in run.value if o.status is Status.FAILING]
    # a red declared test is cited first, even where a detector cites the same test: the report must say it is red
    merged = best([*failing, outcome, *(o for o in run.value if o.status is not Status.FAILING)])
    if failing and merged.status is Status.UNKNOWN:
        merged.status = Status.FAILING  # the check exists (and scores), but it fails
    elif merged.status is Status.UNKNOWN and any(o.status is Status.PASSING for o in run.value):
        merged.status = Status.PASSING
    return merged


def _next_step(rule: RuleSpec, level: Level, ctx: Context | None = None) -> str:
    """The rule's cheapest next step, in the repository's own terms (its CI, orchestrator, columns...)."""
    from mlscore.detectors.advice import profile
    from mlscore.remediation import render

    if level is Level.AUTOMATED:
        return ""
    text = rule.remediation.to_automated if level is Level.MANUAL else rule.remediation.to_manual
    values = None
    if ctx is not None:
        try:
            values = profile(ctx)
        except Exception:  # noqa: BLE001 - advice is best effort: the generic wording is still right
            values = None
    return render(text, values)


def _target(root: Path, index: FileIndex) -> Target:
    remote = web = None
    ref = index.ref
    if index.from_git:
        remote, branch = _git_remote(root)
        ref = ref or branch
        web = _web_url(remote) if remote else None
    return Target(path=str(root), name=root.resolve().name, commit=index.commit, ref=ref, remote_url=remote,
                  web_url=web, files=len(index))


def _git_remote(root: Path) -> tuple[str | None, str | None]:
    """origin's URL (credentials stripped) and the current branch, read from .git without running git."""
    git_dir = root / ".git"
    remote = branch = None
    try:
        head = (git_dir / "HEAD").read_text("utf-8", "replace")[:300]
        if head.startswith("ref: refs/heads/"):
            branch = head.split("refs/heads/", 1)[1].strip()
        config = (git_dir / "config").read_text("utf-8", "replace")[:200_000]
        m = re.search(r'\[remote "origin"\][^\[]*?url\s*=\s*(\S+)', config)
        if m:
            remote = re.sub(r"//[^@/]+@", "//", m.group(1))
    except OSError:
        pass
    return remote, branch


def _web_url(remote: str) -> str | None:
    m = re.match(r"(?:git@|ssh://git@|https?://)(github\.com|gitlab\.com|bitbucket\.org)[:/](.+?)(?:\.git)?/?$", remote)
    return f"https://{m.group(1)}/{m.group(2)}" if m else None


# -- facts beyond the file index: CI, automation, manifests, monitoring, dependencies -------------------

def build_context(facts: RepoFacts, *, extractor_budget: float | None = guard.DEFAULT_EXTRACTOR_SECONDS) -> Context:
    """Run the structured extractors over the facts (each isolated, under ``extractor_budget`` seconds) and
    build the automation model."""
    automation = Automation()
    ctx = AuditContext(facts=facts, automation=automation)
    diagnostics: list[Diagnostic] = []
    ctx.cache["diagnostics"] = diagnostics
    ctx.cache["shared_budget"] = extractor_budget
    _structured(ctx, diagnostics, extractor_budget)
    return ctx


def _structured(ctx: Context, diagnostics: list[Diagnostic], budget: float | None) -> None:
    from mlscore.facts import integrate

    integrate.populate(ctx, diagnostics, budget=budget or None)


def _tracked(name: str) -> property:
    key = "_fact_" + name

    def get(self: Context) -> Any:
        touched = self.__dict__.get("_touched")
        if touched is not None:
            touched.add(name)
        return self.__dict__.get(key)

    def put(self: Context, value: Any) -> None:
        self.__dict__[key] = value

    return property(get, put)


class AuditContext(Context):
    """The Context of an audit: it remembers which structured facts a detector reads, so that a result built
    on facts an extractor failed to produce (or ran out of time on) is reported incomplete, not a silent 0; and it
    computes facts shared by several detectors (``memo``) once, under their own budget."""

    ci = _tracked("ci")
    schedules = _tracked("schedules")
    manifests = _tracked("manifests")
    monitoring = _tracked("monitoring")
    deps = _tracked("deps")
    automation = _tracked("automation")

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per audit. It runs under the extractor budget with the asking detector's budget
        suspended (it is shared work); if it fails or runs out of time, every detector that asks for it gets
        ``guard.Unavailable`` at once instead of paying for it again."""
        cache = self.cache
        if key in cache:
            return cache[key]
        failed: dict[str, str] = cache.setdefault("_memo_failed", {})
        if key in failed:
            raise guard.Unavailable(failed[key])
        budget = cache.get("shared_budget")
        run = guard.run(compute, seconds=budget, shield=bool(budget))
        if run.ok:
            cache[key] = run.value
            return run.value
        if isinstance(run.error, guard.Unavailable):  # it needed other shared facts, already reported
            failed[key] = str(run.error)
        else:
            failed[key] = f"shared facts {key!r} {run.reason()}"
            cache.setdefault("diagnostics", []).append(Diagnostic(
                message=f"facts: {failed[key]}; the tests that need them are incomplete", severity="error"))
        raise guard.Unavailable(failed[key])


def _watch(ctx: Context) -> set[str]:
    """Start recording the structured facts ``ctx`` hands out (a fresh set per detector)."""
    touched: set[str] = set()
    if isinstance(ctx, AuditContext):
        ctx.__dict__["_touched"] = touched
    return touched


def _degraded(ctx: Context, touched: set[str]) -> list[str]:
    """Why facts the detector read are missing: the reasons of the extractors behind them, in order."""
    missing: dict[str, tuple[str, ...]] = ctx.cache.get("missing_facts") or {}
    return [reason for reason, fields in missing.items() if touched & set(fields)]


# -- evidence from saved data and probe reports -------------------------------------------------------

def _add_reports(ctx: Context, root: Path, index: FileIndex, config: Config,
                 now: dt.datetime) -> tuple[list[str], list[Diagnostic]]:
    """Give the detectors the checks of the saved data and probe reports that are about this project and fresh;
    return the reports used and a diagnostic for each one ignored (naming the file and the mismatch)."""
    paths = (*config.data_reports, *config.probe_reports)
    if not paths:
        return [], []
    from mlscore.provenance import audited_project, vet

    project = audited_project(root, index.commit)
    used: list[str] = []
    notes: list[Diagnostic] = []
    for report_path in paths:
        kind, checks, prov = load_evidence(Path(report_path))
        try:
            reason, note = vet(prov, project, now=now, root=root, max_age_days=config.report_max_age_days,
                               tree=index, kind=kind)
        except ValueError as exc:
            raise InputError(f"{report_path}: {exc}") from None
        if reason is not None:
            notes.append(Diagnostic(path=str(report_path), message=f"{kind} report ignored as evidence: {reason}"))
            continue
        if note is not None:
            notes.append(Diagnostic(path=str(report_path), message=f"{kind} report used as evidence, but {note}"))
        used.append(str(report_path))
        ctx.report_kinds[str(report_path)] = kind
        ctx.checks.extend((str(report_path), check) for check in checks)
    return used, notes


def load_checks(path: Path) -> tuple[str, list[Check]]:
    """Read the kind ('data' or 'probe') and the checks of a saved `mlscore data` or `mlscore probe` report
    (without looking at its provenance: see :func:`load_evidence`)."""
    kind, checks, _ = load_evidence(path)
    return kind, checks


def load_evidence(path: Path) -> tuple[str, list[Check], Any]:
    """Read the kind ('data' or 'probe'), the checks and the provenance (None in a report made before mlscore
    recorded it) of a saved `mlscore data` or `mlscore probe` report."""
    from mlscore.provenance import parse
    try:
        size = path.stat().st_size
        if size > MAX_EXTRA_REPORT_BYTES:
            raise InputError(f"{path}: {size} bytes is too large for a report")
        doc: Any = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read report: {exc.strerror}") from None
    except (ValueError, RecursionError):
        raise InputError(f"{path}: not a JSON report") from None
    if not isinstance(doc, dict) or doc.get("kind") not in ("data", "probe") or not isinstance(doc.get("checks"), list):
        raise InputError(f"{path}: not an mlscore data or probe report (expected 'kind' and 'checks')")
    out = []
    for i, raw in enumerate(doc["checks"]):
        try:
            check = Check.model_validate(raw)
        except Exception:  # noqa: BLE001 - pydantic error details are not for end users
            raise InputError(f"{path}: checks[{i}] is not a valid check") from None
        out.append(check)
    try:
        prov = parse(doc.get("provenance"))
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    return str(doc["kind"]), out, prov



