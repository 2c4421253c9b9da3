"""RepoFacts: every fact about an audited tree, extracted once; detectors query it and never the disk."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mlscore import guard
from mlscore.facts.files import MAX_NOTEBOOK_BYTES, FileIndex
from mlscore.facts.literals import LiteralIndex
from mlscore.facts.notebooks import NotebookFacts, parse_notebook
from mlscore.facts.python import PyFacts, is_test_path, module_names, parse_python
from mlscore.facts.textstore import TextStore
from mlscore.models import Diagnostic

DOC_SUFFIXES = (".md", ".rst", ".txt", ".markdown")
TEXT_SUFFIXES = (
    ".py", ".ipynb", ".md", ".rst", ".txt", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".json", ".sh",
    ".tf", ".hcl", ".j2", ".jinja", ".conf", ".lock", ".pbtxt", ".sql", ".r", ".markdown", ".env",
    ".ts", ".template", ".bicep", ".properties",  # CDK apps, CloudFormation templates, Azure Bicep, Java configs
)
TEXT_NAMES = frozenset(
    {"Dockerfile", "Makefile", "makefile", "GNUmakefile", "Jenkinsfile", "Pipfile", "CODEOWNERS", "Procfile",
     "justfile", "Justfile", "Containerfile", "MLmodel"}
)
#: Text files beyond this many are not kept in memory for grep (code is still parsed).
MAX_TEXT_FILES = 40_000
#: JSON files read only when small (dashboards, suites, configs), not data dumps.
MAX_JSON_BYTES = 512 * 1024


def required_literals(pattern: str, flags: int = 0) -> tuple[str, ...] | None:
    """Lower-case substrings one of which every match of ``pattern`` contains, or None if none are found.

    A file's lower-cased text is tested against these with ``in`` (fast) before the regular expression runs
    over it (slow for alternations), so every ``grep`` and ``python_matching`` gets a prefilter for free.
    """
    return _required_literals(pattern, flags)


_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1f]")


def _candidate_lines(text: str, whole: Any) -> Iterator[tuple[int, str]]:
    """(number, line) of the lines ``grep`` must test: with an RE2 file test, only the lines its matches start on
    (a match confined to a line starts on it; the caller tests each line again), so a multi-megabyte file costs one
    linear pass instead of a search per line; with Python's, every line (splitlines() numbering)."""
    if isinstance(whole, re.Pattern):
        yield from enumerate(text.splitlines(), 1)
        return
    at, counted, number = 0, 0, 1
    while at <= len(text):
        m = whole.search(text, at)
        if m is None:
            return
        start = text.rfind("\n", 0, m.start()) + 1
        if start == len(text):
            return  # after the last line break: splitlines() has no line here
        number += text.count("\n", counted, start)
        counted = start
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield number, text[start:end]
        at = end + 1  # the next line: a match that ran across lines must not hide one confined to a later line


@functools.lru_cache(maxsize=512)
def _whole_text(pattern: str, flags: int) -> tuple[Any, re.Pattern[str]]:
    """The file test of ``grep``, the pattern per line (MULTILINE) over a whole text: (RE2 when it accepts the
    pattern, else None; Python's). RE2 is one linear pass, where Python's engine can take seconds on a
    multi-megabyte generated file."""
    slow = re.compile(pattern, flags | re.MULTILINE)
    inline = "".join(f for f, bit in (("i", re.IGNORECASE), ("s", re.DOTALL)) if flags & bit)
    try:
        from mlscore.facts import linear

        return linear.compile(f"(?m{inline})" + pattern), slow
    except ValueError:
        return None, slow


@functools.lru_cache(maxsize=512)
def _required_literals(pattern: str, flags: int) -> tuple[str, ...] | None:
    try:
        from re import _constants as C  # type: ignore[attr-defined]
        from re import _parser as P  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_constants as C  # type: ignore[no-redef]
        import sre_parse as P  # type: ignore[no-redef]
    try:
        parsed = P.parse(pattern, flags)
    except Exception:  # noqa: BLE001 - any pattern we cannot analyse just gets no prefilter
        return None

    def alternatives(items: list[Any]) -> list[str] | None:
        if len(items) == 1 and items[0][0] is C.BRANCH:
            out: list[str] = []
            for branch in items[0][1][1]:
                got = sequence(list(branch))
                if got is None:
                    return None
                out.extend(got)
            return out
        return sequence(items)

    def sequence(items: list[Any]) -> list[str] | None:
        candidates: list[list[str]] = []
        run = ""
        for op, av in items:
            if op is C.LITERAL:
                run += chr(av)
                continue
            if len(run) >= 3:
                candidates.append([run])
            run = ""
            sub = None
            if op is C.SUBPATTERN:
                sub = alternatives(list(av[-1]))
            elif op is C.BRANCH:
                sub = alternatives([(op, av)])
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
                sub = alternatives(list(av[2]))
            if sub:
                candidates.append(sub)
        if len(run) >= 3:
            candidates.append([run])
        usable = [c for c in candidates if all(len(x) >= 3 for x in c)]
        if not usable:
            return None
        return max(usable, key=lambda c: (min(len(x) for x in c), -len(c)))

    found = alternatives(list(parsed))
    if not found or any(len(x) < 3 for x in found):
        return None
    return tuple(sorted({x.lower() for x in found}))


_IMPORT_RX = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([^\n#]+)|import[ \t]+([\w., \t]+))", re.M)


@dataclass(frozen=True, slots=True)
class Hit:
    """A matching line: repo-relative path, 1-based line number, the stripped line."""

    path: str
    line: int
    text: str


@dataclass
class RepoFacts:
    index: FileIndex
    python_paths: list[str] = field(default_factory=list)
    _python: dict[str, PyFacts] = field(default_factory=dict)
    _imports: dict[str, list[tuple[str, int, tuple[str, ...]]]] = field(default_factory=dict)
    _literals: LiteralIndex | None = None
    _import_scan: dict[str, set[str]] = field(default_factory=dict)
    _string_blocks_by_path: dict[str, frozenset[int]] = field(default_factory=dict)
    notebooks: dict[str, NotebookFacts] = field(default_factory=dict)
    # every text file, for grep and the extractors (a TextStore after collect(): large texts read on demand)
    texts: MutableMapping[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    # -- files -----------------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return path in self.index

    def paths(self) -> list[str]:
        return self.index.paths()

    def read(self, path: str) -> str | None:
        """Text of a file already read (or read now, within limits); None if missing, binary or too large."""
        if path in self.texts:
            return self.texts[path]
        if path not in self.index:
            return None
        text = self.index.read_text(path)
        if text is not None:
            self.texts[path] = text
            if self._literals is not None:
                self._literals.forget(path)
        return text

    def glob(self, pattern: str) -> list[str]:
        rx = _glob_re(pattern)
        return [p for p in self.index.entries if rx.match(p)]

    def grep(
        self,
        pattern: str | re.Pattern[str],
        *,
        paths: Callable[[str], bool] | None = None,
        skip_comments: bool = True,
        limit: int = 200,
        literals: tuple[str, ...] = (),
    ) -> list[Hit]:
        """Lines matching ``pattern`` in the text files read, comments skipped (``#``, ``//``, ``<!--``).

        ``literals``: lower-case substrings one of which a file must contain before the (much slower)
        regular expression runs over it.
        """
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        fast, slow = _whole_text(rx.pattern, rx.flags)  # `^`/`$` must match per line in the file test
        literals = literals or required_literals(rx.pattern, rx.flags) or ()
        hits: list[Hit] = []
        texts = self.texts
        for path in list(texts):
            guard.check()  # a detector's time budget, where the timer cannot interrupt
            if paths is not None and not paths(path):
                continue
            if literals and not self._has_any(path, literals):
                continue
            text = texts[path]  # read only now: a large text that fails the tests above is never read again
            # RE2 agrees with Python's engine on ASCII text with \n line breaks (\w, \s, \b, `$` before \r differ
            # elsewhere): there it tests the file and finds the candidate lines in one linear pass
            whole = fast if fast is not None and text.isascii() and not _OTHER_BREAKS.search(text) else slow
            if whole.search(text) is None:
                continue
            for number, line in _candidate_lines(text, whole):
                if rx.search(line) is None:
                    continue
                stripped = line.strip()
                if skip_comments and stripped.startswith(("#", "//", "<!--", "REM ")) and not path.endswith(
                    (".md", ".rst", ".txt")
                ):
                    continue
                if skip_comments and path.endswith(".py") and number in self._string_blocks(path, text):
                    continue  # inside a docstring or a block of code quoted out with triple quotes
                hits.append(Hit(path, number, stripped[:240]))
                if len(hits) >= limit:
                    return hits
        return hits

    def _string_blocks(self, path: str, text: str) -> frozenset[int]:
        """Line numbers inside statement-level triple-quoted strings of a Python file (docstrings, code quoted out
        with \"\"\"): text, not code that runs. A linear scan, cached per file."""
        found = self._string_blocks_by_path.get(path)
        if found is None:
            found = self._string_blocks_by_path[path] = _triple_quoted_lines(text)
        return found

    # -- python ----------------------------------------------------------------------------------
    # Parsing every file of a big repository costs seconds, so .py files are parsed on first use:
    # detectors ask for the files whose text matches their vocabulary, and only those are parsed.
    def py(self, path: str) -> PyFacts | None:
        """Parsed facts of one .py file (cached), or None if it is not a readable Python file."""
        facts = self._python.get(path)
        if facts is None:
            text = self.texts.get(path)
            if text is None or not path.endswith(".py"):
                return None
            try:
                facts = parse_python(path, text)
            except Exception as exc:  # noqa: BLE001 - one odd file must not cost the detector asking for it
                facts = PyFacts(path=path, lines=[], error=guard.failure("python", path, exc).message)
            if facts.error:
                self.diagnostics.append(Diagnostic(path=path, message=facts.error))
            self._python[path] = facts
        return facts

    def has_any(self, path: str, literals: tuple[str, ...]) -> bool:
        """Whether the file's lower-cased text contains one of ``literals`` (a fast prefilter; False for a path
        without a text). Detectors call it for every file of a tree: one call deep."""
        index = self._literals
        if index is None:
            index = self.literal_index
        return index.contains_any(path, literals)

    @property
    def literal_index(self) -> LiteralIndex:
        """The literal prefilter of this tree's texts (``mlscore.facts.literals``), shared with the signal scan."""
        if self._literals is None:
            self._literals = LiteralIndex(self.texts.get, files=len(self.texts))
        return self._literals

    def _has_any(self, path: str, literals: tuple[str, ...]) -> bool:
        # one RE2 pass over the file's lower-cased bytes, only for the files a question is about (a question
        # about Python files never reads the YAML), answers kept per file and literal tuple
        return self.literal_index.contains_any(path, literals)

    def _files_containing(self, literals: tuple[str, ...]) -> set[str]:
        """Paths whose lower-cased text contains one of ``literals``."""
        return set(self.literal_index.files_containing(list(self.texts), literals))

    def python_matching(self, pattern: str | re.Pattern[str], *, notebooks: bool = True,
                        literals: tuple[str, ...] = (), first: Callable[[str], bool] | None = None,
                        paths: list[str] | None = None) -> Iterator[PyFacts]:
        """Parsed facts of the .py files (and notebooks) whose text matches ``pattern`` (see ``grep``).

        Files are parsed one at a time as the caller iterates, so a caller that stops early parses little;
        ``first`` puts the files it accepts ahead of the others (e.g. the ones something runs automatically).
        """
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        literals = literals or required_literals(rx.pattern, rx.flags) or ()
        candidates = self.python_paths if paths is None else paths
        if literals:
            candidates = self.literal_index.files_containing(candidates, literals)
        if first is not None:
            candidates = sorted(candidates, key=lambda p: not first(p))
        for path in candidates:
            guard.check()
            if rx.search(self.texts[path]):
                facts = self.py(path)
                if facts is not None and facts.error is None:
                    yield facts
        if notebooks:
            for nb in self.notebooks.values():
                if nb.error is None and rx.search(nb.code) and nb.python is not None:
                    yield nb.python

    @property
    def python(self) -> dict[str, PyFacts]:
        """Every .py file parsed (slow on big trees: prefer ``python_matching``)."""
        for path in self.python_paths:
            self.py(path)
        return self._python

    @cached_property
    def module_index(self) -> dict[str, str]:
        """Dotted module name (and every suffix of it) -> repo path of the .py file."""
        index: dict[str, str] = {}
        for path in sorted(self.python_paths, key=lambda p: p.count("/")):
            for name in module_names(path):
                index.setdefault(name, path)
        return index

    def resolve_import(self, module: str, from_path: str) -> str | None:
        """The repo file a module name refers to, if it is the project's own code."""
        if module.startswith("."):
            level = len(module) - len(module.lstrip("."))
            base = from_path.split("/")[:-level] if level else from_path.split("/")[:-1]
            rest = module.lstrip(".").replace(".", "/")
            for candidate in (f"{'/'.join(base)}/{rest}.py", f"{'/'.join(base)}/{rest}/__init__.py"):
                candidate = candidate.lstrip("/")
                if candidate in self.texts and candidate.endswith(".py"):
                    return candidate
            return None
        found = self.module_index.get(module)
        if found is None and "." not in module and "sys.path" in (self.texts.get(from_path) or ""):
            # a module imported after the file puts its folder on sys.path (`sys.path.insert(0, "spark/jobs")`):
            # the tree's one file of that name
            hits = self._by_stem.get(module, ())
            if len(hits) == 1:
                return hits[0]
        return found

    @cached_property
    def _by_stem(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for path in self.python_paths:
            stem = path.rsplit("/", 1)[-1][:-3]
            if stem != "__init__" and not is_test_path(path):
                out.setdefault(stem, []).append(path)
        return {k: tuple(v) for k, v in out.items()}

    def local_imports(self, facts: PyFacts) -> list[tuple[str, int, tuple[str, ...]]]:
        """(repo path, line, imported names) for each import of the project's own modules (cached)."""
        cached = self._imports.get(facts.path)
        if cached is not None and facts.cell_of_line is None:
            return cached
        out: list[tuple[str, int, tuple[str, ...]]] = []
        for imp in facts.imports:
            target = self.resolve_import(imp.module, facts.path)
            rest = list(imp.names)
            for name in imp.names:  # `from pkg import module` names a module, not an attribute
                sep = "" if imp.module.endswith(".") else "."
                sub = self.resolve_import(f"{imp.module}{sep}{name}", facts.path)
                if sub is not None and sub != facts.path:
                    out.append((sub, imp.line, (name,)))
                    rest.remove(name)
            if target is not None and target != facts.path and (rest or not imp.names):
                out.append((target, imp.line, (*rest, imp.alias) if imp.alias else tuple(rest)))
        if facts.cell_of_line is None:
            self._imports[facts.path] = out
        return out

    @cached_property
    def test_paths(self) -> list[str]:
        """Test modules that look like they define test functions (not parsed yet)."""
        return [p for p in self.python_paths if is_test_path(p) and "def test" in self.texts[p]]

    def tests(self, *, literals: tuple[str, ...] = (), first: Callable[[str], bool] | None = None,
              imports_any: set[str] | None = None, import_rx: re.Pattern[str] | None = None) -> Iterator[PyFacts]:
        """Parsed test modules with test functions, lazily, ``first``-accepted ones ahead.

        ``imports_any`` / ``import_rx``: only modules whose imports (found by a cheap scan, before parsing)
        reach one of these repo paths / a repo path matching the pattern.
        """
        paths = self.test_paths
        if literals:
            paths = self.literal_index.files_containing(paths, literals)
        if imports_any is not None or import_rx is not None:
            paths = [p for p in paths if any((imports_any is not None and t in imports_any)
                                             or (import_rx is not None and import_rx.search(t))
                                             for t in self.import_targets(p))]
        if first is not None:
            paths = sorted(paths, key=lambda p: not first(p))
        for path in paths:
            facts = self.py(path)
            if facts is not None and facts.test_functions():
                yield facts

    def import_targets(self, path: str) -> set[str]:
        """Repo files a Python file imports, found with a regular expression (no parsing; may over-approximate)."""
        cached = self._import_scan.get(path)
        if cached is not None:
            return cached
        out: set[str] = set()
        for m in _IMPORT_RX.finditer(self.texts.get(path, "")):
            if m.group(1) is not None:
                module = m.group(1)
                names = [n.strip().split(" as ")[0].strip("() ") for n in m.group(2).split(",")]
                target = self.resolve_import(module, path)
                if target is not None:
                    out.add(target)
                for name in names:
                    sep = "" if module.endswith(".") else "."
                    sub = self.resolve_import(f"{module}{sep}{name}", path) if name else None
                    if sub is not None:
                        out.add(sub)
            else:
                for module in m.group(3).split(","):
                    target = self.resolve_import(module.strip().split(" as ")[0], path)
                    if target is not None:
                        out.add(target)
        out.discard(path)
        self._import_scan[path] = out
        return out

    def docs(self) -> Iterator[tuple[str, str]]:
        for path in list(self.texts):
            if path.lower().endswith(DOC_SUFFIXES) and not _is_requirements(path):
                yield path, self.texts[path]


def _is_requirements(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return name.startswith("requirements") or name.endswith(("-requirements.txt", "constraints.txt"))


def _glob_re(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out) + "$")


def _wanted_text(path: str, name: str, suffix: str, size: int) -> bool:
    if name in TEXT_NAMES or name.startswith(("Dockerfile", "Jenkinsfile", "requirements")):
        return True
    if suffix == ".json":
        return size <= MAX_JSON_BYTES
    if suffix in (".txt", ".md", ".rst", ".markdown"):
        return size <= 512 * 1024
    return suffix in TEXT_SUFFIXES


def collect(index: FileIndex, progress: Callable[[int, int], None] | None = None) -> RepoFacts:
    """Read and parse every file the detectors can use, once.

    Texts over ``textstore.KEEP_CHARS`` are not kept: ``facts.texts`` reads them again when asked (memory).
    """
    facts = RepoFacts(index=index)
    store = TextStore(index.read_text)
    facts.texts = store
    entries = [e for e in index if not e.symlink]
    total = len(entries)
    kept = 0
    for number, entry in enumerate(entries, 1):
        if progress is not None and number % 500 == 0:
            progress(number, total)
        path, suffix = entry.path, entry.suffix
        if ".ipynb_checkpoints/" in path:
            continue  # Jupyter's autosaved copies: the notebook itself is indexed
        if suffix == ".ipynb":
            text = index.read_text(path, limit=MAX_NOTEBOOK_BYTES)
            if text is None:
                continue
            try:
                nb = parse_notebook(path, text)
            except Exception as exc:  # noqa: BLE001 - one notebook must not cost the audit
                facts.diagnostics.append(guard.failure("notebooks", path, exc))
                continue
            if nb.error:
                facts.diagnostics.append(Diagnostic(path=path, message=nb.error))
            facts.notebooks[path] = nb
            continue
        if not _wanted_text(path, entry.name, suffix, entry.size) or kept >= MAX_TEXT_FILES:
            continue
        text = index.read_text(path)
        if text is None:
            continue
        kept += 1
        store.add(path, text)
        del text
        if suffix == ".py":
            facts.python_paths.append(path)
    if progress is not None:
        progress(total, total)
    return facts


_TRIPLE = re.compile(r'"""|\'\'\'')
_STATEMENT_STRING = re.compile(r'[ \t]*[rRbBuUfF]{0,2}("""|\'\'\')')  # matched at a line's start


def _triple_quoted_lines(text: str) -> frozenset[int]:
    """Lines strictly inside triple-quoted strings that open a statement (a docstring or a quoted-out block);
    assigned strings (`sql = \"\"\"...`) are left alone. Unbalanced quotes give no lines."""
    if '"""' not in text and "\'\'\'" not in text:
        return frozenset()
    out: set[int] = set()
    pos, n = 0, len(text)
    while pos < n:
        m = _TRIPLE.search(text, pos)
        if m is None:
            break
        quote = m.group(0)
        end = text.find(quote, m.end())
        if end < 0:
            break
        line_start = text.rfind("\n", 0, m.start()) + 1
        opener = _STATEMENT_STRING.match(text, line_start)
        if opener is not None and opener.end() == m.end():
            first = text.count("\n", 0, m.start()) + 1
            last = first + text.count("\n", m.start(), end)
            out.update(range(first, last + 1))
        pos = end + 3
    return frozenset(out)
