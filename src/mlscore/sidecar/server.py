"""Run the sidecar: the proxy port, the metrics/ingest port and the analysis worker in one event loop."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from mlscore.errors import ConfigError, MlscoreError
from mlscore.sidecar.analysis import Analyzer, Reference, load_reference
from mlscore.sidecar.config import SidecarConfig, parse_hostport
from mlscore.sidecar.http import HttpError, Request, RequestReader, simple_response
from mlscore.sidecar.ingest import Malformed, parse_ingest
from mlscore.sidecar.metrics import Metrics
from mlscore.sidecar.proxy import Proxy

log = logging.getLogger("mlscore.sidecar")
PROM_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def parse_upstream(url: str) -> tuple[str, int]:
    """``http://host:port`` into (host, port); only plain HTTP upstreams (the pod's loopback)."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.scheme != "http" or not parts.hostname:
        raise ConfigError(f"--upstream: expected http://HOST:PORT, got {url!r}")
    if parts.path not in ("", "/"):
        raise ConfigError(f"--upstream: a path prefix is not supported: {url!r}")
    return parts.hostname, parts.port or 80


def parse_trained_at(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ConfigError(f"[model] trained_at: not an ISO 8601 time: {text!r}") from None


@dataclass
class Sidecar:
    """The running pieces, exposed for tests and for the control endpoints."""

    config: SidecarConfig
    metrics: Metrics
    analyzer: Any  # Analyzer (thread) or AnalysisProcess
    proxy: Proxy | None
    started: float


class ControlServer:
    """The metrics port: ``GET /metrics``, ``POST /ingest``, ``GET /healthz``, ``GET /status``."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sc = sidecar

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        s = self.sc.config.sidecar
        requests = RequestReader(reader, max_header_bytes=s.max_header_bytes, max_body_bytes=s.max_body_bytes)
        try:
            while True:
                try:
                    req = await requests.next(s.client_idle_timeout)
                except HttpError as exc:
                    if exc.status == 413:
                        self.sc.analyzer.drop("ingest", "too_large")
                    writer.write(simple_response(exc.status, json.dumps({"error": exc.reason}).encode(), close=True))
                    return
                if req is None:
                    return
                keep = await self._one(writer, req)
                await writer.drain()
                if not keep or not req.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except Exception:
            log.exception("control connection failed")
        finally:
            writer.close()

    async def _one(self, writer: asyncio.StreamWriter, req: Request) -> bool:
        method, target = req.method, req.target
        path = target.split("?", 1)[0]
        sc = self.sc
        if path == "/ingest":
            if method != "POST":
                writer.write(simple_response(405, b'{"error":"POST only"}', extra="Allow: POST\r\n"))
                return True
            headers = dict(req.headers)
            body = req.body
            try:
                if len(body) > 64 * 1024:  # keep a large JSON parse off the event loop
                    events = await asyncio.get_running_loop().run_in_executor(
                        None, parse_ingest, target, headers, body)
                else:
                    events = parse_ingest(target, headers, body)
            except Malformed as exc:
                sc.analyzer.drop("ingest", "malformed")
                msg = json.dumps({"error": f"not a payload log: {exc}"}).encode()
                writer.write(simple_response(400, msg))
                return True
            for ev in events:
                sc.analyzer.submit(ev)
            writer.write(simple_response(202, json.dumps({"received": len(events)}).encode()))
            return True
        if method not in ("GET", "HEAD"):
            writer.write(simple_response(405, b'{"error":"GET only"}', extra="Allow: GET\r\n"))
        elif path == "/metrics":
            if sc.proxy is not None:
                sc.proxy.flush_metrics()
            writer.write(simple_response(200, sc.metrics.exposition(), content_type=PROM_CONTENT_TYPE))
        elif path in ("/healthz", "/readyz"):
            writer.write(simple_response(200, b'{"status":"ok"}'))
        elif path == "/status":
            writer.write(simple_response(200, json.dumps(self.status(), default=str).encode()))
        else:
            writer.write(simple_response(404, b'{"error":"not found"}'))
        return True

    def status(self) -> dict[str, Any]:
        a = self.sc.analyzer
        return {
            "uptime_seconds": round(time.time() - self.sc.started, 3),
            "queue_depth": len(a.queue),
            "windows": {m: w if isinstance(w, dict) else {"rows": w.rows, "prediction_rows": w.pred_rows}
                        for m, w in list(a.windows.items())},
            "last_results": dict(a.last_results),  # written by the analysis thread
        }


async def serve(config: SidecarConfig, *, ready: asyncio.Event | None = None,
                stop: asyncio.Event | None = None, bound: dict[str, int] | None = None) -> None:
    """Run until SIGTERM/SIGINT (or ``stop``); ``bound`` receives the actual ports (for port 0)."""
    s = config.sidecar
    mhost, mport = parse_hostport(s.metrics, what="--metrics")
    listen = parse_hostport(s.listen, what="--listen") if s.upstream else None
    upstream = parse_upstream(s.upstream) if s.upstream else None
    reference: Reference | None = None
    if s.reference:
        reference = load_reference(s.reference, config.model.prediction_column)
    trained_at = parse_trained_at(config.model.trained_at)
    if trained_at is None and reference is not None:
        created = getattr(reference.profile, "created_at", None) or getattr(reference.profile, "source", None)
        if isinstance(created, str):
            try:
                trained_at = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
            except ValueError:
                trained_at = None
    metrics = Metrics()
    analyzer: Any
    if s.analysis == "process":
        from mlscore.sidecar.worker import AnalysisProcess

        analyzer = AnalysisProcess(config, metrics, trained_at=trained_at)
    else:
        analyzer = Analyzer(config, metrics, reference, trained_at=trained_at)
    proxy = None
    if upstream is not None:
        proxy = Proxy(s, upstream, metrics, analyzer.submit, config.model.name)
    sc = Sidecar(config, metrics, analyzer, proxy, time.time())
    control = ControlServer(sc)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread
            pass
    servers: list[asyncio.base_events.Server] = []
    try:
        servers.append(await _listen(control.handle, mhost, mport, s.max_header_bytes, "--metrics"))
        if proxy is not None and listen is not None:
            servers.append(await _listen_protocol(proxy.protocol, listen[0], listen[1], "--listen"))
    except MlscoreError:
        for srv in servers:
            srv.close()
        raise
    if bound is not None:
        bound["metrics"] = servers[0].sockets[0].getsockname()[1]
        if proxy is not None:
            bound["listen"] = servers[1].sockets[0].getsockname()[1]
    tasks = [asyncio.create_task(analyzer.run()), asyncio.create_task(analyzer.tick())]
    if proxy is not None:
        tasks.append(asyncio.create_task(_flush_every(proxy, 1.0)))
    # Everything loaded so far (reference profile, numpy, pandas...) lives for the whole run: move it out of
    # the collector's generations, so a full collection no longer walks it in the middle of a request.
    gc.collect()
    gc.freeze()
    # The analysis thread shares the GIL with the event loop: hand it back to the loop within 0.5 ms (the
    # default 5 ms would show in request latency whenever a request arrives mid-analysis).
    sys.setswitchinterval(0.0005)
    log.info("mlscore sidecar: metrics on %s, proxy %s", s.metrics,
             f"{s.listen} -> {s.upstream}" if proxy else "off (ingest only)")
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        for srv in servers:
            srv.close()
        if proxy is not None:
            # Let in-flight exchanges finish (up to 5 s), then close idle keep-alive connections.
            proxy.closing = True
            deadline = time.monotonic() + 5.0
            while proxy.active and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            for c in list(proxy.connections):
                c.close()
            proxy.pool.close()
            proxy.flush_metrics()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _listen(handler: Any, host: str, port: int, limit: int, what: str) -> asyncio.base_events.Server:
    try:
        return await asyncio.start_server(handler, host, port, limit=limit, reuse_address=True, backlog=1024)
    except OSError as exc:
        raise MlscoreError(f"{what} {host}:{port}: cannot listen: {exc.strerror or exc}") from None


async def _flush_every(proxy: Proxy, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        proxy.flush_metrics()


async def _listen_protocol(factory: Any, host: str, port: int, what: str) -> asyncio.base_events.Server:
    try:
        return await asyncio.get_running_loop().create_server(factory, host, port, reuse_address=True, backlog=1024)
    except OSError as exc:
        raise MlscoreError(f"{what} {host}:{port}: cannot listen: {exc.strerror or exc}") from None


def run(config: SidecarConfig) -> None:
    """Blocking entry point: uvloop when installed, else asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(config))
        return
    uvloop.run(serve(config)) if hasattr(uvloop, "run") else (uvloop.install(), asyncio.run(serve(config)))
