"""`mlscore audit PATH`: glue between the CLI options, the engine and the formatters."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlscore.errors import MlscoreError

if TYPE_CHECKING:
    from mlscore.models import Report
    from mlscore.report.diff import ReportDiff

FORMAT_NAMES = ("text", "json", "sarif", "markdown", "html", "junit", "summary")


def split_list(values: tuple[str, ...]) -> list[str]:
    """`--select DATA,MON --select INFRA3` -> ['DATA', 'MON', 'INFRA3']."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


class Progress:
    """Progress on stderr, shown only once the work has taken more than a second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.shown = False
        self.last = 0.0

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.start < 1.0 or (not self.tty and now - self.last < 2.0):
            return
        self.last = now
        if self.tty:
            click.echo(f"\rmlscore: {message}\x1b[K", err=True, nl=False)
        else:
            click.echo(f"mlscore: {message}", err=True)
        self.shown = True

    def done(self) -> None:
        if self.shown and self.tty:
            click.echo("\r\x1b[K", err=True, nl=False)


@click.command("audit")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("-f", "--format", "formats", multiple=True, metavar="FORMAT",
              help="text (default), json, sarif, markdown, html, junit, summary (a few lines, for hooks); repeat or "
                   "comma-separate for several.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of stdout (one format).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one file per format into DIR (mlscore.<ext>).")
@click.option("--select", multiple=True, metavar="PREFIXES", help="Only these tests, by id prefix (DATA, MON3).")
@click.option("--ignore", multiple=True, metavar="PREFIXES", help="Skip these tests, by id prefix.")
@click.option("--fail-under", type=float, metavar="SCORE", help="Exit 1 when the score is below SCORE.")
@click.option("--fail-on-drop", is_flag=True, default=None, help="Exit 1 when the score falls below the baseline's.")
@click.option("--baseline", metavar="REF", help="Also audit git REF (e.g. origin/main) and report the changes.")
@click.option("--scoring", type=click.Choice(["2017", "2016"]), help="2017 paper (0/0.5/1) or 2016 workshop (0/1/2).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Read settings from this .mlscore.toml or pyproject.toml.")
@click.option("--isolated", is_flag=True, help="Ignore the audited tree's own configuration.")
@click.option("--data-report", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A saved `mlscore data` JSON report to count as evidence.")
@click.option("--probe-report", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A saved `mlscore probe` JSON report to count as evidence.")
@click.option("--tests-report", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="An mlscore-tests.json written by pytest-mlscore (outcomes of @pytest.mark.mlscore tests).")
@click.option("--report-max-age", type=click.FloatRange(min=0, min_open=True, max=3650), metavar="DAYS",
              help="Ignore data and probe reports made more than DAYS ago (their own expiry applies anyway).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour in the text report.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
def audit(path: Path, formats: tuple[str, ...], output: Path | None, output_dir: Path | None,
          select: tuple[str, ...], ignore: tuple[str, ...], fail_under: float | None, fail_on_drop: bool | None,
          baseline: str | None, scoring: str | None, config_file: Path | None, isolated: bool,
          data_report: tuple[Path, ...], probe_report: tuple[Path, ...], tests_report: tuple[Path, ...],
          report_max_age: float | None, color: str,
          quiet: bool) -> int:
    """Audit the repository at PATH statically and score it against the ML Test Score.

    Nothing in PATH is executed, imported or installed. Exit status: 0 ok, 1 the score is under
    --fail-under (or fell below the baseline with --fail-on-drop), 2 usage or input error.
    """
    from mlscore.config import env, load_config
    from mlscore.engine import run_audit
    from mlscore.report import EXTENSIONS, RenderOptions, render

    fmts = split_list(formats) or ["text"]
    unknown = [f for f in fmts if f not in FORMAT_NAMES]
    if unknown:
        raise MlscoreError(f"--format: unknown format {unknown[0]!r} (choose from {', '.join(FORMAT_NAMES)})")
    if len(fmts) > 1 and output_dir is None:
        raise MlscoreError("--format with several formats needs --output-dir")
    if output is not None and output_dir is not None:
        raise MlscoreError("use either --output or --output-dir, not both")
    if not path.exists():
        raise MlscoreError(f"{path}: no such directory")
    if fail_on_drop and not baseline:
        raise MlscoreError("--fail-on-drop needs --baseline REF, the commit whose score it compares with "
                           "(e.g. --baseline origin/main)")
    overrides = {
        "select": tuple(split_list(select)),
        "ignore": tuple(split_list(ignore)),
        "fail_under": fail_under,
        "fail_on_drop": fail_on_drop,
        "scoring": scoring,
        "data_reports": tuple(str(p) for p in data_report),
        "probe_reports": tuple(str(p) for p in probe_report),
        "tests_reports": tuple(str(p) for p in tests_report),
        "report_max_age_days": report_max_age,
    }
    config = load_config(path, config_file=config_file, isolated=isolated, overrides=overrides)
    progress = Progress(enabled=not quiet)
    report = run_audit(path, config=config, progress=progress)
    diff = None
    if baseline:
        from mlscore.report.diff import compare

        progress(f"auditing baseline {baseline}")
        # the base commit is scored with its own configuration (its attestations), not the work tree's
        old = run_audit(path, ref=baseline, progress=progress, config_file=config_file, isolated=isolated,
                        overrides=overrides)
        diff = compare(old, report)
    progress.done()
    evidence_files = {*config.data_reports, *config.probe_reports}
    for d in report.diagnostics:  # a report given as evidence and not counted is said on stderr, not only inside
        if d.path in evidence_files:
            click.echo(f"mlscore: warning: {d.path}: {d.message}", err=True)

    use_color = color == "always" or (color == "auto" and output is None and output_dir is None
                                      and sys.stdout.isatty() and not env("NO_COLOR"))
    from mlscore.report.load import sarif_anchor

    prefix = _path_prefix(path)
    for fmt in fmts:
        options = RenderOptions(color=use_color and fmt == "text", diff=diff, path_prefix=prefix,
                                anchor=sarif_anchor(path) if fmt == "sarif" else None)
        text = render(report, fmt, options)
        if output_dir is not None:
            output_dir.mkdir(parents=True, exist_ok=True)
            _write(output_dir / f"mlscore.{EXTENSIONS[fmt]}", text)
        elif output is not None:
            _write(output, text)
        else:
            click.echo(text, nl=not text.endswith("\n"))
    reasons = failure_reasons(report, diff, fail_under=config.fail_under,
                              fail_on_drop=config.fail_on_drop, baseline=baseline)
    if config.fail_on_drop and diff is None:  # set in a config file: say it was not checked, do not fail
        click.echo("mlscore: note: fail_on_drop is set but not checked: no --baseline REF to compare with", err=True)
    for reason in reasons:
        click.echo(f"mlscore: failed: {reason}", err=True)
    return 1 if reasons else 0


def failure_reasons(report: Report, diff: ReportDiff | None, *, fail_under: float | None, fail_on_drop: bool,
                    baseline: str | None) -> list[str]:
    """One line per crossed threshold, saying why the audit fails."""
    from mlscore.report.common import fmt_points, fmt_signed, sections_weakest_first

    reasons = []
    score = report.score.value
    if fail_under is not None and score < fail_under:
        weakest = sections_weakest_first(report)
        low = (f" (the score is the minimum of the sections; weakest: {weakest[0].section.title} "
               f"{fmt_points(weakest[0].points)})") if weakest else ""
        reasons.append(f"ML Test Score {fmt_points(score)} is below fail-under {fmt_points(fail_under)}{low}")
    if fail_on_drop and diff is not None and score < diff.old_score - 1e-9:
        dropped = ", ".join(f"{t.rule_id} {fmt_signed(t.delta)}" for t in diff.changed_tests if t.delta < 0)
        reasons.append(f"ML Test Score dropped from {fmt_points(diff.old_score)} to {fmt_points(score)} "
                       f"({fmt_signed(score - diff.old_score)}) compared with {baseline}"
                       + (f": {dropped}" if dropped else ""))
    return reasons


def _path_prefix(path: Path) -> str:
    """The audited directory relative to its git repository's root ('' at the root), for SARIF URIs."""
    here = path.resolve()
    for parent in (here, *here.parents):
        if (parent / ".git").exists():
            rel = here.relative_to(parent).as_posix()
            return "" if rel == "." else rel + "/"
    return ""


def _write(path: Path, text: str) -> None:
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MlscoreError(f"{path}: cannot write: {exc.strerror}") from None
