"""The in-path reverse proxy: HTTP/1.1 parsed by llhttp (httptools), never waits on analysis, fails as 502/504.

Both directions go through llhttp, the parser of Node.js: requests from clients and responses from the
upstream. What the proxy forwards is what llhttp parsed, written out again: the start line and the header
fields in their order and spelling, the body with the framing it was received with (a chunked body is
re-chunked from the decoded chunks, trailers dropped). So the upstream can never see a message boundary the
proxy did not see: framing that llhttp rejects (bad chunk sizes, both Content-Length and Transfer-Encoding,
bare LF line endings, obsolete folding...) is answered 400 and never forwarded.

One client connection serves its requests in order (pipelined requests wait their turn); the request body
streams to the upstream as it arrives, the response streams back, with back-pressure both ways. Pooled
keep-alive connections to the upstream; a request that found a pooled connection closed is sent again once.
After the answer, both bodies (up to ``capture_bytes``) go to the analysis queue in one append.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from typing import Any

import httptools

from mlscore.sidecar.config import ProxySettings
from mlscore.sidecar.events import Event
from mlscore.sidecar.http import simple_response, within
from mlscore.sidecar.metrics import OTHER, LabelCap, Metrics
from mlscore.sidecar.routes import Route, classify

log = logging.getLogger("mlscore.sidecar")

FLUSH_EVERY = 512  # request tallies held before they go into the metric registry
RETRY_LIMIT = 256 * 1024  # a request whose bytes fit here is kept for one retry on a stale pooled connection
PIPELINE_LIMIT = 256 * 1024  # bytes of waiting pipelined requests before the client is paused
HIGH_WATER = 256 * 1024  # transport write buffer above which the other side is paused
_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
COALESCE_LIMIT = 256 * 1024  # a length-framed answer up to this size is written to the client in one piece


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


class UpstreamError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Exchange:
    """One request and its response."""

    __slots__ = (
        "body_done", "chunked", "resp_done", "expect", "failed", "head_out", "headers", "interim", "keep", "method", "model",
        "out", "pending", "pending_bytes", "req_cap", "req_fits", "req_len", "resp_cap", "resp_chunked",
        "resp_fits", "resp_headers", "resp_keep", "resp_len", "resp_nobody", "resp_reason", "resp_started",
        "resp_status", "retry", "retryable", "route", "sent_continue", "t0", "target", "template", "trailers",
        "up", "url", "version",
    )

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers = False
        self.method = ""
        self.target = ""
        self.version = "1.1"
        self.keep = True
        self.chunked = False
        self.expect = False
        self.head_out = b""
        self.body_done = False
        self.pending: list[bytes] = []  # upstream bytes waiting for a connection
        self.pending_bytes = 0
        self.retry: list[bytes] | None = []  # everything sent upstream, while it fits RETRY_LIMIT
        self.retryable = True
        self.req_cap = bytearray()
        self.req_fits = True
        self.req_len = 0
        self.t0 = 0.0
        self.model = "-"
        self.template = OTHER
        self.route: Route | None = None
        self.up: Upstream | None = None
        self.out: list[bytes] = []  # client bytes produced in one upstream callback batch
        self.interim = False
        self.sent_continue = False
        self.resp_status = 0
        self.resp_reason = b""
        self.resp_headers: list[tuple[bytes, bytes]] = []
        self.resp_started = False
        self.resp_chunked = False
        self.resp_keep = True
        self.resp_nobody = False
        self.resp_cap = bytearray()
        self.resp_fits = True
        self.resp_len = 0
        self.failed = False
        self.resp_done = False


def _head_bytes(first: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    parts = [first]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


class _Flow(asyncio.Protocol):
    """Write flow control shared by both sides: pause the peer's reading while our buffer is high."""

    transport: asyncio.Transport
    peer_paused = False
    lost = False

    def pause_writing(self) -> None:
        self.on_pause(True)

    def resume_writing(self) -> None:
        self.on_pause(False)

    def on_pause(self, paused: bool) -> None:  # pragma: no cover - overridden
        pass


class Upstream(_Flow):
    """One keep-alive connection to the upstream; its response parser feeds the exchange that owns it."""

    def __init__(self) -> None:
        self.owner: _Client | None = None
        self.parser: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover
                pass

    def data_received(self, data: bytes) -> None:
        owner = self.owner
        if owner is None:  # bytes nobody asked for: the connection cannot be reused
            self.transport.close()
            return
        try:
            owner.upstream_data(self, data)
        except Exception:  # a bug must cost one connection, never the sidecar or the counters
            log.exception("proxy connection failed")
            self.transport.close()
            owner.abort()

    def eof_received(self) -> bool:
        if self.owner is not None:
            self.owner.upstream_eof(self)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.owner is not None:
            self.owner.upstream_eof(self)

    def on_pause(self, paused: bool) -> None:
        if self.owner is not None:
            self.owner.upstream_buffer(paused)

    # llhttp response callbacks (routed to the owner's active exchange)
    def on_status(self, status: bytes) -> None:
        if self.owner is not None:
            self.owner.resp_status_text(status)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.owner is not None:
            self.owner.resp_header(name, value)

    def on_headers_complete(self) -> None:
        if self.owner is not None:
            self.owner.resp_headers_complete(self)

    def on_body(self, body: bytes) -> None:
        if self.owner is not None:
            self.owner.resp_body(body)

    def on_message_complete(self) -> None:
        if self.owner is not None:
            self.owner.resp_complete(self)


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

    def put(self, up: Upstream) -> None:
        up.owner = None
        up.parser = None
        if len(self.idle) < self.max_idle and not up.lost and not up.transport.is_closing():
            self.idle.append(up)
        else:
            up.transport.close()

    def close(self) -> None:
        for up in self.idle:
            up.transport.close()
        self.idle.clear()


class Proxy:
    """The listening side: counts, labels and the upstream pool shared by every client connection."""

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

    def protocol(self) -> _Client:
        """Protocol factory for ``loop.create_server``."""
        return _Client(self)

    def labels(self, target: str) -> tuple[str, str, Route]:
        route = classify(target)
        model = self.model_cap(route.model) if route.model else (self.default_model if route.inference else "-")
        return model, route.template, route

    def reject_counts(self, reason: str) -> None:
        self.metrics.child("mlscore_requests_rejected", reason).inc()
        self.drop_event(reason)

    def drop_event(self, reason: str) -> None:
        self.metrics.child("mlscore_events_received", "proxy").inc()
        self.metrics.child("mlscore_events_dropped", "proxy", reason).inc()

    def count(self, model: str, template: str, status: int, t0: float) -> None:
        """Tally one answered request; ``flush_metrics`` moves tallies into the registry in batches."""
        key = (model, template, _CLASSES.get(status // 100, OTHER))
        self._tally[key] = self._tally.get(key, 0) + 1
        self._durations.append((model, template, time.perf_counter() - t0))
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


def _error_body(reason: str) -> bytes:
    return b'{"error":"mlscore sidecar: %s"}' % reason.replace("_", " ").encode()


class _Client(_Flow):
    """One client connection: llhttp parses what arrives; exchanges are served one at a time, in order."""

    def __init__(self, proxy: Proxy) -> None:
        self.p = proxy
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Exchange] = deque()  # parsed (at least the head) and not answered; [0] is active
        self.parsing: Exchange | None = None  # the message llhttp is in
        self.in_head = False
        self.head_bytes = 0
        self.eof = False
        self.closing = False  # no more requests are read (error, Connection: close, shutdown)
        self.error: tuple[int, str] | None = None  # answer once the exchanges before it are done
        self.read_paused = False
        self.idle_since = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.utimer: asyncio.TimerHandle | None = None
        self.head_parsed = 0
        self.feeding = False  # inside parser.feed_data

    # -- client transport ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        p = self.p
        if len(p.connections) >= p.s.max_connections:
            # Bounded memory: a connection beyond the cap is told to come back, not queued.
            p.reject_counts("too_many_connections")
            transport.write(simple_response(503, _error_body("too_many_connections"), close=True))  # type: ignore[attr-defined]
            transport.close()
            self.closing = True
            return
        p.connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:  # an answer written in pieces must not wait for the client's delayed ACK (Nagle)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover
                pass
        loop = asyncio.get_running_loop()
        self.idle_since = loop.time()
        self.timer = loop.call_later(p.s.client_idle_timeout, self._idle_check)

    def data_received(self, data: bytes) -> None:
        if self.closing or self.lost:
            return
        self.feeding = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._protocol_error(501, "bad_request")  # protocol upgrades (WebSocket, h2c) are not proxied
        except httptools.HttpParserError as exc:
            why = exc.__context__
            if isinstance(why, _Reject):
                self._protocol_error(why.status, why.reason)
            elif isinstance(why, _TooLarge):
                self._protocol_error(413, "body_too_large")
            else:
                self._protocol_error(400, "bad_request")
        except Exception:  # a bug must cost one connection, never the sidecar or the counters
            log.exception("proxy connection failed")
            self.feeding = False
            self.abort()
            return
        self.feeding = False
        if self.in_head and not self.closing:
            self.head_bytes += len(data)
            if self.head_bytes > self.p.s.max_header_bytes:
                self._protocol_error(431, "header_too_large")
        self._flush_upstream()
        self._check_pipeline()

    def eof_received(self) -> bool:
        self.eof = True
        ex = self.parsing
        if ex is not None and not self.closing:
            if self.in_head or ex not in self.queue:  # a request cut inside its head
                self._protocol_error(400, "bad_request")
            else:  # cut inside its body: the upstream cannot get a complete request
                self._client_aborted(ex)
                return False
        if not self.queue and self.error is None:
            self._close()
            return False
        return True  # answer what was asked, then close

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.p.connections.discard(self)
        for t in (self.timer, self.utimer):
            if t is not None:
                t.cancel()
        if self.queue:
            ex = self.queue[0]
            if ex.up is not None and not ex.failed:  # the client went away: its exchange is over
                self._release_upstream(ex, reuse=False)
                self.p.active -= 1
                if not ex.resp_done:
                    self.p.drop_event("client_aborted")
            self.queue.clear()

    def on_pause(self, paused: bool) -> None:
        """The client's socket buffer is full: stop reading the upstream's answer until it drains."""
        if self.queue and self.queue[0].up is not None and not self.queue[0].up.lost:
            up = self.queue[0].up
            (up.transport.pause_reading if paused else up.transport.resume_reading)()

    def upstream_buffer(self, paused: bool) -> None:
        """The upstream's socket buffer is full: stop reading the client's body until it drains."""
        if paused:
            self._pause_reading()
        else:
            self._resume_reading()

    def close(self) -> None:
        self._close()

    def abort(self) -> None:
        """Close after an unexpected error, keeping ``active`` and the pool consistent."""
        if self.queue:
            ex = self.queue[0]
            if ex.up is not None and not ex.failed:
                self._release_upstream(ex, reuse=False)
                self.p.active -= 1
                ex.failed = True
            self.queue.clear()
        self._close()

    # -- llhttp request callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.parsing = Exchange()
        self.in_head = True
        self.head_bytes = 0
        self.head_parsed = 0

    def on_url(self, url: bytes) -> None:
        assert self.parsing is not None
        self.parsing.url += url
        self._head_size(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        ex = self.parsing
        assert ex is not None
        if self.in_head:
            ex.headers.append((name, value))
        else:
            ex.trailers = True  # chunked trailers: dropped (re-chunked bodies end with no trailer section)
        self._head_size(len(name) + len(value) + 4)  # head and trailers together within max_header_bytes

    def _head_size(self, n: int) -> None:
        self.head_parsed += n
        if self.head_parsed > self.p.s.max_header_bytes:
            raise _Reject(431, "header_too_large")

    def on_headers_complete(self) -> None:
        ex = self.parsing
        assert ex is not None
        self.in_head = False
        p, s = self.p, self.p.s
        parser = self.parser
        ex.method = parser.get_method().decode("latin-1")
        ex.version = parser.get_http_version()
        ex.target = ex.url.decode("latin-1")
        ex.keep = parser.should_keep_alive()
        te = cl = None
        for name, value in ex.headers:
            low = name.lower()
            if low == b"transfer-encoding":
                te = value
            elif low == b"content-length":
                cl = value
            elif low == b"expect" and value.strip().lower() == b"100-continue":
                ex.expect = True
        if te is not None and ex.version == "1.0":
            raise _Reject(400, "bad_request")  # RFC 9112 6.1: chunked framing in HTTP/1.0 is faulty framing
        ex.chunked = te is not None
        if cl is not None and int(cl) > s.max_body_bytes:
            raise _Reject(413, "body_too_large")
        ex.head_out = _head_bytes(b"%s %s HTTP/%s\r\n" % (ex.method.encode("latin-1"), ex.url,
                                                          ex.version.encode("ascii")), ex.headers)
        ex.model, ex.template, ex.route = p.labels(ex.target)
        ex.t0 = time.perf_counter()
        ex.retry = [ex.head_out]
        self.queue.append(ex)
        if len(self.queue) == 1:
            self._start(ex)

    def on_body(self, body: bytes) -> None:
        ex = self.parsing
        assert ex is not None
        s = self.p.s
        ex.req_len += len(body)
        if ex.req_len > s.max_body_bytes:
            raise _TooLarge()
        if ex.req_fits:
            if ex.req_len <= s.capture_bytes:
                ex.req_cap += body
            else:
                ex.req_fits = False
                ex.req_cap = bytearray()
        self._to_upstream(ex, b"%x\r\n%s\r\n" % (len(body), body) if ex.chunked else body)

    def on_message_complete(self) -> None:
        ex = self.parsing
        assert ex is not None
        self.parsing = None
        ex.body_done = True
        if ex.chunked:
            self._to_upstream(ex, b"0\r\n\r\n")
        if not ex.keep:
            self.closing = True  # nothing after a Connection: close request is read
        if ex.failed and self.queue and self.queue[0] is ex:
            self._next()

    # -- request bytes to the upstream -------------------------------------------------------------
    def _to_upstream(self, ex: Exchange, data: bytes) -> None:
        if ex.failed:
            return
        if ex.retry is not None:
            ex.retry.append(data)
            if sum(map(len, ex.retry)) > RETRY_LIMIT:
                ex.retry = None
        ex.pending.append(data)
        ex.pending_bytes += len(data)

    def _flush_upstream(self) -> None:
        if not self.queue:
            return
        ex = self.queue[0]
        up = ex.up
        if up is not None and ex.pending and not ex.failed:
            up.transport.write(b"".join(ex.pending) if len(ex.pending) > 1 else ex.pending[0])
            ex.pending.clear()
            ex.pending_bytes = 0

    def _check_pipeline(self) -> None:
        waiting = sum(e.pending_bytes for e in list(self.queue)[1:])
        if waiting > PIPELINE_LIMIT:
            self._pause_reading()

    def _pause_reading(self) -> None:
        if not self.read_paused and not self.lost:
            self.read_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.read_paused and not self.lost:
            self.read_paused = False
            self.transport.resume_reading()

    # -- exchanges -------------------------------------------------------------------------------
    def _start(self, ex: Exchange) -> None:
        self.p.active += 1
        up = self.p.pool.pop_idle()
        if up is not None:
            self._attach(ex, up, reused=True)
        else:
            asyncio.ensure_future(self._connect(ex))

    async def _connect(self, ex: Exchange, *, again: bool = False) -> None:
        """A new upstream connection for ``ex`` (``again``: a retry after a reused connection closed on it)."""
        try:
            up = await self.p.pool.connect()
        except UpstreamError as exc:
            self._fail(ex, exc)
            return
        if ex.failed or self.lost or not self.queue or self.queue[0] is not ex:
            up.transport.close()
            return
        self._attach(ex, up, reused=False, again=again)

    def _attach(self, ex: Exchange, up: Upstream, *, reused: bool, again: bool = False) -> None:
        """Give ``ex`` an upstream connection and send what the client has sent so far (all of it again
        for a retry)."""
        ex.up = up
        ex.retryable = reused and not again
        up.owner = self
        up.parser = httptools.HttpResponseParser(up)
        if again and ex.retry is not None:
            data = b"".join(ex.retry)
        else:
            data = b"".join([ex.head_out, *ex.pending])
        ex.pending.clear()
        ex.pending_bytes = 0
        if self.feeding:  # inside llhttp's callbacks: the body parsed with the head follows in the same write
            ex.pending.append(data)
            ex.pending_bytes = len(data)
        else:
            up.transport.write(data)
        if self.utimer is not None:
            self.utimer.cancel()
        self.utimer = asyncio.get_running_loop().call_later(self.p.s.upstream_timeout, self._up_timeout, ex)

    def upstream_data(self, up: Upstream, data: bytes) -> None:
        if not self.queue or self.queue[0].up is not up:
            up.transport.close()
            return
        ex = self.queue[0]
        try:
            up.parser.feed_data(data)
        except (httptools.HttpParserUpgrade, httptools.HttpParserError):
            if not ex.resp_done:
                self._upstream_broken(ex, "bad_response")
                return
            ex.resp_keep = False  # junk after a complete answer: never reuse that connection
        # One write per answer when it is small and framed by length (the common inference reply); streamed
        # answers (chunked, large, close-delimited) go out as they come.
        if ex.out and not self.lost and (ex.resp_done or ex.resp_chunked or not ex.resp_started
                                          or ex.resp_len > COALESCE_LIMIT or not ex.resp_keep):
            self.transport.write(b"".join(ex.out) if len(ex.out) > 1 else ex.out[0])
            ex.out.clear()
        if ex.resp_done and not ex.failed:
            self._finish(ex)

    # llhttp response callbacks, for the active exchange
    def resp_status_text(self, status: bytes) -> None:
        ex = self.queue[0]
        if not ex.resp_done:
            ex.resp_reason += status

    def resp_header(self, name: bytes, value: bytes) -> None:
        ex = self.queue[0]
        if not ex.resp_started and not ex.resp_done:
            ex.resp_headers.append((name, value))

    def resp_headers_complete(self, up: Upstream) -> None:
        ex = self.queue[0]
        if ex.resp_done:
            ex.resp_keep = False  # a second answer to one request: the connection is not reusable
            return
        status = up.parser.get_status_code()
        if 100 <= status < 200:
            ex.interim = True
            if status == 101:
                raise httptools.HttpParserError("upgrade")
            if status == 100 and ex.expect and not ex.sent_continue:
                ex.sent_continue = True
                ex.out.append(CONTINUE)  # the client waits for it before sending its body
            ex.resp_headers = []
            ex.resp_reason = b""
            return
        ex.resp_status = status
        ex.resp_keep = up.parser.should_keep_alive()
        te = cl = None
        for name, value in ex.resp_headers:
            low = name.lower()
            if low == b"transfer-encoding":
                te = value
            elif low == b"content-length":
                cl = value
        ex.resp_chunked = te is not None
        ex.resp_nobody = ex.method == "HEAD" or status in (204, 304)
        if not ex.resp_nobody and te is None and cl is None:
            ex.resp_keep = False  # delimited by close
        first = b"HTTP/%s %d %s\r\n" % (up.parser.get_http_version().encode("ascii"), status, ex.resp_reason)
        ex.out.append(_head_bytes(first, ex.resp_headers))
        ex.resp_started = True
        if ex.resp_nobody:  # a HEAD answer has no body whatever its Content-Length says
            ex.resp_done = True

    def resp_body(self, body: bytes) -> None:
        ex = self.queue[0]
        if ex.resp_nobody or ex.resp_done:
            return
        ex.resp_len += len(body)
        if ex.resp_fits:
            if len(ex.resp_cap) + len(body) <= self.p.s.capture_bytes:
                ex.resp_cap += body
            else:
                ex.resp_fits = False
                ex.resp_cap = bytearray()
        ex.out.append(b"%x\r\n%s\r\n" % (len(body), body) if ex.resp_chunked else body)

    def resp_complete(self, up: Upstream) -> None:
        ex = self.queue[0]
        if ex.interim:
            ex.interim = False
            return
        if ex.resp_done:
            return
        if ex.resp_chunked:
            ex.out.append(b"0\r\n\r\n")
        ex.resp_done = True  # finished by upstream_data once llhttp returns

    def upstream_eof(self, up: Upstream) -> None:
        if not self.queue or self.queue[0].up is not up:
            return
        ex = self.queue[0]
        if ex.failed:
            return
        if not ex.resp_started:
            if ex.retryable and ex.retry is not None and not ex.resp_reason and not ex.resp_headers:
                # The upstream closed an idle keep-alive connection as we used it: send again, once.
                ex.retryable = False
                up.owner = None
                up.transport.close()
                ex.up = None
                if self.utimer is not None:
                    self.utimer.cancel()
                nxt = self.p.pool.pop_idle()
                if nxt is not None:
                    self._attach(ex, nxt, reused=True, again=True)
                else:
                    asyncio.ensure_future(self._connect(ex, again=True))
                return
            self._fail(ex, UpstreamError(502, "reset"))
            return
        if ex.resp_done:
            return
        if not ex.resp_chunked and not any(n.lower() == b"content-length" for n, _ in ex.resp_headers):
            ex.resp_done = True  # a body delimited by close ends here
            ex.resp_keep = False
            if ex.out and not self.lost:
                self.transport.write(b"".join(ex.out))
                ex.out.clear()
            self._finish(ex, reuse=False)
            return
        self._mid_response_failure(ex)

    def _up_timeout(self, ex: Exchange) -> None:
        self.utimer = None
        if not self.queue or self.queue[0] is not ex or ex.failed:
            return
        if ex.resp_started:
            self._mid_response_failure(ex)
        else:
            self._fail(ex, UpstreamError(504, "timeout"))

    def _upstream_broken(self, ex: Exchange, reason: str) -> None:
        if ex.resp_started:
            self._mid_response_failure(ex)
        else:
            self._fail(ex, UpstreamError(502, reason))

    def _mid_response_failure(self, ex: Exchange) -> None:
        """The upstream died or broke framing mid-response: the client gets what was sent (as it would
        directly), then the connection closes; counted as a failed (5xx) exchange."""
        p = self.p
        if ex.out and not self.lost:
            self.transport.write(b"".join(ex.out))
            ex.out.clear()
        self._release_upstream(ex, reuse=False)
        ex.failed = True
        p.metrics.child("mlscore_upstream_errors", "reset_mid_response").inc()
        p.count(ex.model, ex.template, 502, ex.t0)
        p.drop_event("upstream_error")
        p.active -= 1
        self.queue.clear()
        self._close()

    def _fail(self, ex: Exchange, exc: UpstreamError) -> None:
        """No answer from the upstream: 502/504 to the client."""
        p = self.p
        if ex.failed:
            return
        self._release_upstream(ex, reuse=False)
        ex.failed = True
        p.metrics.child("mlscore_upstream_errors", exc.reason).inc()
        p.count(ex.model, ex.template, exc.status, ex.t0)
        p.drop_event("upstream_error")
        p.active -= 1
        msg = "upstream timed out" if exc.status == 504 else "upstream unavailable"
        # The rest of the request body is read and discarded when the client sent it whole; else close.
        keep = ex.keep and ex.body_done and not self.closing
        if not self.lost:
            self.transport.write(simple_response(exc.status, b'{"error":"mlscore sidecar: %s"}' % msg.encode(),
                                                 close=not keep))
        if not keep and not ex.body_done:
            self.queue.clear()
            self._close()
            return
        self._next(keep)

    def _client_aborted(self, ex: Exchange) -> None:
        """The client went away in the middle of its request body."""
        p = self.p
        if ex in self.queue and self.queue[0] is ex and not ex.failed:
            self._release_upstream(ex, reuse=False)
            ex.failed = True
            p.active -= 1
        p.drop_event("client_aborted")
        self.queue.clear()
        self._close()

    def _finish(self, ex: Exchange, *, reuse: bool = True) -> None:
        """The response is complete: count, hand the bodies to the analysis, go on with the next request."""
        p = self.p
        if self.utimer is not None:
            self.utimer.cancel()
            self.utimer = None
        full_request = ex.body_done
        self._release_upstream(ex, reuse=reuse and ex.resp_keep and full_request)
        ex.failed = True  # done: later callbacks for it are ignored
        p.active -= 1
        p.count(ex.model, ex.template, ex.resp_status, ex.t0)
        if not ex.req_fits or not ex.resp_fits:
            p.drop_event("too_large")
        else:
            route = ex.route
            p.submit(Event("proxy", path=ex.target, protocol=route.protocol if route else None,
                           model=ex.model if ex.model != "-" else None, version=route.version if route else None,
                           status=ex.resp_status, request=bytes(ex.req_cap), response=bytes(ex.resp_cap),
                           size=len(ex.req_cap) + len(ex.resp_cap)))
        keep = ex.keep and ex.resp_keep and full_request and not p.closing
        if not full_request:
            # The upstream answered before the request body ended: the rest of it cannot be framed for anyone.
            self.queue.clear()
            self._close()
            return
        self._next(keep)

    def _next(self, keep: bool = True) -> None:
        if self.queue:
            self.queue.popleft()
        if not keep:
            self.queue.clear()
            self._close()
            return
        self.idle_since = asyncio.get_running_loop().time()
        if self.queue:
            nxt = self.queue[0]
            self._start(nxt)
            self._flush_upstream()
            self._resume_reading()
            return
        self._resume_reading()
        if self.error is not None:
            status, reason = self.error
            self.error = None
            self._reject(status, reason)
            return
        if self.eof or self.closing:
            self._close()

    def _release_upstream(self, ex: Exchange, *, reuse: bool) -> None:
        up = ex.up
        ex.up = None
        if up is None:
            return
        if reuse and not up.lost:
            try:
                up.transport.resume_reading()  # it may have been paused by back-pressure
            except RuntimeError:  # pragma: no cover
                pass
            self.p.pool.put(up)
        else:
            up.owner = None
            up.transport.close()

    # -- errors ------------------------------------------------------------------------------------
    def _protocol_error(self, status: int, reason: str) -> None:
        """llhttp (or a limit) rejected what the client sent."""
        self.closing = True
        if self.parsing is not None and self.parsing in self.queue and self.queue[0] is self.parsing:
            ex = self.parsing
            if not ex.failed:
                # the active request's body broke: its upstream exchange cannot complete
                self._release_upstream(ex, reuse=False)
                ex.failed = True
                self.p.active -= 1
                self.p.count(ex.model, ex.template, status, ex.t0)
                self.queue.clear()
                if ex.resp_started:
                    self.p.drop_event(reason)
                    self._close()
                    return
            self._reject(status, reason)
            return
        if self.parsing is not None and self.parsing in self.queue:
            self.queue.remove(self.parsing)  # a pipelined request that broke: answered after those before it
        self.parsing = None
        if self.queue:
            self.error = (status, reason)
            self._pause_reading()
            return
        self._reject(status, reason)

    def _reject(self, status: int, reason: str) -> None:
        self.p.reject_counts(reason)
        if not self.lost:
            self.transport.write(simple_response(status, _error_body(reason), close=True))
        self._close()

    def _idle_check(self) -> None:
        self.timer = None
        if self.lost:
            return
        loop = asyncio.get_running_loop()
        left = self.idle_since + self.p.s.client_idle_timeout - loop.time()
        if self.queue or left > 0:
            self.timer = loop.call_later(max(left, 0.05) if not self.queue else self.p.s.client_idle_timeout,
                                         self._idle_check)
            return
        if self.parsing is not None:  # a request started and never finished: say so, count it
            self._reject(408, "client_timeout")
            return
        self._close()

    def _close(self) -> None:
        self.closing = True
        self.p.connections.discard(self)
        if not self.lost:
            self.transport.close()


class _TooLarge(Exception):
    """A chunked request body grew past max_body_bytes."""


class _Reject(Exception):
    """Raised from a parser callback: answer ``status`` and close."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
