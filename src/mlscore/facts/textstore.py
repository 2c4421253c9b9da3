"""The texts of an audited tree, without holding every large file in memory at once.

``RepoFacts.texts`` maps each readable text file to its text. Most files are small and are kept; a file larger than
``KEEP_CHARS`` (generated manifests, CRDs, lock files, install scripts: in a Kubernetes repository they are most of
the bytes) is only remembered by path and read again, within the same size limits, whenever its text is asked for,
so that memory stays bounded by the small files plus the few large ones in use. The few most recently read large
texts are kept, as the same file is often asked for several times in a row.

It is a ``MutableMapping``: ``texts[path]``, ``get``, ``in``, ``items()`` and assignment behave as on a dict (in
insertion order). A large file that has become unreadable since it was indexed reads as an empty text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping

__all__ = ["KEEP_CHARS", "TextStore"]

#: Texts up to this many characters are kept in memory; larger ones are read again when asked for.
KEEP_CHARS = 256 * 1024
#: Large texts kept after a read, most recent first.
RECENT_LARGE = 3

_NOT_KEPT = None


class TextStore(MutableMapping[str, str]):
    """Path -> text of the tree's text files; texts over ``keep_chars`` are read again on demand."""

    def __init__(self, reader: Callable[[str], str | None], keep_chars: int = KEEP_CHARS) -> None:
        self._reader = reader
        self._keep = keep_chars
        self._entries: dict[str, str | None] = {}
        self._recent: OrderedDict[str, str] = OrderedDict()

    def add(self, path: str, text: str) -> None:
        """Record a text just read: kept when small, else remembered by path only."""
        self._recent.pop(path, None)
        self._entries[path] = text if len(text) <= self._keep else _NOT_KEPT

    def kept(self, path: str) -> bool:
        """Whether the text of ``path`` is held in memory (it is then cheap to ask for)."""
        return self._entries.get(path) is not None

    # -- the mapping ------------------------------------------------------------------------------
    def __getitem__(self, path: str) -> str:
        text = self._entries[path]
        if text is not None:
            return text
        recent = self._recent.get(path)
        if recent is not None:
            self._recent.move_to_end(path)
            return recent
        text = self._reader(path) or ""
        self._recent[path] = text
        while len(self._recent) > RECENT_LARGE:
            self._recent.popitem(last=False)
        return text

    def __setitem__(self, path: str, text: str) -> None:
        self.add(path, text)

    def __delitem__(self, path: str) -> None:
        del self._entries[path]
        self._recent.pop(path, None)

    def __contains__(self, path: object) -> bool:
        return path in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, path: str, default: str | None = None) -> str | None:  # type: ignore[override]
        if path not in self._entries:
            return default
        return self[path]
