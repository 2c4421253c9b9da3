"""The in-path reverse proxy: forwards bytes unchanged, never waits on analysis, fails as 502/504."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable

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

BUFFER_LIMIT = 256 * 1024  # request bodies up to this are buffered (and so retryable on a stale connection)
_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _sink(w: asyncio.StreamWriter) -> Callable[[bytes], object]:
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


class UpstreamPool:
    """Idle keep-alive connections to the upstream, most recent first."""

    def __init__(self, host: str, port: int, settings: ProxySettings, max_idle: int = 64) -> None:
        self.host, self.port = host, port
        self.settings = settings
        self.max_idle = max_idle
        self.idle: list[Conn] = []

    async def acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        while self.idle:
            r, w = self.idle.pop()
            if w.is_closing() or r.at_eof() or r.exception() is not None:
                w.close()
                continue
            return r, w, True
        try:
            r, w = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=self.settings.max_header_bytes),
                self.settings.connect_timeout,
            )
        except asyncio.TimeoutError:
            raise UpstreamError(504, "connect_timeout") from None
        except OSError:
            raise UpstreamError(502, "connect") from None
        sock = w.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover
                pass
        return r, w, False

    def release(self, conn: Conn) -> None:
        if len(self.idle) < self.max_idle and not conn[1].is_closing():
            self.idle.append(conn)
        else:
            conn[1].close()

    def close(self) -> None:
        for _, w in self.idle:
            w.close()
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
        self.connections: set[asyncio.StreamWriter] = set()
        self.active = 0  # exchanges in flight
        self.closing = False

    # -- one client connection -------------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.connections) >= self.s.max_connections:
            # Bounded memory: a connection beyond the cap is told to come back, not queued.
            self._reject(writer, 503, "too_many_connections")
            writer.close()
            return
        self.connections.add(writer)
        try:
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
            self.connections.discard(writer)
            writer.close()

    def _reject(self, writer: asyncio.StreamWriter, status: int, reason: str) -> None:
        self.metrics.child("mlscore_requests_rejected", reason).inc()
        self.metrics.child("mlscore_events_received", "proxy").inc()
        self.metrics.child("mlscore_events_dropped", "proxy", reason).inc()
        body = b'{"error":"mlscore sidecar: %s"}' % reason.replace("_", " ").encode()
        writer.write(simple_response(status, body, close=True))

    def _labels(self, target: str) -> tuple[str, str, Route]:
        route = classify(target)
        model = self.model_cap(route.model) if route.model else (self.default_model if route.inference else "-")
        return model, route.template, route

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: Head,
                        t0: float) -> bool:
        """Forward one request and its response. Returns whether the client connection stays open."""
        method, target, _ = head.start
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
        resp_capture = bytearray()
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

    def _upstream_failed(self, writer: asyncio.StreamWriter, exc: UpstreamError, model: str, template: str,
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
        code = _CLASSES.get(status // 100, OTHER)
        self.metrics.child("mlscore_requests", model, template, code).inc()
        self.metrics.child("mlscore_request_duration_seconds", model, template).observe(time.perf_counter() - t0)
