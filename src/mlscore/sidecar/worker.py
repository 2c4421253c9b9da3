"""Analysis in a child process: the event loop only hands raw bodies to a sender thread.

Decoding JSON and updating profiles in the sidecar's own process competes with the proxy for the
interpreter lock: at 200 requests/s of 10 rows x 30 features that added about 0.5 ms to the median
latency. Here an ``Analyzer`` runs in a child process at a lower CPU priority (nice 10), so when the machine
is short of CPU the analysis falls behind and sheds events (``queue_full``, counted) instead of slowing the
model server or the proxy.

Accounting stays exact: the parent counts every event received and every event it drops before the child
(sampled out, queue full, too large...); the child counts what it analysed and what it could not decode.
The child sends a snapshot of the metric series it owns (absolute values, with the number of events it has
processed) every 0.2 s and whenever it runs dry, and the parent writes them into its registry; the parent's
``mlscore_queue_depth`` is the events sent and not yet reported processed, so when it reads 0 the counters
balance.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from typing import Any

from mlscore.sidecar.config import SidecarConfig
from mlscore.sidecar.events import Event, admit
from mlscore.sidecar.metrics import BY_NAME, Metrics

log = logging.getLogger("mlscore.sidecar")

SNAPSHOT_EVERY = 0.2
SEND_BATCH = 32  # events that wake the sender thread at once
SEND_DELAY = 0.02  # otherwise it sends what waits this often
#: Families whose series the child owns (the parent never touches them); events_dropped is shared by reason.
CHILD_FAMILIES = {
    "mlscore_events_analysed", "mlscore_event_processing_seconds", "mlscore_rows_analysed", "mlscore_window_rows",
    "mlscore_window_size_rows", "mlscore_windows_closed", "mlscore_window_last_closed_timestamp_seconds",
    "mlscore_reference_rows", "mlscore_feature_drift_score", "mlscore_drift_score_max", "mlscore_drift_detected",
    "mlscore_drifted_features", "mlscore_schema_violations", "mlscore_predictions", "mlscore_predictions_nonfinite",
    "mlscore_predictions_out_of_range", "mlscore_model_info", "mlscore_model_trained_timestamp_seconds",
}
CHILD_DROP_REASONS = {"undecodable", "empty", "analysis_error"}


def _snapshot(metrics: Metrics) -> list[tuple[str, str, dict[str, str], float]]:
    """(family, sample name, labels, value) of every series the child owns."""
    out = []
    for fam in metrics.registry.collect():
        name = fam.name
        for s in fam.samples:
            base = name
            if base not in BY_NAME:
                continue
            if base == "mlscore_events_dropped" or base == "mlscore_events_dropped_total":
                if s.labels.get("reason") not in CHILD_DROP_REASONS:
                    continue
            elif base not in CHILD_FAMILIES:
                continue
            out.append((base, s.name, dict(s.labels), float(s.value)))
    return out


def _child_main(conn: Any, config_json: str, trained_at: float | None) -> None:
    """The child: load the reference, analyse events from the pipe, report snapshots."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    try:
        os.nice(10)
    except OSError:  # pragma: no cover
        pass
    from mlscore.sidecar.analysis import Analyzer, load_reference

    config = SidecarConfig.model_validate_json(config_json)
    metrics = Metrics()
    reference = load_reference(config.sidecar.reference, config.model.prediction_column) \
        if config.sidecar.reference else None
    analyzer = Analyzer(config, metrics, reference, trained_at=trained_at)
    hist = metrics.child("mlscore_event_processing_seconds")
    processed = 0
    last = 0.0
    dirty = True
    next_tick = time.monotonic() + 0.5
    while True:
        ready = conn.poll(SNAPSHOT_EVERY)
        if ready:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                return
            if msg is None:
                return
            for fields in msg:
                ev = Event(fields[0], path=fields[1], protocol=fields[2], model=fields[3], version=fields[4],
                           status=fields[5], request=fields[6], response=fields[7], size=fields[8])
                t = time.perf_counter()
                analyzer.process(ev)
                hist.observe(time.perf_counter() - t)
                processed += 1
            dirty = True
        now = time.monotonic()
        if now >= next_tick:
            next_tick = now + 0.5
            try:
                analyzer.close_due_windows()
            except Exception:  # noqa: BLE001
                log.exception("closing windows failed")
            dirty = True
        if dirty and (not ready or now - last >= SNAPSHOT_EVERY):
            windows = {m: {"rows": w.rows, "prediction_rows": w.pred_rows} for m, w in analyzer.windows.items()}
            try:
                conn.send(("snap", processed, _snapshot(metrics), windows, analyzer.last_results))
            except (BrokenPipeError, OSError):
                return
            last = now
            dirty = False


class AnalysisProcess:
    """The parent's side: the same interface as ``Analyzer`` for the proxy, ingest and control server."""

    def __init__(self, config: SidecarConfig, metrics: Metrics, *, trained_at: float | None = None,
                 reference_rows: int | None = None) -> None:
        s = config.sidecar
        self.cfg = config
        self.metrics = metrics
        self.capacity = s.queue_events
        self.capacity_bytes = s.queue_bytes
        self.sample_rate = s.sample_rate
        self.sent = 0  # events handed to the child (queued to the sender included)
        self.processed = 0  # events the child reported processed
        self.inflight_bytes: deque[tuple[int, int]] = deque()  # (sequence number, size) not yet processed
        self.bytes = 0
        self.outbox: deque[tuple[Any, ...]] = deque()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.windows: dict[str, Any] = {}
        self.last_results: dict[str, Any] = {}
        self.dead = False
        self.trained_at = trained_at
        self._cum: dict[tuple[str, int], float] = {}
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_child_main, args=(child, config.model_dump_json(), trained_at),
                                name="mlscore-analysis", daemon=True)
        self.proc.start()
        child.close()
        metrics.family("mlscore_queue_depth").set_function(lambda: self.sent - self.processed)
        metrics.family("mlscore_queue_bytes").set_function(lambda: self.bytes)
        metrics.family("mlscore_queue_capacity").set(self.capacity)
        self.sender = threading.Thread(target=self._send_loop, name="mlscore-analysis-sender", daemon=True)
        self.sender.start()
        self.receiver = threading.Thread(target=self._recv_loop, name="mlscore-analysis-receiver", daemon=True)
        self.receiver.start()

    @property
    def queue(self) -> range:
        """For /status: as many items as events in flight."""
        return range(max(0, self.sent - self.processed))

    # -- request path ---------------------------------------------------------------------------
    def submit(self, event: Event) -> None:
        m = self.metrics
        if not admit(m, event, self.sample_rate):
            return
        if self.dead:
            m.child("mlscore_events_dropped", event.source, "analysis_error").inc()
            return
        size = event.size
        with self.lock:
            full = (self.sent - self.processed >= self.capacity or self.bytes + size > self.capacity_bytes)
            if not full:
                self.sent += 1
                self.bytes += size
                self.inflight_bytes.append((self.sent, size))
                self.outbox.append((event.source, event.path, event.protocol, event.model, event.version,
                                    event.status, event.request, event.response, size))
        if full:
            m.child("mlscore_events_dropped", event.source, "queue_full").inc()
            return
        if len(self.outbox) >= SEND_BATCH:  # else the sender's 20 ms timer: no thread wake-up per request
            self.wake.set()

    def drop(self, source: str, reason: str, n: int = 1) -> None:
        self.metrics.child("mlscore_events_received", source).inc(n)
        self.metrics.child("mlscore_events_dropped", source, reason).inc(n)

    def _send_loop(self) -> None:
        while not self.dead:
            self.wake.wait(SEND_DELAY)
            self.wake.clear()
            while self.outbox and not self.dead:
                with self.lock:
                    batch = list(self.outbox)
                    self.outbox.clear()
                try:
                    self.conn.send(batch)
                except (BrokenPipeError, OSError, ValueError) as exc:
                    self._died(exc)
                    return

    # -- snapshots from the child -------------------------------------------------------------------
    def _recv_loop(self) -> None:
        """Apply the child's snapshots as they come (a thread: the pipe stays blocking for the sender)."""
        while not self.dead:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError) as exc:
                self._died(exc)
                return
            if msg[0] == "snap":
                try:
                    self._apply(msg)
                except Exception:  # noqa: BLE001 - a bad snapshot must not stop the accounting
                    log.exception("applying an analysis snapshot failed")

    def _apply(self, msg: tuple[Any, ...]) -> None:
        _, processed, samples, windows, last_results = msg
        m = self.metrics
        for family, sample, labels, value in samples:
            d = BY_NAME[family]
            child = m.child(family, *(labels[k] for k in d.labels)) if d.labels else m.family(family)
            if d.kind == "gauge":
                child.set(value)
            elif d.kind == "counter":
                child._value.set(value)  # absolute: the child owns these series
            elif sample.endswith("_sum"):
                child._sum.set(value)
            elif sample.endswith("_bucket"):
                bounds = list(d.buckets) + [float("inf")]
                le = float(labels.get("le", "inf"))
                # exposition buckets are cumulative; the client keeps per-bucket counts
                i = bounds.index(le) if le in bounds else len(bounds) - 1
                child._buckets[i].set(value - (self._cum.get((family, i - 1), 0.0) if i else 0.0))
                self._cum[(family, i)] = value
        with self.lock:
            self.processed = processed
            while self.inflight_bytes and self.inflight_bytes[0][0] <= processed:
                self.bytes -= self.inflight_bytes.popleft()[1]
        self.windows = windows
        self.last_results = last_results

    def _died(self, why: BaseException | None = None) -> None:
        if self.dead or getattr(self, "closing", False):
            return
        self.dead = True
        with self.lock:
            lost = self.sent - self.processed
            self.processed = self.sent
            self.bytes = 0
            self.inflight_bytes.clear()
            self.outbox.clear()
        if lost:
            self.metrics.child("mlscore_events_dropped", "proxy", "analysis_error").inc(lost)
        self.proc.join(0.5)
        log.error("the analysis process stopped (%s, exit code %s); events are counted as analysis_error from now on",
                  type(why).__name__ if why is not None else "closed", self.proc.exitcode)

    # -- lifecycle ------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            self.close()

    async def tick(self, interval: float = 0.5) -> None:
        """The child closes time windows itself; nothing to do here (kept for the server's task list)."""
        while True:
            await asyncio.sleep(3600)

    def close(self) -> None:
        self.closing = True
        if not self.dead:
            try:
                with self.lock:
                    pending = list(self.outbox)
                    self.outbox.clear()
                if pending:
                    self.conn.send(pending)
                self.conn.send(None)
            except (BrokenPipeError, OSError, ValueError):
                pass
        self.dead = True
        self.proc.join(3.0)
        if self.proc.is_alive():
            self.proc.kill()
