"""`mlscore diff OLD NEW`: per-test and per-section changes between two saved JSON reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mlscore.report import RenderOptions, render
from mlscore.report.diff import compare
from mlscore.report.load import load_report
from mlscore.report.text import render_diff


@click.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html", "json"]),
    default="text",
    show_default=True,
    help="text and json show only the changes; markdown and html show the new report with its changes.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE, not stdout.",
)
@click.option(
    "--fail-on-drop", is_flag=True, help="Exit 1 when the score is lower in NEW than in OLD."
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the text format (default: when stdout is a terminal).",
)
def diff(
    old: Path, new: Path, fmt: str, output: Path | None, fail_on_drop: bool, color: bool | None
) -> int:
    """Compare two saved JSON audit reports: OLD (the base) and NEW (the head)."""
    old_report, new_report = load_report(old), load_report(new)
    changes = compare(old_report, new_report)
    if color is None:
        color = output is None and sys.stdout.isatty()
    options = RenderOptions(color=color and fmt == "text", diff=changes)
    if fmt == "json":
        text = changes.model_dump_json(indent=2) + "\n"
    elif fmt == "text":
        text = render_diff(changes, options)
    else:
        text = render(new_report, fmt, options)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    return 1 if fail_on_drop and changes.delta < 0 else 0
