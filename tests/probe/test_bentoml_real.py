"""Opt-in: the probe against a real BentoML service (`bentoml serve`).

BentoML is not a project dependency, so this cross-check of the BentoML adapter runs only when
``MLSCORE_BENTOML_PYTHON`` names a Python with ``bentoml`` and the project's scikit-learn::

    python3 -m venv /tmp/bento-venv && /tmp/bento-venv/bin/pip install bentoml scikit-learn==1.9.1
    MLSCORE_BENTOML_PYTHON=/tmp/bento-venv/bin/python pytest tests/probe/test_bentoml_real.py
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from mlscore.cli import main
from tests.support.mlserver import (
    free_port,
    http_status,
    iris_data,
    load_model,
    stop_process_group,
    train_iris_model,
)

pytestmark = pytest.mark.integration

PYTHON = os.environ.get("MLSCORE_BENTOML_PYTHON")

SERVICE = '''
import os
import bentoml
import joblib
import numpy as np

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@bentoml.service
class Iris:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["IRIS_MODEL"])

    @bentoml.api
    def predict(self, input_data: list[dict[str, float]]) -> list[int]:
        x = np.array([[row[f] for f in FEATURES] for row in input_data], dtype=float)
        return [int(v) for v in self.model.predict(x)]
'''


@pytest.mark.skipif(not PYTHON, reason="opt-in: set MLSCORE_BENTOML_PYTHON to a Python with bentoml installed")
def test_probe_against_real_bentoml_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert PYTHON is not None
    spec = train_iris_model(tmp_path / "model")
    x, _y, names = iris_data()
    sample, expected = tmp_path / "sample.csv", tmp_path / "expected.csv"
    with open(sample, "w", newline="") as fh:
        csv.writer(fh).writerows([names, *x.tolist()])
    with open(expected, "w", newline="") as fh:
        csv.writer(fh).writerows([["prediction"], *[[int(v)] for v in load_model(spec).predict(x)]])
    (tmp_path / "service.py").write_text(SERVICE)
    port = free_port()
    env = {**os.environ, "IRIS_MODEL": str(spec.directory / "model.joblib"), "BENTOML_HOME": str(tmp_path / "bentoml"),
           "PATH": f"{Path(PYTHON).parent}:{os.environ.get('PATH', '')}"}
    with open(tmp_path / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [str(Path(PYTHON).parent / "bentoml"), "serve", "service:Iris", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while http_status(url + "/readyz") != 200:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "bentoml serve not ready in 180 s: " + (tmp_path / "serve.log").read_text()[-2000:]
            time.sleep(0.5)
        code = main(["probe", url, "--sample", str(sample), "--expected-predictions", str(expected),
                     "--requests", "60", "--concurrency", "2", "--oversized-mb", "1", "--format", "json", "-q"])
        doc = json.loads(capsys.readouterr().out)
    finally:
        stop_process_group(process)
    checks = {c["id"]: c for c in doc["checks"]}
    print(doc["target"]["detected_by"], doc["target"]["infer_path"], [d["message"] for d in doc["diagnostics"]],
          json.dumps({c["id"]: [c["status"], c["message"][:200]] for c in doc["checks"]}, indent=1))
    assert doc["target"]["protocol"] == "bentoml", doc["target"]
    assert doc["target"]["infer_path"] == "/predict"
    assert checks["liveness"]["status"] == "passing" and checks["readiness"]["status"] == "passing"
    assert checks["skew"]["status"] == "passing", checks["skew"]["message"]
    assert checks["skew"]["details"]["rows_compared"] == 150
    assert checks["determinism"]["status"] == "passing"
    assert checks["metrics"]["status"] == "passing", checks["metrics"]["message"]
    assert not [c for c in checks.values() if c["status"] == "error"], [c["message"] for c in checks.values() if c["status"] == "error"]
    assert code in (0, 1)
