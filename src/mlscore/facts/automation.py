"""The automation model: from CI jobs, pipelines and schedulers, resolve what actually runs, and what it reaches.

Nothing is executed: commands are resolved through the repository's own text, with bounded depth: pytest
(paths, ``testpaths``, ``--ignore``, ``--pyargs``, ``--nbmake``, ``--doctest-modules``), unittest, nose2,
``python x.py``/``-m mod``/``-c code`` (src layout aware; ``python -m jupyter`` etc. as CLIs), console scripts
(pyproject, poetry, setuptools ``setup.py``/``setup.cfg``), shell scripts under the shell's own rules (``bash -e
x.sh``, the ``#!`` line of ``./x.sh``, the caller's options for ``source x.sh``; positional arguments, literal
``$VARS``, ``eval``, ``$(dirname "$0")``; without errexit only the last command counts, C14), Makefiles
(prerequisites, ``-C``, default goal, command-line variables, ``.POSIX``/``.SHELLFLAGS``),
tox (ini, ``setup.cfg``, ``pyproject`` legacy and TOML), nox, just, invoke, poe, pdm, hatch, pixi, rye and
mise tasks, pre-commit local hooks (also ``pre-commit/action``), ``dvc repro``/``dvc exp run``, Great
Expectations checkpoints (CLI and action), papermill/nbconvert/``jupyter execute`` notebooks, ``docker build``
(Dockerfile ``RUN``) and ``docker/build-push-action``, ``docker compose run``, ``mlflow run`` (MLproject),
``kedro run``, jobs submitted from CI (anyscale, ``az ml job create`` of command and pipeline jobs and their
component files, ``kubectl apply``/``argo submit`` of Job/Pod/Workflow, ``ray job submit``), steps defined in
another repository (LABELING.md C7: the scripts and job specs of this tree their inputs name), and Python imports
of what is reached (``import_depth`` levels).
Wrappers are looked through: ``poetry run``, ``uv run``, ``pipenv run``, ``conda run``, ``env``, ``timeout``,
``xvfb-run``, ``sudo``, ``coverage run``, ``bash -c``.

Public API
- ``build_automation(files, read, ci, schedules=None, *, imports=None, import_depth=2) -> AutomationModel``.
  ``files``: repo-relative POSIX paths; ``read(path) -> str | None``; ``ci``: ``ci.CiFacts``; ``schedules``:
  ``schedules.ScheduleFacts`` (pipeline steps and scheduled jobs); ``imports(path) -> iterable of repo paths``
  that a Python file imports (the lead's AST facts); without it a cheap regex scan is used.
- ``AutomationModel``:
  - ``reaches(path) -> list[Reach]``: every way ``path`` is run automatically (empty: nothing runs it).
  - ``best(path, monitoring=False) -> Reach | None``: the reach that counts most (G5/G6/G7), or None.
  - ``invocations``: every resolved command (``Invocation``): ``command`` text, ``argv``, ``location``,
    ``chain``, ``triggers``, ``origin`` (job or pipeline), ``swallowed``/``swallow_reason``, ``surfaced``/
    ``surfaces``, ``setup_only`` (install/setup only), ``disabled`` (in a disabled job/step/schedule: no
    reaches), ``kind`` (pytest, unittest, python, python_module, python_inline, script, shell, make, tox, nox,
    dvc, notebook, gx, docker, mlflow, kedro, job_submit, pre-commit, setup, action, template (a step of another
    repository), lint, security, deploy, cloud, cml, load_test, ... or other), ``targets`` (repo files it reaches directly) and ``unresolved``.
  - ``find(pattern, *, include_setup=False) -> list[Invocation]``: invocations whose command matches a regex
    (e.g. ``r"\\bdvc metrics diff\\b"``, ``r"\\bpip-audit\\b"``).
  - ``unresolved``: references to files that do not exist (G2: not evidence) as ``Unresolved`` records.
  - ``reached_paths() -> set[str]``; ``diagnostics``.
- ``Reach``: ``path``, ``triggers`` (``TriggerKind``: ci_push, ci_pull_request, ci_schedule, ci_manual,
  ci_release, ci_other, pipeline, schedule), ``swallowed`` (+ ``swallow_reason``), ``surfaced`` (+ kinds),
  ``how`` (run, test, module, notebook, stage, config, import), ``depth`` (import hops), ``via`` (command text),
  ``chain`` (``Location``s from the trigger to the path: ``ci.yml:23 -> Makefile:12 -> tests/test_x.py``).
  Properties: ``counts`` (not swallowed, or surfaced: G7), ``scheduled`` (cron or scheduler), ``chain_text``.
- ``trigger_kinds(ci_triggers) -> tuple[TriggerKind, ...]``: normalise ``ci.Trigger``s.
"""

from __future__ import annotations

import bisect
import configparser
import dataclasses
import fnmatch
import functools
import posixpath
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from mlscore.facts.ci import STRONG_SURFACES, CiFacts, Job, Step, Trigger, surfaces_of_command
from mlscore.facts.shell import (
    ShellCommand,
    is_setup_command,
    split_script,
    words,
    workspace_relative,
)
from mlscore.facts.yamlsafe import as_dict, line_of, load_yaml, value_line
from mlscore.models import Diagnostic, Location

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from mlscore.facts.schedules import ScheduleFacts

Reader = Callable[[str], "str | None"]
TriggerKind = Literal["ci_push", "ci_pull_request", "ci_schedule", "ci_manual", "ci_release", "ci_other",
                      "pipeline", "schedule"]
How = Literal["run", "test", "module", "notebook", "stage", "config", "import", "doctest"]

MAX_DEPTH = 6
MAX_INVOCATIONS = 20_000
MAX_COMMANDS = 20_000
_RUN_SUBCOMMAND = ("pdm", "hatch", "mise", "pixi", "rye")


class _Rec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reach(_Rec):
    path: str
    triggers: tuple[TriggerKind, ...]
    swallowed: bool = False
    swallow_reason: str | None = None
    surfaced: bool = False
    surfaces: tuple[str, ...] = ()
    how: How = "run"
    depth: int = 0
    via: str = ""
    chain: tuple[Location, ...] = ()

    @property
    def counts(self) -> bool:
        """G7: the step can fail/gate the job, or its result is surfaced to people."""
        return not self.swallowed or self.surfaced

    @property
    def scheduled(self) -> bool:
        return "ci_schedule" in self.triggers or "schedule" in self.triggers

    @property
    def chain_text(self) -> str:
        return " -> ".join(str(loc) for loc in self.chain)


class Invocation(_Rec):
    command: str
    argv: tuple[str, ...]
    location: Location
    chain: tuple[Location, ...]
    triggers: tuple[TriggerKind, ...]
    origin: str
    kind: str = "other"
    cwd: str | None = None
    swallowed: bool = False
    swallow_reason: str | None = None
    surfaced: bool = False
    surfaces: tuple[str, ...] = ()
    setup_only: bool = False
    disabled: bool = False
    targets: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()

    @property
    def counts(self) -> bool:
        return not self.swallowed or self.surfaced


class Unresolved(_Rec):
    reference: str
    command: str
    location: Location
    chain: tuple[Location, ...]
    reason: str


class AutomationModel(_Rec):
    invocations: tuple[Invocation, ...] = ()
    reach_map: dict[str, tuple[Reach, ...]] = {}
    unresolved: tuple[Unresolved, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    def reaches(self, path: str) -> list[Reach]:
        """Every automatic route to ``path`` (empty when nothing runs it)."""
        return list(self.reach_map.get(path, ()))

    def reached_paths(self) -> set[str]:
        return set(self.reach_map)

    def best(self, path: str, monitoring: bool = False) -> Reach | None:
        """The strongest reach: counting (G7), then scheduled if ``monitoring`` (G6), then direct, then shortest."""
        cands = [r for r in self.reach_map.get(path, ()) if r.counts]
        if monitoring:
            cands = [r for r in cands if r.scheduled]
        if not cands:
            return None
        return min(cands, key=lambda r: (r.depth, not r.scheduled, len(r.chain)))

    def find(self, pattern: str | re.Pattern[str], *, include_setup: bool = False) -> list[Invocation]:
        """Invocations whose command text matches ``pattern`` (regex search)."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        return [i for i in self.invocations if (include_setup or not i.setup_only) and rx.search(i.command)]


_CI_TRIGGER: dict[str, TriggerKind | None] = {
    "push": "ci_push", "pull_request": "ci_pull_request", "merge_request": "ci_pull_request",
    "schedule": "ci_schedule", "manual": "ci_manual", "external": "ci_manual", "release": "ci_release",
    "tag": "ci_release", "workflow_run": "ci_other", "other": "ci_other", "workflow_call": None,
}


def trigger_kinds(triggers: Iterable[Trigger]) -> tuple[TriggerKind, ...]:
    """Normalised automation trigger kinds of CI triggers (workflow_call alone triggers nothing)."""
    out = [_CI_TRIGGER.get(t.kind) for t in triggers]
    return tuple(dict.fromkeys(k for k in out if k is not None))


# --------------------------------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Ctx:
    triggers: tuple[TriggerKind, ...]
    chain: tuple[Location, ...]
    origin: str
    swallowed: bool = False
    swallow_reason: str | None = None
    surfaces: tuple[str, ...] = ()
    disabled: bool = False
    depth: int = 0

    def hop(self, loc: Location, *, swallow: str | None = None, surfaces: Iterable[str] = ()) -> _Ctx:
        return _Ctx(
            triggers=self.triggers, chain=(*self.chain, loc), origin=self.origin,
            swallowed=self.swallowed or swallow is not None, swallow_reason=self.swallow_reason or swallow,
            surfaces=tuple(dict.fromkeys((*self.surfaces, *surfaces))), disabled=self.disabled,
            depth=self.depth + 1,
        )

    def mark(self, swallow: str) -> _Ctx:
        """The same context, swallowed for ``swallow`` (no chain hop)."""
        return _Ctx(triggers=self.triggers, chain=self.chain, origin=self.origin, swallowed=True,
                    swallow_reason=self.swallow_reason or swallow, surfaces=self.surfaces,
                    disabled=self.disabled, depth=self.depth)

    @functools.cached_property
    def surfaced(self) -> bool:
        return any(s in STRONG_SURFACES for s in self.surfaces)


def _load_toml(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return None


@dataclass
class _Repo:
    files: list[str]
    read_fn: Reader
    imports_fn: Callable[[str], Iterable[str]] | None
    fileset: set[str] = field(default_factory=set)
    texts: dict[str, str | None] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)
    module_last: set[str] = field(default_factory=set)  # last dotted component of every repo module
    basenames: dict[str, list[str]] = field(default_factory=dict)
    diags: list[Diagnostic] = field(default_factory=list)
    _cache: dict[Any, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.files = sorted(set(self.files))
        self.fileset = set(self.files)
        basenames = self.basenames
        modules = self.modules
        for f in self.files:
            base = f.rpartition("/")[2]
            lst = basenames.get(base)
            if lst is None:
                basenames[base] = [f]
            else:
                lst.append(f)
            if f.endswith(".py"):
                mod = f[:-3].replace("/", ".")
                mod = mod.removesuffix(".__init__")
                modules.setdefault(mod, f)
                self.module_last.add(mod.rpartition(".")[2])

    def read(self, path: str) -> str | None:
        if path not in self.texts:
            self.texts[path] = self.read_fn(path) if path in self.fileset else None
        return self.texts[path]

    def exists(self, path: str) -> bool:
        return path in self.fileset

    def is_dir(self, path: str) -> bool:
        if path in ("", "."):
            return True
        prefix = path.rstrip("/") + "/"
        i = bisect.bisect_left(self.files, prefix)
        return i < len(self.files) and self.files[i].startswith(prefix)

    def under(self, path: str) -> list[str]:
        if path in ("", "."):
            return self.files
        prefix = path.rstrip("/") + "/"
        i = bisect.bisect_left(self.files, prefix)
        j = bisect.bisect_left(self.files, prefix[:-1] + "0")  # "/" + 1 == "0"
        return self.files[i:j]

    def cached(self, key: Any, fn: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def toml(self, path: str) -> dict[str, Any]:
        def load() -> dict[str, Any]:
            text = self.read(path)
            if text is None:
                return {}
            data = _load_toml(text)
            if data is None:
                self.diags.append(Diagnostic(path=path, message="malformed TOML, ignored"))
                return {}
            return data

        return self.cached(("toml", path), load)  # type: ignore[no-any-return]

    def ini(self, path: str) -> configparser.RawConfigParser | None:
        def load() -> configparser.RawConfigParser | None:
            text = self.read(path)
            if text is None:
                return None
            cp = configparser.RawConfigParser(strict=False, interpolation=None)
            try:
                cp.read_string(text, source=path)
            except (configparser.Error, ValueError):
                self.diags.append(Diagnostic(path=path, message="malformed INI file, ignored"))
                return None
            return cp

        return self.cached(("ini", path), load)  # type: ignore[no-any-return]


#: A plain stdout redirection to a file (`> results.txt`, `>> log`), not `2>` or `>&2`.
_STDOUT_TO_FILE_RX = re.compile(r"(?<![\d&>])>>?\s*(?!&)[^\s&|;]+")


def _join(cwd: str | None, path: str) -> str:
    path = path.replace("\\", "/")
    if cwd and not path.startswith("/"):
        path = posixpath.join(cwd, path)
    path = posixpath.normpath(path)
    return "" if path == "." else path.lstrip("/") if not path.startswith("/") else path


def _from_workspace(word: str, cwd: str | None) -> str:
    """A ``$GITHUB_WORKSPACE/x``-style argument as a path relative to ``cwd`` (the checkout is the repo root)."""
    if "$" not in word and "`" not in word:
        return word
    rel = workspace_relative(word)
    if rel == word:
        return word
    rel = rel or "."
    return posixpath.relpath(rel, cwd) if cwd and not cwd.startswith("/") else rel


def _dynamic(arg: str) -> bool:
    return "$" in arg or "{" in arg or "*" in arg or "<<" in arg or "%" in arg


# --------------------------------------------------------------------------------------------------- resolver


class _Resolver:
    def __init__(self, repo: _Repo, import_depth: int, import_triggers: frozenset[str] | None = None) -> None:
        self.repo = repo
        self.import_depth = import_depth
        self.import_triggers = import_triggers
        self.invocations: list[Invocation] = []
        self.reaches: dict[str, list[Reach]] = {}
        self.unresolved: list[Unresolved] = []
        self._seen_imports: dict[tuple[str, tuple[TriggerKind, ...], bool, bool], int] = {}
        self.budget = MAX_COMMANDS
        self._reach_keys: set[tuple[Any, ...]] = set()

    # ------------------------------------------------------------------ recording
    def add_reach(self, path: str, ctx: _Ctx, how: How, via: str, depth: int = 0,
                  loc: Location | None = None) -> None:
        if ctx.disabled or not ctx.triggers:
            return
        chain = (*ctx.chain, loc or Location(path=path))
        lst = self.reaches.setdefault(path, [])
        if len(lst) >= 50:
            return
        key = (path, ctx.triggers, ctx.swallowed, ctx.surfaced, how, depth,
               tuple((c.path, c.line) for c in chain))
        if key in self._reach_keys:
            return
        self._reach_keys.add(key)
        lst.append(Reach(
            path=path, triggers=ctx.triggers, swallowed=ctx.swallowed, swallow_reason=ctx.swallow_reason,
            surfaced=ctx.surfaced, surfaces=ctx.surfaces, how=how, depth=depth, via=via[:300], chain=chain))
        if path.endswith(".py") and how != "import":
            self.follow_imports(path, ctx, via, chain)

    def follow_imports(self, path: str, ctx: _Ctx, via: str, chain: tuple[Location, ...]) -> None:
        if self.import_depth <= 0:
            return
        if self.import_triggers is not None and not set(ctx.triggers) & self.import_triggers:
            return
        frontier = [(path, chain)]
        for depth in range(1, self.import_depth + 1):
            nxt = []
            for src, ch in frontier:
                for dep in self.imports_of(src):
                    key = (dep, ctx.triggers, ctx.swallowed, ctx.surfaced)
                    if self._seen_imports.get(key, 99) <= depth:
                        continue
                    self._seen_imports[key] = depth
                    dep_chain = (*ch, Location(path=dep))
                    lst = self.reaches.setdefault(dep, [])
                    if len(lst) < 50:
                        lst.append(Reach(path=dep, triggers=ctx.triggers, swallowed=ctx.swallowed,
                                         swallow_reason=ctx.swallow_reason, surfaced=ctx.surfaced,
                                         surfaces=ctx.surfaces, how="import", depth=depth, via=via[:300],
                                         chain=dep_chain))
                    nxt.append((dep, dep_chain))
            frontier = nxt
            if not frontier:
                break

    def imports_of(self, path: str) -> list[str]:
        def compute() -> list[str]:
            if self.repo.imports_fn is not None:
                try:
                    return [p for p in self.repo.imports_fn(path) if p != path]
                except Exception:  # noqa: BLE001 - a faulty provider must not break the audit
                    return []
            text = self.repo.read(path)
            return [] if text is None else [p for p in _scan_imports(self.repo, path, text) if p != path]

        return self.repo.cached(("imports", path), compute)  # type: ignore[no-any-return]

    def record(self, cmd: ShellCommand, ctx: _Ctx, loc: Location, kind: str, targets: Iterable[str] = (),
               missing: Iterable[str] = ()) -> None:
        if len(self.invocations) >= MAX_INVOCATIONS:
            return
        missing = tuple(dict.fromkeys(missing))
        for m in missing:
            self.unresolved.append(Unresolved(reference=m, command=cmd.text[:300], location=loc, chain=ctx.chain,
                                              reason="no such file in the repository"))
        self.invocations.append(Invocation(
            command=cmd.text[:500], argv=cmd.argv[:64], location=loc, chain=ctx.chain, triggers=ctx.triggers,
            origin=ctx.origin, kind=kind, cwd=cmd.cwd, swallowed=ctx.swallowed,
            swallow_reason=ctx.swallow_reason, surfaced=ctx.surfaced, surfaces=ctx.surfaces,
            setup_only=kind == "setup", disabled=ctx.disabled, targets=tuple(dict.fromkeys(targets))[:200],
            unresolved=missing,
        ))

    # ------------------------------------------------------------------ scripts and commands
    def run_script(self, script: str, file: str, first_line: int, ctx: _Ctx, *, errexit: bool,
                   pipefail: bool = False, cwd: str | None = None, args: list[str] | None = None,
                   script_path: str | None = None) -> None:
        parsed = split_script(script, first_line=first_line, errexit=errexit, pipefail=pipefail, cwd=cwd,
                              args=args, script_path=script_path)
        for cmd in parsed.commands:
            self.run_command(cmd, file, ctx)

    def run_command(self, cmd: ShellCommand, file: str, ctx: _Ctx) -> None:
        self.budget -= 1
        if self.budget < 0:
            return
        loc = Location(path=file, line=cmd.line)
        if loc in ctx.chain:
            return  # a cycle: a script or target that calls itself
        surf = surfaces_of_command(cmd.argv, cmd.text)
        here = ctx.hop(loc, swallow=cmd.swallow_reason if cmd.swallowed else None, surfaces=surf)
        redirect = _STDOUT_TO_FILE_RX.search(cmd.text) if cmd.swallowed and "|" not in cmd.text else None
        if redirect is not None and not self._published(redirect.group(0), here):
            # status lost and output sent to a file nothing in the chain names again: what the job publishes
            # (a PR comment of other results) does not surface it; only the command's own publishing would (G7)
            here = dataclasses.replace(here, surfaces=tuple(surf))
        if cmd.cwd and not cmd.cwd.startswith(("/", "~", "..")) and "/" not in cmd.cwd.strip("/") \
                and not _dynamic(cmd.cwd) and not self.repo.is_dir(cmd.cwd):
            # one directory the tree does not have: the job's own clone of this repository (Cloud Build's
            # `git clone $_REPO_URL` then `dir: name`, actions/checkout `path: name`), whose paths are the tree's
            cmd = cmd.model_copy(update={"cwd": None})
        if ctx.depth > MAX_DEPTH * 3:
            self.record(cmd, here, loc, "too_deep")
            return
        argv = _unwrap([_from_workspace(a, cmd.cwd) for a in cmd.argv])
        if not argv:
            return
        inner = _inner_script(argv)
        if inner is not None:
            self.record(cmd, here, loc, "shell")
            sub = ctx.mark(cmd.swallow_reason or "swallowed") if cmd.swallowed else ctx
            script, errexit, pipefail, args = inner
            self.run_script(script, file, cmd.line, sub, errexit=errexit, pipefail=pipefail, cwd=cmd.cwd,
                            args=args)
            return
        kind, targets, missing = self.dispatch(argv, cmd, file, here)
        self.record(cmd, here, loc, kind, targets, missing)

    def _published(self, redirect: str, ctx: _Ctx) -> bool:
        """Whether the file a command's output is redirected to is named again in the files of its chain (the CI
        definition, the scripts on the way): `pytest > out.txt || true` then `cml comment create out.txt`."""
        target = posixpath.basename(redirect.lstrip(">").strip().strip("'\""))
        if not target or _dynamic(target) or target.startswith("/dev/"):
            return False
        count = 0
        for path in dict.fromkeys(loc.path for loc in ctx.chain):
            count += (self.repo.read(path) or "").count(target)
        return count > 1

    def dispatch(self, argv: list[str], cmd: ShellCommand, file: str,
                 ctx: _Ctx) -> tuple[str, list[str], list[str]]:
        cwd = cmd.cwd
        head = posixpath.basename(argv[0])
        rest = argv[1:]
        if head in ("source", ".") and rest and not _dynamic(rest[0]) and self.find_file(rest[0], cwd) is not None:
            # a sourced script of the repository runs in the calling shell, under its options (a virtualenv's
            # activate script is not in the tree and stays setup)
            return self.script_file(rest[0], cwd, ctx, cmd.text, args=rest[1:],
                                    errexit=bool(cmd.errexit) if cmd.errexit is not None else None)
        if is_setup_command(argv):
            return "setup", [], []
        py = re.fullmatch(r"python[\d.]*|py|pypy3?", head) is not None
        if py and rest[:2] in (["-m", "pytest"], ["-m", "py.test"]):
            return ("pytest", *self.pytest(rest[2:], cwd, ctx, cmd.text))
        if head in ("pytest", "py.test"):
            return ("pytest", *self.pytest(rest, cwd, ctx, cmd.text))
        if py and rest[:2] == ["-m", "unittest"]:
            return ("unittest", *self.unittest(rest[2:], cwd, ctx, cmd.text))
        if (head == "coverage" and rest[:1] == ["run"]) or (py and rest[:3] == ["-m", "coverage", "run"]):
            sub = rest[1:] if head == "coverage" else rest[3:]
            sub = _drop_options(sub, {"--source", "--rcfile", "--data-file", "--omit", "--include",
                                      "--context", "--concurrency"})
            if sub[:2] == ["-m", "pytest"] or sub[:1] == ["pytest"]:
                return ("pytest", *self.pytest(sub[2:] if sub[0] == "-m" else sub[1:], cwd, ctx, cmd.text))
            if sub[:2] == ["-m", "unittest"]:
                return ("unittest", *self.unittest(sub[2:], cwd, ctx, cmd.text))
            return self.python(sub, cwd, ctx, cmd.text)
        if py:
            return self.python(rest, cwd, ctx, cmd.text)
        if head in ("bash", "sh", "zsh", "dash", "ksh"):
            opts = _shell_invocation(rest)
            if opts is None:
                return "shell", [], []
            target, args, errexit, pipefail = opts
            return self.script_file(target, cwd, ctx, cmd.text, args=args, errexit=errexit, pipefail=pipefail,
                                    shebang=False)
        if argv[0].startswith("./") or argv[0].startswith("/") or "/" in argv[0]:
            return self.script_file(argv[0], cwd, ctx, cmd.text, args=rest)
        if head in ("make", "gmake") or head == "$(MAKE)":
            return self.make(rest, cwd, ctx, cmd.text)
        if head == "tox":
            return self.tox(rest, cwd, ctx, cmd.text)
        if head == "nox":
            return self.nox(rest, cwd, ctx, cmd.text)
        if head == "dvc" and rest[:1] == ["repro"] or head == "dvc" and rest[:2] == ["exp", "run"]:
            return self.dvc(rest[1:] if rest[0] == "repro" else rest[2:], cwd, ctx, cmd.text)
        if head == "papermill":
            nbs = [a for a in rest if a.endswith(".ipynb")][:1]
            return self.notebooks(nbs, cwd, ctx, cmd.text)
        if head in ("jupyter", "jupyter-nbconvert", "jupyter-execute"):
            if (rest[:1] == ["nbconvert"] and ("--execute" in rest or "--to=notebook" in rest and "--execute" in
                                                rest)) or rest[:1] == ["execute"] or head != "jupyter":
                return self.notebooks([a for a in rest if a.endswith(".ipynb")], cwd, ctx, cmd.text)
            return "jupyter", [], []
        if head in ("great_expectations", "gx") and "checkpoint" in rest:
            return self.gx_checkpoint(rest, cwd, ctx, cmd.text)
        if head == "docker" and rest[:1] == ["build"] or head == "docker" and rest[:2] == ["buildx", "build"]:
            return self.docker_build(rest[1:] if rest[0] == "build" else rest[2:], cwd, ctx, cmd.text)
        if (head == "docker" and rest[:2] in (["compose", "run"], ["compose", "exec"])) or (
                head == "docker-compose" and rest[:1] in (["run"], ["exec"])):
            return self.compose_run(rest[2:] if head == "docker" else rest[1:], cwd, ctx, cmd.text)
        if head == "mlflow" and rest[:1] == ["run"]:
            return self.mlflow_run(rest[1:], cwd, ctx, cmd.text)
        if head == "anyscale" and rest[:2] in (["job", "submit"], ["jobs", "submit"]):
            return self.job_file(rest[2:], cwd, ctx, cmd.text, "anyscale")
        if head == "az" and rest[:3] == ["ml", "job", "create"]:
            return self.job_file(rest[3:], cwd, ctx, cmd.text, "azureml")
        if head in ("kubectl", "oc") and rest[:1] in (["apply"], ["create"]) or head == "argo" and rest[:1] == [
                "submit"]:
            return self.job_file(rest[1:], cwd, ctx, cmd.text, "kubernetes")
        if head == "ray" and rest[:2] == ["job", "submit"] and "--" in rest:
            ray_argv = rest[rest.index("--") + 1:]
            wd = next((rest[k + 1] for k, a in enumerate(rest[:-1]) if a == "--working-dir"), None)
            ray_cmd = ShellCommand(text=" ".join(ray_argv), line=cmd.line, argv=tuple(ray_argv),
                                   cwd=_join(cwd, wd) or None if wd and not _dynamic(wd) else cwd)
            if not ray_argv:
                return "job_submit", [], []
            return self.dispatch(_unwrap(list(ray_argv)), ray_cmd, file, ctx)
        if head == "kedro" and rest[:1] == ["run"]:
            return self.kedro_run(cwd, ctx, cmd.text)
        if head == "pre-commit" and rest[:1] == ["run"]:
            return self.pre_commit(cwd, ctx, cmd.text)
        if head == "nose2":
            return ("unittest", *self.nose2(rest, cwd, ctx, cmd.text))
        if head in ("just", "invoke", "inv", "poe", "task") or (head in ("pdm", "hatch", "pixi", "rye", "mise")
                                                                  and rest[:1] == ["run"]):
            res = self.task_runner(head, rest, cwd, ctx, cmd.text)
            if res is not None:
                return res
        script = self.console_script(head, cwd)
        if script is not None:
            self.add_reach(script, ctx, "module", cmd.text)
            return "python", [script], []
        return _command_kind(head, rest), [], []

    # ------------------------------------------------------------------ python
    def python(self, rest: list[str], cwd: str | None, ctx: _Ctx, text: str) -> tuple[str, list[str], list[str]]:
        i = 0
        while i < len(rest) and rest[i].startswith("-") and rest[i] not in ("-m", "-c", "-"):
            i += 2 if rest[i] in ("-W", "-X", "-Q") else 1
        if i >= len(rest):
            return "python", [], []
        if rest[i] == "-c" and i + 1 < len(rest):
            # inline code: the project modules it imports run (an import smoke test at least)
            pseudo = _join(cwd, "__inline__.py")
            deps = [p for p in _scan_imports(self.repo, pseudo, rest[i + 1]) if p != pseudo]
            for dep in deps:
                self.add_reach(dep, ctx, "import", text, depth=1)
            return "python_inline", deps, []
        if rest[i] in ("-c", "-"):
            return "python_inline", [], []
        if rest[i] == "-m":
            mod = rest[i + 1] if i + 1 < len(rest) else ""
            if not mod or _dynamic(mod):
                return "python_module", [], []
            path = self.module_file(mod, cwd)
            if path is None and mod in _MODULE_CLIS and ctx.depth < MAX_DEPTH * 3:
                # `python -m jupyter nbconvert ...` is the `jupyter` command
                argv = [_MODULE_CLIS[mod], *rest[i + 2:]]
                sub = ShellCommand(text=" ".join(argv), line=0, argv=tuple(argv), cwd=cwd)
                return self.dispatch(argv, sub, ctx.chain[-1].path if ctx.chain else "", ctx)
            if path is None:
                return "python_module", [], []  # an installed module (e.g. black), not a repo file
            self.add_reach(path, ctx, "module", text)
            return "python_module", [path], []
        target = rest[i]
        if _dynamic(target):
            return "python", [], []
        path = self.find_file(target, cwd)
        if path is None:
            return "python", [], [_join(cwd, target)]
        if path.endswith(".ipynb"):
            self.add_reach(path, ctx, "notebook", text)
            return "notebook", [path], []
        self.add_reach(path, ctx, "run", text)
        sub = rest[i + 1] if i + 1 < len(rest) else ""
        if re.fullmatch(r"[A-Za-z_][\w-]{0,60}", sub):
            for dep in self._dispatched(path, sub):
                self.add_reach(dep, ctx, "module", text, depth=1)  # run as the subcommand, not only imported
        return "python", [path], []

    def _dispatched(self, path: str, name: str) -> list[str]:
        """The modules a dispatcher script imports for the subcommand ``name`` (`python run.py pipeline` where
        `if script_name == "pipeline": from scripts import pipeline`): the imports in the four lines after the
        comparison with that literal."""
        text = self.repo.read(path) or ""
        if len(text) > 500_000 or name not in text:
            return []
        lines = text.splitlines()
        out: list[str] = []
        compare = re.compile(rf"""==\s*["']{re.escape(name)}["']|["']{re.escape(name)}["']\s*==""")
        for k, line in enumerate(lines):
            if compare.search(line):
                block = "\n".join(x.strip() for x in lines[k + 1: k + 5])
                out += [p for p in _scan_imports(self.repo, path, block) if p != path and p not in out]
        return out[:5]

    def find_file(self, target: str, cwd: str | None) -> str | None:
        cand = _join(cwd, target)
        if self.repo.exists(cand):
            return cand
        if cand.startswith("/") or target.startswith("~"):
            # absolute paths inside containers (/app/x.py): match a unique repo path suffix
            parts = cand.strip("/").split("/")
            for k in range(1, len(parts)):
                tail = "/".join(parts[k:])
                hits = [f for f in self.repo.basenames.get(parts[-1], []) if f == tail or f.endswith("/" + tail)]
                if len(hits) == 1:
                    return hits[0]
                if hits:
                    return None
        return None

    def module_file(self, mod: str, cwd: str | None, *, package_main: bool = True) -> str | None:
        roots = [cwd or "", "", "src", *(cwd and [posixpath.join(cwd, "src")] or [])]
        for root in dict.fromkeys(roots):
            base = (root.replace("/", ".") + "." if root else "") + mod
            if package_main and (base + ".__main__") in self.repo.modules:
                return self.repo.modules[base + ".__main__"]
            if base in self.repo.modules:
                return self.repo.modules[base]
        return None

    def console_script(self, name: str, cwd: str | None) -> str | None:
        if not re.fullmatch(r"[\w.-]+", name):
            return None
        for pj in dict.fromkeys([_join(cwd, "pyproject.toml"), "pyproject.toml"]):
            data = self.repo.toml(pj)
            scripts = {**data.get("project", {}).get("scripts", {}),
                       **data.get("tool", {}).get("poetry", {}).get("scripts", {})}
            spec = scripts.get(name)
            if isinstance(spec, dict):
                spec = spec.get("reference") or spec.get("callable")
            if isinstance(spec, str):
                mod = spec.split(":")[0].strip()
                base = posixpath.dirname(pj)
                return self.module_file(mod, base or None, package_main=False)
        # setuptools: entry_points={"console_scripts": ["name=mod:func"]} in setup.py, [options.entry_points] in
        # setup.cfg
        for base in dict.fromkeys([cwd or "", ""]):
            mod = self.setuptools_scripts(base).get(name)
            if mod:
                return self.module_file(mod, base or None, package_main=False)
        return None

    def setuptools_scripts(self, base: str) -> dict[str, str]:
        def compute() -> dict[str, str]:
            out: dict[str, str] = {}
            cfg = self.repo.ini(_join(base or None, "setup.cfg")) if self.repo.exists(
                _join(base or None, "setup.cfg")) else None
            if cfg is not None and cfg.has_option("options.entry_points", "console_scripts"):
                for line in cfg.get("options.entry_points", "console_scripts").split("\n"):
                    k, _, v = line.partition("=")
                    if k.strip() and v.strip():
                        out.setdefault(k.strip(), v.split(":")[0].strip())
            text = self.repo.read(_join(base or None, "setup.py")) or ""
            m = re.search(r"console_scripts[\"']?\s*[:=]\s*\[([^\]]{0,5000})\]", text)
            for k, v in re.findall(r"[\"']\s*([\w.-]+)\s*=\s*([\w.]+)\s*:[\w.]+\s*[\"']", m.group(1) if m else ""):
                out.setdefault(k, v)
            return out

        return self.repo.cached(("setuptools_scripts", base), compute)  # type: ignore[no-any-return]

    def script_file(self, target: str, cwd: str | None, ctx: _Ctx, text: str, *, args: list[str] | None = None,
                    errexit: bool | None = None, pipefail: bool = False,
                    shebang: bool = True) -> tuple[str, list[str], list[str]]:
        """A script run by a shell: ``bash x.sh`` (options from the invocation; the ``#!`` line is a comment),
        ``./x.sh`` (options from the ``#!`` line), ``source x.sh`` (the caller's options). Without errexit only
        the script's last command decides its exit status (G7, C14)."""
        if _dynamic(target):
            return "script", [], []
        path = self.find_file(target, cwd)
        if path is None:
            if target.startswith("./") or "/" in target or target.endswith((".sh", ".py", ".bash")):
                return "script", [], [_join(cwd, target)]
            return "other", [], []
        if path.endswith(".py"):
            self.add_reach(path, ctx, "run", text)
            return "python", [path], []
        body = self.repo.read(path)
        self.add_reach(path, ctx, "run", text)
        if body is None or ctx.depth > MAX_DEPTH * 2:
            return "script", [path], []
        first = body.split("\n", 1)[0]
        if shebang and first.startswith("#!") and "python" in first:
            return "python", [path], []
        if errexit is None:
            errexit = shebang and bool(re.search(r"^#!.*\s-\w*e", first))
        # scripts run from the caller's directory; ``cd "$(dirname "$0")"`` is resolved to the script's own
        self.run_script(body, path, 1, ctx, errexit=errexit, pipefail=pipefail, cwd=cwd,
                        args=list(args or [])[:20], script_path=path)
        return "script", [path], []

    # ------------------------------------------------------------------ pytest and unittest
    def pytest(self, args: list[str], cwd: str | None, ctx: _Ctx, text: str) -> tuple[list[str], list[str]]:
        takes_value = {"-k", "-m", "-c", "-p", "-o", "-n", "-W", "--maxfail", "--junitxml", "--junit-xml",
                       "--durations", "--cov-report", "--cov-config", "--cov-fail-under", "--rootdir", "--basetemp",
                       "--log-level", "--timeout", "--tb", "--deselect", "--ignore", "--ignore-glob",
                       "--confcutdir", "--html", "--alluredir", "--reruns", "--splits", "--group", "--dist",
                       "--numprocesses", "--randomly-seed", "--log-file", "--capture", "--import-mode",
                       "--color", "--override-ini", "--junit-prefix", "--durations-min", "--pyargs-x",
                       "--benchmark-json", "--benchmark-save", "--benchmark-compare-fail", "--only-rerun",
                       "--report-log", "--md-report-output", "--json-report-file", "--nbmake-timeout"}
        optional_value = {"--cov", "--benchmark-compare", "--lf", "--last-failed"}
        paths: list[str] = []
        ignores: list[str] = []
        nbmake = doctest = pyargs = False
        i = 0
        while i < len(args):
            a = args[i]
            if a.startswith(("--ignore=", "--ignore-glob=")):
                ignores.append(a.split("=", 1)[1])
            elif a in ("--ignore", "--ignore-glob") and i + 1 < len(args):
                ignores.append(args[i + 1])
                i += 1
            elif a == "--nbmake":
                nbmake = True
            elif a == "--doctest-modules":
                doctest = True
            elif a == "--pyargs":
                pyargs = True
            elif a in takes_value:
                i += 1
            elif a in optional_value:
                if i + 1 < len(args) and not args[i + 1].startswith("-") and args[i + 1] not in ("--cov",):
                    nxt = args[i + 1]
                    if a == "--cov" and (self.repo.exists(_join(cwd, nxt)) and nxt.endswith(".py")):
                        pass  # a test file, not a coverage source
                    else:
                        i += 1
            elif a.startswith("-"):
                pass
            else:
                paths.append(a)
            i += 1
        cfg_dir, cfg = self.pytest_config(cwd)
        if cfg.get("addopts"):
            addopts = words(cfg["addopts"])
            nbmake = nbmake or "--nbmake" in addopts
            doctest = doctest or "--doctest-modules" in addopts
            ignores.extend(a.split("=", 1)[1] for a in addopts if a.startswith("--ignore="))
        patterns = words(cfg.get("python_files", "")) or ["test_*.py", "*_test.py"]
        default_patterns = patterns == ["test_*.py", "*_test.py"]
        roots: list[str] = []
        missing: list[str] = []
        if paths:
            for p in paths:
                node = p.split("::")[0]
                if pyargs and not node.endswith(".py") and "/" not in node:
                    mp = self.module_file(node, cwd, package_main=False)
                    if mp is not None:
                        roots.append(mp if not mp.endswith("__init__.py") else posixpath.dirname(mp))
                    continue
                if _dynamic(node):
                    continue
                full = _join(cwd, node)
                if self.repo.exists(full) or self.repo.is_dir(full):
                    roots.append(full)
                else:
                    missing.append(full)
        else:
            tp = words(cfg.get("testpaths", ""))
            base = cfg_dir if cfg_dir is not None else (cwd or "")
            roots = [_join(base or None, t) for t in tp if self.repo.is_dir(_join(base or None, t))
                     or self.repo.exists(_join(base or None, t))]
            if not roots:
                roots = [cwd or ""]
        ignore_full = [_join(cwd, g) for g in ignores]
        found: list[str] = []
        for root in roots:
            if self.repo.exists(root):
                cands = [root]
            else:
                cands = [f for f in self.repo.under(root) if not _excluded_dir(f, root)]
            for f in cands:
                if any(f == g or f.startswith(g.rstrip("/") + "/") or fnmatch.fnmatchcase(f, g)
                       for g in ignore_full):
                    continue
                base = posixpath.basename(f)
                how: How | None = None
                if f == root and f.endswith((".py", ".ipynb")):
                    how = "notebook" if f.endswith(".ipynb") else "test"
                elif f.endswith(".py") and ((base.startswith("test_") or base.endswith("_test.py"))
                                            if default_patterns else
                                            any(fnmatch.fnmatchcase(base, pat) for pat in patterns)):
                    how = "test"
                elif base == "conftest.py":
                    how = "config"
                elif nbmake and f.endswith(".ipynb"):
                    how = "notebook"
                elif doctest and f.endswith(".py"):
                    how = "doctest"
                if how is not None:
                    found.append(f)
                    self.add_reach(f, ctx, how, text)
        return found, missing

    def pytest_config(self, cwd: str | None) -> tuple[str | None, dict[str, str]]:
        def compute() -> tuple[str | None, dict[str, str]]:
            d = cwd or ""
            while True:
                for name, section in (("pytest.ini", "pytest"), (".pytest.ini", "pytest"),
                                      ("pyproject.toml", None), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
                    path = _join(d or None, name)
                    if not self.repo.exists(path):
                        continue
                    if section is None:
                        opts = self.repo.toml(path).get("tool", {}).get("pytest", {}).get("ini_options")
                        if isinstance(opts, dict):
                            return d, {k: (" ".join(map(str, v)) if isinstance(v, list) else str(v))
                                       for k, v in opts.items()}
                        continue
                    cp = self.repo.ini(path)
                    if cp is not None and cp.has_section(section):
                        return d, {k: v.replace("\n", " ") for k, v in cp.items(section)}
                    if name == "pytest.ini":
                        return d, {}
                if not d:
                    return None, {}
                d = posixpath.dirname(d)

        return self.repo.cached(("pytestcfg", cwd), compute)  # type: ignore[no-any-return]

    def nose2(self, args: list[str], cwd: str | None, ctx: _Ctx, text: str) -> tuple[list[str], list[str]]:
        """`nose2 [options] [dotted test names]`: test*.py under the named packages, or under cwd."""
        valued = {"--coverage", "-s", "--start-dir", "-t", "--top-level-directory", "-c", "--config", "--plugin",
                  "-A", "--attribute", "-E", "--eval-attribute", "--log-level", "--coverage-report",
                  "--coverage-config", "-X", "--exclude-plugin"}
        names: list[str] = []
        start = cwd or ""
        i = 0
        while i < len(args):
            a = args[i]
            if a in valued and i + 1 < len(args):
                if a in ("-s", "--start-dir"):
                    start = _join(cwd, args[i + 1])
                i += 2
                continue
            if not a.startswith("-"):
                names.append(a)
            i += 1
        found: list[str] = []
        missing: list[str] = []
        for name in names or [""]:
            parts = name.split(".") if name else []
            hits: list[str] = []
            known = not name
            # `pkg.test_mod.TestCase.test_fn`: the longest dotted prefix that is a module or a package
            for k in range(len(parts), 0, -1):
                base = _join(start, "/".join(parts[:k]))
                if self.repo.exists(base + ".py"):
                    hits, known = [base + ".py"], True
                    break
                if k == len(parts) and self.repo.is_dir(base):
                    known = True
                    hits = [f for f in self.repo.under(base) if f.endswith(".py")
                            and fnmatch.fnmatchcase(posixpath.basename(f), "test*.py")]
                    break
            if not name:
                hits = [f for f in self.repo.under(start) if f.endswith(".py")
                        and fnmatch.fnmatchcase(posixpath.basename(f), "test*.py")]
            if not known:
                missing.append(name)
            for f in hits:
                self.add_reach(f, ctx, "test", text)
            found.extend(hits)
        return found, missing

    def unittest(self, args: list[str], cwd: str | None, ctx: _Ctx, text: str) -> tuple[list[str], list[str]]:
        start, pattern = cwd or "", "test*.py"
        mods: list[str] = []
        if not args or args[0] == "discover":
            rest = args[1:]
            i = 0
            positional = []
            while i < len(rest):
                if rest[i] in ("-s", "--start-directory") and i + 1 < len(rest):
                    start = _join(cwd, rest[i + 1])
                    i += 1
                elif rest[i] in ("-p", "--pattern") and i + 1 < len(rest):
                    pattern = rest[i + 1]
                    i += 1
                elif rest[i] in ("-t", "--top-level-directory"):
                    i += 1
                elif not rest[i].startswith("-"):
                    positional.append(rest[i])
                i += 1
            if positional:
                start = _join(cwd, positional[0])
                if len(positional) > 1:
                    pattern = positional[1]
            found = [f for f in self.repo.under(start) if f.endswith(".py")
                     and fnmatch.fnmatchcase(posixpath.basename(f), pattern)]
            for f in found:
                self.add_reach(f, ctx, "test", text)
            return found, []
        missing: list[str] = []
        for a in args:
            if a.startswith("-"):
                continue
            if a.endswith(".py"):
                p = self.find_file(a, cwd)
            else:
                p = self.module_file(a.split(".Test")[0], cwd, package_main=False) or self.module_file(
                    a.rsplit(".", 1)[0], cwd, package_main=False)
            if p:
                mods.append(p)
                self.add_reach(p, ctx, "test", text)
            elif a.endswith(".py"):
                missing.append(_join(cwd, a))
        return mods, missing

    # ------------------------------------------------------------------ make
    def make(self, rest: list[str], cwd: str | None, ctx: _Ctx, text: str) -> tuple[str, list[str], list[str]]:
        directory, mfile, targets = cwd, None, []
        overrides: dict[str, str] = {}
        i = 0
        ignore_errors = False
        while i < len(rest):
            a = rest[i]
            if a in ("-C", "--directory") and i + 1 < len(rest):
                directory = _join(cwd, rest[i + 1])
                i += 1
            elif a.startswith("-C") and len(a) > 2:
                directory = _join(cwd, a[2:])
            elif a in ("-f", "--file", "--makefile") and i + 1 < len(rest):
                mfile = rest[i + 1]
                i += 1
            elif a in ("-i", "--ignore-errors", "-k", "--keep-going"):
                ignore_errors = ignore_errors or a in ("-i", "--ignore-errors")
            elif "=" in a and re.match(r"^[A-Za-z_][\w.-]*=", a):
                name, _, value = a.partition("=")  # `make test PKG=src`: overrides the Makefile's value
                overrides[name] = value
            elif a.startswith("-"):
                pass
            else:
                targets.append(a)
            i += 1
        if mfile:
            path = _join(directory, mfile)
        else:
            path = next((p for p in (_join(directory, n) for n in ("GNUmakefile", "makefile", "Makefile"))
                         if self.repo.exists(p)), _join(directory, "Makefile"))
        mk = self.makefile(path)
        if mk is None:
            return "make", [], [path]
        if not targets:
            targets = [mk.default] if mk.default else []
        if ignore_errors:
            ctx = ctx.mark("make -i")
        found: list[str] = [path]
        missing: list[str] = []
        seen: set[str] = set()
        for t in targets:
            if _dynamic(t):
                continue
            if t not in mk.rules:
                missing.append(f"{path}:{t}")
                continue
            self.make_target(mk, t, directory, ctx, seen, 0, overrides)
        return "make", found, missing

    def make_target(self, mk: _Makefile, target: str, directory: str | None, ctx: _Ctx, seen: set[str],
                    depth: int, overrides: dict[str, str] | None = None) -> None:
        if target in seen or depth > 20:
            return
        seen.add(target)
        rule = mk.rules.get(target)
        if rule is None:
            return
        for pre in rule.prereqs:
            if pre in mk.rules:
                self.make_target(mk, pre, directory, ctx, seen, depth + 1, overrides)
        rule_path = mk.rule_files.get(target, mk.path)
        hop = ctx.hop(Location(path=rule_path, line=rule.line))
        for line, recipe in rule.recipe:
            swallow = None
            body = recipe
            while body[:1] in ("@", "-", "+"):
                if body[0] == "-":
                    swallow = "make recipe prefixed with '-'"
                body = body[1:]
            body = mk.expand(body, overrides)
            sub = hop if swallow is None else hop.mark(swallow)
            self.run_script(body, rule_path, line, sub, errexit=mk.errexit, cwd=directory)

    def makefile(self, path: str) -> _Makefile | None:
        def load() -> _Makefile | None:
            text = self.repo.read(path)
            if text is None:
                return None
            mk = _parse_makefile(path, text)
            # `include x.mk` / `-include mk/*.mk`: their rules join this Makefile's (paths relative to it)
            todo = [(m.group(1), 0) for m in re.finditer(r"(?m)^-?s?include[ \t]+(.+)$", text)]
            seen: set[str] = {path}
            while todo and len(seen) < 20:
                spec, depth = todo.pop(0)
                for word in mk.expand(spec).split():
                    if "$" in word:
                        continue
                    pattern = _join(posixpath.dirname(path) or None, word)
                    hits = ([f for f in self.repo.files if fnmatch.fnmatchcase(f, pattern)] if "*" in pattern
                            else [pattern])
                    for inc in hits:
                        body = self.repo.read(inc) if inc not in seen else None
                        if body is None:
                            continue
                        seen.add(inc)
                        sub = _parse_makefile(inc, body)
                        for name, rule in sub.rules.items():
                            mk.rules.setdefault(name, rule)
                            mk.rule_files.setdefault(name, inc)
                        for k, v in sub.variables.items():
                            mk.variables.setdefault(k, v)
                        if depth < 3:
                            todo.extend((m.group(1), depth + 1)
                                        for m in re.finditer(r"(?m)^-?s?include[ \t]+(.+)$", body))
            return mk

        return self.repo.cached(("make", path), load)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ tox and nox
    def tox(self, rest: list[str], cwd: str | None, ctx: _Ctx, text: str) -> tuple[str, list[str], list[str]]:
        envs: list[str] = []
        conf = None
        i = 0
        while i < len(rest):
            if rest[i] in ("-e", "--env") and i + 1 < len(rest):
                envs.extend(rest[i + 1].split(","))
                i += 1
            elif rest[i].startswith("-e") and len(rest[i]) > 2:
                envs.extend(rest[i][2:].split(","))
            elif rest[i] in ("-c", "--conf") and i + 1 < len(rest):
                conf = _join(cwd, rest[i + 1])
                i += 1
            elif rest[i] == "--":
                break
            i += 1
        tox = self.toxconfig(conf, cwd)
        if tox is None:
            return "tox", [], []
        path, envlist, commands = tox
        if not envs:
            envs = envlist or ["__base__"]
        found = [path]
        for env in envs:
            env = env.strip()
            cmds = commands.get(env) or commands.get("__factor__" + env) or commands.get("__base__")
            if cmds is None:
                continue
            for line, cmd_text in cmds:
                factor = re.match(r"^!?[\w.!-]+(,!?[\w.!-]+)*:\s+", cmd_text)  # `unit: pytest tests/unit`
                if factor and not cmd_text.startswith(("http:", "https:")):
                    wanted = set(re.split(r"[,]", factor.group(0).rstrip(": \t")))
                    parts = set(re.split(r"[-]", env))
                    if not any((w.lstrip("!") in parts) != w.startswith("!") for w in wanted):
                        continue
                    cmd_text = cmd_text[factor.end():]
                swallow = "tox command prefixed with '-'" if cmd_text.startswith("-") else None
                body = cmd_text.lstrip("-").strip()
                body = re.sub(r"\{posargs(:[^}]*)?\}", lambda m: (m.group(1) or ":")[1:], body)
                body = body.replace("{toxinidir}", ".").replace("{tox_root}", ".")
                hop = ctx if swallow is None else ctx.mark(swallow)
                self.run_script(body, path, line, hop, errexit=True,
                                cwd=posixpath.dirname(path) or None)
        return "tox", found, []

    def toxconfig(self, conf: str | None, cwd: str | None) -> tuple[str, list[str],
                                                                   dict[str, list[tuple[int, str]]]] | None:
        d = cwd or ""
        cands = [conf] if conf else [_join(d or None, n) for n in ("tox.ini", "tox.toml", "setup.cfg",
                                                                   "pyproject.toml")]
        for path in cands:
            if not path or not self.repo.exists(path):
                continue
            text = self.repo.read(path) or ""
            if path.endswith("pyproject.toml"):
                tool = self.repo.toml(path).get("tool", {}).get("tox", {})
                if isinstance(tool.get("legacy_tox_ini"), str):
                    off = text[: text.find("legacy_tox_ini")].count("\n") + 1 if "legacy_tox_ini" in text else 0
                    res = _tox_ini(path, tool["legacy_tox_ini"], off)
                    if res:
                        return res
                if tool:
                    return _tox_toml(path, tool, text)
                continue
            if path.endswith("tox.toml"):
                return _tox_toml(path, self.repo.toml(path), text)
            res = _tox_ini(path, text, 0, setup_cfg=path.endswith("setup.cfg"))
            if res:
                return res
        return None

    def nox(self, rest: list[str], cwd: str | None, ctx: _Ctx, text: str) -> tuple[str, list[str], list[str]]:
        sessions: list[str] = []
        i = 0
        noxfile = _join(cwd, "noxfile.py")
        while i < len(rest):
            if rest[i] in ("-s", "--session", "--sessions", "-e") and i + 1 < len(rest):
                j = i + 1
                while j < len(rest) and not rest[j].startswith("-"):
                    sessions.append(rest[j])
                    j += 1
                i = j
                continue
            if rest[i] in ("-f", "--noxfile") and i + 1 < len(rest):
                noxfile = _join(cwd, rest[i + 1])
                i += 1
            i += 1
        parsed = self.repo.cached(("nox", noxfile), lambda: _parse_noxfile(noxfile, self.repo.read(noxfile)))
        if parsed is None:
            return "nox", [], [noxfile]
        defaults, table = parsed
        if not sessions:
            sessions = defaults or list(table)
        self.add_reach(noxfile, ctx, "config", text)
        for s in sessions:
            name = s.split("(")[0].split("-")[0] if s not in table else s
            for line, argv in table.get(name, []):
                cmd = ShellCommand(text=" ".join(argv), line=line, argv=tuple(argv), cwd=cwd)
                self.run_command(cmd, noxfile, ctx)
        return "nox", [noxfile], []

    # ------------------------------------------------------------------ task runners
    def task_runner(self, head: str, rest: list[str], cwd: str | None, ctx: _Ctx,
                    text: str) -> tuple[str, list[str], list[str]] | None:
        args = rest[1:] if head in ("pdm", "hatch", "pixi", "rye", "mise") else rest
        args = [a for a in args if not a.startswith("-")]
        if not args:
            return None
        name = args[0]
        tasks = self.tasks(head, cwd)
        if head == "hatch" and ":" in name:
            name = name.split(":", 1)[1]
        entry = tasks.get(name)
        if entry is None:
            if head in ("pdm", "hatch", "pixi", "rye"):
                # "pdm run pytest" / "hatch run python x.py": a plain command in the environment
                inner = ShellCommand(text=" ".join(args + [a for a in rest[len(args) + 1:]]), line=0,
                                     argv=tuple(rest[1:]), cwd=cwd)
                return self.dispatch(list(inner.argv), inner, "", ctx)
            return None
        path, line, commands = entry
        hop = ctx.hop(Location(path=path, line=line))
        for cmd_text in commands:
            if cmd_text.startswith("@task:"):
                sub = ShellCommand(text=f"{head} {cmd_text[6:]}", line=line,
                                   argv=(head, *(["run"] if head in _RUN_SUBCOMMAND else []), cmd_text[6:]),
                                   cwd=cwd)
                if hop.depth < MAX_DEPTH * 2:
                    self.run_command(sub, path, ctx)
                continue
            self.run_script(cmd_text, path, line, ctx, errexit=head == "just",
                            cwd=posixpath.dirname(path) or None)
        return head, [path], []

    def tasks(self, head: str, cwd: str | None) -> dict[str, tuple[str, int, list[str]]]:
        def compute() -> dict[str, tuple[str, int, list[str]]]:
            if head == "just":
                for n in ("justfile", "Justfile", ".justfile"):
                    p = _join(cwd, n)
                    if self.repo.exists(p):
                        return _parse_justfile(p, self.repo.read(p) or "")
                return {}
            if head in ("invoke", "inv"):
                p = _join(cwd, "tasks.py")
                return _parse_invoke(p, self.repo.read(p)) if self.repo.exists(p) else {}
            if head == "task":
                return {}
            if head == "mise":
                for n in ("mise.toml", ".mise.toml", "mise/config.toml", ".config/mise.toml"):
                    p = _join(cwd, n)
                    if self.repo.exists(p):
                        return _mise_tasks(p, self.repo.toml(p), self.repo.read(p) or "")
                return {}
            p = _join(cwd, "pyproject.toml")
            if head == "pixi" and self.repo.exists(_join(cwd, "pixi.toml")):
                p = _join(cwd, "pixi.toml")
            data = self.repo.toml(p)
            text = self.repo.read(p) or ""
            return _pyproject_tasks(p, head, data, text)

        return self.repo.cached(("tasks", head, cwd), compute)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ dvc, notebooks, GX, pre-commit
    def dvc(self, rest: list[str], cwd: str | None, ctx: _Ctx, text: str) -> tuple[str, list[str], list[str]]:
        from mlscore.facts.schedules import dvc_stages

        flags = {a for a in rest if a.startswith("-")}
        pos = [a for a in rest if not a.startswith("-")]
        if "-n" in rest or "--name" in rest or "--set-param" in rest or "-S" in rest:
            pos = []  # dvc exp run -n NAME / -S param=value: not stage names
        dvc_files = [f for f in self.repo.files if posixpath.basename(f) == "dvc.yaml"
                     and (not cwd or f.startswith(cwd.rstrip("/") + "/"))]
        if not flags & {"-R", "--recursive", "-P", "--all-pipelines"}:
            local = _join(cwd, "dvc.yaml")
            dvc_files = [local] if self.repo.exists(local) else dvc_files[:1]
        found: list[str] = []
        missing: list[str] = []
        for df in dvc_files:
            stages = self.repo.cached(("dvc", df), functools.partial(self._dvc_stages, df, dvc_stages))
            if stages is None:
                continue
            names = {s.name: s for s in stages}
            wanted: list[str]
            if pos:
                wanted = []
                for t in pos:
                    t = t.split(":")[-1]
                    if t in names:
                        wanted.extend(_upstream(names, t))
                    elif t.endswith("dvc.yaml"):
                        wanted.extend(names)
                    else:
                        missing.append(f"{df}:{t}")
            else:
                wanted = list(names)
            found.append(df)
            for name in dict.fromkeys(wanted):
                stage = names[name]
                hop = ctx.hop(Location(path=df, line=stage.line))
                stage_cwd = _join(posixpath.dirname(df) or None, stage.wdir or ".") or None
                self.run_script(stage.cmd, df, stage.cmd_line or stage.line, hop, errexit=False,
                                cwd=stage_cwd)
        return "dvc", found, missing

    def notebooks(self, nbs: list[str], cwd: str | None, ctx: _Ctx,
                  text: str) -> tuple[str, list[str], list[str]]:
        found, missing = [], []
        for nb in nbs:
            if _dynamic(nb):
                continue
            p = self.find_file(nb, cwd)
            if p is None:
                missing.append(_join(cwd, nb))
            else:
                found.append(p)
                self.add_reach(p, ctx, "notebook", text)
        return "notebook", found, missing

    def gx_checkpoint(self, rest: list[str], cwd: str | None, ctx: _Ctx,
                      text: str) -> tuple[str, list[str], list[str]]:
        pos = [a for a in rest if not a.startswith("-")]
        name = pos[pos.index("run") + 1] if "run" in pos and pos.index("run") + 1 < len(pos) else None
        if not name:
            return "gx", [], []
        hits = [f for f in self.repo.files if re.search(r"(^|/)checkpoints/" + re.escape(name) + r"\.(ya?ml|json)$",
                                                       f)]
        for h in hits:
            self.add_reach(h, ctx, "config", text)
        return "gx", hits, ([] if hits else [f"checkpoints/{name}"])

    def docker_build(self, rest: list[str], cwd: str | None, ctx: _Ctx,
                     text: str) -> tuple[str, list[str], list[str]]:
        """``docker build [-f FILE] CONTEXT``: the Dockerfile's RUN commands run at build time."""
        from mlscore.facts.manifests import parse_dockerfile

        dockerfile: str | None = None
        pos: list[str] = []
        i = 0
        takes = {"-t", "--tag", "--build-arg", "--target", "--platform", "--label", "--cache-from", "--cache-to",
                 "--secret", "--ssh", "--network", "--progress", "-o", "--output", "--iidfile", "--shm-size"}
        while i < len(rest):
            a = rest[i]
            if a in ("-f", "--file") and i + 1 < len(rest):
                dockerfile = rest[i + 1]
                i += 2
                continue
            if a.startswith("--file="):
                dockerfile = a.split("=", 1)[1]
            elif a in takes:
                i += 1
            elif not a.startswith("-"):
                pos.append(a)
            i += 1
        context = _join(cwd, pos[0]) if pos and not _dynamic(pos[0]) and "://" not in pos[0] else (cwd or "")
        path = _join(cwd, dockerfile) if dockerfile else _join(context or None, "Dockerfile")
        if dockerfile and _dynamic(dockerfile):
            return "docker", [], []
        body = self.repo.read(path)
        if body is None:
            return "docker", [], [path]
        self.add_reach(path, ctx, "config", text)
        parsed = self.repo.cached(("dockerfile", path), lambda: parse_dockerfile(path, body))
        for run in parsed.runs:  # RUN paths are relative to the image's WORKDIR: approximate with the context
            self.run_command(run.model_copy(update={"cwd": context or None}) if context else run, path, ctx)
        return "docker", [path], []

    def compose_run(self, rest: list[str], cwd: str | None, ctx: _Ctx,
                    text: str) -> tuple[str, list[str], list[str]]:
        """``docker compose run [opts] SERVICE [CMD...]``: CMD (or the service's command) in its build context."""
        from mlscore.facts.manifests import extract_manifests

        i = 0
        takes = {"-e", "--env", "-w", "--workdir", "-u", "--user", "-v", "--volume", "-p", "--publish", "--name",
                 "--entrypoint", "-l", "--label", "-f", "--file"}
        while i < len(rest) and rest[i].startswith("-"):
            i += 2 if rest[i] in takes else 1
        if i >= len(rest):
            return "docker", [], []
        service, cmd_argv = rest[i], rest[i + 1:]
        compose_files = [f for f in (_join(cwd, n) for n in ("docker-compose.yml", "docker-compose.yaml",
                                                            "compose.yml", "compose.yaml")) if self.repo.exists(f)]
        if not compose_files:
            return "docker", [], []
        facts = self.repo.cached(("compose", compose_files[0]),
                                 lambda: extract_manifests(compose_files[:1], self.repo.read))
        svc = next((c for c in facts.compose if c.name == service), None)
        if svc is None:
            return "docker", [compose_files[0]], [f"{compose_files[0]}:{service}"]
        build = _join(posixpath.dirname(svc.file) or None, svc.build) if svc.build else None
        hop = ctx.hop(Location(path=svc.file, line=svc.line))
        if cmd_argv:
            sub = ShellCommand(text=" ".join(cmd_argv), line=svc.line, argv=tuple(cmd_argv), cwd=build or None)
            self.run_command(sub, svc.file, ctx)
        elif svc.command:
            self.run_script(svc.command, svc.file, svc.line, hop, errexit=True, cwd=build or None)
        return "docker", [compose_files[0]], []

    def mlflow_run(self, rest: list[str], cwd: str | None, ctx: _Ctx,
                   text: str) -> tuple[str, list[str], list[str]]:
        """``mlflow run URI [-e ENTRY]``: the MLproject entry point's command."""
        entry = "main"
        uri = None
        i = 0
        while i < len(rest):
            a = rest[i]
            if a in ("-e", "--entry-point") and i + 1 < len(rest):
                entry = rest[i + 1]
                i += 2
                continue
            if a in ("-P", "--param-list", "-A", "--docker-args", "--experiment-name", "--experiment-id",
                     "-b", "--backend", "-c", "--backend-config", "--env-manager", "--run-name", "--version"):
                i += 2
                continue
            if not a.startswith("-") and uri is None:
                uri = a
            i += 1
        if uri is None or "://" in uri or uri.startswith("git@"):
            return "mlflow", [], []
        base = _join(cwd, uri)
        path = _join(base or None, "MLproject")
        body = self.repo.read(path)
        if body is None:
            return "mlflow", [], [path]
        doc, d = load_yaml(path, body)
        self.repo.diags.extend(d)
        eps = doc.get("entry_points") if isinstance(doc, dict) else None
        ep = eps.get(entry) if isinstance(eps, dict) else None
        if not isinstance(ep, dict) or not isinstance(ep.get("command"), str):
            return "mlflow", [path], [f"{path}:{entry}"]
        command = re.sub(r"\{(\w+)\}", r"$\1", ep["command"])
        line = line_of(ep, "command") or line_of(eps, entry) or 1
        self.add_reach(path, ctx, "config", text)
        self.run_script(command, path, line, ctx, errexit=False, cwd=base or None)
        return "mlflow", [path], []

    def job_file(self, rest: list[str], cwd: str | None, ctx: _Ctx, text: str,
                 kind: str) -> tuple[str, list[str], list[str]]:
        """A job submitted from a spec file: Anyscale ``entrypoint``, Azure ML ``command`` (+ ``code``),
        Kubernetes Job/Pod/Argo Workflow container commands. The job runs every time the CI step does."""
        from mlscore.facts.schedules import _k8s_entries
        from mlscore.facts.yamlsafe import load_yaml_docs

        spec = None
        for k, a in enumerate(rest):
            if a in ("-f", "--file", "--config-file", "--filename") and k + 1 < len(rest):
                spec = rest[k + 1]
                break
            if a.startswith(("--file=", "--filename=", "--config-file=")):
                spec = a.split("=", 1)[1]
                break
            if not a.startswith("-") and a.endswith((".yaml", ".yml")) and spec is None:
                spec = a
        if spec is None or _dynamic(spec):
            return "job_submit", [], []
        path = _join(cwd, spec)
        body = self.repo.read(path)
        if body is None:
            return "job_submit", [], [] if self.repo.is_dir(path) else [path]
        docs, d = load_yaml_docs(path, body)
        self.repo.diags.extend(d)
        self.add_reach(path, ctx, "config", text)
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            if kind == "anyscale" and isinstance(doc.get("entrypoint"), str):
                renv = as_dict(doc.get("runtime_env"))
                wd = renv.get("working_dir") if isinstance(renv.get("working_dir"), str) else None
                job_cwd = _join(cwd, wd) or None if wd and "://" not in wd else cwd
                self.run_script(doc["entrypoint"], path, line_of(doc, "entrypoint") or 1, ctx, errexit=False,
                                cwd=job_cwd)
            elif kind == "azureml":
                self.azureml_spec(doc, path, ctx, 0)
            elif kind == "kubernetes" and doc.get("kind") in ("Job", "Pod", "Workflow"):
                for entry in _k8s_entries(path, doc) if doc.get("kind") == "Workflow" else []:
                    for c in entry.commands:
                        self.run_command(c, path, ctx)
                if doc.get("kind") in ("Job", "Pod"):
                    from mlscore.facts.schedules import _container_command, _containers

                    pod = doc.get("spec")
                    if doc.get("kind") == "Job" and isinstance(pod, dict):
                        pod = (pod.get("template") or {}).get("spec") if isinstance(pod.get("template"),
                                                                                    dict) else None
                    for container, ln in _containers(pod):
                        sc = _container_command(container, ln)
                        if sc is not None:
                            self.run_command(sc, path, ctx)
        return "job_submit", [path], []

    def azureml_spec(self, doc: dict[str, Any], path: str, ctx: _Ctx, depth: int) -> None:
        """An Azure ML job spec (CLI v2): a command job's ``command`` run in its ``code`` folder; a pipeline job's
        ``jobs``, each a command or a ``component`` file with its own command and code."""
        base = posixpath.dirname(path) or None
        if isinstance(doc.get("command"), str):
            code = doc.get("code") if isinstance(doc.get("code"), str) else None
            job_cwd = _join(base, code) or None if code and "://" not in code and not code.startswith(
                "azureml:") else base
            command = re.sub(r"\$\{\{[^}]*\}\}", "$ARG", doc["command"])
            self.run_script(command, path, value_line(doc, "command") or line_of(doc, "command") or 1, ctx,
                            errexit=False, cwd=job_cwd)
        jobs = doc.get("jobs")
        if not isinstance(jobs, dict) or depth >= 3:
            return
        for name, job in jobs.items():
            if not isinstance(job, dict):
                continue
            jline = line_of(jobs, name) or 1
            comp = job.get("component")
            if isinstance(comp, str) and not comp.startswith("azureml:") and "://" not in comp and \
                    comp.removeprefix("file:").endswith((".yml", ".yaml")):
                cpath = _join(base, comp.removeprefix("file:"))
                cbody = self.repo.read(cpath)
                if cbody is None:
                    self.unresolved.append(Unresolved(reference=cpath, command=f"component of job {name}",
                                                      location=Location(path=path, line=jline), chain=ctx.chain,
                                                      reason="no such file in the repository"))
                    continue
                cdoc, d = load_yaml(cpath, cbody)
                self.repo.diags.extend(d)
                hop = ctx.hop(Location(path=path, line=jline))
                self.add_reach(cpath, hop, "config", f"component of job {name}")
                if isinstance(cdoc, dict):
                    self.azureml_spec(cdoc, cpath, hop, depth + 1)
            elif isinstance(job.get("command"), str) or isinstance(job.get("jobs"), dict):
                self.azureml_spec(job, path, ctx, depth + 1)

    def external_step(self, step: Step, ctx: _Ctx) -> None:
        """A CI step defined in another repository (LABELING.md C7: a reusable workflow ``org/repo/...@ref``, an
        Azure ``template: x@repo``): what it runs is outside the tree, so the files of this tree its inputs name
        are the evidence. Scripts and notebooks they name run; job and pipeline specs (Azure ML, Kubernetes Job,
        Argo Workflow) are followed to what they run; other files are reached as configuration."""
        assert step.uses is not None
        loc = Location(path=step.file, line=step.line)
        hop = ctx.hop(loc)
        text = (step.uses.ref + " " + " ".join(f"{k}={v}" for k, v in step.uses.inputs.items()))[:500]
        dirs: list[str] = []
        d = posixpath.dirname(step.file)
        while d and len(dirs) < 12:  # relative to the CI file's folder or one above it, or to the root
            dirs.append(d)
            d = posixpath.dirname(d)
        dirs.append("")
        targets: list[str] = []
        for value in list(step.uses.inputs.values())[:40]:
            for token in re.split(r"[\s,;]+", value)[:20]:
                token = workspace_relative(token.strip("'\""))
                if not token or _dynamic(token) or "://" in token or "." not in posixpath.basename(token):
                    continue
                path = next((p for p in (_join(b or None, token) for b in dirs) if self.repo.exists(p)), None)
                if path is None or path in targets:
                    continue
                targets.append(path)
                if path.endswith(".py"):
                    self.add_reach(path, hop, "run", text)
                elif path.endswith((".sh", ".bash")):
                    self.script_file(path, None, hop, text)
                elif path.endswith(".ipynb"):
                    self.add_reach(path, hop, "notebook", text)
                else:
                    body = self.repo.read(path) or ""
                    if re.search(r"(?m)^kind:[ \t]*(Job|Pod|Workflow)\b", body):
                        self.job_file([path], None, hop, text, "kubernetes")
                    elif path.endswith((".yml", ".yaml")) and ("azureml" in body or re.search(
                            r"(?m)^(command|jobs):", body)):
                        self.job_file([path], None, hop, text, "azureml")
                    else:
                        self.add_reach(path, hop, "config", text)
        self.record(ShellCommand(text=text, line=step.line, argv=(step.uses.name,)), hop, loc, "template", targets)

    def _dvc_stages(self, path: str, parse: Callable[[str, str], Any]) -> Any:
        return parse(path, self.repo.read(path) or "")

    def kedro_run(self, cwd: str | None, ctx: _Ctx, text: str) -> tuple[str, list[str], list[str]]:
        """``kedro run``: the project's pipeline registry and pipeline modules (their nodes are imported)."""
        prefix = (cwd.rstrip("/") + "/") if cwd else ""
        hits = [f for f in self.repo.under(cwd or "") if f.startswith(prefix) and (
            f.endswith("/pipeline_registry.py") or re.search(r"/pipelines/[^/]+/pipeline\.py$", f))]
        for h in hits:
            self.add_reach(h, ctx, "stage", text)
        return "kedro", hits, []

    def pre_commit(self, cwd: str | None, ctx: _Ctx, text: str) -> tuple[str, list[str], list[str]]:
        path = _join(cwd, ".pre-commit-config.yaml")
        body = self.repo.read(path)
        if body is None:
            return "pre-commit", [], []
        doc, d = load_yaml(path, body)
        self.repo.diags.extend(d)
        self.add_reach(path, ctx, "config", text)
        repos = doc.get("repos") if isinstance(doc, dict) else None
        for r in repos if isinstance(repos, list) else []:
            if not isinstance(r, dict) or r.get("repo") != "local":
                continue
            hooks = r.get("hooks")
            for k, h in enumerate(hooks if isinstance(hooks, list) else []):
                if isinstance(h, dict) and isinstance(h.get("entry"), str):
                    if h.get("stages") and not set(map(str, h["stages"])) & {"pre-commit", "commit", "manual"}:
                        continue
                    line = line_of(hooks, k) or 1
                    entry = h["entry"]
                    if h.get("pass_filenames") is False or h.get("language") in ("system", "python", "script"):
                        self.run_script(entry, path, line, ctx, errexit=True, cwd=cwd)
        return "pre-commit", [path], []


def _upstream(stages: dict[str, Any], name: str) -> list[str]:
    """``name`` and every stage whose outputs it depends on, upstream first."""
    by_out: dict[str, str] = {}
    for s in stages.values():
        for o in s.outs:
            by_out[posixpath.normpath(o)] = s.name
    order: list[str] = []
    seen: set[str] = set()

    def visit(n: str, depth: int) -> None:
        if n in seen or depth > 50:
            return
        seen.add(n)
        for dep in stages[n].deps:
            dep = posixpath.normpath(dep)
            for out, owner in by_out.items():
                if owner != n and (dep == out or dep.startswith(out + "/")):
                    visit(owner, depth + 1)
        order.append(n)

    visit(name, 0)
    return order


_MODULE_CLIS = {"jupyter": "jupyter", "papermill": "papermill", "nbconvert": "jupyter-nbconvert",
                "great_expectations": "great_expectations", "dvc": "dvc", "mlflow": "mlflow", "kedro": "kedro",
                "nox": "nox", "tox": "tox", "pre_commit": "pre-commit", "nose2": "nose2"}

_WRAPPERS = {"sudo", "time", "nohup", "exec", "command", "xvfb-run", "stdbuf", "nice", "ionice", "chronic",
             "unbuffer", "caffeinate", "dotenv"}


def _unwrap(argv: list[str]) -> list[str]:
    """Strip launchers that run another command: ``env X=1``, ``timeout 10``, ``poetry run``, ``uv run``..."""
    for _ in range(8):
        if not argv:
            return argv
        head = posixpath.basename(argv[0])
        if head in _WRAPPERS:
            argv = argv[1:]
            while argv and argv[0].startswith("-"):
                argv = argv[1:]
        elif head == "env":
            argv = argv[1:]
            while argv and (argv[0].startswith("-") or re.match(r"^[A-Za-z_]\w*=", argv[0])):
                argv = argv[1:]
        elif head == "timeout":
            argv = [a for a in argv[1:]]
            while argv and argv[0].startswith("-"):
                argv = argv[1:]
            argv = argv[1:] if argv else argv
        elif head in ("poetry", "pipenv", "uv", "conda", "mamba", "micromamba", "pixi", "rye") and len(argv) > 1 \
                and argv[1] == "run":
            rest = argv[2:]
            while rest and rest[0].startswith("-"):
                opt = rest[0]
                rest = rest[1:]
                if opt in ("-n", "--name", "-p", "--prefix", "--with", "--python", "--env-file", "--extra",
                           "--group", "--package", "-e", "--environment", "--directory", "--project",
                           "--manifest-path") and rest:
                    rest = rest[1:]
            if head == "pixi" and rest:
                return ["pixi", "run", *rest]
            argv = rest
        elif head == "uvx" or (head == "pipx" and argv[1:2] == ["run"]):
            argv = argv[1:] if head == "uvx" else argv[2:]
        elif head == "docker" and len(argv) > 2 and argv[1] in ("exec", "run"):
            # `docker run [opts] IMAGE CMD...` / `docker exec [opts] CONTAINER CMD...`: CMD (the repository is
            # usually mounted at the working directory)
            rest = argv[2:]
            with_value = {"-v", "--volume", "-e", "--env", "-w", "--workdir", "--name", "--network", "--net", "-p",
                          "--publish", "--entrypoint", "--env-file", "-u", "--user", "--gpus", "--shm-size",
                          "--platform", "--mount", "--cpus", "-m", "--memory", "--label", "-l", "--hostname",
                          "--add-host", "--ipc", "--runtime", "--pull"}
            while rest and rest[0].startswith("-"):
                opt = rest[0]
                rest = rest[2:] if opt in with_value and "=" not in opt else rest[1:]
            if len(rest) < 2:
                return argv  # the image's own command: recorded as a docker invocation
            argv = rest[1:]
        else:
            return argv
    return argv


def _inner_script(argv: list[str]) -> tuple[str, bool, bool, list[str]] | None:
    """``bash -c 'script' [$0 args...]``: (script, errexit, pipefail, positional args), or None."""
    head = posixpath.basename(argv[0])
    if head in ("bash", "sh", "zsh", "dash") and len(argv) >= 3:
        errexit = pipefail = False
        k = 1
        while k < len(argv) - 1:
            a = argv[k]
            if a in ("-o", "+o") and k + 1 < len(argv):
                errexit = errexit or (a == "-o" and argv[k + 1] == "errexit")
                pipefail = pipefail or (a == "-o" and argv[k + 1] == "pipefail")
                k += 2
                continue
            if not a.startswith("-") or a.startswith("--"):
                if a.startswith("--"):
                    k += 1
                    continue
                return None
            errexit = errexit or "e" in a[1:]
            if "c" in a[1:]:
                return argv[k + 1], errexit, pipefail, argv[k + 3:]
            k += 1
    return None


def _shell_invocation(rest: list[str]) -> tuple[str, list[str], bool, bool] | None:
    """``bash [-e] [-o errexit] script.sh args...``: (script, args, errexit, pipefail), or None (no script)."""
    errexit = pipefail = False
    k = 0
    while k < len(rest):
        a = rest[k]
        if a in ("-o", "+o") and k + 1 < len(rest):
            errexit = errexit or (a == "-o" and rest[k + 1] == "errexit")
            pipefail = pipefail or (a == "-o" and rest[k + 1] == "pipefail")
            k += 2
            continue
        if a == "--":
            k += 1
            break
        if a.startswith("--"):
            k += 1
            continue
        if a.startswith("-") and len(a) > 1:
            if "c" in a[1:]:
                return None  # inline script, handled by _inner_script
            errexit = errexit or "e" in a[1:]
            k += 1
            continue
        break
    if k >= len(rest):
        return None
    return rest[k], rest[k + 1:], errexit, pipefail


def _drop_options(args: list[str], with_value: set[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in with_value:
            i += 2
            continue
        if a.startswith("--") and "=" in a or (a.startswith("-") and a not in ("-m",) and not out):
            i += 1
            continue
        out.extend(args[i:])
        break
    return out


_KINDS = {
    "dvc": "dvc", "mlflow": "mlflow", "kedro": "kedro", "dbt": "dbt", "docker": "docker", "docker-compose": "docker",
    "kubectl": "deploy", "helm": "deploy", "gcloud": "cloud", "aws": "cloud", "az": "cloud", "terraform": "deploy",
    "cml": "cml", "flake8": "lint", "ruff": "lint", "pylint": "lint", "mypy": "lint", "black": "lint",
    "isort": "lint", "bandit": "security", "pip-audit": "security", "safety": "security", "trivy": "security",
    "snyk": "security", "semgrep": "security", "gitleaks": "security", "detect-secrets": "security",
    "mlscore": "mlscore", "great_expectations": "gx", "gx": "gx", "soda": "data_check", "evidently": "monitoring",
    "locust": "load_test", "k6": "load_test", "wrk": "load_test", "ab": "load_test", "hey": "load_test",
    "sam": "deploy", "serverless": "deploy", "bentoml": "serve", "wandb": "tracking", "zenml": "pipeline",
}


def _command_kind(head: str, rest: list[str]) -> str:
    return _KINDS.get(head, "other")


# --------------------------------------------------------------------------------------------------- parsers


_IMPORT_RE = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([^#\n]+)|import[ \t]+([^#\n]+))",
                        re.MULTILINE)


def _src_roots(repo: _Repo, here: str) -> list[str]:
    """``<ancestor>/src`` directories above ``here`` (monorepo packages with a src layout), nearest first."""
    def compute() -> list[str]:
        out = []
        d = here
        while d:
            d = posixpath.dirname(d)
            cand = posixpath.join(d, "src") if d else "src"
            if cand != here and repo.is_dir(cand):
                out.append(cand)
            if not d:
                break
        return [c for c in out if c != "src"]

    return repo.cached(("srcroots", here), compute)  # type: ignore[no-any-return]


def _scan_imports(repo: _Repo, path: str, text: str) -> list[str]:
    """Repo files a Python file imports (regex; relative imports, src layout and script dirs handled)."""
    if len(text) > 2_000_000:
        return []
    here = posixpath.dirname(path)
    out: list[str] = []
    roots = [here, "", "src", *_src_roots(repo, here)]
    prefixes = [r.replace("/", ".") + "." if r else "" for r in dict.fromkeys(roots)]
    modules, last = repo.modules, repo.module_last
    pos, n = 0, len(text)
    while True:
        i = text.find("import", pos)
        if i < 0:
            break
        start = text.rfind("\n", 0, i) + 1
        end = text.find("\n", i)
        end = n if end < 0 else end
        pos = end + 1
        m = _IMPORT_RE.match(text, start, end)
        if m is None:
            continue
        frm, names, plain = m.group(1), m.group(2), m.group(3)
        cands: list[str] = []
        if plain:
            for part in plain.split(","):
                mod = part.strip().split(" as ")[0].strip()
                if mod:
                    cands.append(mod)
        elif frm is not None:
            level = len(frm) - len(frm.lstrip("."))
            base = frm.lstrip(".")
            subs = [n.strip().split(" as ")[0].strip().rstrip(")") for n in (names or "").split(",")]
            if level:
                pkg = here
                for _ in range(level - 1):
                    pkg = posixpath.dirname(pkg)
                prefix = (pkg.replace("/", ".") + ".") if pkg else ""
                full = prefix + base if base else prefix.rstrip(".")
                hit = repo.modules.get(full) if full else None
                if hit:
                    out.append(hit)
                for s in subs:
                    if s and s != "*":
                        sub = repo.modules.get((full + "." if full else "") + s)
                        if sub:
                            out.append(sub)
                continue
            cands.append(base)
            cands.extend(f"{base}.{s}" for s in subs if s and s != "*")
        for mod in cands:
            if mod.rpartition(".")[2] not in last:
                continue  # no repo module has that name: a third-party import
            for prefix in prefixes:
                hit = modules.get(prefix + mod)
                if hit:
                    out.append(hit)
                    break
    return list(dict.fromkeys(out))


@dataclass
class _Rule:
    line: int
    prereqs: list[str]
    recipe: list[tuple[int, str]]


@dataclass
class _Makefile:
    path: str
    rules: dict[str, _Rule]
    default: str | None
    variables: dict[str, str]
    rule_files: dict[str, str] = field(default_factory=dict)  # rules that come from included makefiles
    errexit: bool = False  # recipes run by `sh -e -c` (.POSIX, or -e in .SHELLFLAGS), not the default `sh -c`

    def expand(self, text: str, overrides: dict[str, str] | None = None) -> str:
        variables = {**self.variables, **overrides} if overrides else self.variables
        for _ in range(4):
            new = re.sub(r"\$[({]([A-Za-z_][\w.-]*)[)}]",
                         lambda m: variables.get(m.group(1), "make" if m.group(1) == "MAKE" else m.group(0)),
                         text)
            if new == text:
                break
            text = new
        return text.replace("$$", "$")


_MAKE_ASSIGN = re.compile(r"^(?:export\s+|override\s+)?([A-Za-z_][\w.-]*)\s*(\?=|:=|::=|\+=|=|!=)\s*(.*)$")
_MAKE_RULE = re.compile(r"^([^\s:=#][^:=#]*?)\s*::?\s*(?!=)([^=;#]*?)\s*(?:;\s*(.*))?$")


def _parse_makefile(path: str, text: str) -> _Makefile:
    rules: dict[str, _Rule] = {}
    variables: dict[str, str] = {}
    default: str | None = None
    current: list[_Rule] = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    prefix = "\t"
    while i < len(lines):
        start = i
        raw = lines[i]
        while raw.endswith("\\") and i + 1 < len(lines):
            i += 1
            raw = raw[:-1] + " " + lines[i].strip()
        i += 1
        if raw.startswith(prefix) and current:
            body = raw[len(prefix):].strip()
            if body and not body.startswith("#"):
                for r in current:
                    r.recipe.append((start + 1, body))
            continue
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or len(stripped) > 4000:
            continue
        m = _MAKE_ASSIGN.match(stripped)
        if m:
            name, op, value = m.groups()
            if name == ".DEFAULT_GOAL":
                default = value.strip()
            elif name == ".RECIPEPREFIX" and value:
                prefix = value[0]
            elif op == "+=":
                variables[name] = (variables.get(name, "") + " " + value).strip()
            elif op != "?=" or name not in variables:
                variables[name] = value.strip()
            current = []
            continue
        if stripped.startswith(("ifeq", "ifneq", "ifdef", "ifndef", "else", "endif", "include", "-include",
                                "define", "endef", "export", "unexport", "vpath", "$(")):
            current = []
            continue
        m = _MAKE_RULE.match(re.sub(r"\s+#.*$", "", stripped))  # `target: deps  ## help text`
        if m:
            targets = m.group(1).split()
            prereqs = m.group(2).split()
            current = []
            for t in targets:
                if "%" in t:
                    continue
                if t.startswith("."):
                    continue
                rule = rules.setdefault(t, _Rule(line=start + 1, prereqs=[], recipe=[]))
                rule.prereqs.extend(prereqs)
                if m.group(3):
                    rule.recipe.append((start + 1, m.group(3)))
                current.append(rule)
                if default is None:
                    default = t
            continue
        current = []
    # GNU make runs each recipe line with `$(SHELL) -c`, so without -e a line's non-final commands (and all but
    # the last iteration of a loop) are swallowed; `.POSIX:` or `.SHELLFLAGS := -ec` add errexit
    flags = re.search(r"(?m)^[ \t]*\.SHELLFLAGS[ \t]*[:?+]?=[ \t]*(.*)$", text)
    errexit = bool(re.search(r"(?m)^\.POSIX[ \t]*:", text)) or bool(flags and re.search(r"(^|\s)-\w*e", flags.group(1)))
    return _Makefile(path=path, rules=rules, default=default, variables=variables, errexit=errexit)


def _tox_ini(path: str, text: str, line_offset: int, setup_cfg: bool = False
             ) -> tuple[str, list[str], dict[str, list[tuple[int, str]]]] | None:
    sections: dict[str, list[tuple[int, str]]] = {}
    envlist: list[str] = []
    current: str | None = None
    in_cmds = False
    head = "tox:tox" if setup_cfg else "tox"
    base = "testenv"
    found_tox = False
    for n, raw in enumerate(text.split("\n"), start=1 + line_offset):
        line = raw.rstrip()
        m = re.match(r"^\[([^\]]+)\]\s*$", line)
        if m:
            current = m.group(1).strip()
            in_cmds = False
            found_tox = found_tox or current in (head, base) or current.startswith(base + ":")
            continue
        if current is None:
            continue
        km = re.match(r"^([A-Za-z_][\w-]*)\s*[=:]\s*(.*)$", line)
        if km and not raw[:1].isspace():
            key, value = km.group(1), km.group(2).strip()
            in_cmds = key == "commands" and (current == base or current.startswith(base + ":"))
            if current == head and key == "envlist":
                envlist.extend(_tox_envs(value))
                in_cmds = False
                continue
            if current == head and key != "envlist":
                in_cmds = False
            if in_cmds and value:
                sections.setdefault(current, []).append((n, value))
            continue
        if raw[:1].isspace() and current == head and envlist is not None and "envlist" in text:
            pass
        if in_cmds and line.strip() and not line.strip().startswith("#"):
            sections.setdefault(current, []).append((n, line.strip()))
        elif current == head and raw[:1].isspace() and line.strip():
            envlist.extend(_tox_envs(line.strip()))
    if not found_tox:
        return None
    table: dict[str, list[tuple[int, str]]] = {}
    for name, cmds in sections.items():
        if name == base:
            table["__base__"] = cmds
        else:
            env = name.split(":", 1)[1].strip()
            table[env] = cmds
            for part in _tox_envs(env):
                table.setdefault(part, cmds)
    # continuation lines ending with backslash
    for env_name, env_cmds in table.items():
        merged: list[tuple[int, str]] = []
        for cmd_line, cmd_text in env_cmds:
            if merged and merged[-1][1].endswith("\\"):
                merged[-1] = (merged[-1][0], merged[-1][1][:-1] + " " + cmd_text)
            else:
                merged.append((cmd_line, cmd_text))
        table[env_name] = merged
    return path, envlist, table


def _tox_envs(value: str) -> list[str]:
    out: list[str] = []
    for part in re.split(r"[,\s]+(?![^{]*\})", value):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^(.*)\{([^}]*)\}(.*)$", part)
        if m:
            out.extend(f"{m.group(1)}{x.strip()}{m.group(3)}" for x in m.group(2).split(","))
        else:
            out.append(part)
    return out


def _tox_toml(path: str, tool: dict[str, Any], text: str) -> tuple[str, list[str], dict[str, list[tuple[int, str]]]]:
    def cmds(env: dict[str, Any]) -> list[tuple[int, str]]:
        out = []
        for c in env.get("commands", []) or []:
            if isinstance(c, list):
                argv = [str(a) if not isinstance(a, dict) else "" for a in c]
                s = " ".join(a for a in argv if a)
            else:
                s = str(c)
            pos = text.find(json_quote(argv[0] if isinstance(c, list) and c else s))
            out.append((text[:pos].count("\n") + 1 if pos >= 0 else 1, s))
        return out

    table: dict[str, list[tuple[int, str]]] = {}
    base = tool.get("env_run_base", {})
    if isinstance(base, dict):
        table["__base__"] = cmds(base)
    envs = tool.get("env", {})
    for name, env in (envs.items() if isinstance(envs, dict) else []):
        if isinstance(env, dict):
            table[name] = cmds(env) or table.get("__base__", [])
    envlist = tool.get("env_list") or tool.get("envlist") or []
    return path, [str(e) for e in envlist] if isinstance(envlist, list) else [], table


def json_quote(s: str) -> str:
    return '"' + s.replace('"', '\\"') + '"'


def _parse_noxfile(path: str, text: str | None) -> tuple[list[str], dict[str, list[tuple[int, list[str]]]]] | None:
    import ast

    if text is None:
        return None
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [], {}
    table: dict[str, list[tuple[int, list[str]]]] = {}
    defaults: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.List, ast.Tuple)) and any(
                isinstance(t, ast.Attribute) and t.attr == "sessions" for t in node.targets):
            defaults = [e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        name = None
        for dec in node.decorator_list:
            src = ast.unparse(dec) if hasattr(ast, "unparse") else ""
            if "session" in src:
                name = node.name
                if isinstance(dec, ast.Call):
                    for kw in dec.keywords:
                        if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                            name = str(kw.value.value)
        if name is None:
            continue
        calls: list[tuple[int, list[str]]] = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in (
                    "run", "run_always", "run_install"):
                argv: list[str] = []
                for a in sub.args:
                    if isinstance(a, ast.Constant) and isinstance(a.value, str):
                        argv.append(a.value)
                    elif isinstance(a, ast.Starred):
                        argv.append("$ARGS")
                    else:
                        argv.append("$ARG")
                if argv:
                    calls.append((sub.lineno, argv))
        table[name] = calls
    return defaults, table


def _pyproject_tasks(path: str, head: str, data: dict[str, Any], text: str) -> dict[str, tuple[str, int, list[str]]]:
    tool = data.get("tool", {}) if isinstance(data, dict) else {}
    out: dict[str, tuple[str, int, list[str]]] = {}

    def line_of_key(key: str) -> int:
        m = re.search(r"(?m)^[ \t]*\"?" + re.escape(key) + r"\"?\s*=", text)
        return text[: m.start()].count("\n") + 1 if m else 1

    def as_cmds(spec: Any) -> list[str]:
        if isinstance(spec, str):
            return [spec]
        if isinstance(spec, list):
            cmds: list[str] = []
            for s in spec:
                if isinstance(s, str):
                    cmds.append(s if " " in s or head not in ("poe",) else "@task:" + s)
                elif isinstance(s, dict):
                    cmds.extend(as_cmds(s))
            return cmds
        if isinstance(spec, dict):
            for key in ("cmd", "shell", "call"):
                if isinstance(spec.get(key), str):
                    return [spec[key]] if key != "call" else []
                if isinstance(spec.get(key), list) and key == "cmd":
                    return [" ".join(map(str, spec[key]))]
            if isinstance(spec.get("script"), str):
                mod = spec["script"].split(":")[0]
                return [f"python -m {mod}"]
            for key in ("sequence", "composite"):
                if isinstance(spec.get(key), list):
                    return ["@task:" + s if isinstance(s, str) and " " not in s else s
                            for s in spec[key] if isinstance(s, str)]
            if isinstance(spec.get("depends-on"), list) or isinstance(spec.get("depends_on"), list):
                deps = spec.get("depends-on") or spec.get("depends_on") or []
                return ["@task:" + str(d) for d in deps]
        return []

    tables: list[dict[str, Any]] = []
    if head == "poe":
        tables.append(tool.get("poe", {}).get("tasks", {}))
    elif head == "pdm":
        tables.append(tool.get("pdm", {}).get("scripts", {}))
    elif head == "hatch":
        envs = tool.get("hatch", {}).get("envs", {})
        for env in envs.values() if isinstance(envs, dict) else []:
            if isinstance(env, dict) and isinstance(env.get("scripts"), dict):
                tables.append(env["scripts"])
    elif head == "pixi":
        tables.append(data.get("tasks", {}) or tool.get("pixi", {}).get("tasks", {}))
    elif head == "rye":
        tables.append(tool.get("rye", {}).get("scripts", {}))
    for tbl in tables:
        if not isinstance(tbl, dict):
            continue
        for name, spec in tbl.items():
            cmds = [c.replace("{args}", "") for c in as_cmds(spec)]
            if cmds and name not in out:
                out[str(name)] = (path, line_of_key(str(name)), cmds)
    return out


def _mise_tasks(path: str, data: dict[str, Any] | None, text: str) -> dict[str, tuple[str, int, list[str]]]:
    """`[tasks.NAME]` tables of a mise.toml: ``run`` (a string or a list) and ``depends`` (other tasks)."""
    out: dict[str, tuple[str, int, list[str]]] = {}
    tasks = (data or {}).get("tasks", {})
    if not isinstance(tasks, dict):
        return out
    lines = text.split("\n")
    for name, spec in tasks.items():
        if isinstance(spec, str):
            spec = {"run": spec}
        if not isinstance(spec, dict):
            continue
        header = re.compile(r'^\[tasks\.(?:"' + re.escape(name) + r'"|' + re.escape(name) + r")\]")
        line = next((n for n, raw in enumerate(lines, 1) if header.match(raw.strip())), 1)
        commands = ["@task:" + str(d) for d in (spec.get("depends") or []) if isinstance(d, str)]
        run = spec.get("run")
        for item in ([run] if isinstance(run, str) else run if isinstance(run, list) else []):
            if isinstance(item, str):
                commands.extend(part for part in item.split("\n") if part.strip())
        out[name] = (path, line, commands)
    return out


def _parse_justfile(path: str, text: str) -> dict[str, tuple[str, int, list[str]]]:
    out: dict[str, tuple[str, int, list[str]]] = {}
    current: tuple[str, int, list[str]] | None = None
    for n, raw in enumerate(text.split("\n"), start=1):
        if raw[:1] in (" ", "\t") and current is not None:
            body = raw.strip()
            if body and not body.startswith("#"):
                current[2].append(body.lstrip("@-"))
            continue
        m = re.match(r"^@?([A-Za-z_][\w-]*)(?:\s+[^:=]*)?:(?!=)\s*(.*)$", raw)
        if m and not raw.startswith(("set ", "export ", "alias ")):
            deps = [d for d in m.group(2).split() if re.fullmatch(r"[A-Za-z_][\w-]*", d)]
            current = (path, n, ["@task:" + d for d in deps])
            out[m.group(1)] = current
        elif raw.strip():
            current = None
    return out


def _parse_invoke(path: str, text: str | None) -> dict[str, tuple[str, int, list[str]]]:
    out: dict[str, tuple[str, int, list[str]]] = {}
    if not text:
        return out
    for m in re.finditer(r"@task[^\n]*\n\s*def\s+(\w+)\s*\(", text):
        start = m.end()
        nxt = re.search(r"\n(?:@|def\s)", text[start:])
        body = text[start:start + nxt.start()] if nxt else text[start:]
        cmds = [c.group(2) for c in re.finditer(r"\.run\(\s*[fr]?(['\"])(.+?)\1", body)]
        out[m.group(1)] = (path, text[: m.start()].count("\n") + 2, cmds)
        out[m.group(1).replace("_", "-")] = out[m.group(1)]
    return out


def _excluded_dir(path: str, root: str) -> bool:
    rel = path[len(root) + 1:] if root else path
    parts = rel.split("/")[:-1]
    return any(p.startswith(".") or p in ("build", "dist", "node_modules", "venv", "site-packages", "__pycache__",
                                          "_darcs", "CVS", "{arch}") or p.endswith(".egg") for p in parts)


# --------------------------------------------------------------------------------------------------- builder


def _step_surfaces(step: Step) -> set[str]:
    out = set(step.surfaces)
    for e in step.expanded:
        out |= _step_surfaces(e)
    return out


def _job_ctx(job: Job) -> _Ctx:
    """The job's context; surfacing that comes from steps is applied per step (only to earlier steps)."""
    trig = trigger_kinds(job.triggers)
    from_steps: set[str] = set()
    for st in job.steps:
        from_steps |= _step_surfaces(st)
    return _Ctx(
        triggers=trig, chain=(), origin=f"{job.file} job {job.id}",
        swallowed=job.swallowed, swallow_reason=job.swallow_reason,
        surfaces=tuple(s for s in job.surfaces if s not in from_steps), disabled=job.disabled,
    )


def _run_steps(res: _Resolver, steps: Iterable[Step], ctx: _Ctx) -> None:
    steps = list(steps)
    # a step's result can only be surfaced by itself or a later step of the same job (G7)
    later: list[set[str]] = [set() for _ in steps]
    acc: set[str] = set()
    for k in range(len(steps) - 1, -1, -1):
        if not steps[k].disabled:
            acc = acc | _step_surfaces(steps[k])
        later[k] = set(acc)
    for k, step in enumerate(steps):
        triggers = ctx.triggers
        if step.events is not None:
            allowed = {_CI_TRIGGER.get(k) for k in step.events}
            triggers = tuple(t for t in triggers if t in allowed)
        sctx = _Ctx(triggers=triggers, chain=ctx.chain, origin=ctx.origin,
                    swallowed=ctx.swallowed or step.swallowed, swallow_reason=ctx.swallow_reason or step.swallow_reason,
                    surfaces=tuple(dict.fromkeys((*ctx.surfaces, *sorted(later[k])))),
                    disabled=ctx.disabled or step.disabled, depth=ctx.depth)
        if step.expanded:
            _run_steps(res, step.expanded, sctx.hop(Location(path=step.file, line=step.line)))
            continue
        if step.external and step.uses is not None:
            res.external_step(step, sctx)
            continue
        if step.uses is not None and not step.commands and step.uses.name.startswith("docker/build-push-action"):
            ins = step.uses.inputs
            argv = ["docker", "build", *(["-f", ins["file"]] if ins.get("file") else []), ins.get("context", ".")]
            cmd = ShellCommand(text=" ".join(argv), line=step.line, argv=tuple(argv), cwd=step.working_directory)
            res.run_command(cmd, step.file, sctx)
            continue
        if step.uses is not None and not step.commands:
            name, ins = step.uses.name, step.uses.inputs
            extra: ShellCommand | None = None
            if name.startswith("pre-commit/action"):
                extra = ShellCommand(text="pre-commit run --all-files", line=step.line,
                                     argv=("pre-commit", "run", "--all-files"), cwd=step.working_directory)
            elif name.startswith("great-expectations/great_expectations_action"):
                cps = [c.strip() for c in re.split(r"[,\s]+", ins.get("CHECKPOINTS", "")) if c.strip()]
                for cp in cps:
                    gx_argv = ("great_expectations", "checkpoint", "run", cp)
                    res.run_command(ShellCommand(text=" ".join(gx_argv), line=step.line, argv=gx_argv), step.file,
                                    sctx)
            if extra is not None:
                res.run_command(extra, step.file, sctx)
                continue
            kind = "setup" if step.setup_only else "action"
            text = step.uses.ref + (" " + " ".join(f"{k}={v}" for k, v in step.uses.inputs.items())
                                    if step.uses.inputs else "")
            loc = Location(path=step.file, line=step.line)
            res.record(ShellCommand(text=text, line=step.line, argv=(step.uses.name,)), sctx.hop(loc), loc, kind)
            continue
        if step.run is not None and not step.commands and (step.shell or "").startswith("python"):
            # ``shell: python``: the script runs as Python; record it like ``python -c``
            cmd = ShellCommand(text=f"python -c <run block of {len(step.run)} chars>", line=step.line,
                               argv=("python", "-c", step.run), cwd=step.working_directory)
            res.run_command(cmd, step.file, sctx)
            continue
        for cmd in step.commands:
            res.run_command(cmd, step.file, sctx)


def build_automation(
    files: Iterable[str],
    read: Reader,
    ci: CiFacts,
    schedules: ScheduleFacts | None = None,
    *,
    imports: Callable[[str], Iterable[str]] | None = None,
    import_depth: int = 2,
    import_triggers: Iterable[str] | None = None,
) -> AutomationModel:
    """Resolve everything CI jobs and schedulers run; see the module docstring."""
    repo = _Repo(files=list(files), read_fn=read, imports_fn=imports)
    # import_triggers: follow imports only from runs with these triggers (None: all); the audit needs them only
    # for pipelines and schedules, whose steps run what they import, and following them per CI job costs seconds
    res = _Resolver(repo, import_depth, frozenset(import_triggers) if import_triggers is not None else None)
    for job in ci.jobs:
        ctx = _job_ctx(job)
        _run_steps(res, job.steps, ctx)
    if schedules is not None:
        argo_templates = {e.name: e for e in schedules.entries if e.system == "argo" and e.trigger == "pipeline"}
        for entry in schedules.entries:
            trig: tuple[TriggerKind, ...] = (entry.trigger,)
            ctx = _Ctx(triggers=trig, chain=(Location(path=entry.file, line=entry.line),),
                       origin=f"{entry.file} {entry.system} {entry.name}", disabled=not entry.enabled,
                       swallowed=entry.swallowed, swallow_reason="failure ignored" if entry.swallowed else None)
            for cmd in entry.commands:
                res.run_command(cmd, entry.file, ctx)
            for ref in entry.refs:  # an Argo WorkflowTemplate this workflow or CronWorkflow runs
                tmpl = argo_templates.get(ref)
                if tmpl is not None and tmpl is not entry:
                    for cmd in tmpl.commands:
                        res.run_command(cmd, tmpl.file, ctx)
            for path in entry.python_files:
                if repo.exists(path):
                    res.add_reach(path, ctx, "stage", f"{entry.system} {entry.name}")
    reach_map = {k: tuple(v) for k, v in res.reaches.items() if v}
    return AutomationModel(invocations=tuple(res.invocations), reach_map=reach_map,
                           unresolved=tuple(res.unresolved), diagnostics=tuple(repo.diags))
