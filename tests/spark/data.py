"""Fixture data for the Spark tests: Parquet files with several row groups and every column kind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def frame(n: int, *, seed: int, shift: float = 0.0, date: bool = True) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    z = rng.normal(0.0, 2.0, n)
    z[rng.random(n) < 0.02] = np.nan
    z[:3] = [np.inf, -np.inf, np.inf]
    skewed = np.round(np.exp(rng.normal(0.0, 1.5 + shift, n)), 3)
    ints = rng.integers(0, 40, n)
    few = rng.integers(0, 4, n).astype(np.float64)
    country = rng.choice(["us", "fr", "de", "in"], n, p=[0.4, 0.3, 0.2, 0.1] if not shift else [0.2, 0.3, 0.2, 0.3])
    cmask = rng.random(n) < 0.03
    group = rng.choice(["a", "b"], n)
    flag = rng.random(n) < (0.3 + 0.2 * shift)
    day0 = dt.date(2026, 1, 1)
    days = [day0 + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, n)]
    y = (x + rng.normal(0, 0.8, n) > shift).astype(np.int64)
    score = 1 / (1 + np.exp(-2.5 * (x - shift)))
    table = pa.table({
        "x": x, "z": z, "skewed": skewed, "ints": pa.array(ints, pa.int64()), "few": few,
        "country": pa.array(country.tolist(), pa.string(), mask=cmask), "group": group,
        "flag": pa.array(flag), "day": pa.array(days, pa.date32()),
        "nothing": pa.nulls(n, pa.float64()), "y": y, "score": score,
    })
    # the local engine's linear baseline cannot take a date feature yet (model_checks._design): left out there
    return table if date else table.drop(["day"])


def write(path: Path, table: pa.Table, row_group: int) -> Path:
    pq.write_table(table, path, row_group_size=row_group)
    return path


def pair(tmp: Path, n_ref: int = 30_000, n_cur: int = 20_000, shift: float = 0.6, row_group: int = 4_000,
         date: bool = True) -> tuple[Path, Path]:
    return (write(tmp / "ref.parquet", frame(n_ref, seed=1, date=date), row_group),
            write(tmp / "cur.parquet", frame(n_cur, seed=2, shift=shift, date=date), row_group))
