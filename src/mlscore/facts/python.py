"""Python facts from the AST (imports, calls, functions, tests, assertions); nothing is imported or run."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

#: Recursion guard: a pathological expression nests deeper than this and is skipped, not crashed on.
MAX_SOURCE_CHARS = 2_000_000


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # absolute or relative ('.' prefixed) dotted name
    names: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # dotted callee as written: 'np.random.seed', 'GridSearchCV', 'model.fit'
    line: int
    kwargs: tuple[str, ...]
    function: str | None  # enclosing function
    args: tuple[str, ...] = ()  # string-literal / simple name arguments, as written


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


def is_test_path(path: str) -> bool:
    return bool(TEST_FILE_RE.search(path)) and path.endswith(".py")


_ASSERT_HELPERS = re.compile(
    r"(^|\.)(assert\w*|assert_allclose|assert_array_equal|assert_almost_equal|assert_frame_equal|"
    r"assert_series_equal|raises|approx|fail|assertRaises\w*|expect\w*)$"
)


def parse_python(path: str, text: str, *, is_notebook: bool = False) -> PyFacts:
    """Extract facts from one Python source; a syntax error becomes ``error``, never an exception."""
    lines = text.splitlines()
    facts = PyFacts(path=path, lines=lines, is_test_file=is_test_path(path))
    if len(text) > MAX_SOURCE_CHARS:
        facts.error = f"not parsed: {len(text)} characters"
        return facts
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        facts.error = f"not parsed: {type(exc).__name__}: {getattr(exc, 'msg', exc)}"
        return facts
    try:
        _Visitor(facts).visit(tree)
    except RecursionError:
        facts.error = "not parsed: nested too deeply"
    return facts


def dotted(node: ast.AST) -> str:
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
            parts.append("()")
        else:
            parts.append("?")
            break
    return ".".join(reversed([p for p in parts if p != "()"]))


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
    if isinstance(test, ast.Call) and dotted(test.func) in {"isinstance", "hasattr", "callable"}:
        return True
    if isinstance(test, ast.Compare) and isinstance(test.left, ast.Call) and dotted(test.left.func) == "type":
        return True
    return False


class _Visitor(ast.NodeVisitor):
    def __init__(self, facts: PyFacts) -> None:
        self.facts = facts
        self.func_stack: list[str] = []
        self.class_stack: list[str] = []
        self.scope: list[dict[str, int | set[str]]] = []

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.facts.imports.append(Import(alias.name, (), node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * (node.level or 0) + (node.module or "")
        self.facts.imports.append(Import(module, tuple(a.name for a in node.names), node.lineno))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.facts.classes.append((node.name, tuple(dotted(b) for b in node.bases), node.lineno))
        self.class_stack.append(node.name)
        self.generic_visit(node)
        self.class_stack.pop()

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        decorators = tuple(dotted(d) for d in node.decorator_list)
        cls = self.class_stack[-1] if self.class_stack else None
        is_test = self.facts.is_test_file and (
            node.name.startswith("test")
            and (cls is None or cls.startswith("Test") or True)
        )
        self.func_stack.append(node.name)
        self.scope.append({"asserts": 0, "trivial": 0, "type_only": 0, "calls": set()})
        self.generic_visit(node)
        scope = self.scope.pop()
        self.func_stack.pop()
        calls = scope["calls"]
        assert isinstance(calls, set)
        self.facts.functions.append(
            Function(
                name=node.name,
                line=node.lineno,
                end_line=getattr(node, "end_lineno", None) or node.lineno,
                decorators=decorators,
                cls=cls,
                is_test=is_test,
                asserts=int(scope["asserts"]),  # type: ignore[arg-type]
                trivial_asserts=int(scope["trivial"]),  # type: ignore[arg-type]
                calls=frozenset(calls),
                type_only_asserts=int(scope["type_only"]),  # type: ignore[arg-type]
            )
        )
        if self.scope:  # nested function: its calls count for the outer one too
            outer = self.scope[-1]["calls"]
            assert isinstance(outer, set)
            outer.update(calls)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Assert(self, node: ast.Assert) -> None:
        if self.scope:
            scope = self.scope[-1]
            if _is_trivial_assert(node.test):
                scope["trivial"] = int(scope["trivial"]) + 1  # type: ignore[arg-type]
            elif _is_type_only(node.test):
                scope["type_only"] = int(scope["type_only"]) + 1  # type: ignore[arg-type]
            else:
                scope["asserts"] = int(scope["asserts"]) + 1  # type: ignore[arg-type]
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            expr = item.context_expr
            if isinstance(expr, ast.Call) and dotted(expr.func).endswith(("raises", "assertRaises", "warns")):
                if self.scope:
                    self.scope[-1]["asserts"] = int(self.scope[-1]["asserts"]) + 1  # type: ignore[arg-type]
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = dotted(node.func)
        args: list[str] = []
        for arg in node.args[:4]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, (str, int, float, bool)):
                args.append(repr(arg.value) if not isinstance(arg.value, str) else arg.value[:200])
            elif isinstance(arg, (ast.Name, ast.Attribute)):
                args.append(dotted(arg))
        self.facts.calls.append(
            Call(
                name=name,
                line=node.lineno,
                kwargs=tuple(k.arg for k in node.keywords if k.arg),
                function=self.func_stack[-1] if self.func_stack else None,
                args=tuple(args),
            )
        )
        if self.scope:
            calls = self.scope[-1]["calls"]
            assert isinstance(calls, set)
            calls.add(name)
            if _ASSERT_HELPERS.search(name):
                self.scope[-1]["asserts"] = int(self.scope[-1]["asserts"]) + 1  # type: ignore[arg-type]
        self.generic_visit(node)


def module_names(path: str) -> list[str]:
    """Dotted module names a file can be imported as: 'src/pkg/mod.py' -> ['src.pkg.mod', 'pkg.mod', 'mod']."""
    if not path.endswith(".py"):
        return []
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i:]]
