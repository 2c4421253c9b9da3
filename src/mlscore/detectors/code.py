"""Shared code-level queries: tests that exercise a module, how a file is run, serving and training code."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mlscore.detectors.common import Context, Run
from mlscore.facts.python import Function, PyFacts
from mlscore.models import Level

ROUTE_DECORATOR_RX = re.compile(
    r"(^|\.)(app|router|api|bp|blueprint|svc|service)\.(post|get|put|route|api_route|websocket)$|"
    r"(^|\.)bentoml\.(api|service)$|(^|\.)api$"
)
SERVING_BASES_RX = re.compile(r"(^|\.)(MLModel|kserve\.Model|Model|BaseHandler|PythonModel|LabelSpec)$")
SERVING_TEXT_RX = re.compile(
    r"FastAPI\(|Flask\(|@app\.(post|route)|@router\.post|bentoml|mlserver|kserve|torchserve|BaseHandler|"
    r"gradio|streamlit|ray\.serve|@serve\.deployment"
)


@dataclass(frozen=True)
class TestUse:
    """A test function that calls the project's own code from ``target`` and checks the result."""

    py: PyFacts
    function: Function
    target: str
    names: tuple[str, ...]
    calls: frozenset[str] = frozenset()  # the test's calls and those of the fixtures it requests


def tests_using(ctx: Context, targets: set[str] | None, *, name_rx: re.Pattern[str] | None = None) -> Iterator[TestUse]:
    """Test functions that import code from ``targets`` (or any local module whose path matches ``name_rx``),
    call it directly in the test body, and assert something non-trivial about the result.

    Lazy, and test modules that something runs automatically come first: callers that stop at the first
    automated use (``level_of_tests``) parse only a few files even in a large monorepo.
    """
    for py in ctx.facts.tests(first=lambda p: bool(ctx.automation.effective(p)), imports_any=targets,
                              import_rx=name_rx):
        imports = ctx.facts.local_imports(py)
        relevant: dict[str, set[str]] = {}
        for path, _line, names in imports:
            if (targets is not None and path in targets) or (name_rx is not None and name_rx.search(path)):
                bucket = relevant.setdefault(path, set())
                bucket.update(names)
                parts = path.removesuffix(".py").split("/")
                bucket.add(parts[-2] if parts[-1] == "__init__" and len(parts) > 1 else parts[-1])  # `mod.attr`
        if not relevant:
            continue
        fixtures = _fixtures(ctx, py)
        for fn in py.test_functions():
            if fn.asserts == 0:
                continue
            calls = _calls_through_fixtures(fn, fixtures)
            for path, names in relevant.items():
                used = {c for c in calls for n in names if c == n or c.startswith(n + ".") or c.endswith("." + n)}
                if used:  # one use per module the test exercises: callers filter by what was called
                    yield TestUse(py, fn, path, tuple(sorted(used))[:4], calls)


def _fixtures(ctx: Context, py: PyFacts) -> dict[str, Function]:
    """pytest fixtures a test module can use: its own and those of the conftest.py files above it."""
    found: dict[str, Function] = {}
    parts = py.path.split("/")[:-1]
    for depth in range(len(parts), -1, -1):
        conftest = "/".join([*parts[:depth], "conftest.py"])
        facts = ctx.facts.py(conftest) if conftest in ctx.facts.texts else None
        for fn in facts.functions if facts is not None else ():
            if fn.is_fixture:
                found.setdefault(fn.name, fn)
    for fn in py.functions:
        if fn.is_fixture:
            found[fn.name] = fn
    return found


def _calls_through_fixtures(fn: Function, fixtures: dict[str, Function]) -> frozenset[str]:
    """A test's calls plus those of the fixtures it requests (pytest injects them by parameter name), transitively:
    `def test_load(audio_data)` tests what the `audio_data` fixture calls."""
    calls = set(fn.calls)
    todo, seen = list(fn.params), set()
    while todo and len(seen) < 20:
        name = todo.pop()
        if name in seen or name not in fixtures:
            continue
        seen.add(name)
        calls |= fixtures[name].calls
        todo.extend(fixtures[name].params)
    return frozenset(calls)


def runs_of(ctx: Context, path: str) -> list[Run]:
    return ctx.automation.effective(path)


def automated_run(ctx: Context, path: str, *, kinds: tuple[str, ...] | None = None,
                  real_data: bool = False) -> Run | None:
    """The first run reaching ``path`` of the given trigger kinds (and fetching real data, if asked)."""
    for run in runs_of(ctx, path):
        if kinds is not None and run.kind not in kinds:
            continue
        if real_data and not run.real_data and run.kind.startswith("ci_"):
            continue
        return run
    return None


def level_of_tests(ctx: Context, uses: Iterable[TestUse]) -> tuple[Level, Run | None, TestUse | None]:
    """Automated when CI or a pipeline runs one of the tests (and a failure fails the run), else manual.

    ``uses`` come automated-first (``tests_using``), so the first use from a file nothing runs settles it.
    """
    for use in uses:
        run = automated_run(ctx, use.py.path)
        if run is not None:
            return Level.AUTOMATED, run, use
        return Level.MANUAL, None, use
    return Level.NONE, None, None


PIPELINE_KINDS = ("pipeline", "schedule", "ci_schedule", "serving", "guard")


def is_serving_file(ctx: Context, py: PyFacts) -> bool:
    """A file that serves predictions: HTTP routes, a model-server runtime class, or a batch-inference job."""
    if py.is_test_file or py.cell_of_line is not None:
        return False
    key = f"serving:{py.path}"
    if key in ctx.cache:
        return bool(ctx.cache[key])
    result = False
    for fn in py.functions:
        if any(ROUTE_DECORATOR_RX.search(d) for d in fn.decorators):
            result = True
            break
    if not result:
        for _name, bases, _line in py.classes:
            if any(SERVING_BASES_RX.search(b) for b in bases) and any(
                f.name in ("predict", "handle", "inference", "postprocess") for f in py.functions
            ):
                text = "\n".join(py.lines)
                if SERVING_TEXT_RX.search(text):
                    result = True
                    break
    if not result and re.search(r"(^|/)(infer|inference|predict|serving|serve|batch_predict|scoring|score)\w*\.py$",
                                py.path):
        result = any(c.name.endswith((".predict", ".predict_proba", ".transform")) for c in py.calls)
    ctx.cache[key] = result
    return result


def serving_files(ctx: Context) -> list[PyFacts]:
    def compute() -> list[PyFacts]:
        rx = re.compile(r"FastAPI|Flask\(|@app\.|@router\.|bentoml|MLModel|kserve|BaseHandler|"
                        r"PythonModel|ray\.serve|@serve\.")
        name_rx = re.compile(r"(^|/)(infer|inference|predict|serving|serve|batch_predict|scoring|score)\w*\.py$")
        out = []
        for path in ctx.facts.python_paths:
            if name_rx.search(path) or rx.search(ctx.facts.texts[path]):
                py = ctx.facts.py(path)
                if py is not None and py.error is None and is_serving_file(ctx, py):
                    out.append(py)
        return out

    return ctx.memo("serving_files", compute)  # type: ignore[no-any-return]


def serving_exists(ctx: Context) -> bool:
    """Whether the tree deploys or serves a model at all (infra tests about serving are N/A = 0 otherwise):
    a server or a serving manifest, a cloud endpoint or rollout the signal catalog found, or an end-user command
    that runs the model on users' inputs (LABELING.md §5 C3)."""
    if any(getattr(m, "serves_model", False) for m in ctx.manifests):
        return True
    if serving_files(ctx) or inference_commands(ctx):
        return True
    from mlscore.detectors.signal_levels import hits

    return any("INFRA6" in h.signal.informs or "INFRA7" in h.signal.informs for h in hits(ctx))


#: What an end-user command does when it runs a model on the user's inputs.
INFERENCE_RX = re.compile(r"(?i)\b(predict\w*|infer\w*|separat\w*|generat\w*|transcrib\w*|synthesi[sz]\w*|"
                          r"classif\w*|detect\w*|translat\w*|segment\w*|tts|serve|score)\b")
_SCRIPT_LINE_RX = re.compile(r"^\s*[\"']?([\w.-]+)[\"']?\s*=\s*[\"']([\w.]+)(?::([\w.]+))?[\"']")
_CONSOLE_RX = re.compile(r"[\"']([\w.-]+)\s*=\s*([\w.]+)(?::([\w.]+))?[\"']")


def inference_commands(ctx: Context) -> list[tuple[str, int, str]]:
    """(file, line, command) for console scripts the project installs whose name or target runs a model on the
    user's inputs (``spleeter separate``, ``tts --text``, ``my-model predict``): serving by LABELING.md §5 C3."""

    def compute() -> list[tuple[str, int, str]]:
        out = []
        for path in ("pyproject.toml", "setup.py", "setup.cfg"):
            text = ctx.facts.read(path) or ""
            if "scripts" not in text and "console_scripts" not in text:
                continue
            in_scripts = path != "pyproject.toml"
            for number, line in enumerate(text.splitlines(), 1):
                if path == "pyproject.toml" and line.startswith("["):
                    in_scripts = line.strip() in ("[project.scripts]", "[tool.poetry.scripts]")
                    continue
                if not in_scripts:
                    continue
                for m in (_CONSOLE_RX.finditer(line) if path == "setup.py" else [_SCRIPT_LINE_RX.match(line)]):
                    if m is None:
                        continue
                    name, module, func = m.group(1), m.group(2), m.group(3) or ""
                    target = ctx.facts.resolve_import(module, path)
                    body = ctx.facts.texts.get(target or "", "") if target else ""
                    if INFERENCE_RX.search(f"{name} {module} {func}") or (
                            body and INFERENCE_RX.search(body) and re.search(r"\b(load|from_pretrained|restore|"
                                                                             r"checkpoint|model)\b", body)):
                        out.append((path, number, f"{name} = {module}" + (f":{func}" if func else "")))
        return out

    return ctx.memo("inference_commands", compute)  # type: ignore[no-any-return]


def function_at(py: PyFacts, line: int) -> Function | None:
    for fn in py.functions:
        if fn.line <= line <= fn.end_line:
            return fn
    return None


#: Words of a path that name the standard training, data-loading, model or serving code: a raising check there is a
#: guard that acts on every run, step, load or request (LABELING.md G5e, G6b). Matched as whole path tokens or as
#: their start (``training``, ``loader``, ``servers``), never inside another word (``verification`` has no ``io``).
GUARD_PATH_RX = re.compile(
    r"(?i)(^|[/_.-])(train\w*|pipelines?|load\w*|ingest\w*|prepar\w*|jobs?|flows?|dags?|main|infer\w*|predict\w*|"
    r"serv\w*|data|datasets?|datamodules?|io|read\w*|etl|app|api|models?|modeling|modelling|layers?|networks?|nets?|"
    r"losses|loss|trainer)([/_.-]|$)")
#: Code people run by hand, whatever its name says.
HAND_RUN_RX = re.compile(r"(?i)(^|/)(scripts?|tools|notebooks?|examples?|docs?|benchmarks?|sandbox|playground|"
                         r"experiments?|scratch)/")


def on_standard_path(path: str) -> bool:
    """Whether ``path`` is part of the standard training, data-loading or serving code (a guard there acts on
    every run: LABELING.md G5e), rather than a script someone runs by hand."""
    return bool(GUARD_PATH_RX.search(path)) and not HAND_RUN_RX.search(path)
