"""The terminal and CI-log format: score, band, sections weakest first, then every test with evidence."""

from __future__ import annotations

import click

from mlscore.models import Level, Report, RuleResult, Status
from mlscore.report import RenderOptions
from mlscore.report.common import (
    LEVEL_WORD,
    evidence_where,
    fmt_points,
    fmt_signed,
    incomplete_notice,
    results_by_section,
    sections_weakest_first,
    short_commit,
    target_label,
)
from mlscore.report.diff import ReportDiff

_LEVEL_COLOR = {Level.AUTOMATED: "green", Level.MANUAL: "yellow", Level.NONE: "red"}
_BAR_WIDTH = 14


def _bar(points: float, max_points: float) -> str:
    filled = round(_BAR_WIDTH * points / max_points) if max_points else 0
    return "[" + "#" * filled + "." * (_BAR_WIDTH - filled) + "]"


def _result_lines(result: RuleResult, style: _Style) -> list[str]:
    level = LEVEL_WORD[result.level]
    head = (
        f"  {result.rule_id:<7}{style(f'{level:<10}', fg=_LEVEL_COLOR[result.level])}"
        f"{fmt_points(result.points):>4}  {result.title}"
    )
    lines = [head]
    pad = " " * 9
    flags: list[str] = []
    if result.status == Status.FAILING:
        flags.append("the check itself is failing")
    if result.attestation:
        a = result.attestation
        state = "expired, not counted" if a.expired else "self-declared"
        flags.append(f"attested by {a.owner} on {a.date} ({state})")
    if result.waived:
        flags.append(f"waived: {result.waived}")
    if result.incomplete:
        flags.append(f"incomplete: {result.incomplete}")
    elif result.error:
        flags.append(f"error: {result.error}")
    for flag in flags:
        lines.append(f"{pad}{style('! ' + flag, fg='magenta')}")
    if result.rationale:
        lines.append(f"{pad}{result.rationale}")
    for ev in result.evidence:
        where = evidence_where(ev)
        text = f"{where}  {ev.summary}" if where else ev.summary
        if ev.trigger:
            text += f" (run by {ev.trigger})"
        lines.append(f"{pad}{style('evidence', dim=True)} [{ev.level.value}] {text}")
    if result.level != Level.AUTOMATED and result.next_step:
        lines.append(f"{pad}{style('next', bold=True)}: {result.next_step}")
    return lines


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, **kwargs: object) -> str:
        return click.style(text, **kwargs) if self.color else text  # type: ignore[arg-type]


def _diff_lines(diff: ReportDiff, style: _Style) -> list[str]:
    base = short_commit(diff.old_commit) or diff.old_ref or "baseline"
    lines = [
        style(
            f"Change since {base}: {fmt_points(diff.old_score)} -> {fmt_points(diff.new_score)}"
            f" ({fmt_signed(diff.delta)})",
            bold=True,
        )
    ]
    for s in diff.sections:
        if abs(s.delta) > 1e-9:
            lines.append(
                f"  {s.section.title:<19}{fmt_points(s.old_points)} -> {fmt_points(s.new_points)}"
                f" ({fmt_signed(s.delta)})"
            )
    changed = diff.changed_tests
    for t in changed:
        tag = " [self-declared]" if t.self_declared else ""
        lines.append(f"  {fmt_signed(t.delta):>4}  {t.summary}{tag}")
    if not changed:
        lines.append("  no test changed level")
    if diff.evidence_only:
        ids = ", ".join(t.rule_id for t in diff.evidence_only)
        lines.append(f"  evidence changed without a change in points: {ids}")
    if diff.score_rise_self_declared:
        lines.append(
            style(
                "  The score rises only because of attestations or waivers (self-declared credit).",
                fg="magenta",
            )
        )
    elif diff.self_declared_gain > 0:
        lines.append(
            f"  {fmt_points(diff.self_declared_gain)} point(s) of the gain are self-declared (attestations)."
        )
    if diff.scoring_mismatch:
        lines.append("  ! the two reports use different scoring rules (2016 vs 2017)")
    return lines


def render(report: Report, options: RenderOptions) -> str:
    """Render the report for a terminal or a CI log (ANSI colour only when ``options.color``)."""
    style = _Style(options.color)
    score = report.score
    max_total = max((s.max_points for s in score.sections), default=7.0)
    lines = [
        f"mlscore {report.version} - {target_label(report)}",
        "",
        style(f"ML Test Score: {fmt_points(score.value)} of {fmt_points(max_total)}", bold=True)
        + f"   band {score.band} ({score.scoring} scoring)",
        f"  {score.band_text}",
        "",
        "Sections, weakest first (the score is the minimum of the four):",
    ]
    weakest = set(score.weakest)
    for s in sections_weakest_first(report):
        counts = f"{s.automated} automated, {s.manual} manual, {s.none} none"
        row = (
            f"  {s.section.title:<19}{fmt_points(s.points):>4} / {fmt_points(s.max_points):<3}"
            f"{_bar(s.points, s.max_points)}  {counts}"
        )
        if s.section in weakest:
            row = style(row + "   <- weakest: raise this first", fg="red", bold=True)
        lines.append(row)
    notice = incomplete_notice(report)
    if notice:
        lines += ["", style(f"! {notice}", fg="magenta", bold=True)]
    if options.diff is not None:
        lines += ["", *_diff_lines(options.diff, style)]
    grouped = results_by_section(report)
    for s in sections_weakest_first(report):
        results = grouped.get(s.section, [])
        if not results:
            continue
        lines += [
            "",
            style(
                f"{s.section.title} ({fmt_points(s.points)} of {fmt_points(s.max_points)})",
                bold=True,
            ),
        ]
        for result in results:
            lines += _result_lines(result, style)
    if report.diagnostics:
        lines += ["", f"Warnings ({len(report.diagnostics)}):"]
        for d in report.diagnostics:
            where = f"{d.path}: " if d.path else ""
            lines.append(f"  {d.severity}: {where}{d.message}")
    return "\n".join(lines) + "\n"


def render_diff(diff: ReportDiff, options: RenderOptions) -> str:
    """Render only the changes between two reports (``mlscore diff``)."""
    return "\n".join(_diff_lines(diff, _Style(options.color))) + "\n"
