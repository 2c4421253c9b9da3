"""Pure scoring: rule results -> section sums -> the ML Test Score and its band (Breck et al. 2017)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from mlscore.models import Level, RuleResult, Score, Section, SectionScore

Scoring = Literal["2017", "2016"]

#: Table V of the 2017 paper. Intervals are left-open, right-closed: 1.0 is "(0, 1]", 5.0 is "(3, 5]".
BANDS: tuple[tuple[float, float, str, str], ...] = (
    (float("-inf"), 0.0, "0", "More of a research project than a productionized system."),
    (0.0, 1.0, "(0, 1]", "Not totally untested, but it is worth considering the possibility of serious holes in reliability."),
    (1.0, 2.0, "(1, 2]", "There's been first pass at basic productionization, but additional investment may be needed."),
    (2.0, 3.0, "(2, 3]", "Reasonably tested, but it's possible that more of those tests and procedures may be automated."),
    (3.0, 5.0, "(3, 5]", "Strong levels of automated testing and monitoring, appropriate for mission-critical systems."),
    (5.0, float("inf"), "> 5", "Exceptional levels of automated testing and monitoring."),
)


def points_for(level: Level, scoring: Scoring = "2017") -> float:
    """0 / 0.5 / 1 in the 2017 paper; 0 / 1 / 2 in the 2016 workshop version."""
    base = {Level.NONE: 0.0, Level.MANUAL: 0.5, Level.AUTOMATED: 1.0}[level]
    return base * 2 if scoring == "2016" else base


def band(score: float, scoring: Scoring = "2017") -> tuple[str, str]:
    """The Table V interval and its words; 2016 scores map by halving (the 2016 list leaves gaps)."""
    value = score / 2 if scoring == "2016" else score
    for low, high, label, text in BANDS:
        if low < value <= high:
            return label, text
    return BANDS[0][2], BANDS[0][3]


def score(results: Iterable[RuleResult], scoring: Scoring = "2017") -> Score:
    """Sum each section, take the minimum, find the band; sections with no selected test are left out."""
    by_section: dict[Section, list[RuleResult]] = {s: [] for s in Section}
    for result in results:
        by_section[result.section].append(result)
    per_test_max = 2.0 if scoring == "2016" else 1.0
    sections = tuple(
        SectionScore(
            section=section,
            points=sum(r.points for r in rs),
            max_points=per_test_max * len(rs),
            automated=sum(r.level is Level.AUTOMATED for r in rs),
            manual=sum(r.level is Level.MANUAL for r in rs),
            none=sum(r.level is Level.NONE for r in rs),
        )
        for section, rs in by_section.items()
        if rs
    )
    value = min((s.points for s in sections), default=0.0)
    label, text = band(value, scoring)
    weakest = tuple(s.section for s in sections if s.points == value)
    return Score(scoring=scoring, value=value, band=label, band_text=text, sections=sections, weakest=weakest)
