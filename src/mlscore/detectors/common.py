"""What every detector shares: the context it queries, the outcome it returns, and evidence helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mlscore.facts import linear
from mlscore.facts.python import Call, PyFacts, is_test_path
from mlscore.facts.repo import Hit, RepoFacts
from mlscore.models import Check, Evidence, Level, Location, Status

#: Estimators and model families whose construction is a model specification.
ESTIMATOR_RX = re.compile(
    r"(^|\.)(\w*(Classifier|Regressor|Regression|Classification)|LogisticRegression|LinearRegression|Ridge|Lasso|"
    r"ElasticNet|SVC|SVR|LinearSVC|KMeans|XGB\w+|LGBM\w+|CatBoost\w+|GradientBoosting\w+|RandomForest\w+|"
    r"HistGradientBoosting\w+|ExtraTrees\w+|DecisionTree\w+|KNeighbors\w+|MLP\w+|GaussianNB|MultinomialNB|"
    r"Sequential|AutoModel\w*|Prophet|ARIMA|SARIMAX)$"
)
SIMPLE_MODEL_RX = re.compile(
    r"(^|\.)(Dummy(Classifier|Regressor)|LogisticRegression|LinearRegression|Ridge|Lasso|ElasticNet|"
    r"LinearSVC|GaussianNB|MultinomialNB|DecisionTreeClassifier|DecisionTreeRegressor)$"
)


@dataclass(frozen=True)
class Run:
    """How a file or command is run automatically: the trigger and the chain of locations that reach it."""

    kind: str  # ci_push, ci_pull_request, ci_schedule, ci_manual, ci_release, pipeline, schedule, serving, guard
    location: Location
    chain: tuple[str, ...] = ()
    swallowed: bool = False
    surfaced: bool = False
    real_data: bool = False  # the job fetches the project's real data (dvc pull, dvc repro...)
    how: str = "run"  # run, test, module, notebook, stage, config, import (reached through an import)

    @property
    def scheduled(self) -> bool:
        return self.kind in ("ci_schedule", "schedule")

    def describe(self) -> str:
        via = " -> ".join(self.chain) if self.chain else str(self.location)
        return f"{via} ({self.kind.replace('_', ' ')})"


@dataclass
class Outcome:
    """What a detector concludes for one rubric test."""

    level: Level
    evidence: list[Evidence] = field(default_factory=list)
    rationale: str = ""
    status: Status = Status.UNKNOWN
    next_step: str | None = None


class Automation:
    """The automation model as detectors see it: which runs reach a path; filled by the engine."""

    def __init__(self) -> None:
        self._runs: dict[str, list[Run]] = {}
        self.invocations: list[tuple[str, Run]] = []  # (command text, run) for every resolved command
        self.setup: list[tuple[str, Run]] = []  # the same for setup commands (installs, checkouts, logins)

    def add(self, path: str, run: Run) -> None:
        self._runs.setdefault(path, []).append(run)

    def runs(self, path: str) -> list[Run]:
        return self._runs.get(path, [])

    def effective(self, path: str, *, imports: bool = False) -> list[Run]:
        """Runs that can fail, gate or surface (G7): swallowed ones that surface nothing are dropped.

        A file reached only because an automatically run file imports it is left out unless ``imports``,
        except for orchestrated pipelines and schedules, whose steps run the code they import.
        """
        return [r for r in self.runs(path) if (not r.swallowed or r.surfaced)
                and (imports or r.how != "import" or r.kind in ("pipeline", "schedule"))]

    def paths(self) -> Iterable[str]:
        return self._runs.keys()


@dataclass
class Context:
    """Everything a detector may look at. Detectors never touch the disk."""

    facts: RepoFacts
    automation: Automation
    ci: list[Any] = field(default_factory=list)  # CI jobs from facts.ci
    schedules: list[Any] = field(default_factory=list)
    manifests: list[Any] = field(default_factory=list)
    monitoring: Any = None
    deps: Any = None
    checks: list[tuple[str, Check]] = field(default_factory=list)  # (report file, check) from data/probe
    report_kinds: dict[str, str] = field(default_factory=dict)  # report file -> "data" | "probe"
    cache: dict[str, Any] = field(default_factory=dict)

    # -- helpers ---------------------------------------------------------------------------------
    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def calls(self, name_rx: str | re.Pattern[str], *, prefilter: str | None = None,
              tests: bool | None = False, literals: tuple[str, ...] = (),
              first: Callable[[str], bool] | None = None) -> Iterator[tuple[PyFacts, Call]]:
        """Calls whose dotted callee matches ``name_rx`` (searched at the end of the name).

        ``prefilter`` is a plain regex the file text must match before it is parsed (defaults to the last
        identifier alternatives of ``name_rx``); ``tests``: False skips test files, True keeps only them.
        """
        rx = re.compile(name_rx) if isinstance(name_rx, str) else name_rx
        pre = prefilter or rx.pattern
        for py in self.facts.python_matching(pre, literals=literals, first=first):
            if tests is not None and py.is_test_file != tests:
                continue
            for call in py.calls:
                if rx.search(call.name):
                    yield py, call

    def call_sites(self, names: str, *, tests: bool | None = False, limit: int = 50) -> list[Site]:
        """Lines calling one of ``names`` (a regex alternation of callee names, e.g. ``GridSearchCV|optuna\\.
        create_study``), in .py files and notebook code, found by a line search: no file is parsed.

        For distinctive library APIs a line search is as exact as the AST (comments are skipped) and costs a
        fraction of parsing a large repository.
        """
        rx = re.compile(rf"(?<![\w.])(?:[\w.]+\.)?(?:{names})\s*\(")

        def wanted(path: str) -> bool:
            if not path.endswith(".py"):
                return False
            is_test = is_test_path(path)
            return tests is None or is_test == tests

        sites = [Site(h.path, h.line, h.text, None) for h in self.facts.grep(rx, paths=wanted, limit=limit)]
        if tests is not True:
            for nb in self.facts.notebooks.values():
                if nb.error is not None or not rx.search(nb.code):
                    continue
                for number, line in enumerate(nb.code.split("\n"), 1):
                    if rx.search(line) and not line.lstrip().startswith("#"):
                        cell = nb.cell_of_line[number] if number < len(nb.cell_of_line) else None
                        sites.append(Site(nb.path, number, line.strip()[:240], cell))
                        break
        return sites[:limit]

    def grep(self, pattern: str | re.Pattern[str], **kwargs: Any) -> list[Hit]:
        return self.facts.grep(pattern, **kwargs)

    def history(self) -> Any:
        """Git history (mlscore.facts.git.GitHistory), or None when the tree is not a git repository."""
        value = self.cache.get("git")
        if callable(value):
            value = self.cache["git"] = value()
        return value

    def checks_for(self, rule_id: str) -> list[tuple[str, Check]]:
        return [(src, c) for src, c in self.checks if rule_id in c.rules]


@dataclass(frozen=True)
class Site:
    """A call found by a line search: file, line, the line's text, and the notebook cell if any."""

    path: str
    line: int
    text: str
    cell: int | None

    def evidence(self, summary: str, level: Level = Level.MANUAL, run: Run | None = None) -> Evidence:
        if self.cell is not None:
            return Evidence(summary=f"{summary} (cell {self.cell})", location=Location(path=self.path), level=level,
                            kind="notebook", trigger=run.describe() if run else None)
        return Evidence(summary=summary, location=Location(path=self.path, line=self.line), level=level, kind="code",
                        trigger=run.describe() if run else None)

    def callee(self, names: str) -> str:
        m = re.search(rf"((?:[\w.]+\.)?(?:{names}))\s*\(", self.text)
        return m.group(1) if m else self.text[:40]


@dataclass(frozen=True)
class DocSection:
    """A Markdown/RST section: its heading line (1-based), heading text and body up to the next heading."""

    path: str
    line: int
    heading: str
    body: str


#: A Markdown heading line (RE2: linear on any text); the heading text's trailing blanks and #s are stripped in code.
_HEADING_RX = linear.compile(r"(?m)^[ \t]{0,3}(#{1,4})[ \t]+([^\n]*)$")


def _heading_text(m: Any) -> str:
    return m.group(2).strip().rstrip("#").strip()


def doc_sections(ctx: Context, heading_rx: re.Pattern[str], *, paths: re.Pattern[str] | None = None,
                 body_rx: re.Pattern[str] | None = None) -> Iterator[DocSection]:
    """Sections of the docs whose heading matches ``heading_rx`` (and whose body matches ``body_rx``).

    Plans and TODO lists are not evidence, so a section reads as a record only through what its body says.
    """
    for path, text in ctx.facts.docs():
        if paths is not None and not paths.search(path):
            continue
        heads = [m for m in _HEADING_RX.finditer(text) if _heading_text(m)]
        for i, m in enumerate(heads):
            if not heading_rx.search(_heading_text(m)):
                continue
            end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            body = text[m.end():end][:6000]
            if body_rx is not None and not body_rx.search(body):
                continue
            yield DocSection(path, text.count("\n", 0, m.start()) + 1, _heading_text(m), body)


def documented(ctx: Context, heading_rx: re.Pattern[str], body_rx: re.Pattern[str], summary: str,
               rationale: str, *, also: re.Pattern[str] | None = None) -> list[Outcome]:
    """The manual-level outcome of the first docs section whose heading and body match (``also``: a second
    pattern the body must match), or nothing."""
    for section in doc_sections(ctx, heading_rx, body_rx=body_rx):
        if also is None or also.search(section.body):
            return [Outcome(Level.MANUAL, [doc_evidence(section, summary)], rationale)]
    return []


def doc_evidence(section: DocSection, summary: str, level: Level = Level.MANUAL) -> Evidence:
    return Evidence(summary=f"{summary}: {section.heading[:70]}", location=Location(path=section.path, line=section.line),
                    level=level, kind="doc")


def loc(py: PyFacts | str, line: int | None = None) -> Location:
    """A location; in notebooks the line is shown as the cell it belongs to."""
    if isinstance(py, str):
        return Location(path=py, line=line)
    return Location(path=py.path, line=line)


def where(py: PyFacts, line: int) -> str:
    """'path:line', or 'notebook.ipynb cell N' for notebook code."""
    if py.cell_of_line is not None and 0 < line < len(py.cell_of_line):
        return f"{py.path} cell {py.cell_of_line[line]}"
    return f"{py.path}:{line}"


def code_evidence(py: PyFacts, line: int, summary: str, level: Level = Level.MANUAL, trigger: Run | None = None,
                  kind: str = "code") -> Evidence:
    if py.cell_of_line is not None:
        cell = py.cell_of_line[line] if 0 < line < len(py.cell_of_line) else None
        return Evidence(
            summary=f"{summary} (cell {cell})" if cell is not None else summary,
            location=Location(path=py.path),
            level=level,
            kind="notebook",
            trigger=trigger.describe() if trigger else None,
        )
    return Evidence(
        summary=summary,
        location=Location(path=py.path, line=line),
        level=level,
        kind=kind,  # type: ignore[arg-type]
        trigger=trigger.describe() if trigger else None,
    )


def hit_evidence(hit: Hit, summary: str | None = None, level: Level = Level.MANUAL, kind: str = "code") -> Evidence:
    return Evidence(
        summary=summary or hit.text,
        location=Location(path=hit.path, line=hit.line),
        level=level,
        kind=kind,  # type: ignore[arg-type]
    )


#: Evidence items this close in one file are one place: the first (strongest) is cited.
NEARBY_LINES = 3


def best(outcomes: Iterable[Outcome]) -> Outcome:
    """The highest level reached, with the evidence of every outcome at that level first."""
    items = [o for o in outcomes if o is not None]
    if not items:
        return Outcome(Level.NONE)
    top = max(items, key=lambda o: o.level.rank)
    evidence: list[Evidence] = []
    seen: set[str] = set()
    lines: dict[str, list[int]] = {}
    for outcome in sorted(items, key=lambda o: -o.level.rank):
        for ev in outcome.evidence:
            key = str(ev.location) if ev.location else ev.summary
            if key in seen:
                continue  # one item per place: the strongest reading of it comes first
            loc = ev.location
            if loc is not None and loc.line is not None and any(
                    abs(loc.line - other) <= NEARBY_LINES for other in lines.get(loc.path, ())):
                continue  # the same mechanism a few lines on (a block's keys, a schema's fields)
            seen.add(key)
            if loc is not None and loc.line is not None:
                lines.setdefault(loc.path, []).append(loc.line)
            evidence.append(ev)
    return Outcome(top.level, evidence[:12], top.rationale, top.status, top.next_step)


def report_checks(ctx: Context, rule_id: str) -> list[Outcome]:
    """Evidence from saved `mlscore data` / `mlscore probe` reports: manual, or automated when the tree runs
    the same command automatically (on a schedule, for monitoring tests)."""
    out = []
    for source, check in ctx.checks_for(rule_id):
        if check.status in ("skipped", "error"):
            continue
        command = ctx.report_kinds.get(source, "data")
        run = mlscore_run(ctx, command, monitoring=rule_id.startswith("MON"))
        level = Level.AUTOMATED if run is not None else Level.MANUAL
        out.append(Outcome(level, [Evidence(
            summary=f"{check.title}: {check.message}", location=Location(path=source), level=level,
            kind="probe" if command == "probe" else "data", trigger=run.describe() if run else None)],
            f"`mlscore {command}` checked it" + (" and the tree runs that check automatically" if run else
                                                 " (a saved report, run by hand)")))
    return out


def mlscore_run(ctx: Context, command: str, *, monitoring: bool) -> Any:
    """An automatic run of `mlscore data check` / `mlscore probe` in CI or a scheduler."""
    rx = re.compile(r"\bmlscore\s+data\s+check\b" if command == "data" else r"\bmlscore\s+probe\b")
    for text, run in ctx.automation.invocations:
        if rx.search(text) and not (run.swallowed and not run.surfaced):
            if not monitoring or run.scheduled:
                return run
    return None


def finish(ctx: Context, rule_id: str, outcomes: list[Outcome], when_none: str | None = None, *,
           report: bool = True, judge: Callable[[Outcome], Outcome] | None = None) -> Outcome:
    """Add the evidence of the signal catalog and of saved data/probe reports (``report``), take the best outcome,
    and explain an empty result. ``judge`` applies the detector's own rule to each signal-catalog outcome (a level
    the catalog cannot see, such as whether a scheduled job gates on its result)."""
    from mlscore.detectors.signal_levels import signal_outcomes

    extra = report_checks(ctx, rule_id) if report else []
    signals = signal_outcomes(ctx, rule_id)
    if judge is not None:
        signals = [judge(o) for o in signals]
    result = best([*outcomes, *extra, *signals])
    if result.level is Level.NONE and when_none:
        result.rationale = when_none
    return result


def script_lines(ctx: Context, path_rx: re.Pattern[str], line_rx: re.Pattern[str]) -> Iterator[tuple[str, int, Run | None]]:
    """Non-test scripts whose path matches ``path_rx``, with the first line matching ``line_rx`` and the run that
    executes them automatically, if any (per-feature timing scripts, staleness backtests...)."""
    for path in ctx.facts.python_paths:
        if not path_rx.search(path) or re.search(r"(^|/)tests?/", path):
            continue
        lines = ctx.facts.texts[path].splitlines()
        line = next((n for n, text in enumerate(lines, 1) if line_rx.search(text)), None)
        if line is not None:
            runs = ctx.automation.effective(path)
            yield path, line, runs[0] if runs else None


def dedupe(evidence: Iterable[Evidence], limit: int = 8) -> list[Evidence]:
    seen: set[tuple[str, str]] = set()
    out = []
    for ev in sorted(evidence, key=lambda e: -e.level.rank):
        key = (str(ev.location) if ev.location else "", ev.summary)
        if key not in seen:
            seen.add(key)
            out.append(ev)
        if len(out) >= limit:
            break
    return out
