"""pytest-mlscore: tests declare the rubric tests they prove, and each run is written to mlscore-tests.json.

Enabled by installing ``mlscore-audit`` (a ``pytest11`` entry point named ``mlscore``; ``-p no:mlscore`` turns it
off). It imports nothing beyond the standard library and pytest until a run has something to record, so a
project that does not use it pays for one ``pytest_addoption`` and one ``pytest_configure``.

* ``@pytest.mark.mlscore("DATA1", "MON2")`` on a test, a class or a module (``pytestmark``);
* ``mlscore_rubric`` in ``[tool.pytest.ini_options]``: lines ``PATTERN = ID, ID`` mapping test files (paths
  relative to the rootdir, ``fnmatch`` patterns) to rubric tests;
* ``--mlscore-json PATH`` (default ``mlscore-tests.json`` in the rootdir, ini ``mlscore_json``; empty: off),
  ``--mlscore-report`` (a per-rubric summary at the end), ``--mlscore-fail-under SCORE``.

Under pytest-xdist the workers annotate their reports and the controller, which receives every report, writes
one file for the whole run. The file's format is ``schemas/mlscore-tests.schema.json``.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest

from mlscore.rubric_ids import RULE_ID_RE, parse_mapping_line

SCHEMA_VERSION = "1"
SECTIONS = (("DATA", "data"), ("MODEL", "model"), ("INFRA", "infrastructure"), ("MON", "monitoring"))
#: Outcomes that mean the check ran (a failing check still exists: the rubric credits having it).
RAN = ("passed", "failed", "xpassed")
MARKER_HELP = ("mlscore(*ids): this test is evidence for these ML Test Score rubric tests "
               "(DATA1-7, MODEL1-7, INFRA1-7, MON1-7); see mlscore's docs/pytest-plugin.md")
_ATTR = "mlscore_rubric"  # report attribute carrying (ids, source); xdist serialises it with the report


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlscore", "ML Test Score evidence (pytest-mlscore)")
    group.addoption("--mlscore-json", dest="mlscore_json", default=None, metavar="PATH",
                    help="Write the rubric evidence of this run here (default: mlscore_json ini, "
                         "mlscore-tests.json in the rootdir; an empty value writes nothing).")
    group.addoption("--mlscore-report", dest="mlscore_report", action="store_true", default=False,
                    help="Print a per-rubric summary of the marked tests at the end of the session.")
    group.addoption("--mlscore-fail-under", dest="mlscore_fail_under", type=float, default=None, metavar="SCORE",
                    help="Fail the session when the rubric coverage of the tests that ran (0-7, the minimum "
                         "over the four sections) is below SCORE.")
    parser.addini("mlscore_rubric", type="linelist", default=[],
                  help="Map test paths to rubric tests: one 'PATTERN = ID, ID' per line (fnmatch, rootdir-relative).")
    parser.addini("mlscore_json", default="mlscore-tests.json",
                  help="Where to write the rubric evidence of a run, relative to the rootdir ('' writes nothing).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    mapping = parse_mapping(config.getini("mlscore_rubric"))
    fail_under = config.getoption("mlscore_fail_under")
    if fail_under is not None and not 0 <= fail_under <= 7:
        raise pytest.UsageError(f"--mlscore-fail-under: {fail_under:g} is not a score between 0 and 7")
    config.pluginmanager.register(_Annotator(mapping), "mlscore-annotator")
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) records and writes
        config.pluginmanager.register(_Recorder(config), "mlscore-recorder")


def parse_mapping(lines: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """``mlscore_rubric`` lines -> [(pattern, ids)]; a malformed line or an unknown id is a usage error."""
    out = []
    for number, raw in enumerate(lines, 1):
        try:
            parsed = parse_mapping_line(raw)
        except ValueError as exc:
            hint = ("(expected DATA1-7, MODEL1-7, INFRA1-7 or MON1-7)" if "unknown" in str(exc)
                    else "(e.g. 'tests/data/* = DATA1, DATA7')")
            raise pytest.UsageError(f"mlscore_rubric line {number} {raw.strip()!r}: {exc} {hint}") from None
        if parsed is not None:
            out.append(parsed)
    return out


def marker_ids(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """The rubric ids of one ``mlscore`` marker and the misuse, if any (None when it is well formed)."""
    if kwargs:
        return (), f"takes rubric ids only, not keyword arguments ({', '.join(sorted(kwargs))})"
    if not args:
        return (), "needs at least one rubric id, e.g. @pytest.mark.mlscore(\"DATA1\")"
    ids = []
    for arg in args:
        if not isinstance(arg, str):
            return (), f"rubric ids are strings, got {type(arg).__name__} {arg!r}"
        value = arg.strip().upper()
        if not RULE_ID_RE.match(value):
            return (), f"unknown rubric id {arg!r} (expected DATA1-7, MODEL1-7, INFRA1-7 or MON1-7)"
        ids.append(value)
    return tuple(dict.fromkeys(ids)), None


def _marks_of(obj: Any) -> list[Any]:
    marks = getattr(obj, "pytestmark", [])
    return list(marks) if isinstance(marks, (list, tuple)) else [marks]


#: pytest 9 refuses marks on fixtures itself; pytest 8 only warns that they have no effect.
_CHECK_FIXTURES = int(pytest.__version__.split(".", 1)[0]) < 9


def _fixture_misuse(session: pytest.Session, nodeid: str, done: set[tuple[str, str]],
                    checked: set[int]) -> list[str]:
    """Fixtures visible from ``nodeid`` that carry an ``mlscore`` mark and were not reported yet; ``checked``:
    the fixture definitions already looked at (each is looked at once, whatever the number of modules)."""
    errors = []
    defs = getattr(getattr(session, "_fixturemanager", None), "_arg2fixturedefs", {}) or {}
    for name, fixturedefs in list(defs.items()):
        for fixturedef in fixturedefs:
            if id(fixturedef) in checked:
                continue
            baseid = getattr(fixturedef, "baseid", "") or ""
            if (name, baseid) in done or not (baseid == nodeid or nodeid.startswith((baseid + "/", baseid + "::"))
                                              or not baseid):
                continue
            checked.add(id(fixturedef))
            func = getattr(fixturedef, "func", None)
            candidates = [func, getattr(func, "__wrapped__", None), getattr(func, "_fixture_function", None)]
            if any(getattr(m, "name", None) == "mlscore" for c in candidates if c is not None for m in _marks_of(c)):
                done.add((name, baseid))
                errors.append(f"@pytest.mark.mlscore on fixture {name!r} ({baseid or 'rootdir conftest'}) has no "
                              "effect: mark the tests that use it, or map their files in mlscore_rubric")
    return errors


class _Annotator:
    """Runs wherever tests are collected and run (a worker under xdist): turns a misused marker into a
    collection error of its module, and tags each test's reports with its rubric ids."""

    def __init__(self, mapping: list[tuple[str, tuple[str, ...]]]) -> None:
        self.mapping = mapping
        self.ids: dict[str, tuple[tuple[str, ...], str]] = {}
        self.fixtures_reported: set[tuple[str, str]] = set()
        self.fixtures_checked: set[int] = set()

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        report = yield
        if not report.passed or not isinstance(collector, (pytest.Module, pytest.Class)):
            return report
        errors = _fixture_misuse(collector.session, collector.nodeid, self.fixtures_reported,
                                 self.fixtures_checked) if _CHECK_FIXTURES else []
        seen: set[str] = set()
        for item in report.result or ():
            if not isinstance(item, pytest.Item):
                continue
            for mark in item.iter_markers("mlscore"):
                _ids, problem = marker_ids(mark.args, mark.kwargs)
                name = getattr(item, "originalname", None) or item.name
                message = f"{name}: @pytest.mark.mlscore{_args_text(mark)} {problem}"
                if problem and message not in seen:
                    seen.add(message)
                    errors.append(message)
        if not errors:
            return report
        text = "pytest-mlscore: " + "\n".join(errors)
        return pytest.CollectReport(collector.nodeid, "failed", text, [], report.sections)

    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        for item in items:
            ids: list[str] = []
            for mark in item.iter_markers("mlscore"):
                ids.extend(marker_ids(mark.args, mark.kwargs)[0])
            source = "marker"
            path = item.nodeid.split("::", 1)[0]
            for pattern, mapped in self.mapping:
                if fnmatch.fnmatch(path, pattern):
                    if not ids:
                        source = "mapping"
                    ids.extend(mapped)
            if ids:
                self.ids[item.nodeid] = (tuple(sorted(set(ids), key=_order)), source)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Any:
        report = yield
        found = self.ids.get(item.nodeid)
        if found is not None:
            worker = getattr(item.config, "workerinput", {}).get("workerid")
            setattr(report, _ATTR, {"ids": list(found[0]), "source": found[1], "worker": worker})
        return report


def _args_text(mark: Any) -> str:
    parts = [repr(a) for a in mark.args] + [f"{k}={v!r}" for k, v in mark.kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _order(rule_id: str) -> tuple[int, int]:
    prefix = rule_id.rstrip("1234567")
    return ([p for p, _ in SECTIONS].index(prefix), int(rule_id[len(prefix):]))


class _Recorder:
    """Runs in the controller: gathers every annotated report (the workers' too) and writes the run's file."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.tests: dict[str, dict[str, Any]] = {}
        self.summary: dict[str, Any] | None = None
        self.written: Path | None = None
        self.write_error: str | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        tag = getattr(report, _ATTR, None)
        if not isinstance(tag, dict):
            return
        entry = self.tests.get(report.nodeid)
        if entry is None:
            path, line = report.nodeid.split("::", 1)[0], report.location[1]
            entry = self.tests[report.nodeid] = {
                "nodeid": report.nodeid, "path": path, "line": None if line is None else line + 1,
                "ids": list(tag.get("ids", ())), "source": tag.get("source", "marker"), "outcome": "passed",
                "duration": 0.0, "worker": tag.get("worker") or _worker_of(report)}
        entry["duration"] = round(entry["duration"] + float(report.duration or 0.0), 6)
        entry["outcome"] = _merge_outcome(entry["outcome"], report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        option = self.config.getoption("mlscore_json")
        target = option if option is not None else self.config.getini("mlscore_json")
        wanted = bool(self.tests) or option is not None or self.config.getoption("mlscore_report") \
            or self.config.getoption("mlscore_fail_under") is not None
        if not wanted:
            return
        self.summary = build_document(self.tests, self.config)
        if target:
            path = Path(target)
            if not path.is_absolute():
                path = Path(self.config.rootpath) / path
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text(json.dumps(self.summary, indent=2, sort_keys=False) + "\n", encoding="utf-8")
                tmp.replace(path)
                self.written = path
            except OSError as exc:
                self.write_error = f"{path}: {exc.strerror or exc}"
        fail_under = self.config.getoption("mlscore_fail_under")
        if fail_under is not None and self.summary["coverage"]["score"] < fail_under and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summary is None:
            return
        tr = terminalreporter
        fail_under = self.config.getoption("mlscore_fail_under")
        if self.config.getoption("mlscore_report"):
            tr.write_sep("-", "mlscore: rubric tests covered by this run")
            for line in summary_lines(self.summary):
                tr.write_line(line)
        if self.written is not None and (self.config.getoption("mlscore_report") or tr.verbosity > 0):
            tr.write_line(f"mlscore: wrote {self.written}")
        if self.write_error:
            tr.write_line(f"mlscore: could not write the rubric evidence: {self.write_error}", red=True)
        if fail_under is not None:
            score = self.summary["coverage"]["score"]
            if score < fail_under:
                tr.write_line(f"FAIL Required rubric coverage of {fail_under:g} not reached: the tests that ran "
                              f"cover {score:g} (the minimum over the four sections)", red=True, bold=True)
            else:
                tr.write_line(f"mlscore: rubric coverage {score:g} reached the required {fail_under:g}")


def _worker_of(report: Any) -> str | None:
    gateway = getattr(getattr(report, "node", None), "gateway", None)
    return getattr(gateway, "id", None)


#: Precedence when the phases of one test disagree: a failing phase wins over a passing one.
_RANK = {"passed": 0, "skipped": 1, "xfailed": 2, "xpassed": 3, "failed": 4, "error": 5}


def _merge_outcome(current: str, report: Any) -> str:
    """The test's outcome so far combined with one more phase's report (the worst phase wins)."""
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
    elif report.skipped:
        outcome = "skipped"
    elif report.failed:
        outcome = "failed" if report.when == "call" else "error"
    else:
        outcome = "passed"
    return outcome if _RANK[outcome] > _RANK[current] else current


def build_document(tests: dict[str, dict[str, Any]], config: pytest.Config) -> dict[str, Any]:
    """The content of mlscore-tests.json for the recorded tests (see schemas/mlscore-tests.schema.json)."""
    from mlscore import __version__

    rubric: dict[str, dict[str, Any]] = {}
    totals = {k: 0 for k in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")}
    duration = 0.0
    entries = sorted(tests.values(), key=lambda e: e["nodeid"])
    for entry in entries:
        totals[entry["outcome"]] += 1
        duration += entry["duration"]
        for rule_id in entry["ids"]:
            slot = rubric.setdefault(rule_id, {"status": "skipped", "tests": []})
            slot["tests"].append({k: entry[k] for k in ("nodeid", "path", "line", "outcome", "duration", "source",
                                                         "worker")})
    for slot in rubric.values():
        outcomes = [t["outcome"] for t in slot["tests"]]
        slot["status"] = ("failing" if any(o in ("failed", "error") for o in outcomes) else
                          "passing" if any(o in RAN for o in outcomes) else "skipped")
        for key in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
            slot[key] = outcomes.count(key)
    rubric = dict(sorted(rubric.items(), key=lambda kv: _order(kv[0])))
    coverage: dict[str, Any] = {}
    for prefix, section in SECTIONS:
        coverage[section] = sum(1 for rule_id, slot in rubric.items() if rule_id.rstrip("1234567") == prefix
                                and any(t["outcome"] in RAN for t in slot["tests"]))
    coverage["score"] = min(coverage[s] for _p, s in SECTIONS)
    rootpath = Path(config.rootpath)
    repo = _repository_root(rootpath)
    workers = sorted({e["worker"] for e in entries if e["worker"]})
    return {
        "kind": "tests",
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "pytest-mlscore", "mlscore": __version__, "pytest": pytest.__version__},
        "generated_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "root": rootpath.relative_to(repo).as_posix() if repo and repo != rootpath else "",
        "commit": _head_commit(repo) if repo else None,
        "ci": ci_context(),
        "workers": workers,
        "totals": {"tests": len(entries), **totals, "duration": round(duration, 6)},
        "coverage": coverage,
        "rubric": rubric,
    }


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """The ``--mlscore-report`` table: one line per rubric test, then the coverage per section."""
    lines = []
    for rule_id, slot in doc["rubric"].items():
        counts = ", ".join(f"{slot[k]} {k}" for k in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
                           if slot.get(k))
        lines.append(f"  {rule_id:<7}{slot['status']:<9}{len(slot['tests'])} test{'s' if len(slot['tests']) != 1 else ''}"
                     f" ({counts})")
    if not lines:
        lines.append("  no test of this run is marked with a rubric id")
    cov = doc["coverage"]
    lines.append("  coverage: " + ", ".join(f"{s} {cov[s]}/7" for _p, s in SECTIONS)
                 + f"; score {cov['score']:g} (the minimum over the sections)")
    ci = doc.get("ci")
    lines.append(f"  ran in {ci['name']} ({ci['trigger']})" if ci else
                 "  ran outside CI: the audit counts a test as automated only when CI runs it")
    return lines


def _repository_root(start: Path) -> Path | None:
    for parent in (start, *start.parents):
        if (parent / ".git").exists():
            return parent
    return None


def _head_commit(repo: Path) -> str | None:
    """HEAD's commit read from the .git files (no git process)."""
    git_dir = repo / ".git"
    try:
        if git_dir.is_file():  # a worktree or submodule: 'gitdir: PATH'
            pointer = git_dir.read_text("utf-8").strip()
            if not pointer.startswith("gitdir:"):
                return None
            git_dir = (repo / pointer.split(":", 1)[1].strip()).resolve()
        head = (git_dir / "HEAD").read_text("utf-8").strip()
        if re.fullmatch(r"[0-9a-f]{40}", head):
            return head
        if not head.startswith("ref: "):
            return None
        ref = head[5:].strip()
        common = git_dir
        if (git_dir / "commondir").is_file():
            common = (git_dir / (git_dir / "commondir").read_text("utf-8").strip()).resolve()
        for base in (git_dir, common):
            if (base / ref).is_file():
                value = (base / ref).read_text("utf-8").strip()
                return value if re.fullmatch(r"[0-9a-f]{40}", value) else None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text("utf-8").splitlines():
                sha, _, name = line.partition(" ")
                if name == ref and re.fullmatch(r"[0-9a-f]{40}", sha):
                    return sha
    except (OSError, UnicodeDecodeError):
        return None
    return None


# -- CI context ---------------------------------------------------------------------------------------------

#: Each CI system: the variable that says it is running, its name, and the variables of its run.
_CI: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("GITHUB_ACTIONS", "github-actions", "GitHub Actions", {
        "event": "GITHUB_EVENT_NAME", "workflow": "GITHUB_WORKFLOW", "job": "GITHUB_JOB", "run_id": "GITHUB_RUN_ID",
        "commit": "GITHUB_SHA", "branch": "GITHUB_REF_NAME", "repository": "GITHUB_REPOSITORY"}),
    ("GITLAB_CI", "gitlab-ci", "GitLab CI", {
        "event": "CI_PIPELINE_SOURCE", "workflow": "CI_PIPELINE_NAME", "job": "CI_JOB_NAME",
        "run_id": "CI_PIPELINE_ID", "run_url": "CI_JOB_URL", "commit": "CI_COMMIT_SHA", "branch": "CI_COMMIT_REF_NAME",
        "repository": "CI_PROJECT_PATH"}),
    ("TF_BUILD", "azure-pipelines", "Azure Pipelines", {
        "event": "BUILD_REASON", "workflow": "BUILD_DEFINITIONNAME", "job": "AGENT_JOBNAME", "run_id": "BUILD_BUILDID",
        "commit": "BUILD_SOURCEVERSION", "branch": "BUILD_SOURCEBRANCHNAME", "repository": "BUILD_REPOSITORY_NAME"}),
    ("JENKINS_URL", "jenkins", "Jenkins", {
        "workflow": "JOB_NAME", "run_id": "BUILD_NUMBER", "run_url": "BUILD_URL", "commit": "GIT_COMMIT",
        "branch": "BRANCH_NAME", "change": "CHANGE_ID"}),
    ("CIRCLECI", "circleci", "CircleCI", {
        "workflow": "CIRCLE_WORKFLOW_ID", "job": "CIRCLE_JOB", "run_id": "CIRCLE_BUILD_NUM", "run_url": "CIRCLE_BUILD_URL",
        "commit": "CIRCLE_SHA1", "branch": "CIRCLE_BRANCH", "repository": "CIRCLE_PROJECT_REPONAME",
        "change": "CIRCLE_PULL_REQUEST"}),
    ("BUILDKITE", "buildkite", "Buildkite", {
        "event": "BUILDKITE_SOURCE", "workflow": "BUILDKITE_PIPELINE_SLUG", "job": "BUILDKITE_LABEL",
        "run_id": "BUILDKITE_BUILD_NUMBER", "run_url": "BUILDKITE_BUILD_URL", "commit": "BUILDKITE_COMMIT",
        "branch": "BUILDKITE_BRANCH", "change": "BUILDKITE_PULL_REQUEST"}),
)

#: Each system's own name for what started the run -> push, pull_request, schedule, manual, release, api, other.
_TRIGGERS = {
    "push": "push", "pull_request": "pull_request", "pull_request_target": "pull_request",
    "merge_request_event": "pull_request", "external_pull_request_event": "pull_request", "pullrequest": "pull_request",
    "schedule": "schedule", "workflow_dispatch": "manual", "web": "manual", "manual": "manual", "ui": "manual",
    "release": "release", "api": "api", "trigger": "api", "trigger_job": "api", "pipeline": "api",
    "individualci": "push", "batchedci": "push", "webhook": "push", "merge_group": "pull_request",
}


def ci_context() -> dict[str, Any] | None:
    """The CI system running this session and what started it, from its environment variables; None outside CI."""
    from mlscore.config import env  # the only reader of the environment

    for flag, system, name, names in _CI:
        value = env(flag)
        if not value or value.lower() in ("false", "0"):
            continue
        out: dict[str, Any] = {"system": system, "name": name}
        for key, var in names.items():
            got = env(var)
            if got:
                out[key] = got[:500]
        change = out.pop("change", None)
        event = str(out.get("event", "")).lower()
        trigger = _TRIGGERS.get(event, "other" if event else "unknown")
        if change and change.lower() not in ("false", "0"):
            trigger = "pull_request"
        elif not event and out.get("branch"):
            trigger = "push"
        out["trigger"] = trigger
        if system == "github-actions" and out.get("run_id"):
            server, repo = env("GITHUB_SERVER_URL") or "https://github.com", out.get("repository")
            if repo:
                out["run_url"] = f"{server}/{repo}/actions/runs/{out['run_id']}"
        if system == "azure-pipelines" and out.get("run_id"):
            base, project = env("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"), env("SYSTEM_TEAMPROJECT")
            if base and project:
                out["run_url"] = f"{base.rstrip('/')}/{project}/_build/results?buildId={out['run_id']}"
        return out
    return None
