"""Render a DataReport as text, JSON, Markdown or HTML (inline SVG plots, no scripts)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from mlscore.data.report import ColumnSummary, DataReport
from mlscore.provenance import describe

FORMATS = ("text", "json", "markdown", "html")
_MARK = {"passing": "PASS", "warning": "WARN", "failing": "FAIL", "unknown": "????", "skipped": "SKIP",
         "error": "ERR "}


def render(report: DataReport, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    if fmt == "text":
        return render_text(report, color=color)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    raise ValueError(f"unknown format {fmt!r}")


def _stat(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}"


def render_text(report: DataReport, *, color: bool = False) -> str:
    def paint(s: str, status: str) -> str:
        if not color:
            return s
        code = {"passing": "32", "warning": "33", "failing": "31", "unknown": "33", "skipped": "2",
                "error": "35"}.get(status, "0")
        return f"\x1b[{code}m{s}\x1b[0m"

    lines = [
        f"mlscore data check: {report.status.upper()}",
        f"  reference {report.inputs.get('reference')} ({report.reference_rows} rows)",
        f"  current   {report.inputs.get('current')} ({report.current_rows} rows)",
        *([f"  {line}"] if (line := describe(report.provenance)) else []),
        "",
    ]
    for c in report.checks:
        lines.append(f"{paint(_MARK.get(c.status, c.status), c.status)}  {c.id:<22} [{', '.join(c.rules)}] {c.message}")
    drift = [col for col in report.columns if col.drift is not None]
    if drift:
        dd = report.dataset_drift
        if dd.get("correction"):
            lines += ["", f"drift: Evidently's per-column test, then Benjamini-Hochberg at FDR {dd.get('fdr', 0.05):g} "
                          "over the columns (q); * = important feature"]
        lines += ["", f"{'column':<24} {'method':<14} {'statistic':>10} {'threshold':>9} {'q':>9}  drift   n(ref/cur)"]
        for col in drift:
            d = col.drift
            assert d is not None
            flag = "?" if d.drifted is None else ("YES" if d.drifted else "no")
            approx = "~" if d.approximate else " "
            name = ("*" if d.important else "") + _printable(col.name)
            lines.append(
                f"{name[:24]:<24} {d.method:<14} {approx}{_stat(d.statistic):>9} {d.threshold:>9g} "
                f"{_stat(d.q_value):>9}  {flag:<6}  {d.reference_n}/{d.current_n}" + (f"  ({d.note})" if d.note else "")
            )
    for diag in report.diagnostics:
        lines.append(f"warning: {diag.path}: {diag.message}" if diag.path else f"warning: {diag.message}")
    return "\n".join(lines) + "\n"


def _printable(s: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in s)


def _md(s: Any) -> str:
    """Free text in a Markdown table cell: inert (no HTML, no table breaks, no code spans)."""
    text = html.escape(_printable(str(s).replace("\n", " ")), quote=False)
    return text.replace("|", "\\|").replace("`", "&#96;")


def _code(s: Any, *, table: bool = True) -> str:
    """A code span holding ``s`` verbatim, whatever backticks it contains (CommonMark: a longer fence)."""
    text = _printable(str(s).replace("\n", " "))
    if table:
        text = text.replace("|", "\\|")  # GFM reads the cell boundaries before the code span
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_markdown(report: DataReport) -> str:
    icon = {"passing": "✅", "warning": "⚠️", "failing": "❌", "unknown": "❔", "skipped": "⏭️", "error": "⚠️"}
    out = [
        f"# mlscore data check: {report.status}",
        "",
        f"- reference: {_code(report.inputs.get('reference'), table=False)} ({report.reference_rows} rows)",
        f"- current: {_code(report.inputs.get('current'), table=False)} ({report.current_rows} rows)",
        f"- generated: {report.generated_at} by mlscore {report.version}",
        *([f"- provenance: {_md(line)}"] if (line := describe(report.provenance)) else []),
        "",
        "## Checks",
        "",
        "| | check | rubric | result |",
        "|---|---|---|---|",
    ]
    for c in report.checks:
        out.append(f"| {icon.get(c.status, c.status)} | {_md(c.title)} (`{c.id}`) | {', '.join(c.rules)} | {_md(c.message)} |")
    drift = [col for col in report.columns if col.drift is not None]
    if drift:
        dd = report.dataset_drift
        out += [
            "",
            "## Drift",
            "",
            (f"{len(dd.get('drifted_columns', []))} of {dd.get('number_of_columns')} columns drifted "
             f"(share {dd.get('share', 0):.0%}, dataset drift at {dd.get('drift_share', 0.5):.0%})"
             + (f"; a column drifts when Benjamini-Hochberg at FDR {dd.get('fdr', 0.05):g} over the columns "
                "finds it (q) and, on large references, Evidently's distance reaches its threshold"
                if dd.get("correction") else "") + "."),
            "",
            "| column | kind | method | statistic | threshold | q (BH) | drifted | n (ref / cur) |",
            "|---|---|---|---:|---:|---:|---|---|",
        ]
        for col in drift:
            d = col.drift
            assert d is not None
            flag = "?" if d.drifted is None else ("**yes**" if d.drifted else "no")
            out.append(
                f"| {_code(col.name)}{' (important)' if d.important else ''} | {col.kind} | {d.method} "
                f"| {'~' if d.approximate else ''}{_stat(d.statistic)} "
                f"| {d.threshold:g} | {_stat(d.q_value)} | {flag} | {d.reference_n} / {d.current_n} |"
            )
    val = report.check("validation")
    if val is not None and val.details.get("results"):
        failed = [r for r in val.details["results"] if not r.get("success")]
        if failed:
            out += ["", "## Failed expectations", "", "| expectation | column | observed / unexpected |", "|---|---|---|"]
            for r in failed[:50]:
                obs = r.get("observed_value", "")
                if r.get("unexpected_count") is not None:
                    obs = f"{r['unexpected_count']} unexpected, e.g. {r.get('partial_unexpected_list', [])[:5]}"
                column = r["kwargs"].get("column")
                out.append(f"| {_md(r['type'])} | {_code(column) if column is not None else ''} | {_md(obs)} |")
    if report.diagnostics:
        out += ["", "## Warnings", ""] + [f"- {_md(d.path or '')}: {_md(d.message)}" for d in report.diagnostics]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- HTML


def _svg_plot(col: ColumnSummary, width: int = 260, height: int = 70) -> str:
    plot = col.plot or {}
    ref = plot.get("reference") or []
    cur = plot.get("current") or []
    n = max(len(ref), len(cur))
    if n == 0:
        return ""
    top = max([*ref, *cur, 1e-12])
    bw = width / n
    parts = [(f'<svg class="dist" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
              f'aria-label="distribution of {html.escape(col.name)}: reference (grey) and current (blue)">')]
    for i in range(n):
        for series, cls, off in ((ref, "r", 0.0), (cur, "c", 0.5)):
            if i < len(series):
                h = (series[i] / top) * (height - 4)
                x = i * bw + off * bw
                parts.append(f'<rect class="{cls}" x="{x:.2f}" y="{height - h:.2f}" width="{bw / 2:.2f}" height="{h:.2f}"/>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: DataReport) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader([str(p) for p in _template_dirs()]),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["stat"] = _stat
    from markupsafe import Markup

    env.globals["svg_plot"] = lambda col: Markup(_svg_plot(col))  # names inside are escaped
    template = env.get_template("data.html.j2")
    return template.render(report=report, version=report.version, provenance=describe(report.provenance),
                           drift_columns=[c for c in report.columns if c.drift is not None])


def _template_dirs() -> list[Path]:
    here = Path(__file__).resolve()
    candidates = [here.parents[3] / "reports", here.parents[1] / "_data" / "reports"]
    return [p for p in candidates if p.is_dir()]
