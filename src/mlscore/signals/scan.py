"""Find the catalog's signals in a tree's facts: one multi-pattern pass over every text, then structure.

Every matcher contributes lower-case literals (the last name of a Python callee, the last key of a YAML path, a
CloudFormation type...). One Aho-Corasick automaton of all of them runs once over each text file; only the
(file, signal) pairs whose literal occurs are then checked against structure: the Python AST (already parsed
facts), YAML/JSON documents (parsed once per file, line-aware), Terraform blocks, shell commands, lines, docs
sections. Every pattern is RE2 (linear time), so no repository text can make the scan backtrack.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlscore.facts import linear
from mlscore.facts.literals import Vocabulary, lowered
from mlscore.facts.python import PyFacts
from mlscore.facts.repo import RepoFacts, required_literals
from mlscore.facts.yamlsafe import (
    LineDict,
    LineList,
    load_yaml_docs,
    strip_templates,
    without_crds,
    yaml_roots,
)
from mlscore.signals.model import Matcher, Signal

__all__ = ["Command", "Scanner", "SignalHit"]

#: At most this many hits of one signal are kept: enough evidence, bounded work on a monorepo.
MAX_HITS_PER_SIGNAL = 40
#: Nesting deeper than this in a YAML/JSON document is not walked.
MAX_DEPTH = 64
#: Lines longer than this are not searched line by line (minified JSON, data dumps).
MAX_LINE = 4000

YAML_SUFFIXES = (".yml", ".yaml", ".json")
CFN_SUFFIXES = (".yml", ".yaml", ".json", ".template")
#: CDK apps written in Python or TypeScript declare CloudFormation resources through L1 constructs.
CDK_SUFFIXES = (".py", ".ts")
SHELL_SUFFIXES = (".sh", ".bash")
SHELL_NAMES = ("Makefile", "makefile", "GNUmakefile", "justfile", "Justfile", "Dockerfile", "Containerfile",
               "Jenkinsfile", "Procfile")
DOC_SUFFIXES = (".md", ".rst", ".markdown", ".txt")
COMMENT_PREFIXES = ("#", "//", "<!--", "REM ")


@dataclass(frozen=True, slots=True)
class SignalHit:
    """One place a signal was found."""

    signal: Signal
    kind: str  # the matcher kind: python, yaml, cloudformation, terraform, shell, text, docs, path
    path: str
    line: int | None
    text: str
    cell: int | None = None  # notebooks: the 0-based cell index
    run: Any = None  # shell matches of an automated command: the Run that executes it
    is_test: bool = False


@dataclass(frozen=True, slots=True)
class Command:
    """A command the automation model resolved, with how it runs (for shell matchers)."""

    text: str
    path: str
    line: int | None
    run: Any


def _name_literal(name: str) -> str | None:
    last = name.rsplit(".", 1)[-1].lower()
    return last if len(last) >= 3 else None


def _key_literal(path: str) -> str | None:
    """The most distinctive key of a path (the longest), which every matching text contains."""
    parts = [p for p in path.split(".") if p != "*"]
    best = max(parts, key=len) if parts else ""
    return best.lower() if len(best) >= 3 else None


def _groups(m: Matcher) -> list[tuple[str, ...]] | None:
    """Lower-case literals a text matching ``m`` must contain: one of each group (None: no prefilter).

    Several groups make a common name cheap: `fit` alone is in every model file, but `fit` together with the
    module the matcher requires (`optuna`) is rare, so only files with both are parsed."""
    spec = m.spec
    groups: list[tuple[str, ...]] = []
    if m.kind == "python":
        names = (*spec.calls, *spec.decorators, *spec.bases)
        if names:
            found = [_name_literal(n) for n in names]
            if all(found):
                groups.append(tuple(sorted({f for f in found if f})))
        if spec.imports:
            heads = [i.split(".", 1)[0].lower() for i in spec.imports]
            if all(len(h) >= 3 for h in heads):
                groups.append(tuple(sorted(set(heads))))
    elif m.kind == "yaml":
        found = [_key_literal(k) for k in spec.keys]
        if all(found):
            groups.append(tuple(sorted({f for f in found if f})))
        if spec.kind and len(spec.kind) >= 3:
            groups.append((spec.kind.lower(),))
        elif spec.api_group and len(spec.api_group) >= 3:
            groups.append((spec.api_group.split("/", 1)[0].lower(),))
    elif m.kind == "cloudformation":
        # the template's type, or the CDK L1 construct that declares the same resource (`CfnMonitoringSchedule`)
        groups.append((spec.type.lower(), "cfn" + spec.type.rsplit("::", 1)[-1].lower()))
    elif m.kind == "terraform":
        groups.append((spec.resource.lower(),))
    elif m.kind in ("shell", "text"):
        if spec.literals:
            groups.append(tuple(x.lower() for x in spec.literals))
        else:
            pattern = spec.command if m.kind == "shell" else spec.pattern
            found_rx = required_literals(pattern.replace("(?i)", ""))
            if found_rx:
                groups.append(found_rx)
    return groups or None


@functools.lru_cache(maxsize=2048)
def _glob_rx(globs: tuple[str, ...]) -> tuple[Any, Any]:
    """The globs as two patterns: every glob against the whole path, the ones without '/' against the name
    (``fnmatch.fnmatchcase`` is ``fnmatch.translate`` matched; one alternation instead of a call per glob)."""
    import re

    whole = [fnmatch.translate(g) for g in globs]
    names = [fnmatch.translate(g) for g in globs if "/" not in g]
    return (re.compile("|".join(whole)) if whole else None), (re.compile("|".join(names)) if names else None)


def _glob_match(path: str, globs: Sequence[str]) -> bool:
    whole, names = _glob_rx(tuple(globs))
    if whole is not None and whole.match(path) is not None:
        return True
    return names is not None and names.match(path.rsplit("/", 1)[-1]) is not None


def _kind_wants(kind: str, path: str) -> bool:
    """Whether files of this path can hold a match of this matcher kind."""
    name = path.rsplit("/", 1)[-1]
    if kind == "python":
        return path.endswith((".py", ".ipynb"))
    if kind == "yaml":
        return path.endswith(YAML_SUFFIXES)
    if kind == "cloudformation":
        return path.endswith(CFN_SUFFIXES) or path.endswith(CDK_SUFFIXES)
    if kind == "terraform":
        return path.endswith(".tf")
    if kind == "shell":
        return path.endswith(SHELL_SUFFIXES) or name in SHELL_NAMES or name.startswith(("Dockerfile", "Jenkinsfile"))
    return kind == "text"


@dataclass
class _Compiled:
    signal: Signal
    index: int
    matcher: Matcher
    groups: list[tuple[str, ...]] | None


class Scanner:
    """The catalog compiled once: one automaton for all literals, matchers grouped by kind."""

    def __init__(self, signals: Sequence[Signal]) -> None:
        self.signals = tuple(signals)
        self._compiled: list[_Compiled] = []
        self._by_literal: dict[str, list[int]] = {}  # literal of a matcher's first group -> matcher slots
        literals: set[str] = set()
        self._unfiltered: list[int] = []  # matchers with no literal: checked on every file of their kind
        for signal in self.signals:
            for i, matcher in enumerate(signal.match):
                compiled = _Compiled(signal, i, matcher, _groups(matcher))
                slot = len(self._compiled)
                self._compiled.append(compiled)
                if matcher.kind in ("docs", "path"):
                    continue
                if compiled.groups is None:
                    self._unfiltered.append(slot)
                    continue
                for literal in compiled.groups[0]:
                    self._by_literal.setdefault(literal, []).append(slot)
                for group in compiled.groups:
                    literals.update(group)
        # one RE2 Set of every literal: a single DFA pass per text says which occur (each once, however often
        # it occurs: `name` or `fit` thousands of times cost nothing more)
        self._vocabulary = Vocabulary(literals)

    # -- the pass -------------------------------------------------------------------------------
    def candidates(self, text: str, data: bytes | None = None) -> set[int]:
        """Matcher slots whose literal groups all occur in ``text`` (one pass over its lower-cased bytes;
        ``data``: those bytes, when already at hand)."""
        if not len(self._vocabulary):
            return set()
        present = self._vocabulary.present(lowered(text) if data is None else data)
        found: set[int] = set()
        for literal in present:
            for slot in self._by_literal.get(literal, ()):
                groups = self._compiled[slot].groups or []
                if all(any(x in present for x in group) for group in groups[1:]):
                    found.add(slot)
        return found

    def scan(self, facts: RepoFacts, commands: Iterable[Command] = ()) -> list[SignalHit]:
        """Every hit of every signal in ``facts``; ``commands``: what CI and schedulers run (shell matchers)."""
        state = _ScanState(facts)
        hits: list[SignalHit] = []
        counts: dict[str, int] = {}

        def keep(new: Iterable[SignalHit]) -> None:
            for hit in new:
                n = counts.get(hit.signal.id, 0)
                if n < MAX_HITS_PER_SIGNAL:
                    counts[hit.signal.id] = n + 1
                    hits.append(hit)

        index = facts.literal_index
        # one text at a time (large ones are read again from the tree, never all held at once)
        sources: list[tuple[str, str | None]] = [(path, None) for path in facts.texts]
        sources += [(nb.path, nb.code) for nb in facts.notebooks.values() if nb.error is None]
        for path, code in sources:
            text = facts.texts[path] if code is None else code
            state.start(path)
            slots = self.candidates(text, index.lowered(path, text) if code is None else None)
            slots.update(self._unfiltered)
            for slot in sorted(slots):
                c = self._compiled[slot]
                if counts.get(c.signal.id, 0) >= MAX_HITS_PER_SIGNAL or not _kind_wants(c.matcher.kind, path):
                    continue
                keep(_match_file(c, path, text, state))
        command_list = list(commands)
        for c in self._compiled:
            kind = c.matcher.kind
            if kind == "shell" and command_list:
                keep(_match_commands(c, command_list))
            elif kind == "docs":
                keep(_match_docs(c, facts, state))
            elif kind == "path":
                keep(_match_paths(c, facts))
        return _with_requirements(hits)


def _with_requirements(hits: list[SignalHit]) -> list[SignalHit]:
    """Drop hits whose signal requires other signals that did not match in the same file (``requires``) or
    anywhere in the tree (``requires_anywhere``), or excludes one that matched in the same file (``excludes``); a
    dropped hit no longer satisfies others' requirements."""
    while True:
        by_file: dict[str, set[str]] = {}
        anywhere: set[str] = set()
        for hit in hits:
            by_file.setdefault(hit.path, set()).add(hit.signal.id)
            anywhere.add(hit.signal.id)
        kept = [h for h in hits if all(r in by_file.get(h.path, ()) for r in h.signal.requires)
                and all(r in anywhere for r in h.signal.requires_anywhere)
                and not any(r in by_file.get(h.path, ()) for r in h.signal.excludes)]
        if len(kept) == len(hits):
            return kept
        hits = kept


@dataclass
class _ScanState:
    """Per-scan caches: parsed YAML/JSON documents and notebook facts, each built at most once."""

    facts: RepoFacts
    docs: dict[str, list[Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    keys: dict[str, tuple[frozenset[str], frozenset[str] | None] | None] = field(default_factory=dict)
    sections: list[tuple[str, int, str, str]] | None = None

    def start(self, path: str) -> None:
        """The scan moved on to ``path``: what was read from the previous file is no longer needed (memory)."""
        if path not in self.docs and path not in self.sources:
            self.docs.clear()
            self.sources.clear()
            self.keys.clear()

    def python(self, path: str) -> PyFacts | None:
        if path.endswith(".ipynb"):
            nb = self.facts.notebooks.get(path)
            return nb.python if nb is not None and nb.error is None else None
        py = self.facts.py(path)
        return py if py is not None and py.error is None else None

    def _json(self, path: str, text: str) -> bool:
        return path.endswith((".json", ".template")) and text.lstrip()[:1] in ("{", "[")

    def _source(self, path: str, text: str) -> str:
        """The YAML text that is parsed: Helm/Jinja template expressions blanked."""
        source = self.sources.get(path)
        if source is None:
            source = without_crds(text)  # API schemas: no signal is about them, and they are most of a bundle
            source = self.sources[path] = strip_templates(source) if ("{{" in source or "{%" in source) else source
        return source

    def roots(self, path: str, text: str) -> tuple[frozenset[str], frozenset[str] | None] | None:
        """(root keys, root kinds) of the file's YAML documents read from its lines (None: unknown, or JSON)."""
        if path not in self.keys:
            self.keys[path] = None if self._json(path, text) else yaml_roots(self._source(path, text))
        return self.keys[path]

    def documents(self, path: str, text: str) -> list[Any]:
        cached = self.docs.get(path)
        if cached is not None:
            return cached
        docs: list[Any] = []
        if self._json(path, text):
            try:
                docs = [json.loads(text)]
            except (ValueError, RecursionError):
                docs = []
        else:
            docs, _diags = load_yaml_docs(path, self._source(path, text))  # the extractors report malformed files
        self.docs[path] = docs
        return docs


# -- per-kind matching ------------------------------------------------------------------------------


def _match_file(c: _Compiled, path: str, text: str, state: _ScanState) -> Iterator[SignalHit]:
    kind = c.matcher.kind
    if kind == "python":
        yield from _match_python(c, path, state)
    elif kind == "yaml":
        yield from _match_yaml(c, path, text, state)
    elif kind == "cloudformation":
        yield from _match_cloudformation(c, path, text, state)
    elif kind == "terraform":
        yield from _match_terraform(c, path, text)
    elif kind == "shell":
        yield from _match_lines(c, path, text, c.matcher.spec.command, shell=True)
    elif kind == "text":
        spec = c.matcher.spec
        if not spec.files or _glob_match(path, spec.files):
            yield from _match_lines(c, path, text, spec.pattern)


def _name_matches(callee: str, wanted: str, imported: set[str]) -> bool:
    if callee == wanted or callee.endswith("." + wanted):
        return True
    last = wanted.rsplit(".", 1)[-1]
    return "." in wanted and callee == last and last in imported  # `from tfma import SlicingSpec`


def _import_matches(imp: Any, prefixes: Sequence[str]) -> bool:
    """Whether an import brings in one of the modules ``prefixes`` (or a part or a parent of one)."""
    mod = imp.module.lstrip(".")
    for prefix in prefixes:
        if mod and (mod == prefix or mod.startswith(prefix + ".") or prefix.startswith(mod + ".")):
            return True
        if any(f"{mod}.{n}" == prefix or f"{mod}.{n}".startswith(prefix + ".") for n in imp.names):
            return True
    return False


def _imports_ok(py: PyFacts, prefixes: Sequence[str]) -> bool:
    return not prefixes or any(_import_matches(imp, prefixes) for imp in py.imports)


def _cell(py: PyFacts, line: int) -> int | None:
    if py.cell_of_line is not None and 0 < line < len(py.cell_of_line):
        return py.cell_of_line[line]
    return None


def _match_python(c: _Compiled, path: str, state: _ScanState) -> Iterator[SignalHit]:
    spec = c.matcher.spec
    py = state.python(path)
    if py is None:
        return
    is_test = py.is_test_file
    if (spec.where == "code" and is_test) or (spec.where == "tests" and not is_test):
        return
    if not _imports_ok(py, spec.imports):
        return
    imported = {n for imp in py.imports for n in imp.names}

    def hit(line: int, text: str) -> SignalHit:
        return SignalHit(c.signal, "python", path, None if py.cell_of_line is not None else line, text[:160],
                         _cell(py, line), None, is_test)

    found = False
    for call in py.calls:
        if not any(_name_matches(call.name, w, imported) for w in spec.calls):
            continue
        if spec.kwargs_any and not set(spec.kwargs_any) & set(call.kwargs):
            continue
        if spec.kwargs_none and set(spec.kwargs_none) & set(call.kwargs):
            continue
        if spec.kwargs_values:
            given = dict(call.values)
            if not all(k in given and linear.compile(p).search(given[k]) for k, p in spec.kwargs_values.items()):
                continue
        found = True
        yield hit(call.line, f"{call.name}({', '.join(call.kwargs[:4])})")
    for fn in py.functions:
        for deco in fn.decorators:
            if any(_name_matches(deco, w, imported) for w in spec.decorators):
                found = True
                yield hit(fn.line, f"@{deco} def {fn.name}")
    for name, bases, line in py.classes:
        if any(_name_matches(b, w, imported) for b in bases for w in spec.bases):
            found = True
            yield hit(line, f"class {name}({', '.join(bases)})")
    if not found and not (spec.calls or spec.decorators or spec.bases):
        imp = next((i for i in py.imports if _import_matches(i, spec.imports)), None)
        if imp is not None:
            yield hit(imp.line, f"import {imp.module}")


def _walk(node: Any, parts: Sequence[str], depth: int = 0) -> Iterator[tuple[Any, Any, Any]]:
    """(container, key, value) for every place the dotted key path reaches; lists are walked through."""
    if depth > MAX_DEPTH:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, parts, depth + 1)
        return
    if not isinstance(node, dict) or not parts:
        return
    head, rest = parts[0], parts[1:]
    keys = list(node.keys()) if head == "*" else ([head] if head in node else [])
    for key in keys:
        value = node[key]
        if rest:
            yield from _walk(value, rest, depth + 1)
        else:
            yield node, key, value


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _line_in(container: Any, key: Any, text: str, fallback: str) -> int | None:
    if isinstance(container, LineDict):
        return container.key_lines.get(key) or container.line or None
    if isinstance(container, LineList):
        return container.line or None
    needle = f'"{key}"' if isinstance(key, str) else fallback
    pos = text.find(needle)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


def _value_ok(pattern: str | None, value: Any) -> bool:
    if pattern is None:
        return True
    scalar = _scalar_text(value)
    if scalar is None and isinstance(value, list):
        return any(_value_ok(pattern, v) for v in value)
    return scalar is not None and linear.compile(pattern).search(scalar) is not None


@functools.lru_cache(maxsize=4096)
def _root_needed(keys: tuple[str, ...], kind: bool, api_group: bool) -> tuple[tuple[str, ...], ...]:
    """Groups of root keys a document must have one of each for a YAML matcher to match: the first part of one of
    its key paths (unless one starts with `*`), and ``kind`` / ``apiVersion`` when it names them."""
    groups: list[tuple[str, ...]] = []
    heads = {k.split(".", 1)[0] for k in keys}
    if "*" not in heads:
        groups.append(tuple(sorted(heads)))
    if kind:
        groups.append(("kind",))
    if api_group:
        groups.append(("apiVersion",))
    return tuple(groups)


def _match_yaml(c: _Compiled, path: str, text: str, state: _ScanState) -> Iterator[SignalHit]:
    spec = c.matcher.spec
    if spec.files and not _glob_match(path, spec.files):
        return
    needed = _root_needed(spec.keys, spec.kind is not None, bool(spec.api_group))
    if needed:
        # a key path starts at a document's root key (lists are walked through, but a root sequence makes the root
        # keys unknown): when the file's root keys are known from its lines and lack a needed one, no document can
        # match, and the file is not parsed (a CRD-heavy tree has megabytes of YAML whose roots are apiVersion,
        # kind, metadata and spec)
        roots = state.roots(path, text)
        if roots is not None:
            keys, kinds = roots
            if not all(any(k in keys for k in group) for group in needed):
                return
            if spec.kind is not None and kinds is not None and spec.kind not in kinds:
                return  # every root `kind:` is a plain word, and none is this one
    for doc in state.documents(path, text):
        if not isinstance(doc, dict):
            if spec.kind or spec.api_group:
                continue
        elif spec.kind is not None and doc.get("kind") != spec.kind or spec.api_group is not None and not str(doc.get("apiVersion", "")).startswith(spec.api_group):
            continue
        for key_path in spec.keys:
            for container, key, value in _walk(doc, key_path.split(".")):
                if not _value_ok(spec.value, value):
                    continue
                shown = _scalar_text(value)
                yield SignalHit(c.signal, "yaml", path, _line_in(container, key, text, str(key)),
                                f"{key_path}: {shown[:80]}" if shown is not None else key_path)
                return  # one hit per file and matcher: the first place it is configured


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _cdk_props_ok(spec: Any, path: str, body: str) -> bool:
    """A property path (`A.B.C`) is set in the construct's body: each of its keys is written there (`b=` in Python,
    `b:` in TypeScript), the last with a literal value matching the signal's value pattern when it has one."""
    if not spec.properties:
        return True
    for prop in spec.properties:
        keys = [_cdk_key(path, p) for p in prop.split(".")]
        # every key of the path is set in the body (the first may be the construct's own prop or a nested one's)
        if not all(re.search(k, body) for k in keys):
            continue
        if spec.value is None:
            return True
        for m in re.finditer(keys[-1] + r"\s*[\"']([^\"'\n]{0,200})[\"']", body):
            if _value_ok(spec.value, m.group(1)):
                return True
    return False


def _cdk_key(path: str, name: str) -> str:
    """A pattern for a CDK property being set: a keyword argument (`model_package_name=`) or a dict key in the
    JSII camelCase form (`"modelPackageName":`) in Python; an object key (`modelPackageName:`) in TypeScript."""
    camel = re.escape(_camel(name))
    if path.endswith(".py"):
        return rf"(?:\b{re.escape(_snake(name))}\s*=|[\"']{camel}[\"']\s*:)"
    return rf"(?:\b{camel}\s*:|[\"']{camel}[\"']\s*:)"


def _match_cdk(c: _Compiled, path: str, text: str, state: _ScanState) -> Iterator[SignalHit]:
    """A CDK L1 construct (`aws_sagemaker.CfnMonitoringSchedule(...)`, `new sagemaker.CfnEndpointConfig(...)`):
    the same CloudFormation resource, declared from code. Properties are keyword arguments in Python (snake_case) and
    object keys in TypeScript (camelCase), nested property objects included; a value pattern needs the value
    written as a literal, so a value built at run time cannot decide and does not match."""
    spec = c.matcher.spec
    construct = "Cfn" + spec.type.rsplit("::", 1)[-1]
    if f"{construct}(" not in text or ("aws_cdk" not in text and "aws-cdk" not in text):
        return
    if path.endswith(".py"):
        py = state.python(path)
        if py is None or py.is_test_file:
            return
    lines = text.split("\n")
    for number, raw in enumerate(lines, 1):
        if f"{construct}(" not in raw or raw.lstrip().startswith(("#", "//")):
            continue
        body = "\n".join(lines[number - 1: number + 120])  # the construct's props, written right after it
        nxt = body.find(f"{construct}(", len(raw))
        if nxt > 0:
            body = body[:nxt]  # not the next construct's
        if _cdk_props_ok(spec, path, body):
            yield SignalHit(c.signal, "cloudformation", path, number, raw.strip()[:160])
            return


def _match_cloudformation(c: _Compiled, path: str, text: str, state: _ScanState) -> Iterator[SignalHit]:
    spec = c.matcher.spec
    if path.endswith(CDK_SUFFIXES):
        yield from _match_cdk(c, path, text, state)
        return
    if spec.type not in text:
        return
    for doc in state.documents(path, text):
        resources = doc.get("Resources") if isinstance(doc, dict) else None
        if not isinstance(resources, dict):
            continue
        for name, resource in resources.items():
            if not isinstance(resource, dict) or resource.get("Type") != spec.type:
                continue
            line = _line_in(resources, name, text, spec.type)
            if not spec.properties:
                yield SignalHit(c.signal, "cloudformation", path, line, f"{name}: {spec.type}")
                continue
            props = resource.get("Properties")
            for prop in spec.properties:
                found = next(((ct, k, v) for ct, k, v in _walk(props, prop.split("."))
                              if _value_ok(spec.value, v)), None)
                if found is not None:
                    ct, k, v = found
                    shown = _scalar_text(v)
                    yield SignalHit(c.signal, "cloudformation", path, _line_in(ct, k, text, str(k)) or line,
                                    f"{name}: {spec.type} {prop}" + (f"={shown[:60]}" if shown is not None else ""))
                    break


@functools.lru_cache(maxsize=512)
def _tf_block_rx(resource: str) -> Any:
    return linear.compile(rf'resource\s+"{resource}"\s+"([^"]+)"\s*\{{')


def _block_end(text: str, start: int) -> int:
    """Index after the brace closing the block that opens at ``text[start] == '{'`` (strings skipped)."""
    depth = 0
    i, n = start, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#" or (ch == "/" and text.startswith("//", i)):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _match_terraform(c: _Compiled, path: str, text: str) -> Iterator[SignalHit]:
    spec = c.matcher.spec
    for m in _tf_block_rx(spec.resource).finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        if not spec.attributes:
            yield SignalHit(c.signal, "terraform", path, line, f'resource "{spec.resource}" "{m.group(1)}"')
            continue
        body_start = m.end() - 1
        body = text[body_start:_block_end(text, body_start)]
        for number, raw in enumerate(body.split("\n")):
            stripped = raw.strip()
            for attr in spec.attributes:
                if not stripped.startswith(attr):
                    continue
                rest = stripped[len(attr):].lstrip()
                if not rest.startswith(("=", "{")):
                    continue
                value = rest[1:].strip().strip('"') if rest.startswith("=") else ""
                if spec.value is not None and not linear.compile(spec.value).search(value):
                    continue
                yield SignalHit(c.signal, "terraform", path, line + number,
                                f'{spec.resource}.{m.group(1)}: {stripped[:80]}')
                break
            else:
                continue
            break


def _is_comment(path: str, stripped: str) -> bool:
    return stripped.startswith(COMMENT_PREFIXES) and not path.endswith(DOC_SUFFIXES)


_last_utf8: list[Any] = [None, b""]


def _utf8(text: str) -> bytes | None:
    """``text`` as UTF-8 (kept for the last text: the matchers of one file ask in a row); None if not encodable."""
    if _last_utf8[0] is not text:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates (from a notebook's JSON escapes)
            return None
        _last_utf8[0], _last_utf8[1] = text, data
    return _last_utf8[1]  # type: ignore[no-any-return]


def _unanchored(pattern: str) -> bool:
    """Whether a pattern has no anchor: then a match in a stripped line is a match in the whole text (the
    characters strip() removes and the newlines around a line are not word characters, so \\b is unchanged)."""
    if any(a in pattern for a in ("\\A", "\\z", "\\Z")):
        return False
    bare = _CLASSES.sub("", _ESCAPES.sub("", pattern))  # `\$` is a dollar sign and `[^,]` a negated class
    return "^" not in bare and "$" not in bare


_ESCAPES = re.compile(r"\\.")
_CLASSES = re.compile(r"\[\^?\]?[^\]]*\]")


def _match_lines(c: _Compiled, path: str, text: str, pattern: str, *, shell: bool = False) -> Iterator[SignalHit]:
    rx = linear.compile(pattern)
    if _unanchored(pattern):
        data = _utf8(text)
        if data is not None:
            yield from _match_lines_unanchored(c, path, data, rx, shell)
            return
    for number, raw in enumerate(text.split("\n"), 1):
        if len(raw) > MAX_LINE:
            continue
        stripped = raw.strip()
        if not stripped or _is_comment(path, stripped):
            continue
        if rx.search(stripped):
            yield SignalHit(c.signal, "shell" if shell else "text", path, number, stripped[:160])
            return  # the first line of a file is evidence enough


def _match_lines_unanchored(c: _Compiled, path: str, data: bytes, rx: Any, shell: bool) -> Iterator[SignalHit]:
    """The first line that matches, found by searching the whole text and checking only the line each match starts
    on (a pattern without anchors matches a line exactly when the text has a match starting in it and confined to
    it), instead of one search per line: linear in the text, however many lines it has."""
    pos = 0
    while True:
        m = rx.search(data, pos)
        if m is None:
            return
        start = data.rfind(b"\n", 0, m.start()) + 1
        end = data.find(b"\n", m.start())
        end = len(data) if end < 0 else end
        raw = data[start:end]
        if len(raw) <= MAX_LINE:
            stripped = raw.decode("utf-8", "replace").strip()
            if stripped and not _is_comment(path, stripped) and rx.search(stripped):
                number = data.count(b"\n", 0, start) + 1
                yield SignalHit(c.signal, "shell" if shell else "text", path, number, stripped[:160])
                return  # the first line of a file is evidence enough
        if end >= len(data):
            return
        pos = end + 1


def _match_commands(c: _Compiled, commands: Sequence[Command]) -> Iterator[SignalHit]:
    rx = linear.compile(c.matcher.spec.command)
    seen: set[tuple[str, int | None]] = set()
    for cmd in commands:
        if (cmd.path, cmd.line) in seen or not rx.search(cmd.text[:MAX_LINE]):
            continue
        seen.add((cmd.path, cmd.line))
        yield SignalHit(c.signal, "shell", cmd.path, cmd.line, cmd.text.strip()[:160], run=cmd.run)


_HEADING = linear.compile(r"(?m)^[ \t]{0,3}(#{1,4})[ \t]+([^\n]+)$")


def _sections(facts: RepoFacts, state: _ScanState) -> list[tuple[str, int, str, str]]:
    """(path, line, heading, body) of every Markdown section of the docs (computed once per scan)."""
    if state.sections is not None:
        return state.sections
    out: list[tuple[str, int, str, str]] = []
    for path, text in facts.docs():
        heads = list(_HEADING.finditer(text))
        for i, m in enumerate(heads):
            end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            heading = m.group(2).strip().rstrip("#").strip()
            out.append((path, text.count("\n", 0, m.start()) + 1, heading, text[m.end():end][:6000]))
    state.sections = out
    return out


def _match_docs(c: _Compiled, facts: RepoFacts, state: _ScanState) -> Iterator[SignalHit]:
    spec = c.matcher.spec
    heading_rx = linear.compile(spec.heading)
    body_rx = linear.compile(spec.body) if spec.body else None
    for path, line, heading, body in _sections(facts, state):
        if heading_rx.search(heading) and (body_rx is None or body_rx.search(body)):
            yield SignalHit(c.signal, "docs", path, line, heading[:120])


def _match_paths(c: _Compiled, facts: RepoFacts) -> Iterator[SignalHit]:
    spec = c.matcher.spec
    rx = linear.compile(spec.contains) if spec.contains else None
    for path in facts.paths():
        if not _glob_match(path, spec.globs):
            continue
        if rx is None:
            yield SignalHit(c.signal, "path", path, 1, path.rsplit("/", 1)[-1])
            continue
        text = facts.read(path) or ""
        for number, raw in enumerate(text.split("\n"), 1):
            if len(raw) <= MAX_LINE and rx.search(raw):
                yield SignalHit(c.signal, "path", path, number, raw.strip()[:160])
                break
