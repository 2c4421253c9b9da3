"""Judgment over the signal catalog: a signal hit becomes a level under LABELING.md's conditions.

The catalog (``rules/signals/``) says what a mechanism is and under which condition it earns 0.5 or 1; this module
decides whether the condition holds in the audited tree, from the automation model (what CI, pipelines and
schedulers run), the serving path, and the standard training path.
"""

from __future__ import annotations

from typing import Any

from mlscore.detectors.code import is_serving_file, on_standard_path
from mlscore.detectors.common import Context, Outcome, Run
from mlscore.models import Evidence, Level, Location
from mlscore.signals.scan import Command, SignalHit

__all__ = ["aspect_hits", "hits", "judge", "signal_outcomes"]

_EVIDENCE_KIND = {"python": "code", "yaml": "config", "cloudformation": "manifest", "terraform": "manifest",
                  "shell": "ci", "text": "config", "docs": "doc", "path": "config"}
_OUTCOME_KINDS = ("pipeline", "schedule", "ci_schedule")
#: Tests whose criteria list swallowed CI steps as not evidence at all (LABELING.md MON1: "swallowed scans");
#: elsewhere a swallowed check is what a person can run, 0.5 at most (G4).
SWALLOWED_IS_NOT_EVIDENCE = frozenset({"MON1"})
#: Tests about the shipped model whose evidence in exploration notebooks and comparison scripts concerns candidates
#: (LABELING.md G9; I5 not evidence: "explanations of an abandoned baseline").
SHIPPED_MODEL_ONLY = frozenset({"INFRA5"})
_WHY_NOT = {
    "reached": "nothing runs it automatically",
    "pipeline": "no pipeline or schedule runs it on the project's real data",
    "scheduled": "it runs only when someone runs it or pushes, not on a schedule",
    "serving": "it is not on the serving path",
    "guard": "it is not on the standard training or serving path",
}


def _aside(ctx: Context, path: str) -> bool:
    """Whether the file works on a candidate rather than the shipped model: it builds models, none of them of the
    selected model's class (an EDA notebook explaining a logistic regression when a boosted model ships)."""
    from mlscore.detectors.model import candidate_file

    return candidate_file(ctx, path)


def scan_commands(ctx: Context) -> list[Command]:
    """The commands shell matchers see: every invocation the automation model resolved (with its run), and what a
    container or a Compose service runs to serve (written across lines, so not found line by line)."""
    commands = [Command(text, run.location.path, run.location.line, run) for text, run in ctx.automation.invocations]
    commands += [Command(m.command, m.path, m.line, None) for m in ctx.manifests if getattr(m, "command", None)]
    return commands


def hits(ctx: Context) -> list[SignalHit]:
    """Every catalog hit in the audited tree (scanned once per audit)."""

    def compute() -> list[SignalHit]:
        from mlscore.signals import scanner

        dirs = tuple(ctx.cache.get("signal_dirs", ()))
        return scanner(dirs).scan(ctx.facts, scan_commands(ctx))  # type: ignore[no-any-return]

    return ctx.memo("signal_hits", compute)  # type: ignore[no-any-return]


def _present(ctx: Context) -> set[str]:
    """Ids of the signals found anywhere in the tree."""
    return ctx.memo("signals_present", lambda: {h.signal.id for h in hits(ctx)})  # type: ignore[no-any-return]


def _runs(ctx: Context, hit: SignalHit) -> list[Run]:
    runs = [hit.run] if hit.run is not None else ctx.automation.effective(hit.path)
    return [r for r in runs if r is not None and (not r.swallowed or r.surfaced)]


def _holds(ctx: Context, hit: SignalHit, condition: str) -> tuple[bool, Run | None]:
    """Whether ``condition`` holds for ``hit``, and the run that makes it hold."""
    if condition == "always":
        return True, None
    if condition == "never":
        return False, None
    if condition == "guard":
        return (not hit.is_test and hit.cell is None and on_standard_path(hit.path)), None
    if condition == "serving":
        if hit.kind != "python":
            return True, None
        py = ctx.facts.py(hit.path) if hit.path.endswith(".py") else None
        return (py is not None and is_serving_file(ctx, py)), None
    runs = _runs(ctx, hit)
    if condition == "reached":
        chosen = runs
    elif condition == "pipeline":
        chosen = [r for r in runs if r.kind in _OUTCOME_KINDS or r.real_data]
    elif condition == "scheduled":
        chosen = [r for r in runs if r.scheduled]
    else:  # pragma: no cover - the model validates conditions
        raise ValueError(f"unknown condition {condition!r}")
    return bool(chosen), (chosen[0] if chosen else None)


def judge(ctx: Context, hit: SignalHit, rule_id: str) -> Outcome | None:
    """The level ``hit`` earns for ``rule_id``, with its evidence, or None when it earns nothing."""
    how = hit.signal.informs.get(rule_id)
    if how is None:
        return None
    if rule_id in SHIPPED_MODEL_ONLY and not hit.is_test and _aside(ctx, hit.path):
        return None  # an exploration notebook or comparison script inspects a candidate, not the shipped model (G9)
    swallowed = hit.run is not None and hit.run.swallowed and not hit.run.surfaced
    if swallowed and rule_id in SWALLOWED_IS_NOT_EVIDENCE:
        return None
    auto, run = _holds(ctx, hit, how.automated)
    if auto and how.automated_requires and not set(how.automated_requires) <= _present(ctx):
        auto, run = False, None
    if swallowed:
        auto, run = False, None  # a swallowed CI step is what a person can run, no more (G4, G7)
    if auto:
        level = Level.AUTOMATED
        rationale = hit.signal.title + (f" (run by {run.describe()})" if run is not None else "")
    else:
        manual, run = _holds(ctx, hit, how.manual)
        if not manual:
            return None
        level = Level.MANUAL
        why = _WHY_NOT.get(how.automated)
        rationale = hit.signal.title + (f"; {why}" if why else "")
    kind: Any = _EVIDENCE_KIND[hit.kind]
    if hit.kind == "python":
        kind = "notebook" if hit.cell is not None else "test" if hit.is_test else "code"
    elif hit.kind == "shell" and hit.run is None:
        kind = "code"
    cell = f" (cell {hit.cell})" if hit.cell is not None else ""
    evidence = Evidence(summary=f"{hit.signal.title}: {hit.text}{cell}"[:240],
                        location=Location(path=hit.path, line=hit.line), level=level, kind=kind,
                        trigger=run.describe() if run is not None else None)
    return Outcome(level, [evidence], rationale)


def signal_outcomes(ctx: Context, rule_id: str) -> list[Outcome]:
    """One outcome per signal hit that informs ``rule_id`` (strongest first is left to ``best``). Hits that show one
    aspect of a test with parts are left to the detector, which combines them (``aspect_hits``)."""
    out: list[Outcome] = []
    best: dict[tuple[str, str], int] = {}  # (signal, file) -> index in out: one item per mechanism and file
    for hit in hits(ctx):
        how = hit.signal.informs.get(rule_id)
        if how is None or how.aspect is not None:
            continue
        outcome = judge(ctx, hit, rule_id)
        if outcome is None:
            continue
        key = (hit.signal.id, hit.path)
        if key in best:
            if outcome.level.rank > out[best[key]].level.rank:
                out[best[key]] = outcome  # the strongest reading of the same mechanism in the same file
            continue
        best[key] = len(out)
        out.append(outcome)
    return out


def aspect_hits(ctx: Context, rule_id: str, aspect: str) -> list[SignalHit]:
    """Hits that show one aspect of a test with parts (INFRA1 seeds, MODEL1 review...), in scan order."""
    return [h for h in hits(ctx) if (how := h.signal.informs.get(rule_id)) is not None and how.aspect == aspect]
