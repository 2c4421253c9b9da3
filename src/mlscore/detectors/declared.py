"""Evidence the team declares: tests marked `@pytest.mark.mlscore("DATA1")` (or mapped by path in
`mlscore_rubric`), with the outcomes pytest-mlscore recorded in `mlscore-tests.json`.

A marker says which rubric test a test is for; the rubric's general rules still decide the level:

* the test must check something (a test that asserts nothing is a placeholder, G2);
* automated (1) when the automation model shows CI or a scheduler running the file (G5), on a schedule for
  monitoring tests (G6: checks that run only on pushes are 0.5), and on committed real data for the outcome
  items DATA2, MODEL3, MODEL5, MODEL6, MODEL7 and INFRA4 (G8); otherwise manual (0.5, a suite a person runs, G4);
* a recorded failure does not lower the level (the rubric credits having the check); it makes the evidence and
  the result's status ``failing``.
"""

from __future__ import annotations

from typing import Any

from mlscore.detectors.common import Context, Outcome
from mlscore.models import Diagnostic, Evidence, Level, Location, Status

#: Outcome items: CI on fixtures tests the code, not the shipped model on real data (LABELING.md G8).
OUTCOME_ITEMS = frozenset({"DATA2", "MODEL3", "MODEL5", "MODEL6", "MODEL7", "INFRA4"})


def declared(ctx: Context) -> Any:
    """The markers, mappings and recorded runs of the tree (and of ``--tests-report``), read once per audit."""
    from mlscore.facts.test_reports import scan

    def compute() -> Any:
        result = scan(ctx.facts, ctx.cache.get("tests_reports", ()))
        ctx.cache.setdefault("diagnostics", []).extend(result.diagnostics)
        for test in result.tests:
            if test.asserts == 0:
                ctx.cache["diagnostics"].append(Diagnostic(
                    path=test.path, message=f"line {test.line}: {test.name} is marked {', '.join(test.ids)} but "
                                            "asserts nothing: not counted"))
        return result

    return ctx.memo("declared_tests", compute)


def _describe(run: Any) -> str:
    where = f"{run.ci.name} {run.ci.trigger}" if run.ci is not None else "a run outside CI"
    return f"{where}, {run.generated_at[:10]}"


def declared_outcomes(ctx: Context, rule_id: str) -> list[Outcome]:
    """One outcome per test declared for ``rule_id``, at the level the rubric's rules give it."""
    found = declared(ctx)
    tests = [t for t in found.for_rule(rule_id) if t.asserts > 0]
    out = []
    for test in tests[:40]:
        runs = ctx.automation.effective(test.path)
        how = "@pytest.mark.mlscore" if test.source == "marker" else "mlscore_rubric mapping"
        level, why = Level.MANUAL, "a test declared for it exists, but nothing in the tree runs it automatically"
        run = None
        if runs:
            run = next((r for r in runs if r.scheduled), runs[0])
            if rule_id.startswith("MON") and not run.scheduled:
                why = ("a declared test runs in CI, but only when the team pushes: a monitoring check must run on its "
                       "own schedule (LABELING.md G6)")
            elif rule_id in OUTCOME_ITEMS and not (run.real_data or _real_data(ctx, test.path)):
                why = ("a declared test runs in CI, but on fixtures as far as the tree shows: an outcome check needs "
                       "the project's real data (LABELING.md G8)")
            else:
                level = Level.AUTOMATED
                why = "a test declared for it runs automatically" + (" on a schedule" if run.scheduled else " in CI")
        recorded = [r for r in found.runs_of(test.path, test.name) if r.rule_id == rule_id]
        failed = [r for r in recorded if r.outcome in ("failed", "error")]
        summary = f"{test.name} is declared for {rule_id} ({how})"
        status = Status.UNKNOWN
        if failed:
            status = Status.FAILING
            summary += f"; FAILING in the recorded run ({_describe(failed[0])}, {failed[0].report})"
            why += "; the recorded run shows it failing (the check exists: the rubric credits it, but it is red)"
        elif any(r.outcome in ("passed", "xpassed") for r in recorded):
            status = Status.PASSING
            passed = next(r for r in recorded if r.outcome in ("passed", "xpassed"))
            summary += f"; passed in the recorded run ({_describe(passed)}, {passed.report})"
        elif recorded:
            summary += f"; {recorded[0].outcome} in the recorded run ({recorded[0].report})"
        evidence = Evidence(summary=summary, location=Location(path=test.path, line=test.line), level=level,
                            kind="test", trigger=run.describe() if run is not None and level is Level.AUTOMATED
                            else None)
        out.append(Outcome(level, [evidence], why, status))
    return out


def _real_data(ctx: Context, path: str) -> bool:
    from mlscore.facts.test_reports import reads_committed_data

    return bool(ctx.memo(f"declared_real_data:{path}", lambda: reads_committed_data(ctx.facts, path)))
