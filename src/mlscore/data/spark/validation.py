"""Great Expectations suites validated on a Spark DataFrame as Spark aggregations, with the local native
engine's semantics (mlscore.data.validation.NativeValidator), so the verdicts are the same.

One aggregation pass evaluates every supported expectation of a table (row count, null counts, range and
set membership counts, mean, sum, min, max, standard deviation, median). Three things take extra jobs:
``expect_column_values_to_be_unique`` (a group-by per column), ``unique_value_count`` (one distinct count
job for all of them) and, for each map expectation that fails, its first 20 unexpected values (a filtered
``limit(20)``: GE's ``partial_unexpected_list``).

Expectations the local native engine hands to Great Expectations fall back here too, for the same reasons:
column types other than integer, floating and string (boolean, decimal, date, timestamp), expectation
types it does not evaluate, suite parameters (``$PARAMETER``) and row conditions. With ``--validator auto``
they run on Great Expectations' own Spark execution engine; with ``native`` they are reported as not
supported; ``ge`` sends everything to Great Expectations.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlscore.data.spark.session import spark_errors
from mlscore.data.validation import (
    _AGG,
    _ALLOWED_KW,
    _MAP,
    NATIVE_TYPES,
    PARTIAL,
    ExpectationResult,
    _between,
    _is_number,
    _Unsupported,
    between_bounds,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


RARE = 10_000  # unexpected values collected in one pass when an expectation has at most this many


@dataclass
class _Pending:
    """One expectation waiting for the aggregation row: ``finish(row) -> ExpectationResult``."""

    finish: Callable[[Any], ExpectationResult]


class SparkValidator:
    """Evaluates the natively supported expectations on ``df``; ``validate`` returns None for the others."""

    def __init__(self, df: DataFrame, source: str, numeric: set[str] | None = None) -> None:
        from pyspark.sql import types as T

        self.df = df
        self.source = source
        self.names = list(df.columns)
        self.kinds: dict[str, str] = {}
        self.floating: set[str] = set()
        self.parsed: set[str] = set()  # text columns numeric in the reference: read as numbers (the local rule)
        for f in df.schema.fields:
            dt = f.dataType
            if isinstance(dt, (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType)):
                self.kinds[f.name] = "num"
                if isinstance(dt, (T.FloatType, T.DoubleType)):
                    self.floating.add(f.name)
            elif isinstance(dt, T.StringType):
                self.kinds[f.name] = "str"
                if f.name in (numeric or set()):
                    self.kinds[f.name] = "num"
                    self.parsed.add(f.name)
            elif isinstance(dt, T.NullType):
                self.kinds[f.name] = "null"
            else:
                self.kinds[f.name] = "other"
        self._exprs: list[Any] = []
        self._distinct: list[Any] = []
        self._later: list[Callable[[], None]] = []
        self._partials: list[tuple[ExpectationResult, str, str, Any]] = []
        from pyspark.sql import functions as F

        self._rows = self._agg(F.count(F.lit(1)))

    # ------------------------------------------------------------ expressions

    def _c(self, name: str) -> Any:
        from pyspark.sql import functions as F

        return F.col(f"`{name}`")

    def _null(self, name: str) -> Any:
        """Null as the local engine sees it: None, and NaN in floating columns."""
        from pyspark.sql import functions as F

        c = self._c(name)
        return (c.isNull() | F.isnan(c)) if name in self.floating else c.isNull()

    def _number(self, name: str) -> Any:
        """The column as doubles; text that is not a number is null here (but not a null value)."""
        from pyspark.sql import functions as F

        if name in self.parsed:
            return F.expr(f"try_cast(`{name}` AS DOUBLE)")
        return self._c(name).cast("double")

    def _value(self, name: str) -> Any:
        """The column as float64 values, null where the local engine has a null (or text in a number column)."""
        from pyspark.sql import functions as F

        return F.when(~self._null(name), self._number(name))

    def _agg(self, expr: Any) -> str:
        alias = f"a{len(self._exprs)}"
        self._exprs.append(expr.alias(alias))
        return alias

    def _count_where(self, cond: Any) -> str:
        from pyspark.sql import functions as F

        return self._agg(F.count(F.when(cond, F.lit(1))))

    # ------------------------------------------------------------ planning

    def plan(self, typ: str, kwargs: dict[str, Any]) -> _Pending | None:
        """Plan one expectation (None: not evaluated natively; the local engine's rules)."""
        if typ not in NATIVE_TYPES or set(kwargs) - _ALLOWED_KW:
            return None
        if any(isinstance(v, dict) for k, v in kwargs.items() if k not in ("meta", "result_format")):
            return None
        mark = (len(self._exprs), len(self._distinct), len(self._later))
        try:
            return self._plan(typ, kwargs)
        except _Unsupported:
            del self._exprs[mark[0]:], self._distinct[mark[1]:], self._later[mark[2]:]
            return None

    def _plan(self, typ: str, kw: dict[str, Any]) -> _Pending:

        def new() -> ExpectationResult:
            return ExpectationResult(type=typ, kwargs=kw, success=False, engine="native")

        rows = self._rows
        if typ == "expect_table_row_count_to_be_between":
            def finish_rows(row: Any) -> ExpectationResult:
                res = new()
                res.observed_value = int(row[rows])
                res.success = _between(res.observed_value, kw)
                return res
            return _Pending(finish_rows)
        if typ == "expect_table_columns_to_match_set":
            expected = kw.get("column_set")
            if expected is None or not isinstance(expected, list):
                raise _Unsupported("column_set")
            exact = kw.get("exact_match", True)
            exact = True if exact is None else bool(exact)
            actual = set(self.names)

            def finish_set(_row: Any) -> ExpectationResult:
                res = new()
                res.observed_value = sorted(actual)
                res.missing = sorted(set(expected) - actual)
                res.partial_unexpected_list = sorted(actual - set(expected))
                res.success = not res.missing and (not res.partial_unexpected_list or not exact)
                return res
            return _Pending(finish_set)
        column = kw.get("column")
        if not isinstance(column, str):
            raise _Unsupported("column")
        if typ == "expect_column_to_exist":
            present = column in self.names

            def finish_exist(_row: Any) -> ExpectationResult:
                res = new()
                res.success = present
                return res
            return _Pending(finish_exist)
        if column not in self.names:
            def finish_missing(_row: Any) -> ExpectationResult:
                res = new()
                res.exception = f"column {column!r} not found"
                return res
            return _Pending(finish_missing)
        kind = self.kinds[column]
        if kind == "other":
            raise _Unsupported("column type")
        if typ in _MAP:
            return self._plan_map(typ, kw, column, kind, rows, new)
        return self._plan_agg(typ, kw, column, kind, new)

    def _plan_map(self, typ: str, kw: dict[str, Any], column: str, kind: str, rows: str,
                  new: Callable[[], ExpectationResult]) -> _Pending:
        from pyspark.sql import functions as F

        mostly = kw.get("mostly", 1.0)
        mostly = 1.0 if mostly is None else float(mostly)
        null = self._null(column)
        if typ == "expect_column_values_to_not_be_null":
            bad_alias = self._count_where(null)
            considered_alias = rows
            bad_expr = None
        else:
            if kind == "null":
                raise _Unsupported("all-null column")
            considered_alias = self._count_where(~null)
            c = self._c(column)
            if typ == "expect_column_values_to_be_between":
                if kind != "num":
                    raise _Unsupported("between on text")
                lo, hi = between_bounds(kw)
                v = self._number(column)
                ok = F.lit(True)
                if lo is not None:
                    ok = ok & ((v > F.lit(float(lo))) if kw.get("strict_min") else (v >= F.lit(float(lo))))
                if hi is not None:
                    ok = ok & ((v < F.lit(float(hi))) if kw.get("strict_max") else (v <= F.lit(float(hi))))
                bad_expr = ~null & ~F.coalesce(ok, F.lit(False))
            elif typ in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
                vs = kw.get("value_set")
                if not isinstance(vs, list) or not vs:
                    raise _Unsupported("value_set")
                if kind == "str":
                    if not all(isinstance(v, str) for v in vs):
                        raise _Unsupported("mixed value_set")
                    member = c.isin(list(vs))
                else:
                    if not all(_is_number(v) for v in vs):
                        raise _Unsupported("non-numeric value_set")
                    member = F.coalesce(self._number(column).isin([float(v) for v in vs]), F.lit(False))
                inside = typ == "expect_column_values_to_be_in_set"
                bad_expr = ~null & (~member if inside else member)
            else:  # unique: every row whose value occurs more than once
                bad_expr = None
            bad_alias = self._count_where(bad_expr) if bad_expr is not None else None
        unique_box: dict[str, int] = {}
        if typ == "expect_column_values_to_be_unique":
            self._later.append(lambda: unique_box.update(n=self._duplicated_rows(column, kind)))

        def finish_map(row: Any) -> ExpectationResult:
            res = new()
            total = int(row[rows])
            considered = int(row[considered_alias])
            unexpected = unique_box["n"] if bad_alias is None else int(row[bad_alias])
            res.element_count = total
            res.unexpected_count = unexpected
            res.unexpected_percent = 100.0 * unexpected / considered if considered else None
            if unexpected:
                if typ == "expect_column_values_to_not_be_null":
                    res.partial_unexpected_list = [None] * min(unexpected, PARTIAL)
                else:
                    self._partials.append((res, column, kind, bad_expr))  # filled by run(), concurrently
            res.success = True if total == 0 or considered == 0 else (considered - unexpected) / considered >= mostly
            return res
        return _Pending(finish_map)

    def _plan_agg(self, typ: str, kw: dict[str, Any], column: str, kind: str,
                  new: Callable[[], ExpectationResult]) -> _Pending:
        from pyspark.sql import functions as F

        what = _AGG[typ]
        for k in ("min_value", "max_value"):
            if kw.get(k) is not None and not _is_number(kw[k]):
                raise _Unsupported("non-numeric bounds")
        if what == "nunique":
            if kind == "null":
                def finish_zero(_row: Any) -> ExpectationResult:
                    res = new()
                    res.observed_value = 0
                    res.success = _between(0, kw)
                    return res
                return _Pending(finish_zero)
            index = len(self._distinct)
            v = self._value(column) if kind == "num" else F.when(~self._null(column), self._c(column))
            self._distinct.append(F.count_distinct(v).alias(f"d{index}"))
            box: dict[str, Any] = {}
            self._later.append(lambda: box.setdefault("row", self._distinct_row()))

            def finish_nunique(_row: Any) -> ExpectationResult:
                res = new()
                res.observed_value = int(box["row"][f"d{index}"])
                res.success = _between(res.observed_value, kw)
                return res
            return _Pending(finish_nunique)
        if kind != "num":
            raise _Unsupported("aggregate on text")
        v = self._value(column)
        n_alias = self._agg(F.count(v))
        stat_expr = {
            "mean": F.sum(v), "sum": F.sum(v), "min": F.min(v), "max": F.max(v),
            "std": F.stddev_samp(v), "median": F.percentile(v, F.lit(0.5)),
        }[what]
        stat_alias = self._agg(stat_expr)

        def finish_agg(row: Any) -> ExpectationResult:
            res = new()
            n = int(row[n_alias])
            raw = row[stat_alias]
            if n == 0 or (what == "std" and n < 2) or raw is None:
                res.observed_value = None
                res.success = False
                return res
            observed = float(raw) / n if what == "mean" else float(raw)
            if math.isnan(observed):
                res.observed_value = None
                res.success = False
                return res
            res.observed_value = observed
            res.success = _between(observed, kw)
            return res
        return _Pending(finish_agg)

    # ------------------------------------------------------------ the extra jobs

    def _duplicated_rows(self, column: str, kind: str) -> int:
        from pyspark.sql import functions as F

        key = self._value(column) if kind == "num" else self._c(column)
        with spark_errors(self.source):
            row = (self.df.where(~self._null(column)).groupBy(key.alias("k")).count()
                   .where(F.col("count") > 1).agg(F.sum("count").alias("n")).collect()[0])
        return int(row["n"] or 0)

    def _distinct_row(self) -> Any:
        with spark_errors(self.source):
            return self.df.agg(*self._distinct).collect()[0]

    def _first_unexpected(self, column: str, kind: str, bad: Any) -> list[Any]:
        """Up to 20 unexpected values (GE's partial list; Spark returns the first rows it finds)."""
        from pyspark.sql import functions as F

        value = self._number(column) if kind == "num" else self._c(column)
        if bad is None:  # unique: values that occur more than once
            dup = (self.df.where(~self._null(column)).groupBy(value.alias("v")).count()
                   .where(F.col("count") > 1).select("v"))
            query = self.df.select(value.alias("v")).join(dup, "v", "left_semi")
        else:
            query = self.df.where(bad).select(value.alias("v"))
        with spark_errors(self.source):
            return [r["v"] for r in query.limit(PARTIAL).collect()]

    # ------------------------------------------------------------ running

    def run(self, planned: list[_Pending | None]) -> list[ExpectationResult | None]:
        """One aggregation for everything planned, then the extra jobs; results in plan order."""
        if not any(p is not None for p in planned):
            return [None] * len(planned)
        with spark_errors(self.source):
            row = self.df.agg(*self._exprs).collect()[0]
        # the extra jobs are small and independent: submitted together, Spark runs them side by side
        _concurrently([job for job in self._later])
        results = [p.finish(row) if p is not None else None for p in planned]
        # partial lists: where unexpected values are few, one more pass collects them all (at most RARE each);
        # where they are many, a filtered limit(20) stops after the first rows it reads
        rare = [item for item in self._partials if item[3] is not None and (item[0].unexpected_count or 0) <= RARE]
        jobs: list[Callable[[], Any]] = [functools.partial(_fill, self, *item) for item in self._partials
                                         if not any(item is r for r in rare)]
        if rare:
            jobs.append(functools.partial(self._fill_rare, rare))
        _concurrently(jobs)
        return results

    def _fill_rare(self, items: list[tuple[ExpectationResult, str, str, Any]]) -> None:
        from pyspark.sql import functions as F

        exprs = []
        for i, (_, column, kind, bad) in enumerate(items):
            value = self._number(column) if kind == "num" else self._c(column)
            exprs.append(F.slice(F.collect_list(F.when(bad, value)), 1, PARTIAL).alias(f"p{i}"))
        with spark_errors(self.source):
            row = self.df.agg(*exprs).collect()[0]
        for i, (res, *_rest) in enumerate(items):
            res.partial_unexpected_list = list(row[f"p{i}"] or [])


def _fill(v: SparkValidator, res: ExpectationResult, column: str, kind: str, bad: Any) -> None:
    res.partial_unexpected_list = v._first_unexpected(column, kind, bad)


def _concurrently(jobs: list[Callable[[], Any]], workers: int = 16) -> None:
    if len(jobs) <= 1:
        for job in jobs:
            job()
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(jobs)), thread_name_prefix="mlscore-spark") as pool:
        for fut in [pool.submit(job) for job in jobs]:
            fut.result()


# ---------------------------------------------------------------- Great Expectations on Spark


def ge_validate_spark(df: DataFrame, exps: list[dict[str, Any]]) -> list[ExpectationResult]:
    """Validate with great_expectations' Spark execution engine (the fallback, and --validator ge)."""
    if not exps:
        return []
    try:
        import great_expectations  # noqa: F401  (installed? the suite is built by ge_suite)
    except ImportError:
        return [ExpectationResult(e["type"], e["kwargs"], False, "great_expectations",
                                  exception="great-expectations is not installed (pip install 'mlscore-audit[data]')")
                for e in exps]
    from mlscore.data.validation import ge_results, ge_suite

    ctx, suite, ids = ge_suite(exps)
    ds = ctx.data_sources.add_spark("mlscore")
    asset = ds.add_dataframe_asset(name="current")
    bd = asset.add_batch_definition_whole_dataframe("all")
    with spark_errors("great_expectations on Spark"):
        batch = bd.get_batch(batch_parameters={"dataframe": df})
        result = batch.validate(suite, result_format="SUMMARY")
    return ge_results(exps, ids, result)


def validate_spark(df: DataFrame, exps: list[dict[str, Any]], source: str, engine: str = "auto",
                   numeric: set[str] | None = None) -> list[ExpectationResult]:
    """Results in suite order; engine as `mlscore.data.validation.validate`: auto, native or ge."""
    if engine == "ge":
        return ge_validate_spark(df, exps)
    validator = SparkValidator(df, source, numeric)
    planned = [validator.plan(e["type"], e["kwargs"]) for e in exps]
    results = validator.run(planned)
    rest = [i for i, r in enumerate(results) if r is None]
    if rest:
        if engine == "native":
            for i in rest:
                results[i] = ExpectationResult(
                    exps[i]["type"], exps[i]["kwargs"], False, "native",
                    exception="not supported natively (use --validator auto or ge)",
                )
        else:
            for i, r in zip(rest, ge_validate_spark(df, [exps[i] for i in rest])):
                results[i] = r
    return [r for r in results if r is not None]
