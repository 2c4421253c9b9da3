"""Report formatters: one pure ``render(report, options) -> str`` per format, loaded lazily by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlscore.errors import MlscoreError

if TYPE_CHECKING:
    from mlscore.models import Report
    from mlscore.report.diff import ReportDiff

__all__ = ["EXTENSIONS", "FORMATS", "RenderOptions", "render"]

#: format name -> "module:function"; a module is imported only when its format is asked for.
FORMATS: dict[str, str] = {
    "text": "mlscore.report.text:render",
    "json": "mlscore.report.json:render",
    "sarif": "mlscore.report.sarif:render",
    "markdown": "mlscore.report.markdown:render",
    "html": "mlscore.report.html:render",
    "junit": "mlscore.report.junit:render",
    "summary": "mlscore.report.summary:render",
}

#: format name -> file name extension, for ``--output-dir``.
EXTENSIONS: dict[str, str] = {
    "text": "txt",
    "json": "json",
    "sarif": "sarif",
    "markdown": "md",
    "html": "html",
    "junit": "xml",
    "summary": "summary.txt",
}


@dataclass(frozen=True)
class RenderOptions:
    """How to render: every formatter reads only what applies to it.

    :param color: ANSI colour in the text format (only when writing to a terminal).
    :param max_chars: size budget for the Markdown format (PR comment 65,536; step summary ~900 KiB).
    :param diff: changes against a baseline report, shown by text, Markdown and HTML.
    :param run_url: link shown when Markdown is truncated (the Actions run page).
    :param path_prefix: POSIX prefix from the repository root to the audited path, for SARIF URIs and
        annotations when the audit ran on a subdirectory.
    :param sarif_category: SARIF ``automationDetails.id`` prefix (GitHub code-scanning category).
    :param anchor: repository file that SARIF results with no file of their own point at (GitHub needs a
        location); by default the first evidence file of the report.
    :param source_url: where evidence links point in Markdown, e.g. ``https://github.com/o/r/blob/<head sha>``
        (the pull request's head commit); by default the audited commit at the repository's web URL.
    :param rules_url: the page documenting the rubric tests (``docs/rules.md``); Markdown links each test id to
        its section there.
    """

    color: bool = False
    max_chars: int | None = None
    diff: ReportDiff | None = None
    run_url: str | None = None
    path_prefix: str = ""
    sarif_category: str = "mlscore"
    anchor: str | None = None
    source_url: str | None = None
    rules_url: str | None = None


def formatter(fmt: str) -> Callable[[Report, RenderOptions], str]:
    """Return the render function of one format; unknown names are a usage error."""
    target = FORMATS.get(fmt)
    if target is None:
        raise MlscoreError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")
    module_name, attr = target.split(":")
    function: Callable[[Report, RenderOptions], str] = getattr(
        importlib.import_module(module_name), attr
    )
    return function


def render(report: Report, fmt: str, options: RenderOptions | None = None) -> str:
    """Render ``report`` in format ``fmt`` (a key of :data:`FORMATS`)."""
    return formatter(fmt)(report, options or RenderOptions())
