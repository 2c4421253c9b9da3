"""The in-path reverse proxy: forwards bytes unchanged, never waits on analysis, fails as 502/504."""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable
from typing import Any

from mlscore.sidecar.config import ProxySettings
from mlscore.sidecar.events import Event
from mlscore.sidecar.http import (
    CRLF,
    STREAM_PIECE,
    Head,
    HttpError,
    copy_chunked,
    copy_length,
    parse_head,
    simple_response,
    within,
    without_header,
)
from mlscore.sidecar.metrics import OTHER, LabelCap, Metrics
from mlscore.sidecar.routes import Route, classify

log = logging.getLogger("mlscore.sidecar")

FLUSH_EVERY = 512  # request tallies held before they go into the metric registry
BUFFER_LIMIT = 256 * 1024  # request bodies up to this are buffered (and so retryable on a stale connection)
_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
Conn = tuple[asyncio.StreamReader, "StreamView"]


def _sink(w: StreamView) -> Callable[[bytes], object]:
    """A write function that applies back-pressure once the transport buffers a lot."""

    async def write(data: bytes) -> None:
        w.write(data)
        if w.transport.get_write_buffer_size() > 4 * STREAM_PIECE:
            await w.drain()

    return write


class UpstreamError(Exception):
    def __init__(self, status: int, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retryable = retryable


def _observe_many(hist: Any, values: list[float]) -> None:
    """``hist.observe`` for each value, with one bucket increment per bucket rather than per value."""
    bounds = getattr(hist, "_upper_bounds", None)
    buckets = getattr(hist, "_buckets", None)
    total = getattr(hist, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for v in values:  # pragma: no cover - a prometheus-client without these internals
            hist.observe(v)
        return
    counts = [0] * len(bounds)
    for v in values:
        counts[bisect_left(bounds, v)] += 1  # the first bound >= v, as observe() picks it
    for i, n in enumerate(counts):
        if n:
            buckets[i].inc(n)
    total.inc(math.fsum(values))


class StreamView:
    """The part of ``StreamView`` the stream path uses, over one of our protocols' transports."""

    __slots__ = ("conn", "transport")

    def __init__(self, conn: _Conn) -> None:
        self.conn = conn
        self.transport = conn.transport

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    async def drain(self) -> None:
        if self.conn.lost:
            raise ConnectionResetError("connection lost")
        if self.conn.paused is not None:
            await self.conn.paused

    def close(self) -> None:
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()


class _Conn(asyncio.Protocol):
    """Shared plumbing: write flow control and an optional ``StreamReader`` (the general, slower path)."""

    transport: asyncio.Transport
    reader: asyncio.StreamReader | None = None
    paused: asyncio.Future[None] | None = None
    lost = False

    def pause_writing(self) -> None:
        if self.paused is None:
            self.paused = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.paused is not None:
            if not self.paused.done():
                self.paused.set_result(None)
            self.paused = None

    def _wake_drain(self) -> None:
        if self.paused is not None and not self.paused.done():
            self.paused.set_exception(ConnectionResetError("connection lost"))
            self.paused.exception()  # mark retrieved
        self.paused = None

    def stream(self, limit: int, pending: bytes = b"") -> tuple[asyncio.StreamReader, StreamView]:
        """Switch to the stream path: later bytes feed a ``StreamReader``; ``pending`` goes in first."""
        r = asyncio.StreamReader(limit=limit)
        r.set_transport(self.transport)
        if pending:
            r.feed_data(pending)
        if self.lost:
            r.feed_eof()
        self.reader = r
        return r, StreamView(self)


class Upstream(_Conn):
    """One keep-alive connection to the upstream; answers go to the exchange that owns it."""

    def __init__(self) -> None:
        self.owner: _Client | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover
                pass

    def data_received(self, data: bytes) -> None:
        if self.reader is not None:
            self.reader.feed_data(data)
        elif self.owner is not None:
            try:
                self.owner.upstream_data(data)
            except Exception:  # a bug must cost one connection, never the sidecar or the counters
                log.exception("proxy connection failed")
                self.transport.close()
                self.owner.abort()
        else:  # bytes nobody asked for: the connection cannot be reused
            self.transport.close()

    def eof_received(self) -> bool:
        if self.reader is not None:
            self.reader.feed_eof()
        elif self.owner is not None:
            self.owner.upstream_lost(self)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._wake_drain()
        if self.reader is not None:
            if exc is None:
                self.reader.feed_eof()
            else:
                self.reader.set_exception(exc)
        elif self.owner is not None:
            self.owner.upstream_lost(self)


class UpstreamPool:
    """Idle keep-alive connections to the upstream, most recent first."""

    def __init__(self, host: str, port: int, settings: ProxySettings, max_idle: int = 64) -> None:
        self.host, self.port = host, port
        self.settings = settings
        self.max_idle = max_idle
        self.idle: list[Upstream] = []

    def pop_idle(self) -> Upstream | None:
        while self.idle:
            up = self.idle.pop()
            if not up.lost and not up.transport.is_closing():
                return up
            up.transport.close()
        return None

    async def connect(self) -> Upstream:
        loop = asyncio.get_running_loop()
        try:
            _, up = await within(loop.create_connection(Upstream, self.host, self.port),
                                 self.settings.connect_timeout)
        except asyncio.TimeoutError:
            raise UpstreamError(504, "connect_timeout") from None
        except OSError:
            raise UpstreamError(502, "connect") from None
        return up

    async def acquire(self) -> tuple[asyncio.StreamReader, StreamView, bool]:
        """A connection for the stream path, reused when one is idle."""
        up = self.pop_idle()
        reused = up is not None
        if up is None:
            up = await self.connect()
        r, w = up.stream(self.settings.max_header_bytes)
        return r, w, reused

    def put(self, up: Upstream) -> None:
        up.owner = None
        if len(self.idle) < self.max_idle and not up.lost and not up.transport.is_closing():
            self.idle.append(up)
        else:
            up.transport.close()

    def release(self, conn: Conn) -> None:
        r, w = conn
        up = w.conn
        assert isinstance(up, Upstream)
        leftover = len(r._buffer)  # type: ignore[attr-defined]  # bytes after the answer
        if r.at_eof() or r.exception() is not None or leftover:
            up.transport.close()
            return
        up.reader = None
        up.transport.resume_reading()
        self.put(up)

    def close(self) -> None:
        for up in self.idle:
            up.transport.close()
        self.idle.clear()


class Proxy:
    """Serve one client connection at a time per task: parse the head, forward, copy the answer back."""

    def __init__(self, settings: ProxySettings, upstream: tuple[str, int], metrics: Metrics,
                 submit: Callable[[Event], None], default_model: str | None = None) -> None:
        self.s = settings
        self.pool = UpstreamPool(upstream[0], upstream[1], settings)
        self.metrics = metrics
        self.submit = submit
        self.default_model = default_model or "unknown"
        self.model_cap = LabelCap(settings.max_models)
        self.connections: set[_Client] = set()
        self.active = 0  # exchanges in flight
        self.closing = False
        self._tally: dict[tuple[str, str, str], int] = {}
        self._durations: list[tuple[str, str, float]] = []

    # -- the general (stream) path ------------------------------------------------------------
    async def _serve(self, client: _Client, reader: asyncio.StreamReader, writer: StreamView,
                     first: Awaitable[bool] | None = None) -> None:
        """Serve a client connection with streams: chunked or large bodies, Expect, odd or bad heads."""
        try:
            if first is not None and (not await first or self.closing):
                return
            while True:
                try:
                    raw = await within(reader.readuntil(CRLF + CRLF), self.s.client_idle_timeout)
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
                    return
                except asyncio.LimitOverrunError:
                    self._reject(writer, 431, "header_too_large")
                    return
                except ValueError:  # limit exceeded while the separator was found past it
                    self._reject(writer, 431, "header_too_large")
                    return
                t0 = time.perf_counter()
                try:
                    head = parse_head(raw, request=True, full=False)
                except HttpError as exc:
                    self._reject(writer, exc.status, "bad_request")
                    return
                self.active += 1
                try:
                    keep = await self._exchange(reader, writer, head, t0)
                finally:
                    self.active -= 1
                if not keep or self.closing:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except Exception:
            log.exception("proxy connection failed")
        finally:
            self.connections.discard(client)
            writer.close()

    async def _slow_response(self, client: _Client, reader: asyncio.StreamReader, writer: StreamView,
                             r: asyncio.StreamReader, w: StreamView, head: Head, body: bytes,
                             t0: float) -> bool:
        """Finish an exchange the fast path started whose response needs streaming (chunked, large, 1xx)."""
        model, template, route = self._labels(head.start[1])
        try:
            try:
                resp = await self._read_response_head(r, False)
            except UpstreamError as exc:
                w.close()
                return self._upstream_failed(writer, exc, model, template, t0, head)
            return await self._respond(reader, writer, head, model, template, route, t0, r, w, resp, body, None,
                                       len(body) <= self.s.capture_bytes)
        except BaseException:
            w.close()
            raise
        finally:
            self.active -= 1

    def _reject(self, writer: StreamView, status: int, reason: str) -> None:
        self.metrics.child("mlscore_requests_rejected", reason).inc()
        self.metrics.child("mlscore_events_received", "proxy").inc()
        self.metrics.child("mlscore_events_dropped", "proxy", reason).inc()
        body = b'{"error":"mlscore sidecar: %s"}' % reason.replace("_", " ").encode()
        writer.write(simple_response(status, body, close=True))

    def _labels(self, target: str) -> tuple[str, str, Route]:
        route = classify(target)
        model = self.model_cap(route.model) if route.model else (self.default_model if route.inference else "-")
        return model, route.template, route

    async def _exchange(self, reader: asyncio.StreamReader, writer: StreamView, head: Head,
                        t0: float) -> bool:
        """Forward one request and its response. Returns whether the client connection stays open."""
        target = head.start[1]
        model, template, route = self._labels(target)
        s = self.s
        if head.content_length is not None and head.content_length > s.max_body_bytes:
            self._reject(writer, 413, "body_too_large")
            self._count(model, template, 413, t0)
            return False
        out_head = head.raw
        if head.header("expect") is not None:
            # Answer 100-continue ourselves, so a buffered body does not wait on the upstream.
            out_head = without_header(head, "expect")
            if (head.header("expect") or "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        req_capture: bytearray | None = None
        body: bytes | None = None
        if head.chunked:
            body = None
        elif head.content_length and head.content_length <= BUFFER_LIMIT:
            body = await reader.readexactly(head.content_length)
        elif not head.content_length:
            body = b""
        attempts = 2 if body is not None else 1
        req_fits = True
        for attempt in range(attempts):
            try:
                conn = None
                r, w, reused = await self.pool.acquire()
                conn = (r, w)
                if body is not None:
                    w.write(out_head + body)
                    req_fits = len(body) <= s.capture_bytes
                else:
                    w.write(out_head)
                    req_capture = bytearray()
                    if head.chunked:
                        req_fits = await copy_chunked(reader, _sink(w), req_capture, s.capture_bytes,
                                                      s.max_body_bytes)
                    else:
                        req_fits = await copy_length(reader, _sink(w), head.content_length or 0, req_capture,
                                                     s.capture_bytes)
                    await w.drain()
                resp = await self._read_response_head(r, reused and attempt == 0)
                break
            except UpstreamError as exc:
                if conn is not None:
                    conn[1].close()
                if exc.retryable and attempt + 1 < attempts:
                    continue
                return self._upstream_failed(writer, exc, model, template, t0, head)
            except HttpError as exc:  # the client's chunked body was malformed or too large
                if conn is not None:
                    conn[1].close()
                self._reject(writer, exc.status, "body_too_large" if exc.status == 413 else "bad_request")
                self._count(model, template, exc.status, t0)
                return False
            except (ConnectionError, OSError):
                if conn is not None:
                    conn[1].close()
                if attempt + 1 < attempts and body is not None:
                    continue
                return self._upstream_failed(writer, UpstreamError(502, "reset"), model, template, t0, head)
            except asyncio.IncompleteReadError:  # the client went away in the middle of its body
                if conn is not None:
                    conn[1].close()
                self._drop_event("client_aborted")
                return False
            except BaseException:
                if conn is not None:
                    conn[1].close()
                raise
        return await self._respond(reader, writer, head, model, template, route, t0, r, w, resp, body, req_capture,
                                   req_fits)

    async def _respond(self, reader: asyncio.StreamReader, writer: StreamView, head: Head, model: str,
                       template: str, route: Route, t0: float, r: asyncio.StreamReader, w: StreamView, resp: Head,
                       body: bytes | None, req_capture: bytearray | None, req_fits: bool) -> bool:
        """Copy the response (head then body, unchanged), count it and hand the sample to the analysis."""
        s = self.s
        method, target, _ = head.start
        resp_capture = bytearray()
        # -- response: head then body, unchanged ---------------------------------------------------
        status = int(resp.start[1])
        no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
        keep = head.keep_alive and resp.keep_alive
        resp_fits = True
        try:
            if no_body:
                writer.write(resp.raw)
            elif resp.chunked:
                writer.write(resp.raw)
                resp_fits = await copy_chunked(r, _sink(writer), resp_capture, s.capture_bytes, None)
            elif resp.content_length is not None:
                n = resp.content_length
                if n <= BUFFER_LIMIT:
                    data = await r.readexactly(n) if n else b""
                    writer.write(resp.raw + data)
                    resp_fits = n <= s.capture_bytes
                    if resp_fits:
                        resp_capture = data  # type: ignore[assignment]
                else:
                    writer.write(resp.raw)
                    resp_fits = await copy_length(r, _sink(writer), n, resp_capture, s.capture_bytes)
            else:  # delimited by close
                keep = False
                writer.write(resp.raw)
                total = 0
                while True:
                    piece = await r.read(STREAM_PIECE)
                    if not piece:
                        break
                    total += len(piece)
                    if resp_fits and total <= s.capture_bytes:
                        resp_capture += piece
                    else:
                        resp_fits = False
                    writer.write(piece)
                    if writer.transport.get_write_buffer_size() > 4 * STREAM_PIECE:
                        await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError, HttpError):
            # The upstream died mid-response: the client sees the same truncated answer it would directly.
            w.close()
            self.metrics.child("mlscore_upstream_errors", "reset_mid_response").inc()
            self._count(model, template, status, t0)
            self._drop_event("upstream_error")
            return False
        if resp.keep_alive and not (resp.content_length is None and not resp.chunked and not no_body):
            self.pool.release((r, w))
        else:
            w.close()
        if writer.transport.get_write_buffer_size() > STREAM_PIECE:
            await writer.drain()
        self._count(model, template, status, t0)
        req_body = body if body is not None else (bytes(req_capture) if req_capture is not None else None)
        if not req_fits or not resp_fits:
            self._drop_event("too_large")
        else:
            self.submit(Event(
                "proxy", path=target, protocol=route.protocol,
                model=model if model != "-" else None, version=route.version,
                status=status, request=req_body, response=bytes(resp_capture),
                size=len(req_body or b"") + len(resp_capture),
            ))
        return keep

    async def _read_response_head(self, r: asyncio.StreamReader, reused: bool) -> Head:
        while True:
            try:
                raw = await within(r.readuntil(CRLF + CRLF), self.s.upstream_timeout)
            except asyncio.TimeoutError:
                raise UpstreamError(504, "timeout") from None
            except asyncio.IncompleteReadError as exc:
                # Nothing came back on a reused connection: the upstream closed it while idle.
                raise UpstreamError(502, "reset", retryable=reused and not exc.partial) from None
            except (asyncio.LimitOverrunError, ValueError):
                raise UpstreamError(502, "bad_response") from None
            except (ConnectionError, OSError):
                raise UpstreamError(502, "reset", retryable=reused) from None
            try:
                head = parse_head(raw, request=False, full=False)
            except HttpError:
                raise UpstreamError(502, "bad_response") from None
            if head.start[1] == "101" or not head.start[1].startswith("1"):
                return head
            # interim 1xx (e.g. a 100 Continue we did not ask for): skip it

    def _upstream_failed(self, writer: StreamView, exc: UpstreamError, model: str, template: str,
                         t0: float, head: Head) -> bool:
        self.metrics.child("mlscore_upstream_errors", exc.reason).inc()
        self._count(model, template, exc.status, t0)
        self._drop_event("upstream_error")
        msg = "upstream timed out" if exc.status == 504 else "upstream unavailable"
        body = b'{"error":"mlscore sidecar: %s"}' % msg.encode()
        # The request body may not have been read fully when streaming failed: close then.
        writer.write(simple_response(exc.status, body, close=not head.keep_alive))
        return head.keep_alive and not head.chunked and (head.content_length or 0) <= BUFFER_LIMIT

    def _drop_event(self, reason: str) -> None:
        self.metrics.child("mlscore_events_received", "proxy").inc()
        self.metrics.child("mlscore_events_dropped", "proxy", reason).inc()

    def _count(self, model: str, template: str, status: int, t0: float) -> None:
        """Tally one answered request; ``flush_metrics`` moves tallies into the registry in batches."""
        elapsed = time.perf_counter() - t0
        key = (model, template, _CLASSES.get(status // 100, OTHER))
        tally = self._tally
        tally[key] = tally.get(key, 0) + 1
        self._durations.append((model, template, elapsed))
        if len(self._durations) >= FLUSH_EVERY:
            self.flush_metrics()

    def flush_metrics(self) -> None:
        """Publish tallied request counts and durations (called before every scrape and every second)."""
        tally, self._tally = self._tally, {}
        for (model, template, code), n in tally.items():
            self.metrics.child("mlscore_requests", model, template, code).inc(n)
        durations, self._durations = self._durations, []
        by_route: dict[tuple[str, str], list[float]] = {}
        for model, template, elapsed in durations:
            by_route.setdefault((model, template), []).append(elapsed)
        for (model, template), values in by_route.items():
            _observe_many(self.metrics.child("mlscore_request_duration_seconds", model, template), values)

    # -- the fast path ------------------------------------------------------------------------
    def protocol(self) -> _Client:
        """Protocol factory for ``loop.create_server``."""
        return _Client(self)


_HEAD_END = CRLF + CRLF


class _Client(_Conn):
    """One client connection, served on callbacks while its exchanges are simple.

    Simple means a request with no body or a Content-Length body up to ``BUFFER_LIMIT`` (no Expect), answered
    with no body or a Content-Length body up to ``BUFFER_LIMIT``: the common inference call. Both heads are
    forwarded as received, in one write each. Anything else (chunked or large bodies, a malformed or huge
    head, an interim 1xx answer) moves the connection to the stream path, which handles every case.
    """

    def __init__(self, proxy: Proxy) -> None:
        self.p = proxy
        self.buf = bytearray()
        self.busy = False
        self.slow = False
        self.eof = False
        self.read_paused = False
        self.idle_since = 0.0
        self.timer: asyncio.TimerHandle | None = None
        # the exchange in flight
        self.head: Head | None = None  # parsed request head waiting for its body
        self.hlen = 0
        self.req = b""
        self.t0 = 0.0
        self.up: Upstream | None = None
        self.reused = False
        self.retried = False
        self.rbuf = bytearray()
        self.rhead: Head | None = None
        self.rhlen = 0
        self.rtotal = 0
        self.utimer: asyncio.TimerHandle | None = None

    # -- client transport events
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        p = self.p
        if len(p.connections) >= p.s.max_connections:
            # Bounded memory: a connection beyond the cap is told to come back, not queued.
            p._reject(StreamView(self), 503, "too_many_connections")
            transport.close()
            self.slow = True
            return
        p.connections.add(self)
        loop = asyncio.get_running_loop()
        self.idle_since = loop.time()
        self.timer = loop.call_later(p.s.client_idle_timeout, self._idle_check)

    def data_received(self, data: bytes) -> None:
        if self.reader is not None:
            self.reader.feed_data(data)
            return
        if self.slow:
            return
        self.buf += data
        if not self.busy:
            try:
                self._next()
            except Exception:  # a bug must cost one connection, never the sidecar or the counters
                log.exception("proxy connection failed")
                self.abort()
        elif len(self.buf) > self.p.s.max_header_bytes + BUFFER_LIMIT and not self.read_paused:
            self.read_paused = True  # a pipelining client waits until the current answer is out
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        if self.reader is not None:
            self.reader.feed_eof()
            return True
        self.eof = True
        if self.busy:
            return True  # answer first, then close
        self.p.connections.discard(self)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._wake_drain()
        self.p.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()
        if self.reader is not None:
            if exc is None:
                self.reader.feed_eof()
            else:
                self.reader.set_exception(exc)

    def close(self) -> None:
        self.transport.close()

    def abort(self) -> None:
        """Close the connection after an unexpected error, keeping ``active`` and the pool consistent."""
        if self.busy:
            self.busy = False
            self.p.active -= 1
            self._drop_upstream()
        self.p.connections.discard(self)
        self.transport.close()

    def _idle_check(self) -> None:
        self.timer = None
        if self.lost or self.slow:
            return
        loop = asyncio.get_running_loop()
        left = self.idle_since + self.p.s.client_idle_timeout - loop.time()
        if self.busy or left > 0:
            self.timer = loop.call_later(max(left, 0.05) if not self.busy else self.p.s.client_idle_timeout,
                                         self._idle_check)
            return
        self.p.connections.discard(self)
        self.transport.close()

    # -- request
    def _next(self) -> None:
        buf = self.buf
        s = self.p.s
        head = self.head
        if head is None:
            i = buf.find(_HEAD_END)
            if i < 0:
                if len(buf) > s.max_header_bytes:
                    self._to_stream()
                elif self.eof and not buf:
                    self.transport.close()
                return
            if i > s.max_header_bytes:
                self._to_stream()
                return
            self.hlen = i + 4
            try:
                head = parse_head(bytes(buf[: self.hlen]), request=True, full=False)
            except HttpError:
                self._to_stream()
                return
            n = head.content_length or 0
            if head.chunked or n > BUFFER_LIMIT or n > s.max_body_bytes or head.header("expect") is not None:
                self._to_stream()
                return
            self.head = head
        total = self.hlen + (head.content_length or 0)
        if len(buf) < total:
            return
        self.req = bytes(buf[:total])
        del buf[:total]
        self.busy = True
        self.p.active += 1
        self.t0 = time.perf_counter()
        self.retried = False
        up = self.p.pool.pop_idle()
        if up is not None:
            self._send(up, True)
        else:
            asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        try:
            up = await self.p.pool.connect()
        except UpstreamError as exc:
            self._fail(exc)
            return
        except Exception:  # pragma: no cover - defensive: never leave the client hanging
            log.exception("proxy connect failed")
            self._fail(UpstreamError(502, "connect"))
            return
        self._send(up, False)

    def _send(self, up: Upstream, reused: bool) -> None:
        self.up = up
        self.reused = reused
        up.owner = self
        self.rbuf = bytearray()
        self.rhead = None
        up.transport.write(self.req)
        self.utimer = asyncio.get_running_loop().call_later(self.p.s.upstream_timeout, self._up_timeout)

    # -- response
    def upstream_data(self, data: bytes) -> None:
        rbuf = self.rbuf
        rbuf += data
        if self.rhead is None:
            i = rbuf.find(_HEAD_END)
            if i < 0:
                if len(rbuf) > self.p.s.max_header_bytes:
                    self._fail(UpstreamError(502, "bad_response"))
                return
            try:
                resp = parse_head(bytes(rbuf[: i + 4]), request=False, full=False)
            except HttpError:
                self._fail(UpstreamError(502, "bad_response"))
                return
            status = resp.start[1]
            assert self.head is not None
            if self.head.start[0] == "HEAD" or status in ("204", "304"):
                n = 0
            elif status[0] == "1" or resp.content_length is None or resp.content_length > BUFFER_LIMIT:
                self._to_stream_response()
                return
            else:
                n = resp.content_length
            self.rhead = resp
            self.rhlen = i + 4
            self.rtotal = i + 4 + n
        if len(rbuf) >= self.rtotal:
            self._deliver()

    def _deliver(self) -> None:
        p = self.p
        up, head, resp = self.up, self.head, self.rhead
        assert up is not None and head is not None and resp is not None
        if self.utimer is not None:
            self.utimer.cancel()
        rbuf, total = self.rbuf, self.rtotal
        data = bytes(rbuf) if len(rbuf) == total else bytes(rbuf[:total])
        self.transport.write(data)
        if resp.keep_alive and len(rbuf) == total:
            p.pool.put(up)
        else:
            up.owner = None
            up.transport.close()
        status = int(resp.start[1])
        target = head.start[1]
        model, template, route = p._labels(target)
        p._count(model, template, status, self.t0)
        req_body = self.req[self.hlen:]
        resp_body = data[self.rhlen:]
        cap = p.s.capture_bytes
        if len(req_body) > cap or len(resp_body) > cap:
            p._drop_event("too_large")
        else:
            p.submit(Event("proxy", path=target, protocol=route.protocol,
                           model=model if model != "-" else None, version=route.version,
                           status=status, request=req_body, response=resp_body,
                           size=len(req_body) + len(resp_body)))
        self._end(head.keep_alive and resp.keep_alive)

    def upstream_lost(self, up: Upstream) -> None:
        if up is not self.up:
            return
        if self.rhead is None:
            if not self.rbuf and self.reused and not self.retried:
                # The upstream closed an idle keep-alive connection as we used it: send again, once.
                self.retried = True
                up.owner = None
                if self.utimer is not None:
                    self.utimer.cancel()
                nxt = self.p.pool.pop_idle()
                if nxt is not None:
                    self._send(nxt, True)
                else:
                    asyncio.ensure_future(self._connect())
                return
            self._fail(UpstreamError(502, "reset"))
        else:
            self._mid_response_failure()

    def _up_timeout(self) -> None:
        self.utimer = None
        if self.rhead is None:
            self._fail(UpstreamError(504, "timeout"))
        else:
            self._mid_response_failure()

    def _mid_response_failure(self) -> None:
        # The upstream died mid-response: nothing was written yet, the client sees the connection close.
        p = self.p
        assert self.head is not None and self.rhead is not None
        self._drop_upstream()
        model, template, _ = p._labels(self.head.start[1])
        p.metrics.child("mlscore_upstream_errors", "reset_mid_response").inc()
        p._count(model, template, int(self.rhead.start[1]), self.t0)
        p._drop_event("upstream_error")
        self._end(False)

    def _fail(self, exc: UpstreamError) -> None:
        p = self.p
        head = self.head
        assert head is not None
        self._drop_upstream()
        model, template, _ = p._labels(head.start[1])
        self._end(p._upstream_failed(StreamView(self), exc, model, template, self.t0, head))

    def _drop_upstream(self) -> None:
        if self.utimer is not None:
            self.utimer.cancel()
            self.utimer = None
        up = self.up
        if up is not None:
            up.owner = None
            up.transport.close()
            self.up = None

    def _end(self, keep: bool) -> None:
        self.busy = False
        self.p.active -= 1
        self.up = None
        self.head = None
        self.rhead = None
        self.rbuf = bytearray()
        self.req = b""
        if not keep or self.p.closing or self.eof or self.lost:
            self.p.connections.discard(self)
            self.transport.close()
            return
        self.idle_since = asyncio.get_running_loop().time()
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        if self.buf:
            self._next()

    # -- hand-over to the stream path
    def _stream_client(self) -> tuple[asyncio.StreamReader, StreamView]:
        self.slow = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        r, w = self.stream(self.p.s.max_header_bytes, bytes(self.buf))
        self.buf.clear()
        if self.eof:
            r.feed_eof()
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        return r, w

    def _to_stream(self) -> None:
        self.head = None
        r, w = self._stream_client()
        asyncio.ensure_future(self.p._serve(self, r, w))

    def _to_stream_response(self) -> None:
        up, head = self.up, self.head
        assert up is not None and head is not None
        if self.utimer is not None:
            self.utimer.cancel()
            self.utimer = None
        up.owner = None
        ur, uw = up.stream(self.p.s.max_header_bytes, bytes(self.rbuf))
        r, w = self._stream_client()
        body = self.req[self.hlen:]
        first = self.p._slow_response(self, r, w, ur, uw, head, body, self.t0)
        self.up = None
        asyncio.ensure_future(self.p._serve(self, r, w, first))
