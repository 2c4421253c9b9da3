"""Minimal HTTP/1.1 message framing for the proxy: parse heads, copy bodies byte for byte."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
CRLF = b"\r\n"
STREAM_PIECE = 64 * 1024

REASONS = {
    400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
    200: "OK", 202: "Accepted", 404: "Not Found", 405: "Method Not Allowed",
}


if sys.version_info >= (3, 11):

    async def within(aw: Awaitable[T], seconds: float) -> T:
        """Await with a deadline; ``asyncio.timeout`` costs no extra task per call (unlike 3.11's wait_for)."""
        async with asyncio.timeout(seconds):
            return await aw

else:  # pragma: no cover - Python 3.10

    async def within(aw: Awaitable[T], seconds: float) -> T:
        return await asyncio.wait_for(aw, seconds)


class HttpError(Exception):
    """A message that cannot be framed; ``status`` is what the proxy answers with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class Head:
    """A parsed request or response head; ``raw`` is forwarded unchanged unless ``rebuilt``."""

    raw: bytes
    start: tuple[str, str, str]
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_length: int | None = None
    chunked: bool = False
    keep_alive: bool = True

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None


_FRAMING = re.compile(rb"\r\n(content-length|transfer-encoding|connection|expect):[ \t]*([^\r\n]*)", re.IGNORECASE)
_SPACED = re.compile(rb"\r\n(?:content-length|transfer-encoding)[ \t]+:", re.IGNORECASE)


def parse_head(raw: bytes, *, request: bool, full: bool = True) -> Head:
    """Parse a head ending in CRLFCRLF; reject what would make framing ambiguous (smuggling).

    ``full=False`` (the proxy's hot path) reads only the framing headers with one regex and leaves other
    header lines to the upstream; ``headers`` then holds just those.
    """
    if not full:
        return _parse_quick(raw, request)
    text = raw.decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ", 2)
    if request:
        if len(parts) != 3 or not parts[0].isalpha() or not parts[2].startswith("HTTP/1."):
            raise HttpError(400, "malformed request line")
        version = parts[2]
    else:
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
            raise HttpError(502, "malformed status line")
        version = parts[0]
        if len(parts) == 2:
            parts.append("")
    head = Head(raw=raw, start=(parts[0], parts[1], parts[2]))
    lengths: set[str] = set()
    te: str | None = None
    conn_tokens: set[str] = set()
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            raise HttpError(400 if request else 502, "obsolete header folding")
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400 if request else 502, "malformed header line")
        name = name.lower()
        value = value.strip()
        head.headers.append((name, value))
        if name == "content-length":
            lengths.update(x.strip() for x in value.split(","))
        elif name == "transfer-encoding":
            te = value.lower() if te is None else te + "," + value.lower()
        elif name == "connection":
            conn_tokens.update(x.strip().lower() for x in value.split(","))
    return _finish(head, version, request, lengths, te, conn_tokens)


def _start_line(first: str, request: bool) -> tuple[tuple[str, str, str], str]:
    parts = first.split(" ", 2)
    if request:
        if len(parts) != 3 or not parts[0].isalpha() or not parts[2].startswith("HTTP/1."):
            raise HttpError(400, "malformed request line")
        return (parts[0], parts[1], parts[2]), parts[2]
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise HttpError(502, "malformed status line")
    return (parts[0], parts[1], parts[2] if len(parts) == 3 else ""), parts[0]


_CL = b"\r\ncontent-length:"


def _parse_quick(raw: bytes, request: bool) -> Head:
    """The common head in a few C-level scans: at most one plain Content-Length, no Transfer-Encoding,
    Connection or Expect, no folding or space before a colon. Anything else goes to ``_parse_framing``."""
    low = raw.lower()
    if (b"\r\ntransfer-encoding:" in low or b"\r\nconnection:" in low or b"\r\nexpect:" in low
            or b"\r\n " in raw or b"\r\n\t" in raw or b" :" in raw or b"\t:" in raw):
        return _parse_framing(raw, raw.decode("latin-1"), request)
    eol = raw.find(CRLF)
    start, version = _start_line(raw[:eol].decode("latin-1"), request)
    i = low.find(_CL, eol - 2)
    if i < 0:
        return Head(raw, start, [], None, False, version != "HTTP/1.0")
    j = i + len(_CL)
    if low.find(_CL, j) >= 0:
        return _parse_framing(raw, raw.decode("latin-1"), request)
    value = raw[j: raw.find(CRLF, j)].strip(b" \t")
    if not value.isdigit():
        return _parse_framing(raw, raw.decode("latin-1"), request)
    text = value.decode("ascii")
    return Head(raw, start, [("content-length", text)], int(text), False, version != "HTTP/1.0")


def _parse_framing(raw: bytes, text: str, request: bool) -> Head:
    bad = 400 if request else 502
    if b"\r\n " in raw or b"\r\n\t" in raw:
        raise HttpError(bad, "obsolete header folding")
    if _SPACED.search(raw):
        raise HttpError(bad, "whitespace before a colon")
    start, version = _start_line(text[: text.find("\r\n")], request)
    head = Head(raw=raw, start=start)
    lengths: set[str] = set()
    te: str | None = None
    conn_tokens: set[str] = set()
    for m in _FRAMING.finditer(raw):
        name = m.group(1).decode("latin-1").lower()
        value = m.group(2).decode("latin-1").strip()
        head.headers.append((name, value))
        if name == "content-length":
            lengths.update(x.strip() for x in value.split(","))
        elif name == "transfer-encoding":
            te = value.lower() if te is None else te + "," + value.lower()
        elif name == "connection":
            conn_tokens.update(x.strip().lower() for x in value.split(","))
    return _finish(head, version, request, lengths, te, conn_tokens)


def _finish(head: Head, version: str, request: bool, lengths: set[str], te: str | None,
            conn_tokens: set[str]) -> Head:
    bad = 400 if request else 502
    if te is not None:
        if lengths:
            raise HttpError(bad, "both Transfer-Encoding and Content-Length")
        codings = [x.strip() for x in te.split(",") if x.strip()]
        if not codings or codings[-1] != "chunked" or codings.count("chunked") != 1:
            raise HttpError(bad, "unsupported Transfer-Encoding")
        head.chunked = True
    elif lengths:
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise HttpError(bad, "invalid Content-Length")
        head.content_length = int(next(iter(lengths)))
    if version == "HTTP/1.0":
        head.keep_alive = "keep-alive" in conn_tokens
    else:
        head.keep_alive = "close" not in conn_tokens
    return head


def without_header(head: Head, name: str) -> bytes:
    """The raw head with every ``name`` header line removed."""
    lines = head.raw.split(CRLF)
    prefix = name.encode("latin-1").lower() + b":"
    kept = [lines[0]] + [ln for ln in lines[1:] if not ln.lower().startswith(prefix)]
    return CRLF.join(kept)


def simple_response(status: int, body: bytes, *, content_type: str = "application/json",
                    close: bool = False, extra: str = "") -> bytes:
    reason = REASONS.get(status, "")
    conn = "Connection: close\r\n" if close else ""
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"{conn}{extra}\r\n"
    ).encode("latin-1") + body


async def copy_length(reader: asyncio.StreamReader, write: Callable[[bytes], object], n: int,
                      capture: bytearray | None, cap_limit: int) -> bool:
    """Copy exactly ``n`` body bytes; capture them while they fit. Returns whether all fit."""
    fits = n <= cap_limit
    while n > 0:
        piece = await reader.readexactly(min(n, STREAM_PIECE))
        n -= len(piece)
        if fits and capture is not None:
            capture += piece
        res = write(piece)
        if asyncio.iscoroutine(res):
            await res
    return fits


async def copy_chunked(reader: asyncio.StreamReader, write: Callable[[bytes], object],
                       capture: bytearray | None, cap_limit: int, max_total: int | None) -> bool:
    """Copy a chunked body with its framing; capture the decoded data while it fits."""
    total = 0
    fits = True
    while True:
        line = await reader.readuntil(CRLF)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HttpError(400, "malformed chunk size") from None
        if size < 0:
            raise HttpError(400, "malformed chunk size")
        total += size
        if max_total is not None and total > max_total:
            raise HttpError(413, "body too large")
        res = write(line)
        if asyncio.iscoroutine(res):
            await res
        if size == 0:
            while True:
                trailer = await reader.readuntil(CRLF)
                res = write(trailer)
                if asyncio.iscoroutine(res):
                    await res
                if trailer == CRLF:
                    return fits
        if fits and total > cap_limit:
            fits = False
            if capture is not None:
                capture.clear()
        remaining = size
        while remaining > 0:
            piece = await reader.readexactly(min(remaining, STREAM_PIECE))
            remaining -= len(piece)
            if fits and capture is not None:
                capture += piece
            res = write(piece)
            if asyncio.iscoroutine(res):
                await res
        if await reader.readexactly(2) != CRLF:
            raise HttpError(400, "malformed chunk")
        res = write(CRLF)
        if asyncio.iscoroutine(res):
            await res
