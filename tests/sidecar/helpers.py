"""Helpers for the sidecar tests: a reference profile, the sidecar as a real subprocess, load, scraping."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.mlserver import free_ports, iris_data

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def make_reference(path: Path, model: Any) -> Path:
    """The iris training data and the model's predictions on it, profiled with mlscore.profile."""
    from mlscore.profile import DatasetProfile

    x, _, names = iris_data()
    ref = DatasetProfile(source="iris training data")
    ref.update_columns({**{n: x[:, j] for j, n in enumerate(names)}, "prediction": model.predict(x)})
    ref.save(path)
    return path


def iris_rows(n: int, seed: int, shift_sd: float = 0.0) -> list[list[float]]:
    """``n`` iris rows resampled with replacement; ``shift_sd`` moves every feature by that many sds."""
    import numpy as np

    x, _, _ = iris_data()
    rng = np.random.default_rng(seed)
    rows = x[rng.integers(0, len(x), n)] + shift_sd * x.std(axis=0)
    return [[round(float(v), 3) for v in r] for r in rows]


def v2_body(rows: Sequence[Sequence[Any]]) -> bytes:
    return json.dumps({"inputs": [{"name": "input-0", "shape": [len(rows), len(rows[0])], "datatype": "FP64",
                                   "data": [list(r) for r in rows]}]}).encode()


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, conn: http.client.HTTPConnection | None = None,
            timeout: float = 10.0) -> Answer:
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = {"Content-Type": "application/json", **(headers or {})}
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return Answer(r.status, data, {k.lower(): v for k, v in r.getheaders()})
    finally:
        if own:
            c.close()


def load(port: int, bodies: Sequence[bytes], path: str = "/v2/models/iris/infer", workers: int = 4) -> list[int | str]:
    """Send every body over ``workers`` keep-alive connections; return statuses (or error names)."""
    out: list[int | str] = [0] * len(bodies)

    def work(idx: range) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in idx:
            try:
                out[i] = request(port, "POST", path, bodies[i], conn=conn).status
            except (OSError, http.client.HTTPException) as exc:
                out[i] = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()

    threads = [threading.Thread(target=work, args=(range(k, len(bodies), workers),)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def scrape(metrics_port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the sidecar's /metrics, keyed by (name, sorted labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels``."""
    return sum(v for (n, lab), v in samples.items()
               if n == name and all(dict(lab).get(k) == val for k, val in labels.items()))


@dataclass
class Sidecar:
    process: subprocess.Popen[bytes]
    listen: int
    metrics: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


def start_sidecar(tmp: Path, args: Sequence[str], ports: tuple[int, int] | None = None,
                  name: str = "sidecar") -> Sidecar:
    listen, metrics = ports or tuple(free_ports(2))  # type: ignore[assignment]
    log_path = tmp / f"{name}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlscore", "sidecar", "--listen", f"127.0.0.1:{listen}",
             "--metrics", f"127.0.0.1:{metrics}", *args],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    sc = Sidecar(proc, listen, metrics, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sidecar exited with {proc.returncode}:\n{sc.log()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{metrics}/healthz", timeout=1).read()
            return sc
        except OSError:
            time.sleep(0.1)
    stop_sidecar(sc)
    raise RuntimeError(f"sidecar not healthy after 30 s:\n{sc.log()}")


def stop_sidecar(sc: Sidecar) -> int:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(sc.process.pid, signal.SIGTERM)
    try:
        return sc.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(sc.process.pid, signal.SIGKILL)
        return sc.process.wait(timeout=5)


@contextlib.contextmanager
def running_sidecar(tmp: Path, args: Sequence[str], name: str = "sidecar") -> Iterator[Sidecar]:
    sc = start_sidecar(tmp, args, name=name)
    try:
        yield sc
    finally:
        stop_sidecar(sc)


def settle(metrics_port: int, timeout: float = 10.0) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Scrape until the analysis queue is empty (so received = analysed + dropped must hold)."""
    deadline = time.monotonic() + timeout
    while True:
        s = scrape(metrics_port)
        if total(s, "mlscore_queue_depth") == 0 or time.monotonic() > deadline:
            return s
        time.sleep(0.05)


def assert_accounted(s: dict[tuple[str, tuple[tuple[str, str], ...]], float], source: str) -> None:
    received = total(s, "mlscore_events_received_total", source=source)
    analysed = total(s, "mlscore_events_analysed_total", source=source)
    dropped = total(s, "mlscore_events_dropped_total", source=source)
    assert received == analysed + dropped, (received, analysed, dropped)
