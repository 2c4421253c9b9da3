"""Helpers every formatter shares: section order, rule order, evidence locations, links."""

from __future__ import annotations

import re
from urllib.parse import quote

from mlscore.models import Evidence, Level, Report, RuleResult, Section, SectionScore

SECTION_ORDER: tuple[Section, ...] = (
    Section.DATA,
    Section.MODEL,
    Section.INFRASTRUCTURE,
    Section.MONITORING,
)

SECTION_PREFIX: dict[Section, str] = {
    Section.DATA: "DATA",
    Section.MODEL: "MODEL",
    Section.INFRASTRUCTURE: "INFRA",
    Section.MONITORING: "MON",
}

LEVEL_WORD: dict[Level, str] = {
    Level.NONE: "none",
    Level.MANUAL: "manual",
    Level.AUTOMATED: "automated",
}

_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def rule_sort_key(rule_id: str) -> tuple[int, int]:
    """Order rule ids as the paper does: by section, then by number (DATA2 before DATA10)."""
    match = re.match(r"^([A-Z]+)(\d+)$", rule_id)
    if not match:
        return (99, 0)
    order = {prefix: i for i, prefix in enumerate(SECTION_PREFIX.values())}
    return (order.get(match.group(1), 99), int(match.group(2)))


def sorted_results(report: Report) -> list[RuleResult]:
    """All results in paper order."""
    return sorted(report.results, key=lambda r: rule_sort_key(r.rule_id))


def results_by_section(report: Report) -> dict[Section, list[RuleResult]]:
    """Results grouped by section, in paper order inside each group."""
    grouped: dict[Section, list[RuleResult]] = {s: [] for s in SECTION_ORDER}
    for result in sorted_results(report):
        grouped.setdefault(result.section, []).append(result)
    return grouped


def sections_weakest_first(report: Report) -> list[SectionScore]:
    """Section scores, lowest first (ties in paper order): the minimum rule makes the weakest matter most."""
    order = {s: i for i, s in enumerate(SECTION_ORDER)}
    return sorted(report.score.sections, key=lambda s: (s.points, order.get(s.section, 99)))


def incomplete_results(report: Report) -> list[RuleResult]:
    """Results a detector or an extractor could not finish (their levels are lower bounds), in paper order."""
    return [r for r in sorted_results(report) if r.incomplete]


def incomplete_notice(report: Report) -> str:
    """One sentence saying which tests are incomplete, or '' when every test was decided."""
    results = incomplete_results(report)
    if not results:
        return ""
    ids = ", ".join(r.rule_id for r in results)
    noun = "test is" if len(results) == 1 else "tests are"
    return (f"{len(results)} {noun} incomplete ({ids}): a detector or extractor failed or ran out of time, so "
            "their levels (and the score) are lower bounds; see the diagnostics")


def fmt_points(value: float) -> str:
    """Points as the paper writes them: 1.5, 2, 0.5 (no trailing .0 noise except for whole numbers)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def fmt_signed(value: float) -> str:
    """A delta with its sign: +0.5, -1, 0."""
    if abs(value) < 1e-9:
        return "0"
    return ("+" if value > 0 else "-") + fmt_points(abs(value))


def is_url(path: str) -> bool:
    """Whether a location path is a URL rather than a repository path."""
    return bool(_URL_RE.match(path))


def evidence_where(evidence: Evidence) -> str:
    """``path:line`` (or the URL) of a piece of evidence; empty when it has no location."""
    return str(evidence.location) if evidence.location else ""


def join_prefix(prefix: str, path: str) -> str:
    """Prefix a repository-relative path with the audited subdirectory (POSIX, no duplicate slashes)."""
    prefix = prefix.strip("/")
    if not prefix or prefix == "." or is_url(path):
        return path
    return f"{prefix}/{path.lstrip('/')}"


def file_url(
    report: Report, path: str, line: int | None = None, end_line: int | None = None
) -> str | None:
    """A browsable link to a file at the audited commit, when the web URL and commit are known."""
    if is_url(path):
        return path
    web, commit = report.target.web_url, report.target.commit
    if not web or not commit:
        return None
    web = web.rstrip("/")
    rev, file = quote(commit, safe=""), quote(path, safe="/")
    if "bitbucket.org" in web:
        url = f"{web}/src/{rev}/{file}"
        return url + (f"#lines-{line}" if line else "")
    # GitLab's canonical route is /-/blob/; GitHub (and GitHub Enterprise) use /blob/.
    url = f"{web}/-/blob/{rev}/{file}" if "gitlab" in web else f"{web}/blob/{rev}/{file}"
    if line:
        url += f"#L{line}"
        if end_line and end_line != line:
            url += f"-L{end_line}" if "gitlab" not in web else f"-{end_line}"
    return url


def source_link(base: str, path: str, line: int | None = None, end_line: int | None = None) -> str:
    """``base/path#Lline-Lend``: a GitHub blob link under ``base`` (``https://github.com/o/r/blob/<sha>``)."""
    url = f"{base.rstrip('/')}/{quote(path, safe='/')}"
    if line:
        url += f"#L{line}" + (f"-L{end_line}" if end_line and end_line > line else "")
    return url


def rule_anchor(rule_id: str) -> str:
    """The anchor of a test's heading (``### MON3``) in docs/rules.md, as GitHub renders it."""
    return "#" + rule_id.lower()


def short_commit(commit: str | None) -> str:
    """First 12 characters of a commit id, or empty."""
    return commit[:12] if commit else ""


def target_label(report: Report) -> str:
    """``name @ commit`` for headings."""
    label = report.target.name
    if report.target.commit:
        label += f" @ {short_commit(report.target.commit)}"
    elif report.target.ref:
        label += f" @ {report.target.ref}"
    return label
