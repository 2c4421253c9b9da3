"""Off-path analysis: a bounded queue of events, one worker task, per-model windows and drift."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlscore.probe import protocols
from mlscore.sidecar.config import SidecarConfig, parse_window
from mlscore.sidecar.events import Event, admit
from mlscore.sidecar.metrics import OTHER, LabelCap, Metrics

log = logging.getLogger("mlscore.sidecar")

FLUSH_ROWS = 512  # buffered rows per model before they go into the window profile (one numpy pass)
#: The analysis thread wakes once this many events wait, or this often: analysing in batches costs the
#: request path no wake-up per request.
WAKE_BATCH = 64
WAKE_DELAY = 0.02
TICK = 0.5  # how often time-based windows are checked
_VERSION_RE = re.compile(rb'"model_version"\s*:\s*"([^"\\]{1,64})"')
_NAME_RE = re.compile(rb'"model_name"\s*:\s*"([^"\\]{1,128})"')


class Drop(Exception):
    """An event that cannot be analysed; ``reason`` becomes the dropped counter's label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Window:
    """The open window of one model: buffered rows, the profile they go into, and prediction counts."""

    opened: float
    rows: int = 0
    pred_rows: int = 0
    buffer: dict[str, list[Any]] = field(default_factory=dict)
    buffered: int = 0
    pred_buffer: list[float] = field(default_factory=list)
    profile: Any = None
    pred_profile: Any = None


@dataclass
class Decoded:
    """What one event says, computed off the event loop for large events."""

    model: str | None
    version: str | None
    inputs: dict[str, list[Any]] | None
    preds: Any
    rows: int = 0
    violations: dict[tuple[str, str], int] = field(default_factory=dict)
    numbers: int | None = None
    nonfinite: int = 0
    pred_oor: int = 0
    pred_rows: int = 0
    pred_values: list[float | None] | None = None


@dataclass
class Reference:
    """The reference profile split into input features and the prediction column (if profiled)."""

    profile: Any
    inputs: Any
    prediction: Any  # a one-column DatasetProfile ("prediction"), or None
    features: list[str]
    ranges: dict[str, tuple[float, float]]
    prediction_range: tuple[float, float] | None
    rows: int


def load_reference(path: str, prediction_column: str) -> Reference:
    """Load a saved DatasetProfile; raise InputError with the path on any problem."""
    from mlscore.errors import InputError

    try:
        from mlscore.profile import DatasetProfile
    except ImportError as exc:  # the profile module has not landed or numpy is missing
        raise InputError(f"{path}: cannot load profiles: {exc}") from None
    try:
        profile = DatasetProfile.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a readable mlscore profile: {exc}") from None
    cols = dict(profile.columns)
    pred = cols.pop(prediction_column, None)

    def subset(columns: dict[str, Any]) -> DatasetProfile:
        out = DatasetProfile.empty_like(profile)  # same settings (bins, caps)
        out.columns = columns
        out.row_count = profile.row_count
        return out

    inputs = subset(cols)
    prediction = subset({"prediction": pred}) if pred is not None else None
    ranges: dict[str, tuple[float, float]] = {}
    for name, col in cols.items():
        lo, hi = getattr(col, "min", None), getattr(col, "max", None)
        if getattr(col, "kind", None) == "numeric" and lo is not None and hi is not None:
            ranges[name] = (float(lo), float(hi))
    prange = None
    if pred is not None and getattr(pred, "kind", None) == "numeric" and pred.min is not None \
            and pred.max is not None:
        prange = (float(pred.min), float(pred.max))
    return Reference(profile, inputs, prediction, list(cols), ranges, prange, int(profile.row_count))


def sniff_protocol(doc_bytes: bytes) -> str:
    """Guess a payload's protocol from its first bytes when no path says it (ingested events)."""
    head = doc_bytes[:512]
    if b'"inputs"' in head and b'"shape"' in doc_bytes[:4096] or b'"outputs"' in head and b'"shape"' in head:
        return "v2"
    if b'"instances"' in head:
        return "tfserving"
    if b'"dataframe_split"' in head or b'"dataframe_records"' in head:
        return "mlflow"
    return "json"


class Analyzer:
    """Owns the queue and the windows; ``submit`` is the only method the request path calls."""

    def __init__(self, config: SidecarConfig, metrics: Metrics, reference: Reference | None = None,
                 *, trained_at: float | None = None) -> None:
        self.cfg = config
        s = config.sidecar
        self.metrics = metrics
        self.reference = reference
        self.queue: deque[Event] = deque()
        self.queue_bytes = 0
        self.capacity = s.queue_events
        self.capacity_bytes = s.queue_bytes
        self.sample_rate = s.sample_rate
        self.window_rows, self.window_seconds = parse_window(s.window)
        self.min_rows = s.min_window_rows
        self.windows: dict[str, Window] = {}
        self.model_cap = LabelCap(s.max_models)
        self.feature_labels = set(reference.features[: s.max_feature_labels]) if reference else set()
        self.default_model = config.model.name or "unknown"
        self.last_results: dict[str, Any] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._busy = False
        self._tick_due = False
        self._in_flight = 0
        self._models_seen: set[tuple[str, str]] = set()
        self._logged_error = False
        m = metrics
        m.family("mlscore_queue_depth").set_function(lambda: len(self.queue) + self._in_flight)
        m.family("mlscore_queue_bytes").set_function(lambda: self.queue_bytes)
        m.family("mlscore_queue_capacity").set(self.capacity)
        if reference is not None:
            m.family("mlscore_reference_rows").set(reference.rows)
        if trained_at is not None:
            m.child("mlscore_model_trained_timestamp_seconds", self.default_model).set(trained_at)

    # -- request path ---------------------------------------------------------------------------
    def submit(self, event: Event) -> None:
        """Queue one event for the analysis thread, or count it dropped (never blocks, never raises)."""
        m = self.metrics
        if not admit(m, event, self.sample_rate):
            return
        with self._lock:
            if len(self.queue) >= self.capacity or self.queue_bytes + event.size > self.capacity_bytes:
                full = True
            else:
                full = False
                self.queue.append(event)
                self.queue_bytes += event.size
        if full:  # load shedding: the analysis is behind, the traffic must not wait for it
            m.child("mlscore_events_dropped", event.source, "queue_full").inc()
            return
        if len(self.queue) >= WAKE_BATCH:
            self._wake.set()

    def drop(self, source: str, reason: str, n: int = 1) -> None:
        """Count ``n`` events received and dropped before they reached the queue."""
        self.metrics.child("mlscore_events_received", source).inc(n)
        self.metrics.child("mlscore_events_dropped", source, reason).inc(n)

    # -- worker ---------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run the analysis thread until cancelled: it decodes, profiles and closes windows off the event loop,
        so a slow analysis sheds events (``queue_full``) instead of slowing the requests it watches."""
        self._stop.clear()
        thread = threading.Thread(target=self._work, name="mlscore-analysis", daemon=True)
        thread.start()
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            self._stop.set()
            self._wake.set()
            await asyncio.get_running_loop().run_in_executor(None, thread.join, 5.0)

    def _work(self) -> None:
        hist = self.metrics.child("mlscore_event_processing_seconds")
        next_tick = time.monotonic() + TICK
        while not self._stop.is_set():
            self._wake.wait(WAKE_DELAY)
            self._wake.clear()
            self._busy = True
            try:
                while self.queue and not self._stop.is_set():
                    with self._lock:
                        ev = self.queue.popleft()
                        self.queue_bytes -= ev.size
                        self._in_flight = 1
                    t = time.perf_counter()
                    try:
                        self._apply_safe(ev, self._decode_safe(ev))
                    finally:
                        self._in_flight = 0
                    hist.observe(time.perf_counter() - t)
                now = time.monotonic()
                if now >= next_tick or self._tick_due:
                    next_tick = now + TICK
                    self._tick_due = False
                    self.close_due_windows()
            except Exception:  # noqa: BLE001 - the analysis thread must outlive any bug
                self._log_error()
            finally:
                self._busy = False

    def process(self, ev: Event) -> None:
        """Analyse one event synchronously and count it as analysed or dropped (never raises)."""
        self._apply_safe(ev, self._decode_safe(ev))

    def _decode_safe(self, ev: Event) -> Decoded | Drop:
        try:
            return self._decode(ev)
        except Drop as d:
            return d
        except Exception:  # noqa: BLE001 - analysis failing must never stop the worker or traffic
            self._log_error()
            return Drop("analysis_error")

    def _apply_safe(self, ev: Event, decoded: Decoded | Drop) -> None:
        m = self.metrics
        if isinstance(decoded, Drop):
            m.child("mlscore_events_dropped", ev.source, decoded.reason).inc()
            return
        try:
            self._apply(decoded)
        except Exception:  # noqa: BLE001
            self._log_error()
            m.child("mlscore_events_dropped", ev.source, "analysis_error").inc()
            return
        m.child("mlscore_events_analysed", ev.source).inc()

    def _log_error(self) -> None:
        if not self._logged_error:
            self._logged_error = True
            log.exception("analysis failed (logged once; counted in mlscore_events_dropped_total)")

    async def tick(self, interval: float = TICK) -> None:
        """Ask the analysis thread to close time-based windows on time, even when no traffic arrives."""
        while True:
            await asyncio.sleep(interval)
            if self.window_seconds is not None and self.windows:
                self._tick_due = True
                self._wake.set()

    def close_due_windows(self) -> None:
        if self.window_seconds is None:
            return
        now = time.monotonic()
        for model, w in list(self.windows.items()):
            if now - w.opened >= self.window_seconds:
                try:
                    self.close_window(model, w, now)
                except Exception:  # noqa: BLE001
                    self._log_error()

    # -- analysis -------------------------------------------------------------------------------
    def _decode(self, ev: Event) -> Decoded:
        """Parse both bodies and check inputs against the reference schema (pure: runs in a thread)."""
        req = _as_bytes(ev.request)
        resp = _as_bytes(ev.response)
        if req is None and resp is None:
            raise Drop("empty")
        protocol = ev.protocol
        if protocol is None and ev.path:
            protocol = protocols.detect_protocol(ev.path)
        if protocol is None:
            protocol = sniff_protocol(req if req is not None else resp)  # type: ignore[arg-type]
        features = self.reference.features if self.reference else None
        inputs = None
        if req is not None:
            try:
                inputs = protocols.parse_request(protocol, req, None, features)
            except protocols.PayloadError:
                inputs = None
        ok_status = ev.status is None or 200 <= ev.status < 300
        preds = None
        if resp is not None and ok_status:
            try:
                preds = protocols.parse_response(protocol, resp, None)
            except protocols.PayloadError:
                preds = None
        if inputs is None and preds is None:
            if self.cfg.sidecar.log_payloads:  # opt-in only: payloads may hold personal data
                log.info("undecodable %s event (%s): request=%r response=%r", ev.source, protocol,
                         (req or b"")[:512], (resp or b"")[:512])
            raise Drop("undecodable")
        model = ev.model
        version = ev.version
        if resp is not None and protocol == "v2" and (model is None or version is None):
            if model is None:
                mm = _NAME_RE.search(resp[:4096])
                model = mm.group(1).decode("utf-8", "replace") if mm else None
            if version is None:
                mv = _VERSION_RE.search(resp[:4096])
                version = mv.group(1).decode("utf-8", "replace") if mv else None
        d = Decoded(model=model, version=version, inputs=inputs or None, preds=preds)
        if d.inputs:
            d.rows = max((len(v) for v in d.inputs.values()), default=0)
            self._check_schema(d)
        if preds is not None:
            numbers = protocols.flat_numbers(preds)
            if numbers is not None:
                d.numbers = len(numbers)
                d.nonfinite = sum(1 for x in numbers if not math.isfinite(x))
                prange = self._prediction_range()
                if prange is not None:
                    d.pred_oor = sum(1 for x in numbers if math.isfinite(x) and not prange[0] <= x <= prange[1])
                values = preds if isinstance(preds, list) else next(iter(preds.values()), [])
                d.pred_rows = len(values)
                if values and not isinstance(values[0], list):  # one value per row: profiled for drift
                    d.pred_values = [float(x) if isinstance(x, (int, float)) else None for x in values]
        return d

    def _check_schema(self, d: Decoded) -> None:
        ref = self.reference
        if ref is None or d.inputs is None:
            return
        v = d.violations
        for name in ref.features:
            if name not in d.inputs:
                v[(name, "missing_feature")] = v.get((name, "missing_feature"), 0) + d.rows
        for name, values in d.inputs.items():
            if name not in ref.inputs.columns:
                v[(OTHER, "unknown_feature")] = v.get((OTHER, "unknown_feature"), 0) + len(values)
                continue
            rng = ref.ranges.get(name)
            nulls = nonfinite = oor = bad_type = 0
            arr = np.asarray(values) if len(values) >= 64 else None  # numpy pays off on long columns only
            if arr is not None and arr.dtype.kind in "fiu" and arr.ndim == 1:  # all numbers: one numpy pass
                arr = arr.astype(np.float64, copy=False)
                finite = np.isfinite(arr)
                nonfinite = int(arr.size - finite.sum())
                if rng is not None:
                    with np.errstate(invalid="ignore"):
                        oor = int(np.count_nonzero(finite & ((arr < rng[0]) | (arr > rng[1]))))
                values = ()
            for x in values:
                if x is None:
                    nulls += 1
                elif isinstance(x, bool) or not isinstance(x, (int, float)):
                    if rng is not None:
                        bad_type += 1
                elif not math.isfinite(x):
                    nonfinite += 1
                elif rng is not None and not rng[0] <= x <= rng[1]:
                    oor += 1
            for kind, count in (("null", nulls), ("nonfinite", nonfinite), ("out_of_range", oor),
                                ("type", bad_type)):
                if count:
                    v[(name, kind)] = count

    def _apply(self, d: Decoded) -> None:
        """Count and add a decoded event to its model's window (event-loop thread only)."""
        m = self.metrics
        model = self.model_cap(d.model or self.default_model)
        if d.version is not None:
            key = (model, self.model_cap(d.version) if model != OTHER else OTHER)
            if key not in self._models_seen and len(self._models_seen) < 4 * self.cfg.sidecar.max_models:
                self._models_seen.add(key)
                m.child("mlscore_model_info", *key).set(1)
        w = self.windows.get(model)
        if w is None:
            w = self.windows[model] = self._new_window()
        for (feature, kind), count in d.violations.items():
            m.child("mlscore_schema_violations", model, self._feature_label(feature), kind).inc(count)
        if d.inputs and d.rows:
            if self.reference is not None:
                for name, values in d.inputs.items():
                    if name in self.reference.inputs.columns:
                        w.buffer.setdefault(name, []).extend(values)
                w.buffered += d.rows
                if w.buffered >= FLUSH_ROWS:
                    self._flush(w)
            w.rows += d.rows
            m.child("mlscore_rows_analysed", model, "input").inc(d.rows)
            m.child("mlscore_window_rows", model, "input").set(w.rows)
        if d.numbers is not None:
            m.child("mlscore_predictions", model).inc(d.numbers)
            if d.nonfinite:
                m.child("mlscore_predictions_nonfinite", model).inc(d.nonfinite)
            if d.pred_oor:
                m.child("mlscore_predictions_out_of_range", model).inc(d.pred_oor)
            if w.pred_profile is not None and d.pred_values:
                w.pred_buffer.extend(d.pred_values)  # type: ignore[arg-type]
            w.pred_rows += d.pred_rows
            m.child("mlscore_rows_analysed", model, "prediction").inc(d.pred_rows)
            m.child("mlscore_window_rows", model, "prediction").set(w.pred_rows)
        if self.window_rows is not None and max(w.rows, w.pred_rows) >= self.window_rows:
            self.close_window(model, w, time.monotonic())

    def _new_window(self) -> Window:
        w = Window(opened=time.monotonic())
        if self.reference is not None:
            from mlscore.profile import DatasetProfile

            w.profile = DatasetProfile.empty_like(self.reference.inputs)
            if self.reference.prediction is not None:
                w.pred_profile = DatasetProfile.empty_like(self.reference.prediction)
        return w

    def _feature_label(self, name: str) -> str:
        return name if name in self.feature_labels else OTHER

    def _flush(self, w: Window) -> None:
        if w.profile is not None and w.buffer:
            # Pad short columns (a feature missing in some requests) so the batch stays rectangular.
            n = max(len(v) for v in w.buffer.values())
            batch = {k: (v + [None] * (n - len(v))) for k, v in w.buffer.items()}
            w.profile.update_columns(batch)
        w.buffer = {}
        w.buffered = 0
        if w.pred_profile is not None and w.pred_buffer:
            w.pred_profile.update_columns({"prediction": w.pred_buffer})
        w.pred_buffer = []

    def _prediction_range(self) -> tuple[float, float] | None:
        cfg = self.cfg.model.prediction_range
        if cfg is not None:
            return (float(cfg[0]), float(cfg[1]))
        return self.reference.prediction_range if self.reference else None

    def close_window(self, model: str, w: Window, now: float) -> None:
        """Compare a full window with the reference, publish the results, open a new window."""
        if w.rows < self.min_rows and w.pred_rows < self.min_rows and self.window_seconds is not None:
            return  # too few rows for an honest test: keep accumulating
        self._flush(w)
        m = self.metrics
        self.windows[model] = self._new_window()
        m.child("mlscore_windows_closed", model).inc()
        m.child("mlscore_window_last_closed_timestamp_seconds", model).set(time.time())
        m.child("mlscore_window_size_rows", model, "input").set(w.rows)
        m.child("mlscore_window_size_rows", model, "prediction").set(w.pred_rows)
        m.child("mlscore_window_rows", model, "input").set(0)
        m.child("mlscore_window_rows", model, "prediction").set(0)
        if self.reference is None:
            return
        a = self.cfg.alerts
        if w.rows >= self.min_rows and w.profile is not None:
            self._publish(model, "input", self.reference.inputs, w.profile, a.drift_threshold)
        if w.pred_rows >= self.min_rows and w.pred_profile is not None:
            self._publish(model, "prediction", self.reference.prediction, w.pred_profile,
                          a.prediction_drift_threshold)

    def _publish(self, model: str, kind: str, ref: Any, cur: Any, threshold: float | None) -> None:
        from mlscore.profile.drift import calibrate, compare_profiles, dataset_drift

        m = self.metrics
        results = compare_profiles(ref, cur, method=self.cfg.alerts.drift_method, threshold=threshold)
        # the same calibrated verdicts as `mlscore data check`: per-window false alarms stay at the FDR
        results = calibrate(results, ref, cur, fdr=self.cfg.alerts.drift_fdr)
        worst = 0.0
        drifted = 0
        for r in results:
            score = _drift_score(r)
            if r.drifted:
                drifted += 1
            worst = max(worst, score)
            if r.column in self.feature_labels or kind == "prediction":
                m.child("mlscore_feature_drift_score", model, kind, str(r.column), r.method).set(score)
        share, detected = dataset_drift(results, drift_share=self.cfg.alerts.drift_share)
        m.child("mlscore_drift_score_max", model, kind).set(worst)
        m.child("mlscore_drifted_features", model, kind).set(drifted)
        m.child("mlscore_drift_detected", model, kind).set(1 if detected else 0)
        self.last_results[f"{model}/{kind}"] = {
            "drifted": bool(detected), "share": share, "columns": [r.to_dict() for r in results],
        }


def _drift_score(result: Any) -> float:
    """One direction for every method: larger means more drift (a p-value p becomes 1 - p)."""
    stat = result.statistic
    if stat is None or not math.isfinite(stat):
        return 0.0
    if result.statistic_name == "p_value":
        return 1.0 - float(stat)
    return float(stat)


def _as_bytes(body: Any) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return bytes(body) if body else None
    return protocols.dumps(body)
