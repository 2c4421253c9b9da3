"""The SARIF 2.1.0 format for GitHub code scanning: one rule per rubric test, a result per test below automated."""

from __future__ import annotations

import hashlib
import json
import re

from mlscore.models import Level, Report, RuleResult
from mlscore.report import RenderOptions
from mlscore.report.common import LEVEL_WORD, fmt_points, is_url, join_prefix, sorted_results

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/mlscore/mlscore"
PAPER_URI = "https://research.google/pubs/the-ml-test-score-a-rubric-for-ml-production-readiness-and-technical-debt-reduction/"
_MAX_TEXT = 1024


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:200]


def _clip(text: str, limit: int = _MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rule(result: RuleResult) -> dict[str, object]:
    section = result.section
    number = re.sub(r"^\D+", "", result.rule_id)
    help_text = (
        f"{result.title} (ML Test Score, {section.title} test {number}.) A test earns 0.5 points when it is done "
        f"by hand with documented results and 1 point when something runs it automatically. "
        f"Run `mlscore explain {result.rule_id}` for what counts as evidence and how to raise it."
    )
    help_md = (
        f"**{result.rule_id}: {result.title}**\n\n"
        f"ML Test Score (Breck et al., 2017), {section.title} test {number}. A test earns 0.5 points when done "
        f"by hand with documented results, 1 point when something runs it automatically; each section sums its "
        f"seven tests and the score is the minimum over the four sections.\n\n"
        f"Run `mlscore explain {result.rule_id}` for what counts as evidence and how to raise it. "
        f"[The paper]({PAPER_URI})."
    )
    return {
        "id": result.rule_id,
        "name": _slug(result.title) or result.rule_id.lower(),
        "shortDescription": {"text": _clip(result.title)},
        "fullDescription": {
            "text": _clip(f"ML Test Score {section.title} test {number}: {result.title}")
        },
        "helpUri": INFORMATION_URI,
        "help": {"text": _clip(help_text, 4000), "markdown": help_md},
        "defaultConfiguration": {"level": "warning"},
        "properties": {
            "tags": ["ml-test-score", section.value],
            "precision": "high",
            "problem.severity": "warning",
        },
    }


def _anchor(report: Report, options: RenderOptions) -> str:
    if options.anchor:
        return options.anchor
    paths = sorted(
        e.location.path
        for r in report.results
        for e in r.evidence
        if e.location and not is_url(e.location.path)
    )
    return paths[0] if paths else "README.md"


def _location(result: RuleResult, anchor: str, prefix: str) -> dict[str, object]:
    located = [e.location for e in result.evidence if e.location and not is_url(e.location.path)]
    # The strongest, then first, repository location: GitHub displays only the first location.
    path, line, end_line = anchor, 1, None
    if located:
        best = located[0]
        path, line, end_line = best.path, best.line or 1, best.end_line
    region: dict[str, int] = {"startLine": line}
    if end_line and end_line >= line:
        region["endLine"] = end_line
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": join_prefix(prefix, path), "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    }


def _message(result: RuleResult) -> str:
    points = fmt_points(result.points)
    parts = [
        f"{result.rule_id} is {LEVEL_WORD[result.level]} ({points} points): {result.title.rstrip('.')}."
    ]
    if result.rationale:
        parts.append(result.rationale)
    if result.next_step:
        parts.append(f"Next step: {result.next_step}")
    if result.incomplete:
        parts.append(f"Incomplete: {result.incomplete}; the level is a lower bound, not a finding of absence.")
    elif result.error:
        parts.append(f"The check failed to run: {result.error}")
    return " ".join(" ".join(p.split()) for p in parts)


def _fingerprint(result: RuleResult, uri: str) -> str:
    return hashlib.sha256(f"{result.rule_id}\0{uri}".encode()).hexdigest()[:16]


def sarif_log(report: Report, options: RenderOptions) -> dict[str, object]:
    """Build the SARIF log as plain dicts (the ``render`` function serialises it)."""
    ordered = sorted_results(report)
    rules = [_rule(r) for r in ordered]
    index = {r.rule_id: i for i, r in enumerate(ordered)}
    anchor = _anchor(report, options)
    results: list[dict[str, object]] = []
    for r in ordered:
        if r.level == Level.AUTOMATED and not r.error and not r.incomplete:
            continue
        location = _location(r, anchor, options.path_prefix)
        uri = location["physicalLocation"]["artifactLocation"]["uri"]  # type: ignore[index]
        item: dict[str, object] = {
            "ruleId": r.rule_id,
            "ruleIndex": index[r.rule_id],
            "level": "warning" if r.level == Level.NONE and not r.human_only else "note",
            "message": {"text": _message(r)},
            "locations": [location],
            "partialFingerprints": {"mlscore/v1": _fingerprint(r, str(uri))},
            "properties": {
                "mlscoreLevel": r.level.value,
                "points": r.points,
                "section": r.section.value,
                "status": r.status.value,
                **({"incomplete": r.incomplete} if r.incomplete else {}),
            },
        }
        if r.waived:
            item["suppressions"] = [{"kind": "external", "justification": _clip(r.waived)}]
        results.append(item)

    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "mlscore",
                "semanticVersion": report.version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "automationDetails": {"id": f"{options.sarif_category.strip('/')}/"},
        "results": results,
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {
                        "level": "warning" if d.severity == "warning" else "error",
                        "message": {"text": f"{d.path}: {d.message}" if d.path else d.message},
                    }
                    for d in report.diagnostics
                ],
            }
        ],
        "properties": {
            "score": report.score.value,
            "band": report.score.band,
            "scoring": report.score.scoring,
            "sections": {s.section.value: s.points for s in report.score.sections},
        },
    }
    if report.target.commit and (report.target.web_url or report.target.remote_url):
        provenance: dict[str, str] = {
            "repositoryUri": report.target.web_url or report.target.remote_url or "",
            "revisionId": report.target.commit,
        }
        if report.target.ref:
            provenance["branch"] = report.target.ref
        run["versionControlProvenance"] = [provenance]
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report, options: RenderOptions) -> str:
    """Render the report as a SARIF 2.1.0 log (indented JSON)."""
    return json.dumps(sarif_log(report, options), indent=2, ensure_ascii=False) + "\n"


__all__ = ["render", "sarif_log"]
