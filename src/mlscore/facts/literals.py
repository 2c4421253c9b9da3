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


class LiteralIndex:
    """Answers "does the text of this path contain one of these literals?" for the texts of one audit."""

    def __init__(self, text_of: Callable[[str], str | None]) -> None:
        self._text_of = text_of
        self._lowered: dict[str, bytes] = {}
        self._kept = 0
        self._ids: dict[str, int] = {}
        self._matchers: dict[tuple[str, ...], tuple[_Matcher, bytearray]] = {}

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
        number = self._ids.get(path)
        if number is not None:
            for _matcher, answers in self._matchers.values():
                if number < len(answers):
                    answers[number] = _UNKNOWN

    def contains_any(self, path: str, literals: tuple[str, ...]) -> bool:
        """Whether the lower-cased text of ``path`` contains one of ``literals`` (False when there is no text)."""
        entry = self._matchers.get(literals)
        if entry is None:
            entry = self._matchers[literals] = (_Matcher(literals), bytearray())
        matcher, answers = entry
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
        found = data is not None and matcher(data)
        answers[number] = _YES if found else _NO
        return found

    def files_containing(self, paths: Iterable[str], literals: tuple[str, ...]) -> list[str]:
        """The ``paths`` whose lower-cased text contains one of ``literals``, in order."""
        return [p for p in paths if self.contains_any(p, literals)]
