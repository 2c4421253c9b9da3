"""Linear-time pattern matching for repository text.

The audited tree may come from a stranger's pull request, so a pattern that backtracks is a denial of service.
Patterns that run over repository text compile here: with RE2 (``google-re2``), whose matching time is linear in
the text whatever the pattern, when it is installed (it is a core dependency); with Python's ``re`` otherwise,
where only patterns proved linear by ``tests/safety`` may be used.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Protocol

__all__ = ["LinearPattern", "compile", "engine", "validate"]


class LinearPattern(Protocol):
    pattern: str

    def search(self, text: str, pos: int = ..., endpos: int = ...) -> Any: ...
    def finditer(self, text: str, pos: int = ..., endpos: int = ...) -> Any: ...


try:  # pragma: no branch - one of the two per installation
    import re2 as _re2

    _OPTIONS = _re2.Options()
    _OPTIONS.log_errors = False  # an invalid pattern is our error to report, not a line on stderr
    _OPTIONS.max_mem = 64 << 20
except ImportError:  # pragma: no cover - google-re2 has wheels for every platform we support
    _re2 = None


def engine() -> str:
    """'re2' when linear-time matching is available, else 're'."""
    return "re2" if _re2 is not None else "re"


@functools.lru_cache(maxsize=4096)
def compile(pattern: str) -> LinearPattern:
    """The pattern compiled for linear-time matching; ValueError names what RE2 refuses (lookaround,
    backreferences), so a catalog entry that would backtrack is rejected when it is loaded."""
    if _re2 is None:  # pragma: no cover
        return re.compile(pattern)
    try:
        return _re2.compile(pattern, _OPTIONS)  # type: ignore[no-any-return]
    except Exception as exc:
        raise ValueError(f"not a linear-time (RE2) pattern: {pattern!r}: {exc}") from None


def validate(pattern: str) -> str:
    """``pattern`` if RE2 accepts it, else ValueError (used by the catalog's validators)."""
    compile(pattern)
    return pattern
