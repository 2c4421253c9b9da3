"""GitHub workflow commands and files: annotations within GitHub's caps, GITHUB_OUTPUT, the step summary."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlscore.errors import InputError
from mlscore.github.changes import Changes
from mlscore.models import Level, Report
from mlscore.report.common import is_url, join_prefix, sections_weakest_first, sorted_results
from mlscore.report.diff import ReportDiff

AnnotationLevel = Literal["error", "warning", "notice"]
#: GitHub shows at most 10 annotations of each level per step (50 per job) and drops the rest silently.
MAX_PER_LEVEL = 10
#: The step summary is rejected above 1 MiB; stay well under it.
SUMMARY_MAX_BYTES = 900 * 1024
_ORDER: dict[str, int] = {"error": 0, "warning": 1, "notice": 2}


def escape_data(text: str) -> str:
    """Escape a workflow command's message, as actions/toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (also ':' and ',')."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Annotation:
    level: AnnotationLevel
    message: str
    title: str | None = None
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    #: A finding about one rubric test (kept to changed lines by default), not a note about the run or the change.
    finding: bool = False

    def command(self) -> str:
        """The ``::level file=...,line=...,title=...::message`` line."""
        props: list[str] = []
        if self.file:
            props.append(f"file={escape_property(self.file)}")
            if self.line:
                props.append(f"line={self.line}")
                if self.end_line and self.end_line > self.line:
                    props.append(f"endLine={self.end_line}")
        if self.title:
            props.append(f"title={escape_property(self.title)}")
        head = f"::{self.level}" + (" " + ",".join(props) if props else "")
        return f"{head}::{escape_data(self.message)}"


def cap_annotations(
    annotations: Sequence[Annotation], per_level: int = MAX_PER_LEVEL
) -> list[Annotation]:
    """Keep the first ``per_level`` of each level (severity order) and say how many more there are."""
    ordered = sorted(annotations, key=lambda a: _ORDER[a.level])
    kept: list[Annotation] = []
    counts = {"error": 0, "warning": 0, "notice": 0}
    dropped = 0
    # Reserve one notice for the overflow message when it will be needed.
    overflow = any(sum(1 for a in ordered if a.level == lvl) > per_level for lvl in counts)
    notice_room = per_level - 1 if overflow else per_level
    for a in ordered:
        room = notice_room if a.level == "notice" else per_level
        if counts[a.level] < room:
            kept.append(a)
            counts[a.level] += 1
        else:
            dropped += 1
    if dropped:
        kept.append(
            Annotation(
                level="notice",
                title="mlscore",
                message=f"{dropped} more finding(s) are not shown as annotations (GitHub shows at most "
                f"{per_level} of each level per step); see the job summary.",
            )
        )
    return kept


def report_annotations(
    report: Report, diff: ReportDiff | None = None, *, path_prefix: str = ""
) -> list[Annotation]:
    """Annotations for a report: drops as errors, gaps as warnings, half-credit tests as notices."""
    out: list[Annotation] = []

    def where(result_location: object) -> tuple[str | None, int | None, int | None]:
        loc = result_location
        if loc is None or is_url(loc.path):  # type: ignore[attr-defined]
            return None, None, None
        return join_prefix(path_prefix, loc.path), loc.line, loc.end_line  # type: ignore[attr-defined]

    if diff is not None:
        for t in diff.changed_tests:
            if t.delta < 0:
                cause_loc = next((c.location for c in t.causes if c.location), None)
                file, line, end = where(cause_loc)
                out.append(
                    Annotation(
                        "error",
                        t.summary.replace("`", ""),
                        f"mlscore {t.rule_id}: score dropped",
                        file,
                        line,
                        end,
                    )
                )
            elif t.delta > 0 and t.self_declared:
                file, line, end = (None, None, None)
                result = report.result(t.rule_id)
                if result is not None and result.evidence:
                    file, line, end = where(result.evidence[0].location)
                out.append(
                    Annotation(
                        "warning",
                        t.summary.replace("`", "")
                        + ". This credit is self-declared (attestation or waiver).",
                        f"mlscore {t.rule_id}: self-declared credit",
                        file,
                        line,
                        end,
                    )
                )
    # The weakest section first: with the minimum rule, those are the findings worth reading.
    rank = {s.section: i for i, s in enumerate(sections_weakest_first(report))}
    for r in sorted(sorted_results(report), key=lambda r: rank.get(r.section, 99)):
        if r.level == Level.AUTOMATED and not r.error and not r.incomplete:
            continue
        located = next(
            (e.location for e in r.evidence if e.location and not is_url(e.location.path)), None
        )
        file, line, end = where(located)
        message = r.rationale
        if r.next_step:
            message += f" Next step: {r.next_step}"
        level: AnnotationLevel = "warning" if r.level == Level.NONE else "notice"
        if r.incomplete:
            level = "warning"
            message = (f"Incomplete: {r.incomplete}. The level found so far ({r.level.value}) is a lower bound, "
                       "not a finding of absence.")
        elif r.error:
            level = "warning"
            message = f"The check failed to run: {r.error}"
        out.append(
            Annotation(
                level,
                message.strip(),
                f"mlscore {r.rule_id} ({r.level.value}): {r.title}",
                file,
                line,
                end,
                finding=True,
            )
        )
    return out


def keep_changed(annotations: Sequence[Annotation], changes: Changes | None) -> tuple[list[Annotation], int]:
    """Drop findings that are not on a changed line (or, when the changes are unknown, every finding); notes about
    the run and about this change's own score drops or self-declared credit always stay. Returns the annotations
    kept and how many findings were dropped."""
    kept: list[Annotation] = []
    dropped = 0
    for a in annotations:
        if a.finding and (changes is None or a.file is None or not changes.touches(a.file, a.line, a.end_line)):
            dropped += 1
        else:
            kept.append(a)
    return kept, dropped


def write_outputs(path: Path, values: Mapping[str, str]) -> None:
    """Append ``name=value`` lines to GITHUB_OUTPUT; multi-line values use a random heredoc delimiter."""
    lines: list[str] = []
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{name}={value}\n")
    _append(path, "".join(lines), "GITHUB_OUTPUT")


def append_summary(path: Path, markdown: str) -> None:
    """Append Markdown to the step summary (the caller keeps it under SUMMARY_MAX_BYTES)."""
    data = markdown.encode("utf-8")
    if len(data) > SUMMARY_MAX_BYTES:
        raise ValueError("step summary over budget")
    _append(path, markdown if markdown.endswith("\n") else markdown + "\n", "GITHUB_STEP_SUMMARY")


def _append(path: Path, text: str, name: str) -> None:
    try:
        with path.open("a", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise InputError(f"{name} {path}: cannot write: {exc.strerror or exc}") from None


def commands(annotations: Iterable[Annotation]) -> list[str]:
    return [a.command() for a in annotations]
