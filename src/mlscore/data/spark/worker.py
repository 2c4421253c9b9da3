"""What runs on Spark's Python workers: one partition's Arrow batches into one serialised DatasetProfile.

Kept small and importable on executors (mlscore must be installed there). The batches go through the
local engine's own `profile_batch`, so each value is counted exactly as `mlscore data` counts it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: the one row each non-empty partition yields
RESULT_SCHEMA = "partition INT, row_count BIGINT, profile BINARY, mixed STRING, error STRING"


def encode(profile_json: str) -> bytes:
    return zlib.compress(profile_json.encode("utf-8"), 1)


def decode(blob: bytes) -> str:
    return zlib.decompress(bytes(blob)).decode("utf-8")


def decide_skew(prof: Any, batch: Any, undecided: set[str]) -> None:
    """The local engine's "skewed: keep a quantile sketch" rule on this partition's first finite values of each
    seeded numeric column (a seeded histogram skips the rule inside ColumnProfile)."""
    import numpy as np
    import pyarrow as pa

    from mlscore.data.readers import arrow_floats
    from mlscore.profile.column import _skewed
    from mlscore.profile.sketch import QuantileSketch

    for name in list(undecided):
        idx = batch.schema.get_field_index(name)
        if idx < 0:
            continue
        arr = batch.column(idx)
        if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
            undecided.discard(name)  # dates, timestamps, decimals: histogram only
            continue
        x = arrow_floats(arr)
        f = x[np.isfinite(x)]
        if f.size == 0:
            continue
        undecided.discard(name)
        if _skewed(f, float(f.min()), float(f.max())):
            prof.columns[name].sketch = QuantileSketch()


def profile_partition(batches: Iterator[Any], *, seed: Any, source: str, track_mixed: bool) -> Iterator[Any]:
    """mapInArrow function: profile the batches from ``seed`` (bytes, or a Broadcast of them)."""
    import pyarrow as pa

    from mlscore.data.readers import profile_batch
    from mlscore.errors import InputError
    from mlscore.profile import DatasetProfile

    try:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        partition = ctx.partitionId() if ctx is not None else 0
    except ImportError:  # pragma: no cover - always there on a worker
        partition = 0
    raw = seed.value if hasattr(seed, "value") else seed
    prof = DatasetProfile.from_json(decode(raw))
    mixed: dict[str, list[Any]] | None = {} if track_mixed else None
    path = Path(source)
    error = None
    seen = False
    undecided = {n for n, c in prof.columns.items() if c.hist is not None and c.n == 0 and not c.hist.frozen}
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            seen = True
            if undecided:
                decide_skew(prof, batch, undecided)
            profile_batch(prof, batch, path, mixed)
    except InputError as exc:
        error = str(exc)
    if not seen and error is None:
        return
    yield pa.RecordBatch.from_pydict(
        {
            "partition": [partition],
            "row_count": [prof.row_count],
            "profile": [None if error else encode(prof.to_json())],
            "mixed": [json.dumps(mixed) if mixed else None],
            "error": [error],
        },
        schema=pa.schema([("partition", pa.int32()), ("row_count", pa.int64()), ("profile", pa.binary()),
                          ("mixed", pa.string()), ("error", pa.string())]),
    )
