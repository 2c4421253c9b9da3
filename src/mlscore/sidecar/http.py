"""HTTP helpers for the sidecar: llhttp-parsed requests for the control port, canned answers, deadlines.

No HTTP parsing is hand-written here: the proxy (``proxy.py``) and ``RequestReader`` both use llhttp, the
parser of Node.js, through httptools.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
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


@dataclass
class Request:
    """One request read from a client by ``RequestReader`` (llhttp parsed it)."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    keep_alive: bool = True
    chunked: bool = False
    content_length: int | None = None

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None


class _BodyTooLarge(Exception):
    pass


class RequestReader:
    """Requests from a ``StreamReader``, parsed by llhttp (httptools): heads, Content-Length and chunked
    bodies, pipelining. Errors are ``HttpError`` with the status to answer (400, 413, 431)."""

    def __init__(self, reader: asyncio.StreamReader, *, max_header_bytes: int, max_body_bytes: int) -> None:
        import httptools

        self.reader = reader
        self.max_header = max_header_bytes
        self.max_body = max_body_bytes
        self.parser = httptools.HttpRequestParser(self)
        self.done: deque[Request] = deque()
        self._cur: Request | None = None
        self._url = b""
        self._body: list[bytes] = []
        self._size = 0
        self._in_head = False
        self._head_bytes = 0
        self._parsed = 0

    # llhttp callbacks
    def on_message_begin(self) -> None:
        self._url, self._body, self._size = b"", [], 0
        self._cur = Request("", "", "")
        self._in_head = True
        self._head_bytes = 0
        self._parsed = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._grow(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_head and self._cur is not None:
            self._cur.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))
            self._grow(len(name) + len(value) + 4)

    def _grow(self, n: int) -> None:
        self._parsed += n
        if self._parsed > self.max_header:
            raise _BodyTooLarge("header too large")

    def on_headers_complete(self) -> None:
        cur = self._cur
        assert cur is not None
        self._in_head = False
        cur.method = self.parser.get_method().decode("latin-1")
        cur.version = self.parser.get_http_version()
        cur.target = self._url.decode("latin-1")
        cur.keep_alive = self.parser.should_keep_alive()
        te = cur.header("transfer-encoding")
        cl = cur.header("content-length")
        if te is not None and cur.version == "1.0":
            raise _BodyTooLarge("faulty framing")  # RFC 9112 6.1, answered 400 below
        cur.chunked = te is not None
        cur.content_length = int(cl) if cl is not None else None
        if cur.content_length is not None and cur.content_length > self.max_body:
            raise _BodyTooLarge("too large")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self.max_body:
            raise _BodyTooLarge("too large")
        self._body.append(body)

    def on_message_complete(self) -> None:
        cur = self._cur
        assert cur is not None
        cur.body = b"".join(self._body)
        self.done.append(cur)
        self._cur = None

    async def next(self, idle_timeout: float) -> Request | None:
        """The next request, or None at end of stream (between requests) or after ``idle_timeout`` idle."""
        import httptools

        while not self.done:
            try:
                data = await within(self.reader.read(STREAM_PIECE), idle_timeout)
            except (asyncio.TimeoutError, ConnectionError):
                data = b""
            if not data:
                if self._cur is not None:
                    raise HttpError(400, "request cut short")
                return None
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                raise HttpError(501, "protocol upgrades are not supported") from None
            except httptools.HttpParserError as exc:
                why = exc.__context__
                if isinstance(why, _BodyTooLarge):
                    status = {"too large": 413, "header too large": 431}.get(str(why), 400)
                    raise HttpError(status, str(why)) from None
                raise HttpError(400, "malformed HTTP") from None
            if self._in_head:
                self._head_bytes += len(data)
                if self._head_bytes > self.max_header:
                    raise HttpError(431, "header too large")
        return self.done.popleft()


def simple_response(status: int, body: bytes, *, content_type: str = "application/json",
                    close: bool = False, extra: str = "") -> bytes:
    reason = REASONS.get(status, "")
    conn = "Connection: close\r\n" if close else ""
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"{conn}{extra}\r\n"
    ).encode("latin-1") + body
