"""Profiles of Spark DataFrames: each partition profiled by the local engine's code on Arrow batches
(`mapInArrow`), serialised, and merged on the driver. Only profiles travel; no row reaches the driver.

Equal to the local engine on the same data:

* counts (rows, nulls, infinities, category counts, exact values while few) are exact, because the
  batches go through the same `profile_batch` and merging adds counts;
* every partition starts from one seed profile, broadcast: for a current window, the reference's
  frozen bins (``DatasetProfile.empty_like``); for a reference, free histograms whose origin, width and
  final position are the ones the local engine reaches on the same file. For a single Parquet file those
  come from its footer (the local engine starts its bins from the first row group's range and doubles
  the width as later row groups need, so replaying the row groups' min/max gives the same grid, hence
  the same counts in every bin); otherwise from the global range (one Spark aggregation), which gives
  equally fine bins but not the same grid, so histogram-based statistics agree within the tolerance
  stated in docs/spark.md;
* means and variances merge exactly in arithmetic but are summed in another order (differences of a few
  units in the last place).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlscore.data.spark.session import spark_errors
from mlscore.data.spark.worker import RESULT_SCHEMA, decode, encode, profile_partition
from mlscore.errors import InputError
from mlscore.profile import DatasetProfile, Histogram

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# ---------------------------------------------------------------- column types


def column_kinds(df: DataFrame, source: str) -> dict[str, tuple[str | None, str | None]]:
    """name -> (kind, Arrow dtype name as the local engine records it); unsupported types are errors."""
    from pyspark.sql import types as T

    out: dict[str, tuple[str | None, str | None]] = {}
    seen: set[str] = set()
    for field in df.schema.fields:
        name, dt = field.name, field.dataType
        if name in seen:
            raise InputError(f"{source}: column name {name!r} appears twice")
        seen.add(name)
        simple = {
            T.ByteType: "int8", T.ShortType: "int16", T.IntegerType: "int32", T.LongType: "int64",
            T.FloatType: "float", T.DoubleType: "double", T.DateType: "date32[day]",
            T.TimestampType: "timestamp[us, tz=UTC]", T.TimestampNTZType: "timestamp[us]",
        }
        if isinstance(dt, T.NullType):
            out[name] = (None, None)
        elif isinstance(dt, T.DecimalType):
            out[name] = ("numeric", f"decimal128({dt.precision}, {dt.scale})")
        elif type(dt) in simple:
            out[name] = ("numeric", simple[type(dt)])
        elif isinstance(dt, T.BooleanType):
            out[name] = ("categorical", "bool")
        elif isinstance(dt, (T.StringType, getattr(T, "VarcharType", T.StringType), getattr(T, "CharType", T.StringType))):
            out[name] = ("categorical", "string")
        else:
            raise InputError(
                f"{source}: column {name!r} has type {dt.simpleString()}, which mlscore cannot profile "
                "(select the supported columns, or flatten or cast this one first)"
            )
    return out


def finite_value(df: DataFrame, name: str) -> Any:
    """A Spark expression for the column as the local engine's float64 values, null unless finite."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    c = F.col(f"`{name}`")
    dt = df.schema[name].dataType
    if isinstance(dt, T.DateType):
        return F.unix_date(c).cast("double") * F.lit(86400.0)
    if isinstance(dt, (T.TimestampType, T.TimestampNTZType)):
        ts = c if isinstance(dt, T.TimestampType) else c.cast("timestamp")
        return F.unix_micros(ts).cast("double") / F.lit(1e6)
    v = c.cast("double")
    if isinstance(dt, (T.FloatType, T.DoubleType)):
        return F.when(~F.isnan(v) & (F.abs(v) != F.lit(float("inf"))), v)
    return v


# ---------------------------------------------------------------- seeds


def local_bins(path: Path, names: Sequence[str], nbins: int) -> dict[str, Histogram]:
    """The (empty) histogram grid the local engine ends with on this Parquet file, per numeric column,
    replayed from the row groups' min/max in the footer. Columns it cannot tell are left out."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError):
        return {}
    md = pf.metadata
    arrow = pf.schema_arrow
    paths = [md.schema.column(i).path for i in range(md.num_columns)]
    out: dict[str, Histogram] = {}
    for name in names:
        if name not in arrow.names or name not in paths:
            continue
        t = arrow.field(name).type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
            continue
        ci = paths.index(name)
        hist: Histogram | None = None
        for rg in range(md.num_row_groups):
            meta = md.row_group(rg)
            if meta.num_rows == 0:
                continue
            st = meta.column(ci).statistics
            if st is not None and st.has_null_count and st.null_count == meta.num_rows:
                continue  # no values at all here: the local engine creates no bins from this row group
            if st is None or not st.has_min_max:
                hist = None
                break
            lo, hi = float(st.min), float(st.max)
            if not (math.isfinite(lo) and math.isfinite(hi)):
                hist = None  # infinities are left out of the local engine's range: not knowable here
                break
            if hist is None:
                hist = Histogram.for_range(lo, hi, nbins)
            hist.add(np.array([lo, hi]), lo, hi)
        if hist is not None:
            out[name] = Histogram(hist.origin, hist.width, hist.start, np.zeros_like(hist.counts))
    return out


def seed_profile(
    df: DataFrame, source: str, kinds: dict[str, tuple[str | None, str | None]], *,
    reference: DatasetProfile | None = None, parquet: Path | None = None,
) -> DatasetProfile:
    """The profile every partition starts from (see the module docstring)."""
    from mlscore.data.readers import _new_profile

    if reference is not None:
        seed = DatasetProfile.empty_like(reference)
        seed.source = source
    else:
        seed = _new_profile(len(kinds))
    fresh = [n for n in kinds if n not in seed.columns]
    for name in fresh:
        kind, dtype = kinds[name]
        col = seed.column(name)
        col.kind, col.dtype = kind, dtype
    numeric = [n for n in fresh if kinds[n][0] == "numeric"]
    if not numeric:
        return seed
    nbins = seed.settings["nbins"]
    grids = local_bins(parquet, numeric, nbins) if parquet is not None else {}
    rest = [n for n in numeric if n not in grids]
    ranges = _global_ranges(df, rest, source) if rest else {}
    for name in numeric:
        col = seed.columns[name]
        if name in grids:
            col.hist = grids[name]
        elif ranges.get(name) is not None:
            lo, hi = ranges[name]  # type: ignore[misc]
            col.hist = Histogram.for_range(lo, hi, nbins)
        # else: no finite value anywhere: no bins, as in the local engine
    # whether a column is skewed (keep a quantile sketch) is decided by each partition on its first values,
    # as the local engine does on its first batch (mlscore.data.spark.worker); merging keeps a sketch only
    # where every partition kept one
    return seed


def _global_ranges(df: DataFrame, names: Sequence[str], source: str) -> dict[str, tuple[float, float] | None]:
    from pyspark.sql import functions as F

    exprs = []
    for i, name in enumerate(names):
        v = finite_value(df, name)
        exprs += [F.min(v).alias(f"lo{i}"), F.max(v).alias(f"hi{i}")]
    with spark_errors(source):
        row = df.agg(*exprs).collect()[0]
    out: dict[str, tuple[float, float] | None] = {}
    for i, name in enumerate(names):
        lo, hi = row[f"lo{i}"], row[f"hi{i}"]
        out[name] = None if lo is None or hi is None else (float(lo), float(hi))
    return out


# ---------------------------------------------------------------- the pass


def profile_dataframe(
    df: DataFrame, *, source: str, reference: DatasetProfile | None = None, parquet: Path | None = None,
    track_mixed: bool = False, progress: Callable[[str], None] | None = None,
) -> DatasetProfile:
    """Profile ``df`` partition by partition and merge on the driver (``reference``: a current window)."""
    kinds = column_kinds(df, source)
    seed = seed_profile(df, source, kinds, reference=reference, parquet=parquet)
    blob = encode(seed.to_json())
    spark = df.sparkSession
    shared: Any = blob
    with contextlib.suppress(Exception):  # no SparkContext under Spark Connect: the seed rides in the closure
        shared = spark.sparkContext.broadcast(blob)
    fn = functools.partial(profile_partition, seed=shared, source=source, track_mixed=track_mixed)
    with spark_errors(source), _arrow_batches(spark):
        rows = df.mapInArrow(fn, RESULT_SCHEMA).collect()
    with contextlib.suppress(Exception):
        shared.unpersist()
    errors = sorted((r["partition"], r["error"]) for r in rows if r["error"])
    if errors:
        raise InputError(errors[0][1])
    rows = sorted(rows, key=lambda r: r["partition"])
    merged = DatasetProfile.from_json(decode(blob))
    for row in rows:
        merged = merged.merge(DatasetProfile.from_json(decode(row["profile"])))
        if progress is not None:
            progress(f"{merged.row_count:,} rows")
    if merged.row_count == 0:
        raise InputError(f"{source}: no rows")
    _check_mixed(rows, source)
    _restore_grid(merged, seed)
    if reference is not None:
        merged.columns = {n: c for n, c in merged.columns.items() if n in kinds}
    merged.source = source
    return merged


def _check_mixed(rows: Sequence[Any], source: str) -> None:
    """As the local engine: a text column whose values are nearly all numbers mixes types."""
    from mlscore.data.readers import MIXED_SHARE

    total: dict[str, list[Any]] = {}
    for row in rows:
        for name, (num, text, example) in json.loads(row["mixed"] or "{}").items():
            state = total.setdefault(name, [0, 0, None])
            state[0] += num
            state[1] += text
            state[2] = state[2] or example
    for name, (num, text, example) in total.items():
        if text and num >= MIXED_SHARE * (num + text):
            raise InputError(f"{source}: column {name!r} mixes types: {num} numbers and {text} text values "
                             f"such as {example!r}")


def _restore_grid(merged: DatasetProfile, seed: DatasetProfile) -> None:
    """Put each merged free histogram back at its seed's position (merging re-centres the bins; the local
    engine keeps the position it reached), when the width is the seed's and the data fit."""
    for name, col in merged.columns.items():
        s = seed.columns.get(name)
        h = col.hist
        if s is None or s.hist is None or h is None or h.frozen or h.width != s.hist.width or h.nbins != s.hist.nbins:
            continue
        if h.origin != s.hist.origin or h.start == s.hist.start:
            continue
        nz = np.nonzero(h.counts)[0]
        if nz.size and (h.start + nz[0] < s.hist.start or h.start + nz[-1] >= s.hist.start + h.nbins):
            continue
        counts = np.zeros_like(h.counts)
        if nz.size:
            lo, hi = int(nz[0]), int(nz[-1]) + 1
            off = h.start - s.hist.start
            counts[lo + off : hi + off] = h.counts[lo:hi]
        h.counts = counts
        h.start = s.hist.start


@contextlib.contextmanager
def _arrow_batches(spark: Any) -> Iterator[None]:
    """Arrow batches of the local engine's size for this pass (restored afterwards)."""
    from mlscore.data.spark.session import ARROW_BATCH_ROWS

    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    try:
        old = spark.conf.get(key, None)
    except Exception:  # noqa: BLE001 - a locked-down session: keep its setting
        yield
        return
    changed = False
    if old != str(ARROW_BATCH_ROWS):
        with contextlib.suppress(Exception):
            spark.conf.set(key, str(ARROW_BATCH_ROWS))
            changed = True
    try:
        yield
    finally:
        if changed:
            with contextlib.suppress(Exception):
                if old is None:
                    spark.conf.unset(key)
                else:
                    spark.conf.set(key, old)
