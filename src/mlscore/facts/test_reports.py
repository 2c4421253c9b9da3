"""Tests that declare the rubric tests they prove: `@pytest.mark.mlscore` markers and `mlscore_rubric` path
mappings read statically from the tree, and the runs pytest-mlscore recorded in ``mlscore-tests.json``.

Nothing is imported or run: markers come from the AST of the test files that mention ``mlscore``, mappings from
the pytest configuration files, runs from JSON validated against ``TestsReport`` (the model behind
``schemas/mlscore-tests.schema.json``). A malformed file in the tree is a diagnostic; a malformed file given
on the command line (``--tests-report``) is an ``InputError`` (one line, exit 2).
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlscore.errors import InputError
from mlscore.facts.python import dotted, is_test_path
from mlscore.models import RULE_ID_RE, Diagnostic
from mlscore.rubric_ids import parse_mapping_line

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPORT_NAME = "mlscore-tests.json"
MAX_REPORT_BYTES = 32 * 1024 * 1024
MAX_TESTS = 200_000
#: Marked files larger than this are not parsed again for markers (generated code, not tests).
MAX_MARKED_FILE_CHARS = 1_000_000
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".feather", ".arrow", ".npy", ".npz", ".avro", ".orc",
                 ".xlsx", ".pkl.gz", ".csv.gz")


# -- the mlscore-tests.json format -----------------------------------------------------------------------

class _Rec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class TestRun(_Rec):
    """One test of the run and the rubric tests it declared."""

    __test__ = False  # not a pytest test class

    nodeid: str = Field(max_length=4000, description="pytest's node id, relative to the rootdir.")
    path: str = Field(max_length=2000, description="The test file, relative to the rootdir (POSIX).")
    line: int | None = Field(default=None, ge=1, description="1-based line of the test (its first decorator).")
    outcome: Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
    duration: float = Field(ge=0, description="Seconds over setup, call and teardown.")
    source: Literal["marker", "mapping"] = Field(description="@pytest.mark.mlscore, or mlscore_rubric's path mapping.")
    worker: str | None = Field(default=None, max_length=100, description="The pytest-xdist worker that ran it.")


class RubricRuns(_Rec):
    status: Literal["passing", "failing", "skipped"] = Field(
        description="failing if a test failed or errored, passing if one ran, else skipped.")
    tests: list[TestRun] = Field(max_length=MAX_TESTS)
    passed: int = Field(ge=0)
    failed: int = Field(ge=0)
    error: int = Field(ge=0)
    skipped: int = Field(ge=0)
    xfailed: int = Field(ge=0)
    xpassed: int = Field(ge=0)


class CIContext(_Rec):
    """The CI run the tests ran in, from the CI system's environment variables."""

    system: Literal["github-actions", "gitlab-ci", "azure-pipelines", "jenkins", "circleci", "buildkite"]
    name: str = Field(max_length=100)
    trigger: Literal["push", "pull_request", "schedule", "manual", "release", "api", "other", "unknown"]
    event: str | None = Field(default=None, max_length=500)
    workflow: str | None = Field(default=None, max_length=500)
    job: str | None = Field(default=None, max_length=500)
    run_id: str | None = Field(default=None, max_length=500)
    run_url: str | None = Field(default=None, max_length=2000)
    commit: str | None = Field(default=None, max_length=500)
    branch: str | None = Field(default=None, max_length=500)
    repository: str | None = Field(default=None, max_length=500)


class Tool(_Rec):
    name: Literal["pytest-mlscore"]
    mlscore: str = Field(max_length=100)
    pytest: str = Field(max_length=100)


class Totals(_Rec):
    tests: int = Field(ge=0)
    passed: int = Field(ge=0)
    failed: int = Field(ge=0)
    error: int = Field(ge=0)
    skipped: int = Field(ge=0)
    xfailed: int = Field(ge=0)
    xpassed: int = Field(ge=0)
    duration: float = Field(ge=0)


class Coverage(_Rec):
    """Per section, the rubric tests with at least one test that ran (passed, failed or xpassed); ``score`` is
    the minimum over the sections. An upper bound: the audit decides the points."""

    data: int = Field(ge=0, le=7)
    model: int = Field(ge=0, le=7)
    infrastructure: int = Field(ge=0, le=7)
    monitoring: int = Field(ge=0, le=7)
    score: int = Field(ge=0, le=7)


class TestsReport(_Rec):
    """``mlscore-tests.json``: what one pytest run (all xdist workers merged) says about the rubric tests."""

    __test__ = False

    kind: Literal["tests"]
    schema_version: Literal["1"]
    tool: Tool
    generated_at: str = Field(max_length=100)
    root: str = Field(max_length=2000, description="The pytest rootdir relative to the git repository ('' at its top).")
    commit: str | None = Field(default=None, max_length=100, description="HEAD of the repository when it ran.")
    ci: CIContext | None = None
    workers: list[str] = Field(default_factory=list, max_length=10_000)
    totals: Totals
    coverage: Coverage
    rubric: dict[str, RubricRuns] = Field(max_length=28, description="Per rubric test id (DATA1..MON7).")

    @field_validator("rubric", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        for key in value if isinstance(value, dict) else ():
            if not isinstance(key, str) or not RULE_ID_RE.match(key):
                raise ValueError(f"unknown rubric id {key[:40]!r} (expected DATA1-7, MODEL1-7, INFRA1-7 or MON1-7)")
        return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema checked in as schemas/mlscore-tests.schema.json."""
    schema = TestsReport.model_json_schema()
    schema["properties"]["rubric"]["propertyNames"] = {"pattern": RULE_ID_RE.pattern}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/mlscore/mlscore/schemas/mlscore-tests.schema.json",
        **schema,
    }


def parse_tests_report(data: bytes, where: str) -> TestsReport:
    """Validate the bytes of an mlscore-tests.json; every problem is one InputError line naming ``where``."""
    if len(data) > MAX_REPORT_BYTES:
        raise InputError(f"{where}: {len(data)} bytes is too large for an mlscore-tests.json "
                         f"(limit {MAX_REPORT_BYTES // (1024 * 1024)} MiB)")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise InputError(f"{where}: not JSON (an mlscore-tests.json written by pytest-mlscore was expected)") from None
    if not isinstance(doc, dict) or doc.get("kind") != "tests":
        raise InputError(f"{where}: not an mlscore-tests.json (expected \"kind\": \"tests\", written by pytest-mlscore)")
    if doc.get("schema_version") != "1":
        raise InputError(f"{where}: schema_version {str(doc.get('schema_version'))[:20]!r} is not supported "
                         "(this mlscore reads version \"1\")")
    try:
        return TestsReport.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        raise InputError(f"{where}: {loc or 'document'}: {err['msg'][:200]}") from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply") from None


def load_tests_report(path: Path) -> TestsReport:
    """Read ``--tests-report FILE``."""
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise InputError(f"{path}: {size} bytes is too large for an mlscore-tests.json "
                             f"(limit {MAX_REPORT_BYTES // (1024 * 1024)} MiB)")
        with open(path, "rb") as handle:
            data = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_tests_report(data, str(path))


# -- markers and mappings read from the tree ---------------------------------------------------------------

@dataclass(frozen=True)
class DeclaredTest:
    """A test function that declares rubric tests (a marker on it, its class or module, or a path mapping)."""

    path: str
    line: int  # the `def` line
    name: str  # 'test_x' or 'TestA::test_x', as in a node id without the file and parameters
    ids: tuple[str, ...]
    source: str  # marker | mapping
    asserts: int  # meaningful assertions (trivial and type-only ones left out)


@dataclass(frozen=True)
class RecordedRun:
    """A test's entry in an mlscore-tests.json, resolved to a path of the audited tree."""

    report: str  # where the report came from: a tree path or the --tests-report path
    path: str
    name: str
    line: int | None
    outcome: str
    rule_id: str
    ci: CIContext | None
    generated_at: str
    commit: str | None


@dataclass
class Declared:
    tests: list[DeclaredTest] = field(default_factory=list)
    runs: list[RecordedRun] = field(default_factory=list)
    reports: list[tuple[str, TestsReport]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def for_rule(self, rule_id: str) -> list[DeclaredTest]:
        return [t for t in self.tests if rule_id in t.ids]

    def runs_of(self, path: str, name: str) -> list[RecordedRun]:
        return [r for r in self.runs if r.path == path and r.name == name]


def _mark_ids(node: ast.expr, aliases: set[str]) -> list[tuple[tuple[str, ...], str | None]]:
    """(ids, problem) for each mlscore mark in a decorator or a ``pytestmark`` value."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [found for elt in node.elts for found in _mark_ids(elt, aliases)]
    func = node.func if isinstance(node, ast.Call) else node
    name = dotted(func)
    if not (name.endswith("mark.mlscore") or name in aliases):
        return []
    if not isinstance(node, ast.Call):
        return [((), "needs at least one rubric id")]
    if node.keywords:
        return [((), "takes rubric ids only, not keyword arguments")]
    if not node.args:
        return [((), "needs at least one rubric id")]
    ids = []
    for arg in node.args:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            return [((), ("has an id that is not a string literal (the audit reads such ids only from "
                         "mlscore-tests.json)"))]
        value = arg.value.strip().upper()
        if not RULE_ID_RE.match(value):
            return [((), (f"has an unknown rubric id {arg.value[:40]!r} (expected DATA1-7, MODEL1-7, INFRA1-7 "
                         "or MON1-7)"))]
        ids.append(value)
    return [(tuple(dict.fromkeys(ids)), None)]


def _scan_file(path: str, text: str, asserts: dict[int, int], out: Declared) -> None:
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return  # the Python facts already report a file that does not parse
    aliases: set[str] = set()
    module_ids: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target = stmt.targets[0].id
            if dotted(stmt.value).endswith("mark.mlscore") and not isinstance(stmt.value, ast.Call):
                aliases.add(target)
            elif target == "pytestmark":
                module_ids += _checked(_mark_ids(stmt.value, aliases), path, stmt.lineno, "module", out)

    def visit(body: list[ast.stmt], inherited: list[str], prefix: str, skipped: bool = False) -> None:
        for stmt in body:
            if isinstance(stmt, ast.ClassDef):
                ids = list(inherited)
                for dec in stmt.decorator_list:
                    ids += _checked(_mark_ids(dec, aliases), path, dec.lineno, f"class {stmt.name}", out)
                for item in stmt.body:
                    if isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                            for t in item.targets):
                        ids += _checked(_mark_ids(item.value, aliases), path, item.lineno, f"class {stmt.name}", out)
                if stmt.name.startswith("Test"):
                    visit(stmt.body, ids, f"{prefix}{stmt.name}::",
                          skipped or any(_is_skip(d) for d in stmt.decorator_list))
                elif len(ids) > len(inherited):
                    out.diagnostics.append(Diagnostic(path=path, message=f"line {stmt.lineno}: @pytest.mark.mlscore "
                                                      f"on class {stmt.name}, which pytest does not collect (its name "
                                                      "does not start with Test): not counted"))
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                own: list[str] = []
                fixture = any(dotted(d.func if isinstance(d, ast.Call) else d).rsplit(".", 1)[-1] == "fixture"
                              for d in stmt.decorator_list)
                for dec in stmt.decorator_list:
                    found = _mark_ids(dec, aliases)
                    if found and fixture:
                        out.diagnostics.append(Diagnostic(path=path, message=f"line {dec.lineno}: @pytest.mark.mlscore "
                                                          f"on fixture {stmt.name!r} has no effect (pytest ignores "
                                                          "marks on fixtures): mark the tests that use it; not counted"))
                        found = []
                    own += _checked(found, path, dec.lineno, stmt.name, out)
                if fixture:
                    continue
                if any(_is_skip(d) for d in stmt.decorator_list) or skipped:
                    if own or inherited:
                        out.diagnostics.append(Diagnostic(path=path, message=f"line {stmt.lineno}: {stmt.name} is "
                                                          "declared for a rubric test but always skipped: not counted"))
                    continue
                if not stmt.name.startswith("test"):
                    if own:
                        out.diagnostics.append(Diagnostic(path=path, message=f"line {stmt.lineno}: "
                                                          f"@pytest.mark.mlscore on {stmt.name!r}, which pytest does "
                                                          "not collect (not named test*): not counted"))
                    continue
                ids = tuple(dict.fromkeys([*inherited, *own]))
                if ids:
                    out.tests.append(DeclaredTest(path, stmt.lineno, prefix + stmt.name, ids, "marker",
                                                  asserts.get(stmt.lineno, 0)))

    visit(tree.body, module_ids, "")


def _is_skip(node: ast.expr) -> bool:
    """An unconditional ``@pytest.mark.skip`` (``skipif`` depends on the machine, so it is not one)."""
    return dotted(node.func if isinstance(node, ast.Call) else node).endswith("mark.skip")


def _checked(found: list[tuple[tuple[str, ...], str | None]], path: str, line: int, what: str,
             out: Declared) -> list[str]:
    ids: list[str] = []
    for value, problem in found:
        if problem:
            out.diagnostics.append(Diagnostic(path=path, message=f"line {line}: @pytest.mark.mlscore on {what} "
                                                                 f"{problem}; not counted"))
        ids.extend(value)
    return ids


def _mapping_lines(path: str, text: str) -> list[str] | None:
    """The ``mlscore_rubric`` lines of one pytest configuration file, or None when it has none."""
    name = path.rsplit("/", 1)[-1]
    if name == "pyproject.toml":
        try:
            doc = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError):
            return None
        value = doc.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("mlscore_rubric") \
            if isinstance(doc.get("tool"), dict) else None
        if isinstance(value, str):
            return value.splitlines()
        if isinstance(value, list):
            return [str(v) for v in value]
        return None
    section = {"pytest.ini": "pytest", "tox.ini": "pytest", "setup.cfg": "tool:pytest"}.get(name)
    if section is None or "mlscore_rubric" not in text:
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    if not parser.has_option(section, "mlscore_rubric"):
        return None
    return parser.get(section, "mlscore_rubric").splitlines()


def _mappings(facts: Any, out: Declared) -> list[tuple[str, str, tuple[str, ...]]]:
    """(config directory, pattern, ids) from every pytest configuration in the tree."""
    found = []
    for path in facts.paths():
        name = path.rsplit("/", 1)[-1]
        if name not in ("pyproject.toml", "pytest.ini", "tox.ini", "setup.cfg"):
            continue
        text = facts.read(path)
        if not text or "mlscore_rubric" not in text:
            continue
        lines = _mapping_lines(path, text)
        if not lines:
            continue
        base = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
        for number, raw in enumerate(lines, 1):
            try:
                parsed = parse_mapping_line(raw)
            except ValueError as why:
                out.diagnostics.append(Diagnostic(path=path, message=f"mlscore_rubric line {number} "
                                                                     f"{raw.strip()[:80]!r}: {why}; not counted"))
                continue
            if parsed is not None:
                found.append((base, *parsed))
    return found


def scan(facts: Any, extra_reports: Iterable[tuple[str, TestsReport]] = ()) -> Declared:
    """Everything the tree (and ``--tests-report`` files) declares about tests and rubric ids."""
    from fnmatch import fnmatch

    out = Declared()
    candidates = [p for p in facts.python_paths if is_test_path(p)]
    marked = facts.literal_index.files_containing(candidates, ("mlscore",)) if candidates else []
    for path in marked:
        text = facts.texts.get(path)
        py = facts.py(path)
        if text and "mlscore" in text and len(text) <= MAX_MARKED_FILE_CHARS and py is not None and not py.error:
            _scan_file(path, text, {f.line: f.asserts for f in py.functions}, out)
    by_key = {(t.path, t.name): i for i, t in enumerate(out.tests)}
    for base, pattern, ids in _mappings(facts, out):
        for path in candidates:
            if not path.startswith(base) or not fnmatch(path[len(base):], pattern):
                continue
            py = facts.py(path)
            if py is None or py.error:
                continue
            for fn in py.test_functions():
                if fn.cls is not None and not fn.cls.startswith("Test") or any(
                        d.endswith("mark.skip") for d in fn.decorators):
                    continue
                name = f"{fn.cls}::{fn.name}" if fn.cls else fn.name
                key = (path, name)
                if key in by_key:
                    old = out.tests[by_key[key]]
                    out.tests[by_key[key]] = DeclaredTest(old.path, old.line, old.name,
                                                          tuple(dict.fromkeys([*old.ids, *ids])), old.source,
                                                          old.asserts)
                else:
                    by_key[key] = len(out.tests)
                    out.tests.append(DeclaredTest(path, fn.line, name, ids, "mapping", fn.asserts))
    for path in facts.paths():
        if path.rsplit("/", 1)[-1] != REPORT_NAME:
            continue
        data = facts.index.read_bytes(path, limit=MAX_REPORT_BYTES)
        if data is None:
            continue
        try:
            out.reports.append((path, parse_tests_report(data, path)))
        except InputError as exc:
            out.diagnostics.append(Diagnostic(path=path, message=f"{str(exc).split(': ', 1)[-1]}; not read"))
    out.reports.extend(extra_reports)
    tree = set(facts.paths())
    for source, report in out.reports:
        for rule_id, slot in report.rubric.items():
            for run in slot.tests:
                path = _tree_path(run.path, report.root, source, tree)
                if path is None:
                    continue
                name = re.sub(r"\[.*\]$", "", run.nodeid.split("::", 1)[1]) if "::" in run.nodeid else run.nodeid
                out.runs.append(RecordedRun(source, path, name, run.line, run.outcome, rule_id, report.ci,
                                            report.generated_at, report.commit))
    return out


def _tree_path(path: str, root: str, source: str, tree: set[str]) -> str | None:
    """The audited tree's path of a test file recorded relative to pytest's rootdir."""
    root_parts = [p for p in root.split("/") if p]
    candidates = ["/".join([*root_parts[i:], path]) for i in range(len(root_parts) + 1)]
    if "/" in source and not source.startswith("/"):
        candidates.append(f"{source.rsplit('/', 1)[0]}/{path}")
    return next((c for c in candidates if c in tree), None)


def reads_committed_data(facts: Any, path: str) -> bool:
    """Whether a test module (or a conftest.py above it) names a data file committed to the tree, directly or
    through a config file that names one: the G8 reading of 'runs on the project's real data'."""
    data = {p.rsplit("/", 1)[-1] for p in facts.paths() if p.lower().endswith(DATA_SUFFIXES)
            and not re.search(r"(?i)(^|/)(tests?|fixtures?|testdata)/", p)}
    if not data:
        return False
    names = set(data)
    for p in facts.paths():
        if p.endswith((".yaml", ".yml", ".toml", ".json", ".cfg", ".ini")) and p.count("/") <= 2:
            text = facts.texts.get(p) if p in facts.texts else None
            if text and any(d in text for d in data):
                names.add(p.rsplit("/", 1)[-1])
    parts = path.split("/")
    texts = [facts.texts.get(path) or ""]
    for i in range(len(parts) - 1, -1, -1):
        conftest = "/".join([*parts[:i], "conftest.py"])
        if conftest in facts.texts:
            texts.append(facts.texts[conftest])
    return any(name in text for text in texts for name in names)
