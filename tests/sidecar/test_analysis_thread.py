"""Calibrated window verdicts, the "k features drifted" signal, and analysis off the event loop (issue 13)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest

from mlscore.profile import DatasetProfile
from mlscore.sidecar.analysis import Analyzer, load_reference
from mlscore.sidecar.config import AlertSettings, ProxySettings, SidecarConfig
from mlscore.sidecar.events import Event
from mlscore.sidecar.metrics import Metrics

FEATURES = [f"f{i:02d}" for i in range(30)]


@pytest.fixture(scope="module")
def wide_ref(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    ref = DatasetProfile(source="30 features")
    ref.update_columns({f: rng.normal(size=5000) for f in FEATURES})
    path = tmp_path_factory.mktemp("wide") / "ref.json"
    ref.save(path)
    return path


def _body(rows: np.ndarray) -> bytes:
    return json.dumps({"inputs": [{"name": f, "shape": [len(rows)], "datatype": "FP64",
                                   "data": rows[:, j].round(4).tolist()} for j, f in enumerate(FEATURES)],
                       "parameters": {"content_type": "pd"}}).encode()


def _analyzer(ref: Path, **sidecar: object) -> tuple[Analyzer, Metrics]:
    cfg = SidecarConfig(sidecar=ProxySettings(**{"window": "2000", "min_window_rows": 50, **sidecar}),
                        alerts=AlertSettings())
    metrics = Metrics()
    return Analyzer(cfg, metrics, load_reference(str(ref), "prediction")), metrics


def _window(a: Analyzer, shift: dict[int, float], seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):  # 200 requests of 10 rows x 30 features = one 2000-row window
        rows = rng.normal(size=(10, 30))
        for j, d in shift.items():
            rows[:, j] += d
        a.process(Event("proxy", path="/v2/models/wide/infer", protocol="v2", model="wide", status=200,
                        request=_body(rows), size=100))


def test_five_of_thirty_features_shifted_is_counted_exactly_and_unshifted_windows_stay_at_zero(wide_ref: Path) -> None:
    a, m = _analyzer(wide_ref)
    get = m.registry.get_sample_value
    for seed in range(3):
        _window(a, {}, seed)
        assert get("mlscore_drifted_features", {"model": "wide", "kind": "input"}) == 0
    _window(a, {j: 1.5 for j in range(5)}, 9)
    assert get("mlscore_windows_closed_total", {"model": "wide"}) == 4
    assert get("mlscore_drifted_features", {"model": "wide", "kind": "input"}) == 5  # >= 3: MlscoreFeaturesDrifted
    assert get("mlscore_drift_detected", {"model": "wide", "kind": "input"}) == 0  # 17% < the 50% share
    cols = a.last_results["wide/input"]["columns"]
    assert all(c["q_value"] is not None for c in cols) and sorted(c["column"] for c in cols if c["drifted"]) == FEATURES[:5]


def test_analysis_runs_off_the_event_loop_and_sheds_load_counted(wide_ref: Path) -> None:
    a, m = _analyzer(wide_ref, queue_events=8)
    slow = a._decode

    def decode(ev: Event):  # noqa: ANN202 - a deliberately slow analysis
        time.sleep(0.01)
        return slow(ev)

    a._decode = decode  # type: ignore[method-assign]
    body = _body(np.random.default_rng(1).normal(size=(10, 30)))

    async def go() -> tuple[float, int]:
        task = asyncio.create_task(a.run())
        await asyncio.sleep(0.05)
        worst = 0.0
        for _ in range(300):
            t = time.perf_counter()
            a.submit(Event("proxy", path="/v2/models/wide/infer", protocol="v2", model="wide", status=200,
                           request=body, size=len(body)))
            await asyncio.sleep(0)  # the loop is free: the thread decodes
            worst = max(worst, time.perf_counter() - t)
        deadline = time.monotonic() + 10
        while (a.queue or a._in_flight) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return worst, len(a.queue)

    worst, left = asyncio.run(go())
    get = m.registry.get_sample_value
    received = get("mlscore_events_received_total", {"source": "proxy"})
    analysed = get("mlscore_events_analysed_total", {"source": "proxy"}) or 0
    dropped = get("mlscore_events_dropped_total", {"source": "proxy", "reason": "queue_full"}) or 0
    assert left == 0 and received == 300
    assert analysed + dropped == 300 and dropped > 0 and analysed > 0
    assert worst < 0.01  # a submit never waits for the 10 ms analysis


def test_analysis_in_a_child_process_keeps_the_accounting_and_the_drift_verdicts(wide_ref: Path) -> None:
    from mlscore.sidecar.worker import AnalysisProcess

    cfg = SidecarConfig(sidecar=ProxySettings(reference=str(wide_ref), window="2000", min_window_rows=50,
                                              queue_events=100_000))
    m = Metrics()
    rng = np.random.default_rng(3)

    async def go() -> AnalysisProcess:
        a = AnalysisProcess(cfg, m)
        task = asyncio.create_task(a.run())
        for k in range(400):  # two windows: unshifted, then 5 of 30 features shifted by 1.5 sd
            rows = rng.normal(size=(10, 30))
            if k >= 200:
                rows[:, :5] += 1.5
            a.submit(Event("proxy", path="/v2/models/wide/infer", protocol="v2", model="wide", status=200,
                           request=_body(rows), size=100))
        deadline = time.monotonic() + 60
        while (a.sent - a.processed or a.processed < 400) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # one more snapshot after the last window closed
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return a

    a = asyncio.run(go())
    get = m.registry.get_sample_value
    assert not a.proc.is_alive()
    assert get("mlscore_events_received_total", {"source": "proxy"}) == 400
    assert get("mlscore_events_analysed_total", {"source": "proxy"}) == 400
    assert get("mlscore_windows_closed_total", {"model": "wide"}) == 2
    assert get("mlscore_drifted_features", {"model": "wide", "kind": "input"}) == 5
    assert get("mlscore_event_processing_seconds_count", {}) == 400
    assert a.last_results["wide/input"]["columns"][0]["drifted"] is True
