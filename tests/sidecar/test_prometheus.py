"""A real Prometheus scrapes the sidecar in front of a real MLServer: drifted traffic fires the drift alert."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sidecar.helpers import iris_rows, load, running_sidecar, v2_body
from tests.support.mlserver import MLServer, free_port, skip_or_fail, stop_process_group

pytestmark = pytest.mark.integration


def _api(port: int, path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
    doc = json.loads(urllib.request.urlopen(url, timeout=5).read())
    assert doc["status"] == "success", doc
    return doc["data"]


def _alerts(port: int, name: str) -> list[dict[str, Any]]:
    return [a for a in _api(port, "/api/v1/alerts")["alerts"] if a["labels"]["alertname"] == name]


def _rule_state(port: int, name: str) -> str:
    for group in _api(port, "/api/v1/rules")["groups"]:
        for rule in group["rules"]:
            if rule.get("name") == name:
                return str(rule["state"])
    raise AssertionError(f"rule {name} not loaded")


def _wait(what: str, check: Any, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


@pytest.fixture()
def prometheus_exe() -> str:
    exe = shutil.which("prometheus")
    if exe is None:
        skip_or_fail("prometheus not installed: apt-get install -y prometheus")
    assert exe is not None
    return exe


@pytest.fixture()
def prometheus(tmp_path: Path, prometheus_exe: str) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(scrape_port: int, rules: Path) -> int:
        port = free_port()
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms}\n"
            f"rule_files: ['{rules}']\n"
            "scrape_configs:\n- job_name: mlscore-sidecar\n"
            f"  static_configs: [{{targets: ['127.0.0.1:{scrape_port}']}}]\n"
        )
        log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [prometheus_exe, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        procs.append(proc)

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError((tmp_path / "prometheus.log").read_text()[-2000:])
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1).status == 200
            except OSError:
                return False

        _wait("prometheus ready", ready)
        return port

    yield start
    for p in procs:
        stop_process_group(p)


def test_drifted_traffic_fires_the_drift_alert_normal_traffic_does_not(
    iris_server: MLServer, reference: Path, tmp_path: Path, prometheus: Any
) -> None:
    cfg = tmp_path / "sidecar.toml"
    cfg.write_text('[sidecar]\nwindow = "100"\nmin_window_rows = 50\n'
                   '[alerts]\ndrift_for = "2s"\nlatency_for = "1m"\n')
    rules = tmp_path / "rules.yml"
    subprocess.run([sys.executable, "-m", "mlscore", "sidecar", "alerts", "--config", str(cfg), "-o", str(rules)],
                   check=True, capture_output=True)
    with running_sidecar(tmp_path, ["--upstream", iris_server.url, "--reference", str(reference),
                                    "--config", str(cfg)]) as sc:
        prom = prometheus(sc.metrics, rules)
        _wait("first scrape", lambda: _api(prom, "/api/v1/query", query='up{job="mlscore-sidecar"} == 1')["result"])

        normal = [v2_body([r]) for r in iris_rows(300, seed=7)]
        assert set(load(sc.listen, normal)) == {200}
        _wait("three windows in Prometheus", lambda: _api(
            prom, "/api/v1/query", query='mlscore_windows_closed_total{model="iris"} >= 3')["result"])
        time.sleep(3)  # several evaluations with the quiet windows' results
        detected = _api(prom, "/api/v1/query", query='mlscore_drift_detected{kind="input"}')["result"]
        assert [r["value"][1] for r in detected] == ["0"]
        assert _alerts(prom, "MlscoreInputDrift") == []
        assert _rule_state(prom, "MlscoreInputDrift") == "inactive"

        drifted = [v2_body([r]) for r in iris_rows(200, seed=8, shift_sd=3.0)]
        assert set(load(sc.listen, drifted)) == {200}
        firing = _wait("MlscoreInputDrift firing", lambda: [
            a for a in _alerts(prom, "MlscoreInputDrift") if a["state"] == "firing"])
        assert firing[0]["labels"]["model"] == "iris"
        assert firing[0]["labels"]["mltestscore"] == "MON3"
        _wait("MlscorePredictionDrift firing", lambda: [
            a for a in _alerts(prom, "MlscorePredictionDrift") if a["state"] == "firing"])
        assert _rule_state(prom, "MlscoreInputDrift") == "firing"
        # the serving alerts stay quiet: no errors, no non-finite predictions
        assert _alerts(prom, "MlscoreHighErrorRate") == []
        assert _alerts(prom, "MlscoreNonFinitePredictions") == []
