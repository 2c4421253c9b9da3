"""Render a ProbeReport as text, JSON, Markdown or HTML (the HTML template is reports/probe.html.j2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlscore.probe.report import PROBE_RULES, ProbeReport
from mlscore.provenance import describe

FORMATS = ("text", "json", "markdown", "html")
_MARK = {"passing": "PASS", "failing": "FAIL", "unknown": "????", "skipped": "skip", "error": "ERR "}
_EMOJI = {"passing": "✅ passing", "failing": "❌ failing", "unknown": "❔ unknown", "skipped": "⏭ skipped", "error": "⚠️ error"}


def render(report: ProbeReport, fmt: str, color: bool = False) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    return render_text(report, color)


def render_json(report: ProbeReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def _paint(text: str, status: str, color: bool) -> str:
    if not color:
        return text
    code = {"passing": "32", "failing": "31", "error": "33", "unknown": "36", "skipped": "2"}.get(status, "0")
    return f"\033[{code}m{text}\033[0m"


def render_text(report: ProbeReport, color: bool = False) -> str:
    t = report.target
    lines = [
        f"mlscore probe {t.url}" + (f" model {t.model}" if t.model else ""),
        f"protocol {t.protocol} ({'detected: ' if t.detected else 'given; '}{t.detected_by})",
    ]
    if t.server:
        lines.append("server " + ", ".join(f"{k}={v}" for k, v in t.server.items() if not isinstance(v, list)))
    lines.append("")
    width = max((len(c.id) for c in report.checks), default=10)
    for check in report.checks:
        mark = _paint(_MARK[check.status], check.status, color)
        lines.append(f"{mark}  {check.id:<{width}}  {','.join(check.rules):<12} {check.message}")
    counts = report.counts()
    lines += [
        "",
        "rubric: " + "  ".join(f"{rule} {report.rule_status(rule)}" for rule in PROBE_RULES),
        (
            f"{counts['passing']} passing, {counts['failing']} failing, {counts['unknown']} unknown, "
            f"{counts['skipped']} skipped, {counts['error']} error; {report.requests_sent} requests in {report.duration_s:.1f} s"
        ),
    ]
    if line := describe(report.provenance):
        lines.append(line)
    for diag in report.diagnostics:
        lines.append(f"note: {diag.message}")
    return "\n".join(lines) + "\n"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: ProbeReport) -> str:
    t = report.target
    counts = report.counts()
    out = [
        f"# mlscore probe: `{t.url}`" + (f" model `{t.model}`" if t.model else ""),
        "",
        f"- Protocol: **{t.protocol}** ({'detected' if t.detected else 'given'}: {_md(t.detected_by)})",
    ]
    if t.server:
        out.append("- Server: " + ", ".join(f"{k} `{_md(v)}`" for k, v in t.server.items() if not isinstance(v, list)))
    out += [
        (
            f"- Generated {report.generated_at} by mlscore {report.version}: {report.requests_sent} requests in "
            f"{report.duration_s:.1f} s (caps: {report.limits.max_requests} requests, {report.limits.time_budget_s:g} s, "
            f"{report.limits.max_rate or 'unlimited'} req/s, {report.limits.timeout_s:g} s per call)"
        ),
        f"- Result: {counts['passing']} passing, {counts['failing']} failing, {counts['unknown']} unknown, {counts['skipped']} skipped, {counts['error']} error",
        *([f"- Provenance: {_md(line)}"] if (line := describe(report.provenance)) else []),
        "",
        "## Rubric tests",
        "",
        "| test | status | checks |",
        "| --- | --- | --- |",
    ]
    by_rule = report.by_rule()
    for rule in PROBE_RULES:
        out.append(f"| {rule} | {_EMOJI[report.rule_status(rule)]} | {', '.join(f'`{c.id}`' for c in by_rule.get(rule, []))} |")
    out += ["", "## Checks", "", "| check | rubric | status | finding |", "| --- | --- | --- | --- |"]
    for check in report.checks:
        out.append(f"| `{check.id}` | {', '.join(check.rules)} | {_EMOJI[check.status]} | {_md(check.message)} |")
    details = [c for c in report.checks if c.id in ("bad-input", "skew", "edge-inputs") and c.details]
    for check in details:
        out += ["", f"### {check.id}", ""]
        if check.id in ("bad-input", "edge-inputs"):
            out += ["| case | HTTP | verdict | answer |", "| --- | --- | --- | --- |"]
            for case in check.details.get("cases", []):
                answer = case.get("answer") or case.get("output") or ""
                out.append(f"| {_md(case.get('case'))} | {case.get('status')} | {_md(case.get('verdict'))} | {_md(str(answer)[:120])} |")
        else:
            out.append(f"{check.details.get('mismatches')} of {check.details.get('rows_compared')} rows differ (tolerance atol {check.details.get('atol')}, rtol {check.details.get('rtol')}).")
            if check.details.get("worst_rows"):
                out += ["", "| row | expected | served | abs diff |", "| --- | --- | --- | --- |"]
                for row in check.details["worst_rows"]:
                    out.append(f"| {row['row']} | `{_md(row['expected'])}` | `{_md(row['served'])}` | {row['abs_diff']} |")
    if report.diagnostics:
        out += ["", "## Notes", ""] + [f"- {_md(d.message)}" for d in report.diagnostics]
    return "\n".join(out) + "\n"


def template_dirs() -> list[Path]:
    """Where report templates live: the repository's reports/ in development, package data installed."""
    here = Path(__file__).resolve()
    return [p for p in (here.parents[3] / "reports", here.parents[1] / "_data" / "reports") if p.is_dir()]


def render_html(report: ProbeReport) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in template_dirs()]),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
    )
    try:
        template = env.get_template("probe.html.j2")
    except jinja2.TemplateNotFound:
        from mlscore.errors import MlscoreError

        raise MlscoreError("HTML template probe.html.j2 not found (reports/ is missing from this install)") from None
    by_rule = report.by_rule()
    return template.render(
        provenance=describe(report.provenance),
        version=report.version,
        report=report,
        counts=report.counts(),
        rules=[(rule, report.rule_status(rule), by_rule.get(rule, [])) for rule in PROBE_RULES],
        detail_checks=[c for c in report.checks if c.id in ("bad-input", "edge-inputs", "skew", "latency") and c.details],
    )
