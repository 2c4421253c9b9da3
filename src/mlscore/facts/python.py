"""Python facts from the AST (imports, calls, functions, tests, assertions); nothing is imported or run."""

from __future__ import annotations

import ast
import functools
import re
from collections import deque
from dataclasses import dataclass, field

from mlscore.facts.alloc import gc_paused

#: Recursion guard: a pathological expression nests deeper than this and is skipped, not crashed on.
MAX_SOURCE_CHARS = 2_000_000


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # absolute or relative ('.' prefixed) dotted name
    names: tuple[str, ...]
    line: int
    alias: str | None = None  # `import batch_processing as bp`: bp


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # dotted callee as written: 'np.random.seed', 'GridSearchCV', 'model.fit'
    line: int
    kwargs: tuple[str, ...]
    function: str | None  # enclosing function
    args: tuple[str, ...] = ()  # string-literal / simple name arguments, as written
    values: tuple[tuple[str, str], ...] = ()  # (keyword, literal or name as written) for simple keyword arguments


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    line: int
    end_line: int
    decorators: tuple[str, ...]
    cls: str | None
    is_test: bool
    asserts: int  # meaningful assertions (assert statements, pytest/unittest/numpy assertion helpers)
    trivial_asserts: int  # `assert True`, `assert 1 + 1 == 2`
    calls: frozenset[str]
    type_only_asserts: int = 0  # isinstance/type()/hasattr-only assertions
    params: tuple[str, ...] = ()  # parameter names of tests and fixtures (pytest injects fixtures by name)

    @property
    def is_fixture(self) -> bool:
        return any(d.rsplit(".", 1)[-1] == "fixture" for d in self.decorators)


@dataclass
class PyFacts:
    path: str
    lines: list[str]
    imports: list[Import] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    classes: list[tuple[str, tuple[str, ...], int]] = field(default_factory=list)
    is_test_file: bool = False
    error: str | None = None
    cell_of_line: list[int] | None = None  # notebooks: 0-based cell index per 1-based line (index 0 unused)

    @property
    def imported_modules(self) -> set[str]:
        return {imp.module for imp in self.imports}

    def imports_any(self, prefixes: tuple[str, ...]) -> Import | None:
        for imp in self.imports:
            mod = imp.module.lstrip(".")
            for prefix in prefixes:
                if mod == prefix or mod.startswith(prefix + "."):
                    return imp
                if any(f"{mod}.{n}" == prefix for n in imp.names):
                    return imp
        return None

    def test_functions(self) -> list[Function]:
        return [f for f in self.functions if f.is_test]


TEST_FILE_RE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test|tests?|conftest)\.py$|(^|/)tests?/")


@functools.lru_cache(maxsize=65536)
def is_test_path(path: str) -> bool:
    """Whether ``path`` is a test module (pytest's naming); cached: detectors ask it for every file, often."""
    return bool(TEST_FILE_RE.search(path)) and path.endswith(".py")


_ASSERT_HELPERS = re.compile(
    r"(^|\.)(assert\w*|assert_allclose|assert_array_equal|assert_almost_equal|assert_frame_equal|"
    r"assert_series_equal|raises|approx|fail|assertRaises\w*|expect\w*)$"
)


def parse_python(path: str, text: str, *, is_notebook: bool = False) -> PyFacts:
    """Extract facts from one Python source; a syntax error becomes ``error``, never an exception."""
    lines = text.splitlines()
    facts = PyFacts(path=path, lines=lines, is_test_file=is_test_path(path) and not is_notebook)
    if len(text) > MAX_SOURCE_CHARS:
        facts.error = f"not parsed: {len(text)} characters"
        return facts
    try:
        with gc_paused():  # an AST is hundreds of thousands of acyclic objects: no collector passes over them
            tree = ast.parse(text, filename=path)
            _collect(tree, facts)
    except (SyntaxError, ValueError, MemoryError) as exc:
        facts.error = f"not parsed: {type(exc).__name__}: {getattr(exc, 'msg', exc)}"
    except RecursionError:
        facts.error = "not parsed: nested too deeply"
    return facts


def _reference(node: ast.AST) -> str:
    """A keyword's value as written when it names something: `cfg.lr`, and through subscripts
    `step.properties.Outputs.S3Output.S3Uri` for `step.properties.Outputs["train"].S3Output.S3Uri` (index dropped)."""
    parts: list[str] = []
    for _ in range(64):
        if isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        else:
            parts.append("?")
            break
    return ".".join(reversed(parts))


def dotted(node: ast.AST) -> str:
    """The dotted name of a callee or attribute chain: ``np.random.seed``; calls in the chain are skipped."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            parts.append("?")
            break
    return ".".join(reversed(parts))


def _is_trivial_assert(test: ast.expr) -> bool:
    if isinstance(test, ast.Constant):
        return True
    consts = (ast.Constant, ast.BinOp, ast.UnaryOp)
    if isinstance(test, ast.Compare) and isinstance(test.left, consts):
        return all(isinstance(c, consts) and _all_const(c) for c in test.comparators) and _all_const(test.left)
    return False


def _all_const(node: ast.AST) -> bool:
    return all(isinstance(n, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop)) for n in ast.walk(node))


def _is_type_only(test: ast.expr) -> bool:
    """Assertions about types or mere existence (``assert module``, ``isinstance``), not about values."""
    if isinstance(test, (ast.Name, ast.Attribute)):
        return True
    if isinstance(test, ast.Call) and dotted(test.func) in {"isinstance", "hasattr", "callable"}:
        return True
    if isinstance(test, ast.Compare) and isinstance(test.left, ast.Call) and dotted(test.left.func) == "type":
        return True
    return False


_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


#: Node types that never contain a call, an import or a class (names, constants, contexts, operators): the walk
#: does not visit them (they are most of an AST).
_LEAVES = frozenset({
    ast.Name, ast.Constant, ast.Load, ast.Store, ast.Del, ast.alias, ast.Pass, ast.Break, ast.Continue,
    ast.Global, ast.Nonlocal, *(c for c in vars(ast).values() if isinstance(c, type)
                                and issubclass(c, (ast.operator, ast.unaryop, ast.cmpop, ast.boolop))),
})
_AST = ast.AST


def _walk(tree: ast.AST) -> list[ast.AST]:
    """The nodes ``ast.walk`` yields, in the same (breadth-first) order, leaves that hold no call, import or class
    left out; a plain loop over ``_fields`` instead of ``ast.walk``'s generators (several times faster)."""
    out: list[ast.AST] = []
    todo = deque((tree,))
    pop, push, keep = todo.popleft, todo.append, out.append
    leaves = _LEAVES
    while todo:
        node = pop()
        keep(node)
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, _AST) and type(item) not in leaves:
                        push(item)
            elif isinstance(value, _AST) and type(value) not in leaves:
                push(value)
    return out


def _collect(tree: ast.AST, facts: PyFacts) -> None:
    """One breadth-first pass over the nodes that can hold facts; test functions get a second look."""
    calls = facts.calls
    for node in _walk(tree):
        kind = type(node)
        if kind is ast.Call:
            calls.append(_call(node))  # type: ignore[arg-type]
        elif kind is ast.ImportFrom:
            module = "." * (node.level or 0) + (node.module or "")  # type: ignore[attr-defined]
            facts.imports.append(Import(module, tuple(a.name for a in node.names), node.lineno))  # type: ignore[attr-defined]
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                facts.imports.append(Import(alias.name, (), node.lineno, alias.asname))  # type: ignore[attr-defined]
        elif kind is ast.ClassDef:
            facts.classes.append((node.name, tuple(dotted(b) for b in node.bases), node.lineno))  # type: ignore[attr-defined]
            for item in node.body:  # type: ignore[attr-defined]
                if isinstance(item, _FUNCS):
                    facts.functions.append(_function(item, node.name, facts.is_test_file))  # type: ignore[attr-defined]
        elif kind is ast.Module:
            for item in node.body:  # type: ignore[attr-defined]
                if isinstance(item, _FUNCS):
                    facts.functions.append(_function(item, None, facts.is_test_file))
    facts.calls.sort(key=lambda c: c.line)
    facts.functions.sort(key=lambda f: f.line)
    # enclosing function of each call, from line ranges (nested defs resolve to the outer function)
    spans = [(f.line, f.end_line, f.name) for f in facts.functions]
    if spans:
        for i, call in enumerate(facts.calls):
            for start, end, name in spans:
                if start <= call.line <= end:
                    facts.calls[i] = Call(call.name, call.line, call.kwargs, name, call.args, call.values)
                    break


def _call(node: ast.Call) -> Call:
    args: list[str] = []
    for arg in node.args[:4]:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, (str, int, float, bool)):
            args.append(arg.value[:200] if isinstance(arg.value, str) else repr(arg.value))
        elif isinstance(arg, (ast.Name, ast.Attribute)):
            args.append(dotted(arg))
    values: list[tuple[str, str]] = []
    for k in node.keywords:
        if k.arg is None:
            continue
        v = k.value
        if isinstance(v, ast.Constant):
            values.append((k.arg, v.value[:200] if isinstance(v.value, str) else repr(v.value)))
        elif isinstance(v, (ast.Name, ast.Attribute, ast.Subscript)):
            values.append((k.arg, _reference(v)))
    # `**params` is kept as the keyword "**": its names are unknown, so no keyword can be said to be missing
    return Call(dotted(node.func), node.lineno, tuple(k.arg if k.arg else "**" for k in node.keywords), None,
                tuple(args), tuple(values))


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef, cls: str | None, test_file: bool) -> Function:
    decorators = tuple(dotted(d) for d in node.decorator_list)
    end = getattr(node, "end_lineno", None) or node.lineno
    is_test = test_file and node.name.startswith("test")
    fixture = test_file and any(d.rsplit(".", 1)[-1] == "fixture" for d in decorators)
    if not is_test and not fixture:
        return Function(node.name, node.lineno, end, decorators, cls, False, 0, 0, frozenset())
    params = tuple(a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)
                   if a.arg not in ("self", "cls"))
    asserts = trivial = type_only = 0
    called: set[str] = set()
    for sub in _walk(node):
        if isinstance(sub, ast.Assert):
            if _is_trivial_assert(sub.test):
                trivial += 1
            elif _is_type_only(sub.test):
                type_only += 1
            else:
                asserts += 1
        elif isinstance(sub, ast.Call):
            name = dotted(sub.func)
            called.add(name)
            if _ASSERT_HELPERS.search(name):
                asserts += 1
    return Function(node.name, node.lineno, end, decorators, cls, is_test, asserts, trivial, frozenset(called),
                    type_only, params)


def module_names(path: str) -> list[str]:
    """Dotted module names a file can be imported as: 'src/pkg/mod.py' -> ['src.pkg.mod', 'pkg.mod', 'mod']."""
    if not path.endswith(".py"):
        return []
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i:]]
