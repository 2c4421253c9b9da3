"""Safe, size-limited YAML loading with line numbers, which defuses alias bombs and never raises.

Public API
- ``load_yaml_docs(path, text, *, max_bytes, max_nodes) -> (docs, diagnostics)``: every document of a YAML
  stream, constructed with the safe constructor. Mappings come back as :class:`LineDict` and sequences as
  :class:`LineList` (plain ``dict``/``list`` subclasses that also carry ``.line`` and per-key / per-item lines).
  Documents whose alias-expanded size exceeds ``max_nodes`` (billion laughs) or that are recursive are refused
  with a Diagnostic; so are files over ``max_bytes``. A malformed file yields the documents before the error
  and one Diagnostic; nothing escapes as an exception.
- ``load_yaml(path, text, ...) -> (doc | None, diagnostics)``: the first document only.
- ``strip_templates(text) -> str``: blank out Go/Jinja template expressions (Helm charts, ``{{ }}``,
  ``{% %}``) keeping every line in place, so templated YAML can be parsed best-effort.
- ``line_of(obj, key=None) -> int | None``: the 1-based line of a mapping/sequence, or of one key/item in it.
- ``value_line(mapping, key) -> int | None``: the line where a key's value text starts (block scalars ``|``/``>``
  start on the line after the indicator).
- ``text_lines(obj) -> str``: helper; coerce scalars (and lists of scalars) to text for command fields.
"""

from __future__ import annotations

import contextlib
import re
from collections import OrderedDict
from typing import Any

import yaml

from mlscore.facts.alloc import gc_paused
from mlscore.models import Diagnostic

MAX_BYTES = 2_000_000
MAX_NODES = 200_000

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping from YAML that remembers where it and each of its keys start (1-based lines)."""

    line: int = 0
    key_lines: dict[Any, int]
    value_lines: dict[Any, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}
        self.value_lines = {}


class LineList(list):  # type: ignore[type-arg]
    """A sequence from YAML that remembers where it and each of its items start (1-based lines)."""

    line: int = 0
    item_lines: list[int]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines = []


class _TooBig(Exception):
    pass


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader used for parsing and composing only; ``_build`` turns nodes into line-aware data."""


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


def _scalar(loader: Any, node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return node.value.lower() in ("yes", "true", "on", "y")
    if tag == "tag:yaml.org,2002:int":
        try:
            return loader.construct_yaml_int(node)
        except (ValueError, TypeError):
            return node.value
    if tag == "tag:yaml.org,2002:float":
        try:
            return loader.construct_yaml_float(node)
        except (ValueError, TypeError):
            return node.value
    return node.value  # timestamps, binary, unknown tags (!Ref ...): plain text, never objects


def _build(loader: Any, node: yaml.Node, memo: dict[int, Any]) -> Any:
    """Python data for a composed node: LineDict/LineList/scalars; shared (aliased) nodes built once."""
    key = id(node)
    if key in memo:
        return memo[key]
    if isinstance(node, yaml.ScalarNode):
        value = _scalar(loader, node)
        memo[key] = value
        return value
    if isinstance(node, yaml.SequenceNode):
        seq = LineList()
        seq.line = node.start_mark.line + 1
        memo[key] = seq
        for child in node.value:
            seq.append(_build(loader, child, memo))
            seq.item_lines.append(child.start_mark.line + 1)
        return seq
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    memo[key] = mapping
    merged: list[tuple[Any, Any, int]] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for src in sources:
                built = _build(loader, src, memo)
                if isinstance(built, dict):
                    src_lines = getattr(built, "key_lines", {})
                    merged.extend((k, v, src_lines.get(k, mapping.line)) for k, v in built.items())
            continue
        k = _build(loader, key_node, memo)
        try:
            hash(k)
        except TypeError:
            k = str(k)
        mapping[k] = _build(loader, value_node, memo)
        mapping.key_lines[k] = key_node.start_mark.line + 1
        # where the value's text starts: block scalars (| and >) begin on the line after their indicator
        block = isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">")
        mapping.value_lines[k] = value_node.start_mark.line + (2 if block else 1)
    for k, v, line in merged:
        if k not in mapping:
            mapping[k] = v
            mapping.key_lines[k] = line
    return mapping


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Count nodes as if every alias were expanded; raise _TooBig over ``limit`` or on recursion."""
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in active:
            raise _TooBig("recursive alias")
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
                if total > limit:
                    raise _TooBig(f"more than {limit} nodes after alias expansion")
        elif isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
                if total > limit:
                    raise _TooBig(f"more than {limit} nodes after alias expansion")
        active.discard(key)
        memo[key] = total
        return total

    # Deep nesting is bounded by the parser's own recursion; guard against RecursionError anyway.
    try:
        return size(root)
    except RecursionError as exc:
        raise _TooBig("nesting too deep") from exc


_ANCHOR = re.compile(r"&[^\s&]")


#: Parsed documents are kept for reuse (several extractors and the signal scan read the same files) while their
#: sources add up to at most this many characters; a source larger than CACHE_ONE is never kept.
CACHE_CHARS = 4_000_000
CACHE_ONE = 1_000_000
_cache: OrderedDict[tuple[str, str, int, int], tuple[list[Any], list[Diagnostic]]] = OrderedDict()
_cached_chars = 0


def clear_cache() -> None:
    """Forget every parsed document (the engine's audits share nothing; tests)."""
    global _cached_chars
    _cache.clear()
    _cached_chars = 0


def load_yaml_docs(
    path: str, text: str, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES
) -> tuple[list[Any], list[Diagnostic]]:
    """All documents of ``text`` (safe constructor, line-aware), plus Diagnostics for what was refused.

    Each file is parsed once: the result for the same path and text is kept (within ``CACHE_CHARS``) and
    returned again to the next reader, so the documents are shared and must not be modified.
    """
    global _cached_chars
    if len(text) > max_bytes:
        return [], [Diagnostic(path=path, message=f"YAML file larger than {max_bytes} bytes, not parsed")]
    key = (path, text, max_bytes, max_nodes)
    found = _cache.get(key)
    if found is not None:
        _cache.move_to_end(key)
        return found[0], list(found[1])
    with gc_paused():
        docs, diags = _parse(path, text, max_nodes)
    if len(text) <= CACHE_ONE:
        _cache[key] = (docs, list(diags))
        _cached_chars += len(text)
        while _cached_chars > CACHE_CHARS and _cache:
            (_p, old, _b, _n), _v = _cache.popitem(last=False)
            _cached_chars -= len(old)
    return docs, diags


def _parse(path: str, text: str, max_nodes: int) -> tuple[list[Any], list[Diagnostic]]:
    docs: list[Any] = []
    diags: list[Diagnostic] = []
    has_anchors = _ANCHOR.search(text) is not None  # no anchors: no aliases, no bomb
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if has_anchors:
                _expanded_size(node, max_nodes)
            docs.append(_build(loader, node, {}))
    except _TooBig as exc:
        diags.append(Diagnostic(path=path, message=f"YAML refused: {exc} (alias bomb?)"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        diags.append(Diagnostic(path=path, message=f"malformed YAML{where}: {problem}"))
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        diags.append(Diagnostic(path=path, message=f"YAML not readable: {type(exc).__name__}"))
    finally:
        with contextlib.suppress(Exception):  # disposal must never mask the result
            loader.dispose()
    return docs, diags


def load_yaml(
    path: str, text: str, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES
) -> tuple[Any, list[Diagnostic]]:
    """The first document of ``text`` (or None), plus Diagnostics."""
    docs, diags = load_yaml_docs(path, text, max_bytes=max_bytes, max_nodes=max_nodes)
    return (docs[0] if docs else None), diags


_TEMPLATE_LINE = re.compile(r"^\s*(\{\{-?\s*(if|else|end|range|with|define|template|include|/\*|-?\s*\$)"
                            r"[^\n]*\}\}\s*|\{%-?[^\n]*%\}\s*)$")
_TEMPLATE_PAIRS = {"{{": "}}", "{%": "%}", "{#": "#}"}


def _replace_expressions(line: str) -> str:
    """``{{ expr }}``, ``{% tag %}`` and ``{# comment #}`` replaced by ``TEMPLATE``, leftmost first; an opener
    without its closer is left as it is.

    Linear in the line: the lazy pattern ``\\{\\{.*?\\}\\}`` rescanned the rest of the line from every unclosed
    ``{{`` (quadratic on a long line of them); here each opener and each missing closer is looked for once.
    """
    out: list[str] = []
    pos = 0
    ahead = {opener: line.find(opener) for opener in _TEMPLATE_PAIRS}  # next occurrence at or after pos (-1: none)
    while True:
        for opener, at in ahead.items():
            if 0 <= at < pos:
                ahead[opener] = line.find(opener, pos)
        live = [(at, opener) for opener, at in ahead.items() if at >= 0]
        if not live:
            break
        i, opener = min(live)
        end = line.find(_TEMPLATE_PAIRS[opener], i + 2)
        if end < 0:
            ahead[opener] = -1  # no closer after i, so none after any later opener of this kind either
            continue
        out.append(line[pos:i])
        out.append("TEMPLATE")
        pos = end + 2
    out.append(line[pos:])
    return "".join(out)



_DOC_START = re.compile(r"^---(?:[ \t]|$)")
_CRD_KIND = re.compile(r"^kind:[ \t]*[\"']?CustomResourceDefinition[\"']?[ \t]*(?:#.*)?$")


def without_crds(text: str) -> str:
    """``text`` with every CustomResourceDefinition document blanked line for line (line numbers are kept).

    A CRD is an API schema (often megabytes of OpenAPI in generated install bundles): it deploys, serves and
    monitors nothing, and parsing it is most of the cost of auditing a repository that vendors its operator's
    manifests. A document is a CRD when a line at column 0 reads ``kind: CustomResourceDefinition``."""
    if "CustomResourceDefinition" not in text:
        return text
    lines = text.split("\n")
    out: list[str] = []
    doc: list[str] = []
    crd = False

    def flush() -> None:
        out.extend([""] * len(doc) if crd else doc)

    for line in lines:
        if _DOC_START.match(line):
            flush()
            doc, crd = [line], False
            continue
        doc.append(line)
        if not crd and line.startswith("kind:") and _CRD_KIND.match(line):
            crd = True
    flush()
    return "\n".join(out)


def strip_templates(text: str) -> str:
    """Blank template control lines and replace inline ``{{ expr }}`` with ``TEMPLATE``; lines stay in place."""
    out: list[str] = []
    for raw in text.split("\n"):
        if _TEMPLATE_LINE.match(raw):
            out.append("")
            continue
        if "{{" in raw or "{%" in raw:
            stripped = raw.strip()
            if stripped.startswith(("{{", "{%")) and stripped.endswith(("}}", "%}")) and ":" not in stripped:
                out.append("")  # a whole-line include such as {{ toYaml .Values.x | nindent 4 }}
                continue
            raw = _replace_expressions(raw)
        out.append(raw)
    return "\n".join(out)


def line_of(obj: Any, key: Any = None) -> int | None:
    """1-based line of ``obj`` (a LineDict/LineList), or of ``key`` (mapping key or list index) within it."""
    if key is None:
        line = getattr(obj, "line", 0)
        return line or None
    if isinstance(obj, LineDict):
        return obj.key_lines.get(key) or obj.line or None
    if isinstance(obj, LineList) and isinstance(key, int) and 0 <= key < len(obj.item_lines):
        return obj.item_lines[key]
    return getattr(obj, "line", 0) or None


def value_line(obj: Any, key: Any) -> int | None:
    """1-based line where the value of ``key`` starts in a LineDict (block scalars: the line after ``|``)."""
    if isinstance(obj, LineDict):
        return obj.value_lines.get(key) or obj.key_lines.get(key)
    return None


def as_dict(value: Any) -> dict[Any, Any]:
    """``value`` if it is a mapping, else an empty dict (YAML documents have any shape)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a sequence, else an empty list."""
    return value if isinstance(value, list) else []


def text_lines(value: Any) -> str | None:
    """A command-ish YAML value as text: strings as-is, lists of scalars joined by newlines, else None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    if isinstance(value, list):
        parts = [text_lines(v) for v in value]
        return "\n".join(p for p in parts if p)
    return None


# -- the root keys of a YAML stream, read from its lines (no parse) ---------------------------------------------

#: A line at column 0 that is not blank, not a comment and not indented: the only lines that can hold a root key.
_COLUMN0 = re.compile(r"(?m)^[^ \t\r\n#][^\n]*")
#: Characters that open something other than a plain key at column 0 (explicit keys, anchors, tags, aliases, flow
#: collections, quoted keys, block scalars, directives, reserved): the stream is then "unknown".
_NOT_PLAIN = frozenset("?&!*{[\"'|>%@`")
_KEY_END = re.compile(r":(?:[ \t]|\r?$)")


_SIMPLE_VALUE = re.compile(r"""^(?:"([\w.-]*)"|'([\w.-]*)'|([\w.-]+))[ \t]*(?:#.*)?$""")


def root_keys(text: str) -> frozenset[str] | None:
    """The keys of the root mappings of every document of ``text`` (see :func:`yaml_roots`), or None."""
    roots = yaml_roots(text)
    return roots[0] if roots is not None else None


def yaml_roots(text: str) -> tuple[frozenset[str], frozenset[str] | None] | None:
    """(root keys, root ``kind`` values) of every document of ``text``, read from its lines, or None when the root
    keys cannot be read exactly; the kinds are None when one of them is not a simple one-line scalar."""
    found: list[set[str] | None] = [set()]
    keys = _root_keys(text, found)
    if keys is None:
        return None
    kinds = found[0]
    return keys, (frozenset(kinds) if kinds is not None else None)


def _root_keys(text: str, found: list[set[str] | None]) -> frozenset[str] | None:
    """The keys of the root mappings of every document of ``text``, read from its lines, or None when that cannot
    be done exactly (then parse it).

    In a block mapping at column 0 (the usual shape of a configuration or manifest: ``apiVersion:``, ``jobs:``...)
    every root key is a plain scalar at the start of a line and nothing at column 0 is anything else but a sequence
    entry of a root value, a comment or a document marker. Every other shape is refused (None): a document whose
    first content line is indented, a sequence, a flow collection or a scalar; explicit (``?``), anchored, tagged,
    aliased, quoted or merge (``<<``) keys; directives and ``...`` markers. The answer may hold keys a parser would
    reject (a malformed line), never miss one it would build, so "no key path can start here" is exact.
    """
    if "\ufeff" in text or "\x85" in text or "\u2028" in text or "\u2029" in text or (
            "\r" in text and text.count("\r") != text.count("\r\n")):
        return None  # a byte-order mark, or line breaks YAML knows and a split on "\n" does not
    keys: set[str] = set()
    expect_first = True  # the next content line is the first of a document
    pos = 0
    for m in _COLUMN0.finditer(text):
        line = m.group(0).rstrip("\r")
        if expect_first:
            # the first content line of the document must be this column-0 line: nothing but blanks and comments
            # (at any indentation) may come before it
            gap = text[pos:m.start()]
            if any(part.strip() and not part.lstrip().startswith("#") for part in gap.split("\n")):
                return None
        pos = m.end()
        if line.startswith("---") and (len(line) == 3 or line[3] in " \t"):
            rest = line[3:].strip()
            if rest and not rest.startswith("#"):
                return None  # `--- {..}`, `--- |`, `--- !tag`: the root is on the marker's line
            expect_first = True
            continue
        if line.startswith("..."):
            return None
        first = line[0]
        if first == "-" and (len(line) == 1 or line[1] in " \t"):
            if expect_first:
                return None  # a root sequence
            continue  # an entry of a root key's block sequence (`key:` then `- a` at column 0)
        if first in _NOT_PLAIN or line.startswith("<<"):
            return None
        end = _KEY_END.search(line)
        if end is None:
            if expect_first:
                return None  # a root scalar, or not YAML we can read by lines
            continue  # not a key: the parser rejects the document, so it yields no keys from here
        key = line[:end.start()].rstrip()
        keys.add(key)
        kinds = found[0]
        if key == "kind" and kinds is not None:
            # the value as a parser builds it, when it is a plain or quoted word on this line and no indented line
            # continues it (a folded or nested value is never a simple word; then the kinds are unknown)
            value = _SIMPLE_VALUE.match(line[end.end():].strip())
            if value is None or text[m.end() + 1:m.end() + 2] in (" ", "\t"):
                found[0] = None
            else:
                kinds.add(next(g for g in value.groups() if g is not None))
        expect_first = False
    if expect_first and text[pos:].strip() and not all(
            not part.strip() or part.lstrip().startswith("#") for part in text[pos:].split("\n")):
        return None
    return frozenset(keys)
