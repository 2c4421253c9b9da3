"""Compare two audit reports: per-test and per-section deltas, and the evidence that caused them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from mlscore.models import Evidence, Level, Location, Report, RuleResult, Section
from mlscore.report.common import SECTION_ORDER, rule_sort_key

_LINE_RE = re.compile(r":\d+(-\d+)?")

CauseKind = Literal[
    "evidence_added",
    "evidence_removed",
    "attestation_added",
    "attestation_removed",
    "attestation_changed",
    "attestation_expired",
    "waiver_added",
    "waiver_removed",
    "error",
    "error_cleared",
    "rule_added",
    "rule_removed",
]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Cause(_Record):
    """One observed reason for a change in a test's result."""

    kind: CauseKind
    message: str
    location: Location | None = None
    level: Level | None = None


class TestDelta(_Record):
    """How one rubric test changed between the old and the new report."""

    __test__ = False  # not a pytest class, despite the name

    rule_id: str
    section: Section
    title: str
    old_level: Level | None
    new_level: Level | None
    old_points: float
    new_points: float
    delta: float
    summary: str
    causes: tuple[Cause, ...] = ()
    self_declared: bool = False

    @property
    def level_changed(self) -> bool:
        return self.old_level != self.new_level


class SectionDelta(_Record):
    section: Section
    old_points: float
    new_points: float
    delta: float


class ReportDiff(_Record):
    """Everything that changed between two reports; tests with no change at all are left out."""

    old_score: float
    new_score: float
    delta: float
    old_band: str
    new_band: str
    new_band_text: str
    old_commit: str | None = None
    new_commit: str | None = None
    old_ref: str | None = None
    sections: tuple[SectionDelta, ...]
    tests: tuple[TestDelta, ...]
    self_declared_gain: float = 0.0
    score_rise_self_declared: bool = False
    scoring_mismatch: bool = False

    @property
    def changed_tests(self) -> tuple[TestDelta, ...]:
        """Tests whose level or points changed (evidence-only changes are left out)."""
        return tuple(t for t in self.tests if t.level_changed or abs(t.delta) > 1e-9)

    @property
    def evidence_only(self) -> tuple[TestDelta, ...]:
        """Tests whose evidence changed while their level and points stayed."""
        return tuple(t for t in self.tests if not (t.level_changed or abs(t.delta) > 1e-9))


def _evidence_key(evidence: Evidence) -> tuple[str, str, str, str, str]:
    # Line numbers move with unrelated edits, so they are not part of an evidence's identity.
    path = evidence.location.path if evidence.location else ""
    trigger = _LINE_RE.sub("", evidence.trigger or "")
    return (evidence.kind, evidence.summary, path, trigger, evidence.level.value)


def _trigger_path(trigger: str) -> str:
    head = trigger.split(" ", 1)[0]
    return _LINE_RE.sub("", head)


def _describe_added(evidence: Evidence) -> str:
    where = f"`{evidence.location.path}`" if evidence.location else ""
    if evidence.trigger and where:
        return f"`{_trigger_path(evidence.trigger)}` now runs {where}"
    if where:
        return f"{evidence.summary} ({where})"
    return evidence.summary


def _describe_removed(evidence: Evidence) -> str:
    where = f"`{evidence.location.path}`" if evidence.location else ""
    if evidence.trigger and where:
        return f"`{_trigger_path(evidence.trigger)}` no longer runs {where}"
    if where:
        return f"{evidence.summary} ({where}) is gone"
    return f"{evidence.summary} is gone"


def _evidence_causes(old: RuleResult | None, new: RuleResult | None) -> list[Cause]:
    old_ev = {_evidence_key(e): e for e in (old.evidence if old else ()) if e.kind != "attestation"}
    new_ev = {_evidence_key(e): e for e in (new.evidence if new else ()) if e.kind != "attestation"}
    causes: list[Cause] = []
    # Strongest evidence first, so a summary sentence names what earned the new level.
    for key in sorted(new_ev.keys() - old_ev.keys(), key=lambda k: (-new_ev[k].level.rank, k)):
        e = new_ev[key]
        causes.append(
            Cause(
                kind="evidence_added",
                message=_describe_added(e),
                location=e.location,
                level=e.level,
            )
        )
    for key in sorted(old_ev.keys() - new_ev.keys(), key=lambda k: (-old_ev[k].level.rank, k)):
        e = old_ev[key]
        causes.append(
            Cause(
                kind="evidence_removed",
                message=_describe_removed(e),
                location=e.location,
                level=e.level,
            )
        )
    return causes


def _attestation_causes(old: RuleResult | None, new: RuleResult | None) -> list[Cause]:
    a_old = old.attestation if old else None
    a_new = new.attestation if new else None
    causes: list[Cause] = []
    src = f" in `{a_new.source}`" if a_new and a_new.source else ""
    if a_new and not a_old:
        state = " (already expired)" if a_new.expired else ""
        causes.append(
            Cause(
                kind="attestation_expired" if a_new.expired else "attestation_added",
                message=f"an attestation by {a_new.owner} dated {a_new.date} was added{src}{state}",
                level=a_new.level,
            )
        )
    elif a_old and not a_new:
        causes.append(
            Cause(
                kind="attestation_removed",
                message=f"the attestation by {a_old.owner} was removed",
                level=a_old.level,
            )
        )
    elif a_old and a_new and a_old != a_new:
        if a_new.expired and not a_old.expired:
            message = f"the attestation by {a_new.owner} expired ({a_new.expires})"
            kind: CauseKind = "attestation_expired"
        else:
            message = f"the attestation by {a_new.owner} was changed{src}"
            kind = "attestation_changed"
        causes.append(Cause(kind=kind, message=message, level=a_new.level))
    return causes


def _other_causes(old: RuleResult | None, new: RuleResult | None) -> list[Cause]:
    causes: list[Cause] = []
    if old is None and new is not None:
        causes.append(Cause(kind="rule_added", message=f"{new.rule_id} was not audited before"))
    if new is None and old is not None:
        causes.append(Cause(kind="rule_removed", message=f"{old.rule_id} is no longer audited"))
    if new and new.waived and not (old and old.waived):
        causes.append(Cause(kind="waiver_added", message=f"a waiver was added: {new.waived}"))
    if old and old.waived and not (new and new.waived):
        causes.append(Cause(kind="waiver_removed", message="the waiver was removed"))
    new_bad = bool(new and (new.error or new.incomplete))
    old_bad = bool(old and (old.error or old.incomplete))
    if new and new_bad and not old_bad:
        message = (f"the check failed to run: {new.error}" if new.error
                   else f"the check did not finish: {new.incomplete}")
        causes.append(Cause(kind="error", message=message))
    if old_bad and not new_bad:
        causes.append(Cause(kind="error_cleared", message="the check runs again"))
    return causes


def _best_evidence_rank(result: RuleResult | None) -> int:
    if result is None:
        return 0
    return max((e.level.rank for e in result.evidence if e.kind != "attestation"), default=0)


def _is_self_declared(old: RuleResult | None, new: RuleResult | None, causes: list[Cause]) -> bool:
    """A rise that only attestations or waivers explain: the repository's own evidence did not get stronger."""
    if new is None:
        return False
    old_rank = old.level.rank if old else 0
    if new.level.rank <= old_rank and not (new.waived and not (old and old.waived)):
        return False
    declared = {"attestation_added", "attestation_changed", "waiver_added"}
    if not any(c.kind in declared for c in causes):
        return False
    return _best_evidence_rank(new) <= max(_best_evidence_rank(old), old_rank)


_VERB = {
    Level.AUTOMATED: "became automated",
    Level.MANUAL: "became manual",
    Level.NONE: "dropped to none",
}


def _summary(
    rule_id: str, old: RuleResult | None, new: RuleResult | None, causes: list[Cause]
) -> str:
    old_level = old.level if old else None
    new_level = new.level if new else None
    if new_level is None:
        return f"{rule_id} is no longer audited"
    if old_level is None:
        head = f"{rule_id} is new ({new_level.value})"
    elif new_level != old_level:
        verb = _VERB[new_level]
        if new_level == Level.MANUAL and old_level == Level.AUTOMATED:
            verb = "dropped to manual"
        head = f"{rule_id} {verb}"
    elif old and new and old.points != new.points:
        head = f"{rule_id} changed points"
    else:
        head = f"{rule_id} evidence changed"
    rising = old_level is None or new_level.rank > old_level.rank
    order = (
        [
            "attestation_added",
            "attestation_changed",
            "waiver_added",
            "evidence_added",
            "error_cleared",
        ]
        if rising
        else [
            "attestation_expired",
            "attestation_removed",
            "waiver_removed",
            "error",
            "evidence_removed",
            "evidence_added",
        ]
    )
    for kind in order:
        cause = next((c for c in causes if c.kind == kind), None)
        if cause is not None:
            return f"{head} because {cause.message}"
    return head


def compare(old: Report, new: Report) -> ReportDiff:
    """Compare ``old`` (the base) with ``new`` (the head)."""
    old_by_id = {r.rule_id: r for r in old.results}
    new_by_id = {r.rule_id: r for r in new.results}
    tests: list[TestDelta] = []
    for rule_id in sorted(old_by_id.keys() | new_by_id.keys(), key=rule_sort_key):
        o, n = old_by_id.get(rule_id), new_by_id.get(rule_id)
        causes = _attestation_causes(o, n) + _other_causes(o, n) + _evidence_causes(o, n)
        old_points = o.points if o else 0.0
        new_points = n.points if n else 0.0
        changed = causes or (o and n and o.level != n.level) or abs(new_points - old_points) > 1e-9
        if not changed:
            continue
        ref = n or o
        assert ref is not None
        tests.append(
            TestDelta(
                rule_id=rule_id,
                section=ref.section,
                title=ref.title,
                old_level=o.level if o else None,
                new_level=n.level if n else None,
                old_points=old_points,
                new_points=new_points,
                delta=round(new_points - old_points, 4),
                summary=_summary(rule_id, o, n, causes),
                causes=tuple(causes),
                self_declared=_is_self_declared(o, n, causes),
            )
        )

    old_sections = {s.section: s.points for s in old.score.sections}
    new_sections = {s.section: s.points for s in new.score.sections}
    sections = tuple(
        SectionDelta(
            section=s,
            old_points=old_sections.get(s, 0.0),
            new_points=new_sections.get(s, 0.0),
            delta=round(new_sections.get(s, 0.0) - old_sections.get(s, 0.0), 4),
        )
        for s in SECTION_ORDER
    )
    declared_by_section: dict[Section, float] = {}
    for t in tests:
        if t.self_declared and t.delta > 0:
            declared_by_section[t.section] = declared_by_section.get(t.section, 0.0) + t.delta
    self_declared_gain = round(sum(declared_by_section.values()), 4)
    without_declared = min(  # only the sections the new report scored (a --select may leave some out)
        (new_sections[s] - declared_by_section.get(s, 0.0) for s in SECTION_ORDER if s in new_sections),
        default=0.0,
    )
    rise = new.score.value - old.score.value
    return ReportDiff(
        old_score=old.score.value,
        new_score=new.score.value,
        delta=round(rise, 4),
        old_band=old.score.band,
        new_band=new.score.band,
        new_band_text=new.score.band_text,
        old_commit=old.target.commit,
        new_commit=new.target.commit,
        old_ref=old.target.ref,
        sections=sections,
        tests=tuple(tests),
        self_declared_gain=self_declared_gain,
        score_rise_self_declared=rise > 1e-9 and without_declared <= old.score.value + 1e-9,
        scoring_mismatch=old.score.scoring != new.score.scoring,
    )
