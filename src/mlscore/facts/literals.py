"""Which texts contain which lower-case literals: the cheap test before every regular expression or parse.

Detectors ask "does this file contain one of these words?" (``RepoFacts.has_any``, the ``literals`` of ``grep``,
``python_matching`` and ``tests``) and the signal scan asks "which of the catalog's ~1,000 literals does this text
contain?". Both are answered here, over each text's lower-cased UTF-8 bytes, by RE2 (``google-re2``, a core
dependency): one DFA pass per text whatever the number of literals, in C, and linear in the text.

- ``LiteralIndex.contains_any(path, literals)``: one RE2 alternation per literal tuple, run over one file when it is
  asked about (so a question about Python files never reads YAML), the answer kept per file.
- ``Vocabulary(literals).present(data)``: the literals of a fixed vocabulary that occur in a text, one RE2 ``Set``
  pass (the signal scan's prefilter).

Substring semantics are exactly those of ``literal in text.lower()``: a UTF-8 needle occurs in UTF-8 bytes exactly
where the string occurs in the string, and a literal that is not lower-case can never occur in a lower-cased text,
so it is left out. The lower-cased bytes of small texts are kept (within a budget); large ones are computed again
when asked about, so they are never all held at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

__all__ = ["LiteralIndex", "Vocabulary", "lowered"]

#: Lower-cased bytes of texts up to this size are kept for later questions...
KEEP_BYTES = 256 * 1024
#: ...until they add up to this much; past it they are computed again on each question.
KEEP_TOTAL = 48 * 1024 * 1024
#: RE2's memory for one pattern or set (its DFA is built lazily within this budget).
MAX_MEM = 64 << 20

_UNKNOWN, _NO, _YES = 0, 1, 2

try:  # pragma: no branch - google-re2 is a core dependency with wheels for every supported platform
    from re2 import _re2 as _engine

    _UNANCHORED = _engine.RE2.Anchor.UNANCHORED
except ImportError:  # pragma: no cover
    _engine = None
    _UNANCHORED = None


def _options() -> object:
    import re2

    options = re2.Options()
    options.max_mem = MAX_MEM
    options.log_errors = False
    return options


def lowered(text: str) -> bytes:
    """``text.lower()`` as UTF-8 bytes (what every literal is searched in)."""
    low = text.lower()
    return low.encode("ascii") if low.isascii() else low.encode("utf-8", "surrogatepass")


def _usable(literals: Iterable[str]) -> list[bytes]:
    """The literals that can occur in a lower-cased text, as UTF-8, without duplicates, in order."""
    out: list[bytes] = []
    seen: set[bytes] = set()
    for lit in literals:
        if not lit or lit.lower() != lit:
            continue  # "" is in every text; an upper-case letter is in no lower-cased text
        data = lit.encode("utf-8", "surrogatepass")
        if data not in seen:
            seen.add(data)
            out.append(data)
    return out


class _Matcher:
    """"Does this text contain one of these literals?": one RE2 alternation, stopping at the first occurrence."""

    __slots__ = ("_match", "_empty", "_needles", "_rx")

    def __init__(self, literals: Sequence[str]) -> None:
        needles = _usable(literals)
        self._needles = needles
        self._empty = not needles
        self._rx = None
        self._match = None
        if needles and _engine is not None:
            rx = _engine.RE2(b"|".join(_engine.RE2.QuoteMeta(n) for n in needles), _options())
            if rx.ok():
                self._rx = rx
                self._match = rx.Match

    def __call__(self, data: bytes) -> bool:
        if self._empty:
            return False
        if self._match is not None:
            return self._match(_UNANCHORED, data, 0, len(data))[0][0] != -1
        return any(n in data for n in self._needles)  # pragma: no cover - without RE2


class Vocabulary:
    """A fixed list of lower-case literals and which of them occur in a text: one RE2 ``Set`` pass per text."""

    def __init__(self, literals: Iterable[str]) -> None:
        self.literals: tuple[str, ...] = tuple(sorted(set(literals)))
        usable = {lit for lit in self.literals if lit and lit.lower() == lit}
        self._ids: list[int] = []  # set index -> literal index
        self._position: dict[str, int] | None = None
        self._set = None
        self._fallback: list[tuple[int, bytes]] = []
        if _engine is not None and usable:
            candidate = _engine.Set(_UNANCHORED, _options())
            ok = True
            for i, lit in enumerate(self.literals):
                if lit not in usable:
                    continue
                if candidate.Add(_engine.RE2.QuoteMeta(lit.encode("utf-8", "surrogatepass"))) < 0:
                    ok = False
                    break
                self._ids.append(i)
            # RE2 reports a Set it could not run (its DFA out of memory) as "nothing matched": prove once, on a
            # text holding every literal, that this one runs within its budget, else search literal by literal
            if ok and candidate.Compile():
                probe = b"\0".join(lit.encode("utf-8", "surrogatepass") for lit in self.literals if lit in usable)
                if len(candidate.Match(probe)) == len(self._ids):
                    self._set = candidate
            if self._set is None:  # pragma: no cover - RE2 refuses only beyond its memory budget
                self._ids = []
        if self._set is None:
            self._fallback = [(i, lit.encode("utf-8", "surrogatepass")) for i, lit in enumerate(self.literals)
                              if lit in usable]

    def __len__(self) -> int:
        return len(self.literals)

    def query_mask(self, literals: Iterable[str]) -> int | None:
        """Bit mask of ``literals`` in this vocabulary (literals that cannot occur are left out), or None when one
        that can occur is not in it."""
        position = self._position
        if position is None:
            position = self._position = {lit: i for i, lit in enumerate(self.literals)}
        mask = 0
        for lit in literals:
            if not lit or lit.lower() != lit:
                continue
            i = position.get(lit)
            if i is None:
                return None
            mask |= 1 << i
        return mask

    def mask(self, data: bytes) -> int:
        """Bit mask of the literals that occur in ``data`` (bit ``i``: ``self.literals[i]``)."""
        out = 0
        if self._set is not None:
            ids = self._ids
            for k in self._set.Match(data):
                out |= 1 << ids[k]
            return out
        for i, needle in self._fallback:
            if needle in data:
                out |= 1 << i
        return out

    def present(self, data: bytes) -> set[str]:
        """The literals that occur in ``data`` (lower-cased UTF-8 bytes, see :func:`lowered`)."""
        literals = self.literals
        if self._set is not None:
            found = self._set.Match(data)
            if found is None:  # pragma: no cover - RE2 ran out of its DFA memory: search each literal
                return {literals[i] for i in self._ids if literals[i].encode("utf-8", "surrogatepass") in data}
            ids = self._ids
            return {literals[ids[k]] for k in found}
        return {literals[i] for i, needle in self._fallback if needle in data}


#: From this many texts on, questions whose literals all appear in the code of the modules that ask them are answered
#: from one ``Set`` pass per file over all those literals (a bit mask per file), not one pass per question and file.
VOCABULARY_FILES = 1000
#: Modules whose string constants (literal tuples, regular expressions) make that vocabulary: the ones that ask.
VOCABULARY_MODULES = ("mlscore.detectors", "mlscore.facts.integrate")

_vocabulary: Vocabulary | None = None


def asked_vocabulary() -> Vocabulary:
    """The literals the detectors can ask about, read from their code: every string constant of the modules in
    ``VOCABULARY_MODULES`` (module values, tuples, compiled patterns, function constants) as a literal, and the
    literals ``required_literals`` finds in it as a pattern. Built once per process.

    It only decides how a question is answered, never what the answer is: a question with a literal outside it is
    answered file by file, as on a small tree."""
    global _vocabulary
    if _vocabulary is None:
        import re
        import sys
        import types

        from mlscore.facts.repo import required_literals

        strings: set[str] = set()

        def add(value: object) -> None:
            if isinstance(value, str):
                strings.add(value)
            elif isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                strings.add(value.pattern)
            elif isinstance(value, (tuple, list, set, frozenset)):
                for item in value:
                    if isinstance(item, str):
                        strings.add(item)

        def code(obj: types.CodeType) -> None:
            for const in obj.co_consts:
                if isinstance(const, types.CodeType):
                    code(const)
                else:
                    add(const)

        for name, module in list(sys.modules.items()):
            if module is None or not name.startswith(VOCABULARY_MODULES):
                continue
            for value in list(vars(module).values()):
                add(value)
                for member in (vars(value).values() if isinstance(value, type) else (value,)):
                    func = getattr(member, "__code__", None)
                    if isinstance(func, types.CodeType):
                        code(func)
        words: set[str] = set()
        for text in strings:
            if "\n" in text or len(text) > 4000:
                continue  # docstrings, messages
            if len(text) <= 64:
                words.add(text.lower())
            found = required_literals(text)
            if found:
                words.update(found)
        _vocabulary = Vocabulary(words)
    return _vocabulary


class LiteralIndex:
    """Answers "does the text of this path contain one of these literals?" for the texts of one audit.

    ``files``: how many texts the tree has; from ``VOCABULARY_FILES`` on, the asked vocabulary is used."""

    def __init__(self, text_of: Callable[[str], str | None], files: int = 0) -> None:
        self._text_of = text_of
        self._lowered: dict[str, bytes] = {}
        self._kept = 0
        self._ids: dict[str, int] = {}
        self._matchers: dict[tuple[str, ...], tuple[_Matcher | None, bytearray, int | None]] = {}
        self._vocabulary = asked_vocabulary() if files >= VOCABULARY_FILES else None
        self._masks: dict[str, int] = {}
        # the same tuple object is asked about again and again (a detector's constant): found by identity first
        self._by_id: dict[int, tuple[tuple[str, ...], tuple[_Matcher | None, bytearray, int | None]]] = {}

    def lowered(self, path: str, text: str | None = None) -> bytes | None:
        """The lower-cased UTF-8 bytes of the text of ``path`` (None when there is no text)."""
        data = self._lowered.get(path)
        if data is not None:
            return data
        if text is None:
            text = self._text_of(path)
            if text is None:
                return None
        data = lowered(text)
        if len(data) <= KEEP_BYTES and self._kept + len(data) <= KEEP_TOTAL:
            self._lowered[path] = data
            self._kept += len(data)
        return data

    def forget(self, path: str) -> None:
        """Drop what is known about ``path`` (its text changed)."""
        data = self._lowered.pop(path, None)
        if data is not None:
            self._kept -= len(data)
        self._masks.pop(path, None)
        number = self._ids.get(path)
        if number is not None:
            for _matcher, answers, _mask in self._matchers.values():
                if number < len(answers):
                    answers[number] = _UNKNOWN

    def _query(self, literals: tuple[str, ...]) -> tuple[_Matcher | None, bytearray, int | None]:
        entry = self._matchers.get(literals)
        if entry is None:
            mask = self._vocabulary.query_mask(literals) if self._vocabulary is not None else None
            entry = (None if mask is not None else _Matcher(literals)), bytearray(), mask
            self._matchers[literals] = entry
        if len(self._by_id) > 4096:
            self._by_id.clear()
        self._by_id[id(literals)] = (literals, entry)
        return entry

    def _mask(self, path: str) -> int:
        data = self.lowered(path)
        present = self._masks[path] = 0 if data is None or self._vocabulary is None else self._vocabulary.mask(data)
        return present

    def contains_any(self, path: str, literals: tuple[str, ...]) -> bool:
        """Whether the lower-cased text of ``path`` contains one of ``literals`` (False when there is no text)."""
        known_entry = self._by_id.get(id(literals))
        entry = known_entry[1] if known_entry is not None and known_entry[0] is literals else self._query(literals)
        matcher, answers, qmask = entry
        if qmask is not None:  # every literal is in the vocabulary: one Set pass per file answers them all
            present = self._masks.get(path)
            if present is None:
                present = self._mask(path)
            return bool(present & qmask)
        number = self._ids.get(path)
        if number is None:
            number = self._ids[path] = len(self._ids)
        if number < len(answers):
            known = answers[number]
            if known:
                return known == _YES
        else:
            answers.extend(b"\0" * (number + 1 - len(answers)))
        data = self.lowered(path)
        found = data is not None and matcher is not None and matcher(data)
        answers[number] = _YES if found else _NO
        return found

    def files_containing(self, paths: Iterable[str], literals: tuple[str, ...]) -> list[str]:
        """The ``paths`` whose lower-cased text contains one of ``literals``, in order."""
        qmask = self._query(literals)[2]
        if qmask is None:
            return [p for p in paths if self.contains_any(p, literals)]
        masks, out = self._masks, []
        for p in paths:
            present = masks.get(p)
            if present is None:
                present = self._mask(p)
            if present & qmask:
                out.append(p)
        return out
