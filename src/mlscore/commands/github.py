"""`mlscore github`: the GitHub Action's work in one tested command (audit, diff, files, annotations, comment)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from mlscore import __version__
from mlscore.errors import MlscoreError
from mlscore.github.changes import Changes
from mlscore.github.event import ActionInputs, GitHubContext, environment, read_context, read_inputs
from mlscore.github.workflow import (
    SUMMARY_MAX_BYTES,
    Annotation,
    AnnotationLevel,
    append_summary,
    cap_annotations,
    keep_changed,
    report_annotations,
    write_outputs,
)
from mlscore.models import Report
from mlscore.report import RenderOptions, render
from mlscore.report.common import fmt_points, fmt_signed
from mlscore.report.diff import ReportDiff, compare
from mlscore.report.load import load_report, sarif_anchor

#: The rubric's documentation at this version's release tag: the comment links every test id to its section.
RULES_DOC_URL = f"https://github.com/mlscore/mlscore/blob/v{__version__}/docs/rules.md"


@dataclass
class _Run:
    ctx: GitHubContext
    inputs: ActionInputs
    audit_path: Path
    path_prefix: str
    lines: list[str]
    notes: list[Annotation]

    def note(self, level: AnnotationLevel, message: str) -> None:
        """An annotation about the run itself; it is shown even when report annotations are off."""
        self.notes.append(Annotation(level, message, "mlscore"))


def _audit(run: _Run, ref: str | None) -> Report:
    """Audit the work tree, or ``ref`` scored with that commit's own configuration (its attestations):
    otherwise credit a pull request adds for itself would never show up as a change."""
    from mlscore.engine import run_audit

    inputs = run.inputs
    overrides = {"select": inputs.select or None, "ignore": inputs.ignore or None}
    config_file = (run.ctx.workspace / inputs.config) if inputs.config else None
    report: Report = run_audit(run.audit_path, ref=ref, config_file=config_file, overrides=overrides)
    return report


def _baseline(run: _Run) -> Report | None:
    inputs = run.inputs
    if inputs.baseline_report_file:
        return load_report(run.ctx.workspace / inputs.baseline_report_file)
    choice = inputs.baseline.strip()
    if choice.lower() in ("none", "false", "off", ""):
        return None
    ref = run.ctx.baseline_sha if choice.lower() == "auto" else choice
    if not ref:
        return None
    try:
        return _audit(run, ref)
    except MlscoreError as exc:
        # A shallow clone (actions/checkout's default fetch-depth: 1) lacks the base commit: say how to fix it.
        run.note(
            "warning",
            f"Could not audit the baseline {ref[:12]}: {exc}. Check out with `fetch-depth: 0` to compare with it.",
        )
        return None


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise MlscoreError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _comment(run: _Run, body: str) -> str:
    """Create or update the sticky comment; return its URL (empty when none was written)."""
    ctx, inputs = run.ctx, run.inputs
    pr = ctx.pull_request
    if not inputs.comment or pr is None:
        return ""
    if not ctx.can_write:
        why = "a fork" if ctx.is_fork else "Dependabot"
        run.note(
            "notice",
            f"Not commenting: this pull request comes from {why}, so the token is read-only. "
            "The report is in the job summary.",
        )
        return ""
    if not inputs.github_token:
        run.note("warning", "Not commenting: no github-token was given.")
        return ""
    from mlscore.github.comment import CommentClient, CommentError

    try:
        with CommentClient(ctx.api_url, inputs.github_token, ctx.repository) as client:
            result = client.upsert(pr.number, body)
    except CommentError as exc:
        run.note("warning", f"Could not write the pull request comment: {exc}")
        return ""
    run.lines.append(f"mlscore: pull request comment {result.action}: {result.url}")
    return result.url


def _changes(run: _Run) -> tuple[Changes | None, str]:
    """The lines this pull request (or push) changed, and, when they cannot be known, why."""
    from mlscore.github.changes import from_api_files, from_git

    ctx, inputs = run.ctx, run.inputs
    base = ctx.baseline_sha
    if base is None:
        return None, "there is no base commit to compare with"
    found = from_git(ctx.workspace, base)
    if found is not None:
        return found, ""
    pr = ctx.pull_request
    if pr is None or not ctx.can_write or not inputs.github_token:
        return None, f"the base commit {base[:12]} is not in the checkout"
    from mlscore.github.comment import CommentClient, CommentError

    try:
        with CommentClient(ctx.api_url, inputs.github_token, ctx.repository) as client:
            return from_api_files(client.pull_files(pr.number)), ""
    except CommentError as exc:
        return None, f"the base commit {base[:12]} is not in the checkout and the API failed ({exc})"


def _annotations(run: _Run, report: Report, diff: ReportDiff | None) -> list[Annotation]:
    """Notes about the run, then the report's annotations: by default only findings on lines this change touched
    (a pull request is not told about files it never changed), within GitHub's per-level caps."""
    ctx, inputs = run.ctx, run.inputs
    found = report_annotations(report, diff, path_prefix=run.path_prefix)
    scoped = inputs.annotations_scope == "changed" and ctx.event_name in ("pull_request", "pull_request_target",
                                                                          "push")
    if scoped:
        changes, why = _changes(run)
        found, hidden = keep_changed(found, changes)
        what = "pull request" if ctx.pull_request is not None else "push"
        if changes is None and hidden:
            run.note("notice", f"{hidden} finding(s) are not annotated: annotations are limited to the lines this "
                               f"{what} changed, and {why}. Check out with `fetch-depth: 0`, or set "
                               "`annotations-scope: all`. Every finding is in the job summary.")
        elif hidden:
            run.note("notice", f"{hidden} finding(s) are not on lines this {what} changed, so they are not "
                               "annotated (`annotations-scope: all` shows them); every finding is in the job "
                               "summary.")
    # Notes about the run come first, so the per-level caps never hide them.
    return cap_annotations(list(run.notes) + found)


@click.command("github")
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use this saved JSON report instead of auditing (also MLSCORE_REPORT_FILE).",
)
@click.option(
    "--baseline-report",
    "baseline_report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Compare with this saved JSON report instead of auditing the base commit.",
)
def github(report_file: Path | None, baseline_report_file: Path | None) -> int:
    """Run the audit as the GitHub Action does.

    Reads the inputs from MLSCORE_* variables (action.yml passes them through env:) and the run from
    GITHUB_*; writes SARIF, the JSON and Markdown reports, the step summary, GITHUB_OUTPUT, annotations
    and one sticky pull-request comment. Exits 0 whenever the audit ran; a crossed threshold is reported
    as the output failed=true, so later steps still publish.
    """
    env = environment()
    ctx = read_context(env)
    inputs = read_inputs(env)
    if report_file is not None or baseline_report_file is not None:
        from dataclasses import replace

        inputs = replace(
            inputs,
            report_file=str(report_file) if report_file else inputs.report_file,
            baseline_report_file=str(baseline_report_file)
            if baseline_report_file
            else inputs.baseline_report_file,
        )
    workspace = ctx.workspace.resolve()
    audit_path = (workspace / inputs.path).resolve()
    try:
        prefix = audit_path.relative_to(workspace).as_posix()
    except ValueError:
        raise MlscoreError(
            f"input path {inputs.path!r} is outside GITHUB_WORKSPACE {workspace}"
        ) from None
    run = _Run(ctx, inputs, audit_path, "" if prefix == "." else prefix, [], [])

    report = (
        load_report(workspace / inputs.report_file) if inputs.report_file else _audit(run, None)
    )
    base = _baseline(run)
    diff: ReportDiff | None = compare(base, report) if base is not None else None
    if inputs.fail_on_drop and base is None:
        run.note("warning", "fail-on-drop was not checked: there is no baseline to compare with (the event has no "
                            "base commit, or it could not be audited).")

    reasons: list[str] = []
    if inputs.fail_under is not None and report.score.value < inputs.fail_under:
        reasons.append(
            f"score {fmt_points(report.score.value)} is below fail-under {fmt_points(inputs.fail_under)}"
        )
    if inputs.fail_on_drop and diff is not None and diff.delta < 0:
        reasons.append(f"score dropped {fmt_signed(diff.delta)} compared with the base")

    head_sha = (ctx.pull_request.head_sha if ctx.pull_request is not None else None) or ctx.sha
    source_url = (f"{ctx.server_url}/{ctx.repository}/blob/{head_sha}"
                  if head_sha and ctx.repository else None)
    links = {"run_url": ctx.run_url, "source_url": source_url, "rules_url": RULES_DOC_URL}
    options = RenderOptions(diff=diff, path_prefix=run.path_prefix, anchor=sarif_anchor(audit_path), **links)
    report_dir = Path(inputs.report_dir)
    json_rel, md_rel = (
        (report_dir / "report.json").as_posix(),
        (report_dir / "report.md").as_posix(),
    )
    _write(workspace / json_rel, render(report, "json", options))
    markdown_full = render(report, "markdown", options)
    _write(workspace / md_rel, markdown_full)
    if base is not None:
        _write(workspace / report_dir / "baseline.json", render(base, "json", options))
    _write(workspace / inputs.sarif_file, render(report, "sarif", options))

    click.echo("::group::mlscore report")
    click.echo(render(report, "text", RenderOptions(diff=diff)), nl=False)
    click.echo("::endgroup::")

    if inputs.summary and ctx.summary_file is not None:
        summary = render(
            report,
            "markdown",
            RenderOptions(
                diff=diff,
                path_prefix=run.path_prefix,
                max_chars=SUMMARY_MAX_BYTES // 4,
                **links,
            ),
        )
        append_summary(ctx.summary_file, summary)

    from mlscore.github.comment import MARKER, MAX_BODY_CHARS

    body_budget = MAX_BODY_CHARS - len(MARKER) - 1
    body = (
        MARKER
        + "\n"
        + render(
            report,
            "markdown",
            RenderOptions(diff=diff, path_prefix=run.path_prefix, max_chars=body_budget, **links),
        )
    )
    comment_url = _comment(run, body)

    annotations = _annotations(run, report, diff) if inputs.annotations else list(run.notes)
    for annotation in annotations:
        click.echo(annotation.command())
    for line in run.lines:
        click.echo(line)
    if reasons:
        click.echo(f"mlscore: threshold crossed: {'; '.join(reasons)}")

    if ctx.output_file is not None:
        write_outputs(
            ctx.output_file,
            {
                "score": fmt_points(report.score.value),
                "previous-score": fmt_points(base.score.value) if base is not None else "",
                "delta": fmt_signed(diff.delta) if diff is not None else "",
                "band": report.score.band,
                "failed": "true" if reasons else "false",
                "failure-reason": "; ".join(reasons),
                "report-json": json_rel,
                "markdown-file": md_rel,
                "sarif-file": Path(inputs.sarif_file).as_posix(),
                "comment-url": comment_url,
                "can-write": "true" if ctx.can_write else "false",
            },
        )
    return 0
