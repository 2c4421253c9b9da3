"""The summary format: a few lines for hooks and CI logs (score, sections, the change, what to do next).

The full report is 100+ lines; a pre-commit hook that fails needs to say why in a glance. The reason a threshold
was crossed is printed by the command itself (stderr), after this.
"""

from __future__ import annotations

from mlscore.models import Level, Report
from mlscore.report import RenderOptions
from mlscore.report.common import (
    fmt_points,
    fmt_signed,
    incomplete_results,
    results_by_section,
    sections_weakest_first,
    short_commit,
    target_label,
)

#: Longest next-step text shown before it is cut (the full text is in `mlscore explain ID`).
NEXT_CHARS = 110


def _cut(text: str, limit: int = NEXT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render(report: Report, options: RenderOptions) -> str:
    score = report.score
    max_total = max((s.max_points for s in score.sections), default=7.0)
    head = (f"mlscore: ML Test Score {fmt_points(score.value)} of {fmt_points(max_total)}, band {score.band} "
            f"({report.score.scoring} scoring) - {target_label(report)}")
    lines = [head]
    weakest = set(score.weakest)
    parts = []
    for s in sections_weakest_first(report):
        mark = " (weakest)" if s.section in weakest else ""
        parts.append(f"{s.section.title} {fmt_points(s.points)}/{fmt_points(s.max_points)}{mark}")
    lines.append("  sections: " + ", ".join(parts))
    diff = options.diff
    if diff is not None:
        base = short_commit(diff.old_commit) or diff.old_ref or "the baseline"
        changed = ", ".join(f"{t.rule_id} {fmt_signed(t.delta)}" for t in diff.changed_tests if abs(t.delta) > 1e-9)
        lines.append(f"  change: {fmt_points(diff.old_score)} -> {fmt_points(diff.new_score)} "
                     f"({fmt_signed(diff.delta)}) compared with {base}" + (f": {changed}" if changed else ""))
    # What to do next: the weakest section's tests with no evidence (then the manual ones), cheapest first.
    grouped = results_by_section(report)
    shown = 0
    for s in sections_weakest_first(report):
        if s.section not in weakest:
            break
        todo = [r for r in grouped.get(s.section, []) if r.level is Level.NONE and r.next_step]
        todo += [r for r in grouped.get(s.section, []) if r.level is Level.MANUAL and r.next_step]
        for r in todo[: 2 - shown]:
            lines.append(f"  next: {r.rule_id} ({r.level.value}): {_cut(r.next_step)}")
            shown += 1
        if shown >= 2:
            break
    incomplete = incomplete_results(report)
    if incomplete:
        lines.append(f"  incomplete: {', '.join(r.rule_id for r in incomplete)} (levels are lower bounds)")
    if report.diagnostics:
        lines.append(f"  {len(report.diagnostics)} warning(s); `mlscore audit --format text` shows them")
    lines.append("  details: mlscore audit --format text (or html); mlscore explain ID")
    return "\n".join(lines) + "\n"
