"""Start a real MLServer on 127.0.0.1 serving small scikit-learn models trained in the test.

Plain functions and one context manager, shared by the probe and sidecar tests::

    from tests.support.mlserver import require_mlserver, train_iris_model, running_mlserver

    exe = require_mlserver()                      # skips (or fails under MLSCORE_REQUIRE_INTEGRATION=1)
    model = train_iris_model(tmp_path / "models" / "iris")
    with running_mlserver(tmp_path / "models", [model], executable=exe) as server:
        server.url, server.metrics_url, server.models   # http://127.0.0.1:PORT, ...:PORT+?/metrics

The executable comes from env ``MLSCORE_MLSERVER`` or ``<repo>/.venv-mlserver/bin/mlserver``
(MLServer 1.7.1 + mlserver-sklearn 1.7.1 + ``uvloop==0.21.0``: newer uvloop crashes its inference
worker, SeldonIO/MLServer#2286). Models are written with joblib by the test's own scikit-learn, so
both venvs must hold the same scikit-learn version (checked by :func:`train_iris_model`'s caller).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_EXECUTABLE = REPO / ".venv-mlserver" / "bin" / "mlserver"
STARTUP_TIMEOUT_S = 90.0


def integration_required() -> bool:
    """CI sets MLSCORE_REQUIRE_INTEGRATION=1: a missing component is then a failure, not a skip."""
    return os.environ.get("MLSCORE_REQUIRE_INTEGRATION", "") not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """Skip the current test with ``reason``, or fail it when integration tests are required."""
    import pytest

    if integration_required():
        pytest.fail(f"{reason} (MLSCORE_REQUIRE_INTEGRATION=1)")
    pytest.skip(reason)


def mlserver_executable() -> Path | None:
    """The mlserver executable to use, or None when it is not installed."""
    configured = os.environ.get("MLSCORE_MLSERVER")
    path = Path(configured) if configured else DEFAULT_EXECUTABLE
    return path if path.is_file() and os.access(path, os.X_OK) else None


def require_mlserver() -> Path:
    """The mlserver executable, or skip/fail the test with a reason that says how to install it."""
    exe = mlserver_executable()
    if exe is None:
        where = os.environ.get("MLSCORE_MLSERVER") or str(DEFAULT_EXECUTABLE)
        skip_or_fail(
            f"MLServer not found at {where}: python3 -m venv .venv-mlserver && .venv-mlserver/bin/pip install "
            "mlserver==1.7.1 mlserver-sklearn==1.7.1 'uvloop==0.21.0' (or set MLSCORE_MLSERVER)"
        )
    assert exe is not None
    return exe


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def consecutive_free_ports(count: int, attempts: int = 50) -> list[int]:
    """``count`` consecutive free ports P, P+1, ... (MLServer's default layout: http, grpc, metrics)."""
    for _ in range(attempts):
        base = free_port()
        socks = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return list(range(base, base + count))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    return free_ports(count)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (held open together while choosing, so they differ)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass(frozen=True)
class ModelSpec:
    """A model directory written for MLServer: ``<dir>/model-settings.json`` + ``model.joblib``."""

    name: str
    directory: Path
    version: str | None
    feature_names: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)


def iris_data() -> tuple[Any, Any, list[str]]:
    """Iris features, labels and feature names (bundled with scikit-learn, no download)."""
    from sklearn.datasets import load_iris

    data = load_iris()
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    return data.data, data.target, names


def train_iris_model(
    directory: Path,
    name: str = "iris",
    version: str | None = "v1",
    *,
    scale: bool = True,
    metadata: dict[str, Any] | None = None,
) -> ModelSpec:
    """Train StandardScaler + LogisticRegression on iris, write it and its model-settings.json.

    ``scale=False`` drops the scaler (a deliberately different preprocessing step, for skew tests).
    ``metadata`` is merged into model-settings.json (e.g. ``{"inputs": [...], "outputs": [...]}``).
    """
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y, names = iris_data()
    steps = [StandardScaler()] if scale else []
    model = make_pipeline(*steps, LogisticRegression(max_iter=1000))
    model.fit(x, y)
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, directory / "model.joblib")
    write_model_settings(directory, name, "./model.joblib", version, metadata)
    return ModelSpec(name=name, directory=directory, version=version, feature_names=tuple(names))


MIXED_FEATURES = ("age", "hours_per_week", "region")


def mixed_data(n: int = 300, seed: int = 0) -> tuple[Any, Any]:
    """A small income-like table with numeric and string features (DataFrame) and 0/1 labels."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    regions = np.array(["north", "south", "east", "west"])
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype("int64"),
        "hours_per_week": rng.normal(40, 8, n).round(1),
        "region": regions[rng.integers(0, 4, n)],
    })
    logit = 0.04 * (frame["age"] - 45) + 0.08 * (frame["hours_per_week"] - 40) + (frame["region"] == "north") * 0.8
    labels = (logit + rng.normal(0, 0.5, n) > 0).astype("int64")
    return frame, labels


def train_mixed_model(directory: Path, name: str = "income", version: str | None = "v1") -> ModelSpec:
    """ColumnTransformer(StandardScaler on numbers, OneHotEncoder on region) + LogisticRegression,
    fitted on a DataFrame: it needs named columns, so V2 clients must use MLServer's pandas codec."""
    import joblib
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, labels = mixed_data()
    columns = ColumnTransformer([
        ("numeric", StandardScaler(), ["age", "hours_per_week"]),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), ["region"]),
    ])
    model = make_pipeline(columns, LogisticRegression(max_iter=1000)).fit(frame, labels)
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, directory / "model.joblib")
    write_model_settings(directory, name, "./model.joblib", version)
    return ModelSpec(name=name, directory=directory, version=version, feature_names=MIXED_FEATURES)


def load_model(spec: ModelSpec) -> Any:
    """The fitted model a spec was written from (the test's own copy, for offline predictions)."""
    import joblib

    return joblib.load(spec.directory / "model.joblib")


def write_model_settings(
    directory: Path,
    name: str,
    uri: str,
    version: str | None = None,
    metadata: dict[str, Any] | None = None,
    implementation: str = "mlserver_sklearn.SKLearnModel",
) -> Path:
    """Write ``model-settings.json`` for one model served by ``implementation``."""
    parameters: dict[str, Any] = {"uri": uri}
    if version:
        parameters["version"] = version
    settings: dict[str, Any] = {"name": name, "implementation": implementation, "parameters": parameters}
    settings.update(metadata or {})
    path = directory / "model-settings.json"
    path.write_text(json.dumps(settings, indent=2))
    return path


def write_server_settings(
    root: Path, http_port: int, grpc_port: int, metrics_port: int, parallel_workers: int = 0
) -> Path:
    """Write MLServer's ``settings.json``: loopback only, given ports, no debug."""
    settings = {
        "host": "127.0.0.1",
        "http_port": http_port,
        "grpc_port": grpc_port,
        "metrics_port": metrics_port,
        "parallel_workers": parallel_workers,
        "debug": False,
        "load_models_at_startup": True,
    }
    path = root / "settings.json"
    path.write_text(json.dumps(settings, indent=2))
    return path


@dataclass(frozen=True)
class MLServer:
    """A running MLServer: where to reach it, and its log file for failure messages."""

    url: str
    metrics_url: str
    http_port: int
    grpc_port: int
    metrics_port: int
    pid: int
    root: Path
    log_path: Path
    models: tuple[ModelSpec, ...]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def http_status(url: str, timeout: float = 2.0, method: str = "GET") -> int | None:
    """The HTTP status of a request, or None when nothing answers."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def wait_models_ready(
    url: str, names: Sequence[str], timeout: float = STARTUP_TIMEOUT_S, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until ``/v2/models/NAME/ready`` answers 200 for every name (server-ready is not enough)."""
    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"mlserver exited with code {process.returncode} before its models were ready")
        pending = [n for n in pending if http_status(f"{url}/v2/models/{n}/ready") != 200]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"models {pending} not ready at {url} after {timeout:.0f} s")
        time.sleep(0.25)


@contextlib.contextmanager
def running_mlserver(
    root: Path,
    models: Sequence[ModelSpec],
    *,
    executable: Path | None = None,
    parallel_workers: int = 0,
    timeout: float = STARTUP_TIMEOUT_S,
    env: dict[str, str] | None = None,
) -> Iterator[MLServer]:
    """Start ``mlserver start ROOT`` on free loopback ports, wait for every model, stop it after.

    ``root`` must contain the model directories (each with its model-settings.json). The process
    runs in its own session and the whole group is terminated on exit (its inference workers too).
    ``parallel_workers=0`` (default) serves in the main process: faster on 2 cores, fewer processes.
    """
    exe = executable or require_mlserver()
    # consecutive like MLServer's defaults (8080/8081/8082), so metrics discovery at port+2 is real
    http_port, grpc_port, metrics_port = consecutive_free_ports(3)
    write_server_settings(root, http_port, grpc_port, metrics_port, parallel_workers)
    log_path = root / "mlserver.log"
    process_env = {k: v for k, v in os.environ.items() if not k.startswith("MLSERVER_")}
    process_env.update({"PYTHONUNBUFFERED": "1"})
    process_env.update(env or {})
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(exe), "start", str(root)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            env=process_env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{http_port}"
    server = MLServer(
        url=url,
        metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        http_port=http_port,
        grpc_port=grpc_port,
        metrics_port=metrics_port,
        pid=process.pid,
        root=root,
        log_path=log_path,
        models=tuple(models),
    )
    try:
        try:
            wait_models_ready(url, [m.name for m in models], timeout, process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n--- mlserver log ---\n{server.log_tail()}") from None
        yield server
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate a process started with ``start_new_session=True`` and everything in its group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)  # also reaches workers left behind by a dead parent
    if process.poll() is not None:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
