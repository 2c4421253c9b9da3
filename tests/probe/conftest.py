"""Fixtures for the probe tests: one real MLServer with several iris models, sample and prediction files."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.mlserver import (
    MLServer,
    ModelSpec,
    iris_data,
    load_model,
    mixed_data,
    require_mlserver,
    running_mlserver,
    train_iris_model,
    train_mixed_model,
)


@dataclass(frozen=True)
class Served:
    server: MLServer
    sample_csv: Path
    sample_parquet: Path
    sample_jsonl: Path
    expected_classes: Path
    expected_proba: Path
    dated_version: str
    models: dict[str, ModelSpec]
    income_sample: Path
    income_expected: Path


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """MLServer (default parallel_workers=1) serving: iris v1 + v2 (StandardScaler + LogisticRegression), iris-unscaled (the same
    model without its scaler: a deliberately different preprocessing step), dated (a version that is a
    date, 10 days old) and doomed (unloaded by the readiness test)."""
    exe = require_mlserver()
    root = tmp_path_factory.mktemp("mlserver")
    data = tmp_path_factory.mktemp("probe-data")
    dated = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)).strftime("%Y%m%d")
    models = {
        "iris-v1": train_iris_model(root / "iris-v1", "iris", "v1"),
        "iris-v2": train_iris_model(root / "iris-v2", "iris", "v2"),
        "iris-unscaled": train_iris_model(root / "iris-unscaled", "iris-unscaled", "v1", scale=False),
        "dated": train_iris_model(root / "dated", "dated", dated),
        "doomed": train_iris_model(root / "doomed", "doomed", "v1"),
        "income": train_mixed_model(root / "income", "income", "v1"),
    }
    x, _y, names = iris_data()
    rows = x.tolist()
    sample_csv = _write_csv(data / "sample.csv", names + ["species"], [r + [int(t)] for r, t in zip(rows, _y)])
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({n: [r[j] for r in rows] for j, n in enumerate(names)}), data / "sample.parquet")
    with open(data / "sample.jsonl", "w") as fh:
        fh.writelines(json.dumps(dict(zip(names, r))) + "\n" for r in rows)
    scaled = load_model(models["iris-v1"])
    expected_classes = _write_csv(data / "expected.csv", ["prediction"], [[int(v)] for v in scaled.predict(x)])
    expected_proba = _write_csv(data / "expected_proba.csv", ["p0", "p1", "p2"], scaled.predict_proba(x).tolist())
    frame, labels = mixed_data(120, seed=1)
    income_sample = data / "income.csv"
    frame.assign(label=labels).to_csv(income_sample, index=False)
    income_expected = _write_csv(
        data / "income_expected.csv", ["prediction"], [[int(v)] for v in load_model(models["income"]).predict(frame)]
    )
    # parallel_workers=1 is MLServer's default: inference in a worker process, which is what
    # crashes with uvloop >= 0.22 (SeldonIO/MLServer#2286), so these tests also prove the pin
    with running_mlserver(root, list(models.values()), executable=exe, parallel_workers=1) as server:
        yield Served(
            server, sample_csv, data / "sample.parquet", data / "sample.jsonl", expected_classes, expected_proba, dated,
            models, income_sample, income_expected,
        )
