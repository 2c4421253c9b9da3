"""The Markdown format: the pull-request comment and the job summary, within a size budget."""

from __future__ import annotations

import re

from mlscore.models import Level, Report, RuleResult
from mlscore.report import RenderOptions
from mlscore.report.common import (
    LEVEL_WORD,
    evidence_where,
    file_url,
    fmt_points,
    fmt_signed,
    incomplete_notice,
    is_url,
    results_by_section,
    rule_anchor,
    sections_weakest_first,
    short_commit,
    source_link,
    target_label,
)
from mlscore.report.diff import ReportDiff

_LEVEL_ICON = {Level.AUTOMATED: "🟢", Level.MANUAL: "🟡", Level.NONE: "🔴"}
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")


def md(text: str) -> str:
    """Escape untrusted text for Markdown: no markup, no HTML, no @mentions, one line."""
    text = re.sub(r"\s+", " ", text)
    text = _SPECIAL.sub(r"\\\1", text).replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@&#8203;", text)


def code(text: str, table: bool = False) -> str:
    """A code span that survives backticks inside the text; in a table, pipes are escaped (GFM)."""
    text = " ".join(text.split())
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_summary(text: str, table: bool = False) -> str:
    """Text with `code` spans kept as code, everything else escaped."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(
        code(p[1:-1], table) if p.startswith("`") and p.endswith("`") and len(p) > 1 else md(p)
        for p in parts
    )


def _evidence_cell(report: Report, result: RuleResult, options: RenderOptions) -> str:
    items = []
    for ev in result.evidence[:3]:
        where = evidence_where(ev)
        if not where:
            items.append(md(ev.summary))
            continue
        loc = ev.location
        assert loc is not None
        path = loc.path if is_url(loc.path) else _prefixed(options, loc.path)
        if options.source_url and not is_url(loc.path):
            url: str | None = source_link(options.source_url, path, loc.line, loc.end_line)
        else:
            url = file_url(report, path, loc.line, loc.end_line)
        label = (
            code(str(loc).replace(loc.path, path, 1), True) if not is_url(loc.path) else code(loc.path, True)
        )
        items.append(f"[{label}]({url})" if url and not is_url(loc.path) else label)
    if len(result.evidence) > 3:
        items.append(f"+{len(result.evidence) - 3} more")
    return "<br>".join(items) if items else "–"


def _prefixed(options: RenderOptions, path: str) -> str:
    from mlscore.report.common import join_prefix

    return join_prefix(options.path_prefix, path)


def _flags(result: RuleResult) -> str:
    flags = []
    if result.attestation:
        a = result.attestation
        flags.append(
            "attestation expired" if a.expired else f"attested by {md(a.owner)} (self-declared)"
        )
    if result.waived:
        flags.append(f"waived: {md(result.waived)}")
    if result.status.value == "failing":
        flags.append("check failing")
    if result.incomplete:
        flags.append(f"incomplete: {md(result.incomplete)}")
    elif result.error:
        flags.append(f"error: {md(result.error)}")
    return (" _(" + "; ".join(flags) + ")_") if flags else ""


def _section_block(
    report: Report, results: list[RuleResult], title: str, options: RenderOptions
) -> str:
    lines = [
        f"<details><summary><b>{title}</b></summary>",
        "",
        "| Test | Level | Points | Evidence | Next step |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for r in results:
        next_step = md_summary(r.next_step, table=True) if r.level != Level.AUTOMATED and r.next_step else ""
        rule = f"[{r.rule_id}]({options.rules_url}{rule_anchor(r.rule_id)})" if options.rules_url else r.rule_id
        lines.append(
            f"| **{rule}** {md(r.title)}{_flags(r)} | {_LEVEL_ICON[r.level]} {LEVEL_WORD[r.level]} "
            f"| {fmt_points(r.points)} | {_evidence_cell(report, r, options)} | {next_step} |"
        )
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _diff_block(diff: ReportDiff) -> str:
    base = short_commit(diff.old_commit) or diff.old_ref or "the baseline"
    arrow = "⬆️" if diff.delta > 0 else ("⬇️" if diff.delta < 0 else "➡️")
    lines = [
        f"{arrow} **ML Test Score {fmt_points(diff.old_score)} → {fmt_points(diff.new_score)}"
        f" ({fmt_signed(diff.delta)})** compared with {code(base)}",
        "",
    ]
    for t in diff.changed_tests:
        mark = "⬆️" if t.delta > 0 else ("⬇️" if t.delta < 0 else "↔️")
        tag = " **(self-declared: attestation or waiver)**" if t.self_declared else ""
        lines.append(f"- {mark} {fmt_signed(t.delta)}: {md_summary(t.summary)}{tag}")
    if not diff.changed_tests:
        lines.append("- No test changed level.")
    if diff.evidence_only:
        ids = ", ".join(t.rule_id for t in diff.evidence_only)
        lines.append(f"- Evidence changed with no change in points: {ids}.")
    lines.append("")
    if diff.score_rise_self_declared:
        lines += [
            "> [!WARNING]",
            "> The score rises **only because this change adds or edits attestations or waivers**: "
            "the credit is self-declared, not found in the repository. Reviewers, please check them.",
            "",
        ]
    elif diff.self_declared_gain > 0:
        lines += [
            f"> [!NOTE]\n> {fmt_points(diff.self_declared_gain)} point(s) of the gain are self-declared (attestations).",
            "",
        ]
    if diff.scoring_mismatch:
        lines += ["> [!CAUTION]\n> The two reports use different scoring rules (2016 vs 2017).", ""]
    return "\n".join(lines)


def render(report: Report, options: RenderOptions) -> str:
    """Render Markdown for a PR comment or job summary, dropping per-section details to fit ``max_chars``."""
    score = report.score
    max_total = max((s.max_points for s in score.sections), default=7.0)
    head = [
        f"## ML Test Score: {fmt_points(score.value)} of {fmt_points(max_total)} · band {score.band}",
        "",
        f"> {md(score.band_text)}",
        "",
    ]
    if options.diff is not None:
        head.append(_diff_block(options.diff))
    head += [
        "| Section | Points | 🟢 automated | 🟡 manual | 🔴 none |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    weakest = set(score.weakest)
    for s in sections_weakest_first(report):
        name = f"**{s.section.title}** (weakest)" if s.section in weakest else s.section.title
        head.append(
            f"| {name} | {fmt_points(s.points)} / {fmt_points(s.max_points)} | {s.automated} | {s.manual} | {s.none} |"
        )
    head += [
        "",
        "The score is the minimum of the four sections, so the weakest section is the one to raise.",
        "",
    ]
    notice = incomplete_notice(report)
    if notice:
        head += [f"> [!WARNING]\n> {md(notice)}", ""]

    grouped = results_by_section(report)
    blocks = []
    for s in sections_weakest_first(report):
        results = grouped.get(s.section, [])
        if results:
            title = f"{s.section.title}: {fmt_points(s.points)} of {fmt_points(s.max_points)}"
            blocks.append(_section_block(report, results, title, options))
    if report.diagnostics:
        diag = [f"<details><summary>{len(report.diagnostics)} warning(s)</summary>", ""]
        diag += [
            f"- {code(d.path) + ': ' if d.path else ''}{md(d.message)}"
            for d in report.diagnostics[:50]
        ]
        if len(report.diagnostics) > 50:
            diag.append(f"- … and {len(report.diagnostics) - 50} more")
        diag += ["", "</details>", ""]
        blocks.append("\n".join(diag))
    # No timestamp: a re-run (same run id) of the same commit gives the same comment, so it is not re-posted;
    # a new run edits the comment in place (its link to the run changes), which sends no notification.
    run = f" · [workflow run]({options.run_url})" if options.run_url else ""
    foot = f"<sub>mlscore {md(report.version)} · {md(target_label(report))}{run}</sub>\n"

    text = "\n".join(head) + "\n"
    budget = options.max_chars
    if budget is None:
        return text + "".join(blocks) + foot
    link = f" [Full report]({options.run_url})." if options.run_url else ""
    note = f"\n_Details were cut to fit this page's size limit.{link}_\n\n"
    kept = text
    for block in blocks:
        if len(kept) + len(block) + len(note) + len(foot) > budget:
            return _fit(kept + note + foot, budget)
        kept += block
    return _fit(kept + foot, budget)


def _fit(text: str, budget: int) -> str:
    if len(text) <= budget:
        return text
    marker = "\n\n_…cut to fit the size limit._\n"
    return text[: max(0, budget - len(marker))] + marker
