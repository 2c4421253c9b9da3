"""A small, bounded HTTP/1.1 client for the probe: caps on requests, time and rate; one-line errors.

Built on the standard library's ``http.client`` with one keep-alive connection per thread, so
its own overhead per request stays in the tens of microseconds and the latency it measures is
the server's (``benchmarks/probe.py`` compares it with ``wrk``). TLS is verified by default.
Header values (often secrets) are never put in messages, and are only sent to the target host.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from mlscore.errors import MlscoreError
from mlscore.probe import protocols

#: Largest response body read (bytes); a bigger answer is an error, not a memory spike.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class ProbeError(MlscoreError):
    """The endpoint cannot be probed (refused, hangs, wrong protocol, not JSON): one line, exit 2."""


class TransportError(ProbeError):
    """One request failed below HTTP: refused, timed out, reset, TLS, or an oversized answer."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Fallback(Exception):
    """The lean reader met an answer it does not handle; use http.client instead."""


class _Closed(Exception):
    """The peer closed a keep-alive connection."""


class BudgetExhausted(ProbeError):
    """The probe's cap on requests or time is used up; remaining checks are skipped."""


class Budget:
    """Hard caps shared by every request of one probe run: count, wall time and rate."""

    def __init__(self, max_requests: int, time_budget_s: float, max_rate: float | None) -> None:
        self.max_requests = max_requests
        self.time_budget_s = time_budget_s
        self.deadline = time.monotonic() + time_budget_s
        self.min_interval = 1.0 / max_rate if max_rate and max_rate > 0 else 0.0
        self.sent = 0
        self._next_slot = time.monotonic()
        self._lock = threading.Lock()

    def remaining_s(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def remaining_requests(self) -> int:
        return max(0, self.max_requests - self.sent)

    def acquire(self) -> None:
        """Take one request slot, waiting for the rate limit; raise when a cap is reached."""
        with self._lock:
            now = time.monotonic()
            if self.sent >= self.max_requests:
                raise BudgetExhausted(f"request cap of {self.max_requests} reached")
            if now >= self.deadline:
                raise BudgetExhausted(f"time budget of {self.time_budget_s:g} s used up")
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.min_interval
            self.sent += 1
        wait = slot - time.monotonic()
        if wait > 0:
            time.sleep(wait)


@dataclass(frozen=True)
class Response:
    """One HTTP answer, read in full (within the size cap)."""

    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float
    started_at: float = field(default=0.0, compare=False)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; :class:`protocols.PayloadError` when it is not JSON."""
        return protocols.loads(self.body, self.content_type)

    def is_json(self) -> bool:
        try:
            self.json()
        except protocols.PayloadError:
            return False
        return True

    def describe(self) -> str:
        """``GET /path -> 404`` for messages."""
        return f"{self.method} {urllib.parse.urlsplit(self.url).path or '/'} -> {self.status}"

    def snippet(self, limit: int = 120) -> str:
        """A short printable excerpt of the body (for messages), error text preferred."""
        text = protocols.error_message(self.body, self.content_type)
        if text is None:
            text = self.body[:limit * 2].decode("utf-8", "replace")
        text = " ".join(text.split())
        return text[:limit] + ("..." if len(text) > limit else "")


class HttpClient:
    """Requests to one target (plus metrics URLs on the same host), bounded and thread-safe."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout_s: float = 5.0,
        verify_tls: bool = True,
        ca_file: str | None = None,
        budget: Budget | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.username is not None or parts.password is not None:
            raise ProbeError(
                "credentials in the URL are refused (they would be printed and saved): "
                "pass them with --header-env, e.g. Authorization=MODEL_TOKEN"
            )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProbeError(f"not an http(s) URL: {base_url!r}")
        try:
            _ = parts.port  # raises ValueError for a bad port
        except ValueError:
            raise ProbeError(f"bad port in URL {base_url!r}") from None
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"  # no query: it may hold a key
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout_s = timeout_s
        self.budget = budget or Budget(1000, 60.0, None)
        self._secret_headers = dict(headers or {})
        self._local = threading.local()
        self._ssl = ssl.create_default_context(cafile=ca_file)
        if not verify_tls:
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE

    # -- public --------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: bytes, content_type: str = "application/json", **kw: Any) -> Response:
        return self.request("POST", path, body=body, content_type=content_type, **kw)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        timeout_s: float | None = None,
    ) -> Response:
        """Send one request (path on the target, or an absolute URL on the same or another port)."""
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        parts = urllib.parse.urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Accept": "application/json", "User-Agent": "mlscore-probe"}
        if host == self.host:
            headers.update(self._secret_headers)
        if content_type:
            headers["Content-Type"] = content_type
        timeout = timeout_s or self.timeout_s
        self.budget.acquire()
        for attempt in (0, 1):
            conn, reused = self._connection(scheme, host, port, timeout)
            started = time.monotonic()
            try:
                conn.request(method, target, body=body, headers=headers)
                raw = conn.getresponse()
                data = self._read(raw, started, timeout, url)
                elapsed = time.monotonic() - started
                resp_headers = {k.lower(): v for k, v in raw.getheaders()}
                if raw.will_close:
                    self._drop(scheme, host, port)
                return Response(method, url, raw.status, resp_headers, data, elapsed, started)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(scheme, host, port)
                if reused and attempt == 0:
                    continue  # a stale keep-alive connection: retry once on a fresh one
                raise TransportError(f"{method} {url}: the server closed the connection ({type(exc).__name__})", "closed") from None
            except TransportError:
                self._drop(scheme, host, port)
                raise
            except ConnectionRefusedError:
                self._drop(scheme, host, port)
                raise TransportError(f"cannot connect to {scheme}://{host}:{port}: connection refused (is the server running?)", "refused") from None
            except TimeoutError:
                self._drop(scheme, host, port)
                raise TransportError(f"{method} {url}: no answer within {timeout:g} s (the endpoint hangs or is overloaded)", "timeout") from None
            except ssl.SSLCertVerificationError as exc:
                self._drop(scheme, host, port)
                raise TransportError(
                    f"TLS certificate of {host}:{port} not trusted ({exc.verify_message}); pass --ca-file, or --insecure for a test server",
                    "tls",
                ) from None
            except ssl.SSLError as exc:
                self._drop(scheme, host, port)
                raise TransportError(f"TLS error talking to {host}:{port}: {exc.reason or exc}", "tls") from None
            except socket.gaierror:
                self._drop(scheme, host, port)
                raise TransportError(f"cannot resolve host {host!r}", "dns") from None
            except (http.client.HTTPException, OSError) as exc:
                self._drop(scheme, host, port)
                reason = getattr(exc, "strerror", None) or type(exc).__name__
                raise TransportError(f"{method} {url}: {reason}", "other") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        for conn in list(getattr(self._local, "conns", {}).values()):
            conn.close()
        self._local.conns = {}
        raw = getattr(self._local, "raw", None)
        if raw is not None:
            raw.close()
            self._local.raw = None

    def timed_post(self, path: str, body: bytes, content_type: str = "application/json") -> Response:
        """POST for latency measurement: a lean keep-alive socket per thread, few microseconds of
        client work per request (so the time measured is the server's). Answers this reader does not
        handle (chunked bodies, 1xx, no length) fall back to :meth:`request`."""
        self.budget.acquire()
        url = self.url(path)
        target = urllib.parse.urlsplit(url).path or "/"
        head = [
            f"POST {target} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}", "Accept: application/json", "User-Agent: mlscore-probe",
        ]
        head += [f"{k}: {v}" for k, v in self._secret_headers.items()]
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        for attempt in (0, 1):
            sock = getattr(self._local, "raw", None)
            reused = sock is not None
            started = time.monotonic()
            try:
                if sock is None:
                    sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    if self.scheme == "https":
                        sock = self._ssl.wrap_socket(sock, server_hostname=self.host)
                    self._local.raw = sock
                    started = time.monotonic()
                sock.sendall(payload)
                status, headers, data, keep = self._read_raw(sock, started)
            except _Fallback:
                self._drop_raw()
                return self.request("POST", path, body=body, content_type=content_type)
            except (ConnectionResetError, BrokenPipeError, _Closed):
                self._drop_raw()
                if reused and attempt == 0:
                    continue
                raise TransportError(f"POST {url}: the server closed the connection", "closed") from None
            except ConnectionRefusedError:
                self._drop_raw()
                raise TransportError(f"cannot connect to {self.scheme}://{self.host}:{self.port}: connection refused (is the server running?)", "refused") from None
            except TimeoutError:
                self._drop_raw()
                raise TransportError(f"POST {url}: no answer within {self.timeout_s:g} s (the endpoint hangs or is overloaded)", "timeout") from None
            except (ssl.SSLError, OSError) as exc:
                self._drop_raw()
                raise TransportError(f"POST {url}: {getattr(exc, 'strerror', None) or type(exc).__name__}", "other") from None
            elapsed = time.monotonic() - started
            if not keep:
                self._drop_raw()
            return Response("POST", url, status, headers, data, elapsed, started)
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop_raw(self) -> None:
        sock = getattr(self._local, "raw", None)
        if sock is not None:
            sock.close()
        self._local.raw = None

    def _read_raw(self, sock: socket.socket, started: float) -> tuple[int, dict[str, str], bytes, bool]:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise _Closed
            buf += chunk
            if len(buf) > 65536 and b"\r\n\r\n" not in buf:
                raise _Fallback
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise _Fallback
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status < 200 or "content-length" not in headers or "chunked" in headers.get("transfer-encoding", "").lower():
            raise _Fallback
        length = int(headers["content-length"])
        if length > MAX_RESPONSE_BYTES:
            raise TransportError(f"answer larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB", "oversized")
        while len(rest) < length:
            chunk = sock.recv(min(1 << 20, length - len(rest)))
            if not chunk:
                raise _Closed
            rest += chunk
            if time.monotonic() - started > self.timeout_s * 3:
                raise TimeoutError
        keep = headers.get("connection", "").lower() != "close" and parts[0] != "HTTP/1.0"
        return status, headers, rest[:length], keep

    # -- internals -----------------------------------------------------------------------

    def _connection(self, scheme: str, host: str, port: int, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        conns: dict[tuple[str, str, int], http.client.HTTPConnection] = getattr(self._local, "conns", None) or {}
        self._local.conns = conns
        key = (scheme, host, port)
        conn = conns.get(key)
        if conn is not None:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            return conn, True
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conns[key] = conn
        return conn, False

    def _drop(self, scheme: str, host: str, port: int) -> None:
        conns = getattr(self._local, "conns", {})
        conn = conns.pop((scheme, host, port), None)
        if conn is not None:
            conn.close()

    def _read(self, raw: http.client.HTTPResponse, started: float, timeout: float, url: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = raw.read(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise TransportError(f"{url}: answer larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB", "oversized")
            if time.monotonic() - started > timeout * 3:
                raise TransportError(f"{url}: answer still arriving after {timeout * 3:g} s (trickling)", "timeout")
            chunks.append(chunk)
