"""Opt-in: the probe against a real MLflow scoring server (`mlflow models serve`).

MLflow is not a project dependency (it is large), so this cross-check of the MLflow adapter and of
the emulator in emulators.py runs only when ``MLSCORE_MLFLOW_PYTHON`` names a Python that has
``mlflow`` and the same scikit-learn as the project venv, e.g.::

    python3 -m venv /tmp/mlflow-venv && /tmp/mlflow-venv/bin/pip install mlflow scikit-learn==1.9.1
    MLSCORE_MLFLOW_PYTHON=/tmp/mlflow-venv/bin/python pytest tests/probe/test_mlflow_real.py
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from mlscore.cli import main
from tests.support.mlserver import free_port, http_status, stop_process_group

pytestmark = pytest.mark.integration

PYTHON = os.environ.get("MLSCORE_MLFLOW_PYTHON")

TRAIN = """
import sys
import mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
x, y = load_iris(return_X_y=True, as_frame=True)
x.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
mlflow.sklearn.save_model(model, sys.argv[1], input_example=x.head(2))
x.to_csv(sys.argv[2], index=False)
import pandas as pd
pd.DataFrame({"prediction": model.predict(x)}).to_csv(sys.argv[3], index=False)
"""


@pytest.mark.skipif(not PYTHON, reason="opt-in: set MLSCORE_MLFLOW_PYTHON to a Python with mlflow installed")
def test_probe_against_real_mlflow_scoring_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert PYTHON is not None
    model_dir, sample, expected = tmp_path / "model", tmp_path / "sample.csv", tmp_path / "expected.csv"
    subprocess.run([PYTHON, "-c", TRAIN, str(model_dir), str(sample), str(expected)], check=True, capture_output=True, timeout=300)
    port = free_port()
    mlflow = str(Path(PYTHON).parent / "mlflow")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"file://{tmp_path / 'mlruns'}",
           "PATH": f"{Path(PYTHON).parent}:{os.environ.get('PATH', '')}"}  # it execs uvicorn from PATH
    with open(tmp_path / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [mlflow, "models", "serve", "-m", str(model_dir), "-h", "127.0.0.1", "-p", str(port), "--env-manager", "local", "-w", "1"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while http_status(url + "/ping") != 200:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "mlflow models serve not ready in 120 s"
            time.sleep(0.5)
        code = main(["probe", url, "--sample", str(sample), "--expected-predictions", str(expected),
                     "--requests", "60", "--concurrency", "2", "--oversized-mb", "1", "--format", "json", "-q"])
        doc = json.loads(capsys.readouterr().out)
    finally:
        stop_process_group(process)
    checks = {c["id"]: c for c in doc["checks"]}
    assert doc["target"]["protocol"] == "mlflow", doc["target"]
    assert doc["target"]["infer_path"] == "/invocations"
    assert doc["target"]["server"]["name"] == "mlflow"
    assert checks["liveness"]["status"] == "passing"
    assert checks["metadata"]["status"] == "unknown"  # the scoring server has no model metadata route
    assert checks["skew"]["status"] == "passing", checks["skew"]["message"]
    assert checks["skew"]["details"]["rows_compared"] == 150
    assert checks["determinism"]["status"] == "passing"
    assert checks["latency"]["status"] == "passing", checks["latency"]["message"]
    assert not [c for c in checks.values() if c["status"] == "error"], [c["message"] for c in checks.values() if c["status"] == "error"]
    print(doc["target"]["detected_by"], doc["target"]["server"], json.dumps({c["id"]: [c["status"], c["message"][:200]] for c in doc["checks"]}, indent=1))
    assert code in (0, 1)
