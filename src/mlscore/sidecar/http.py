"""Minimal HTTP/1.1 message framing for the proxy: parse heads, copy bodies byte for byte."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

CRLF = b"\r\n"
STREAM_PIECE = 64 * 1024

REASONS = {
    400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
    200: "OK", 202: "Accepted", 404: "Not Found", 405: "Method Not Allowed",
}


class HttpError(Exception):
    """A message that cannot be framed; ``status`` is what the proxy answers with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
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


def parse_head(raw: bytes, *, request: bool) -> Head:
    """Parse a head ending in CRLFCRLF; reject what would make framing ambiguous (smuggling)."""
    try:
        text = raw.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "undecodable head") from None
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
