"""Fixtures: one real MLServer serving iris for the module, and its reference profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sidecar.helpers import make_reference
from tests.support.mlserver import (
    MLServer,
    load_model,
    require_mlserver,
    running_mlserver,
    train_iris_model,
)


@pytest.fixture(scope="session")
def iris_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MLServer]:
    exe = require_mlserver()
    root = tmp_path_factory.mktemp("mlserver")
    spec = train_iris_model(root / "iris")
    with running_mlserver(root, [spec], executable=exe) as server:
        yield server


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory, iris_server: MLServer) -> Path:
    path = tmp_path_factory.mktemp("ref") / "reference.profile.json"
    return make_reference(path, load_model(iris_server.models[0]))
