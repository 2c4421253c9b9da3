"""The HTML format: one self-contained page (jinja2 templates from reports/, inline SVG, no network)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from mlscore.errors import MlscoreError
from mlscore.models import Evidence, Level, Report
from mlscore.report import RenderOptions
from mlscore.report.common import (
    SECTION_ORDER,
    file_url,
    fmt_points,
    fmt_signed,
    incomplete_notice,
    is_url,
    join_prefix,
    results_by_section,
    sections_weakest_first,
)

_FILL = {
    Level.AUTOMATED: ("#dafbe1", "#1a7f37"),
    Level.MANUAL: ("#fff8c5", "#9a6700"),
    Level.NONE: ("#ffebe9", "#cf222e"),
}
_SHORT = {
    "data": "Data",
    "model": "Model",
    "infrastructure": "Infrastructure",
    "monitoring": "Monitoring",
}


def templates_dir() -> Any:
    """The report templates: ``mlscore/_data/reports`` in a wheel, ``<repo>/reports`` in a checkout."""
    from importlib.resources import files

    packaged = files("mlscore").joinpath("_data", "reports")
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "reports"
    if checkout.is_dir():
        return checkout
    raise MlscoreError(f"the report templates are missing (looked in {packaged} and {checkout})")


@lru_cache(maxsize=1)
def environment() -> Any:
    """The jinja2 environment every HTML report uses (autoescaped, strict about undefined names)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["points"] = fmt_points
    env.filters["signed"] = fmt_signed
    env.filters["codespans"] = codespans
    return env


def codespans(text: str) -> Markup:
    """Escape text, then turn `backtick spans` into <code> elements."""
    parts = re.split(r"(`[^`]+`)", text)
    out = [
        Markup("<code>{}</code>").format(p[1:-1])
        if p.startswith("`") and p.endswith("`")
        else escape(p)
        for p in parts
    ]
    return Markup("").join(out)


def render(report: Report, options: RenderOptions) -> str:
    """Render the audit report as one HTML page."""
    score = report.score
    max_total = max((s.max_points for s in score.sections), default=7.0)
    weakest = set(score.weakest)
    grouped = results_by_section(report)

    section_rows = [
        {
            "label": s.section.title,
            "value": s.points,
            "max": s.max_points or 7.0,
            "text": f"{fmt_points(s.points)} / {fmt_points(s.max_points)}",
            "highlight": s.section in weakest,
        }
        for s in sections_weakest_first(report)
    ]
    top = max_total or 7.0
    band_ticks = [
        {"value": v, "max": top, "label": fmt_points(v)} for v in (1, 2, 3, 5, 7) if v <= top
    ]
    if score.scoring == "2016":
        band_ticks = [
            {"value": v, "max": top, "label": fmt_points(v)} for v in (2, 4, 6, 10, 14) if v <= top
        ]

    matrix = []
    for section in SECTION_ORDER:
        cells = []
        for r in grouped.get(section, []):
            fill, ink = _FILL[r.level]
            cells.append(
                {
                    "rule_id": r.rule_id,
                    "title": r.title,
                    "level": r.level.value + ("?" if r.incomplete else ""),
                    "fill": fill,
                    "stroke": ink,
                    "ink": ink,
                }
            )
        matrix.append({"title": _SHORT[section.value], "cells": cells})

    sections = []
    for s in sections_weakest_first(report):
        results = grouped.get(s.section, [])
        if results:
            sections.append(
                {
                    "section": s.section,
                    "points": s.points,
                    "max_points": s.max_points,
                    "weakest": s.section in weakest,
                    "results": results,
                }
            )

    def evidence_url(evidence: Evidence) -> str | None:
        loc = evidence.location
        if loc is None:
            return None
        if is_url(loc.path):
            return loc.path if loc.path.startswith(("https://", "http://")) else None
        return file_url(report, join_prefix(options.path_prefix, loc.path), loc.line, loc.end_line)

    commit_url = None
    if report.target.web_url and report.target.commit:
        commit_url = f"{report.target.web_url.rstrip('/')}/commit/{report.target.commit}"
    template = environment().get_template("audit.html.j2")
    return str(
        template.render(
            report=report,
            score=score,
            version=report.version,
            max_total=max_total,
            diff=options.diff,
            section_rows=section_rows,
            band_ticks=band_ticks,
            matrix=matrix,
            legend=[
                ("automated", *_FILL[Level.AUTOMATED]),
                ("manual", *_FILL[Level.MANUAL]),
                ("none", *_FILL[Level.NONE]),
            ],
            sections=sections,
            evidence_url=evidence_url,
            commit_url=commit_url,
            incomplete_notice=incomplete_notice(report),
        )
    )
