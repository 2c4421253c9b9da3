"""Expectations as Spark aggregations: the local native engine's verdicts, counts and observed values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlscore.data.spark.validation import SparkValidator, validate_spark
from mlscore.data.validation import validate
from tests.data.test_validation_ge import _suite, _table

pytestmark = pytest.mark.xdist_group("spark")  # one worker runs them all: one JVM (scripts/test: --dist loadgroup)


@pytest.fixture(scope="module")
def table_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("spark-validation") / "current.parquet"
    pq.write_table(_table(), p, row_group_size=300)
    return p


def _compare(local: list[Any], spark: list[Any]) -> None:
    assert len(local) == len(spark)
    for a, b in zip(local, spark):
        assert (b.type, b.kwargs) == (a.type, a.kwargs)
        assert b.success == a.success, (a.type, a.kwargs)
        assert b.engine == a.engine, (a.type, a.kwargs)
        assert b.unexpected_count == a.unexpected_count, (a.type, a.kwargs)
        assert b.element_count == a.element_count, (a.type, a.kwargs)
        assert b.missing == a.missing
        if isinstance(a.observed_value, float):
            assert b.observed_value == pytest.approx(a.observed_value, rel=1e-12), (a.type, a.kwargs)
        else:
            assert b.observed_value == a.observed_value, (a.type, a.kwargs)
        if a.unexpected_count and a.type != "expect_column_values_to_be_unique":
            # the first unexpected values Spark finds come from the first rows here (one small file)
            assert sorted(map(str, b.partial_unexpected_list)) == sorted(map(str, a.partial_unexpected_list)), a.type


@pytest.mark.parametrize("partitions", [1, 7, 64])
def test_native_verdicts_identical_on_spark(spark: Any, table_path: Path, partitions: int) -> None:
    exps = _suite()
    local = validate(pq.read_table(table_path), exps, engine="native")
    df = spark.read.parquet(str(table_path))
    if partitions != 1:
        df = df.repartition(partitions)
    else:
        df = df.coalesce(1)
    got = validate_spark(df, exps, "current.parquet", engine="native")
    assert all(r.engine == "native" and r.exception is None for r in got), [(r.type, r.exception) for r in got if r.exception]
    if partitions == 1:
        _compare(local, got)
    else:  # rows in another order: verdicts and counts still equal
        for a, b in zip(local, got):
            assert (b.success, b.unexpected_count, b.element_count) == (a.success, a.unexpected_count, a.element_count), a.type
    assert any(not r.success for r in got) and any(r.success for r in got)


def test_one_aggregation_pass_for_the_table(spark: Any, table_path: Path) -> None:
    df = spark.read.parquet(str(table_path))
    v = SparkValidator(df, "current.parquet")
    exps = [e for e in _suite() if e["type"] not in ("expect_column_values_to_be_unique",
                                                       "expect_column_unique_value_count_to_be_between")]
    planned = [v.plan(e["type"], e["kwargs"]) for e in exps]
    assert all(p is not None for p in planned)
    assert v._distinct == [] and v._later == []  # everything else is one df.agg(...)


def test_types_the_native_engine_leaves_to_ge_fall_back_here_too(spark: Any, tmp_path: Path) -> None:
    from decimal import Decimal

    dec = [Decimal("1.50"), Decimal("2.50"), None, Decimal("4.00")] * 50
    t = pa.table({"flag": pa.array([True, False, None, True] * 50), "d": pa.array(dec, pa.decimal128(5, 2)),
                  "s": pa.array(["a", "b", "c", None] * 50)})
    p = tmp_path / "t.parquet"
    pq.write_table(t, p)
    exps = [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "flag"}},  # boolean: GE
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "d", "min_value": 0, "max_value": 10}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "s", "regex": "^[ab]$", "mostly": 0.5}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "s", "mostly": 0.7}},
    ]
    df = spark.read.parquet(str(p))
    native = validate_spark(df, exps, "t.parquet", engine="native")
    assert [r.engine for r in native] == ["native"] * 4
    assert [r.exception is not None for r in native] == [True, True, True, False]
    auto = validate_spark(df, exps, "t.parquet", engine="auto")
    assert [r.engine for r in auto] == ["great_expectations"] * 3 + ["native"]
    local = validate(t, exps, engine="auto")
    assert [r.engine for r in auto] == [r.engine for r in local]
    # the fallbacks are GE's Spark engine: the same verdicts as GE's pandas engine, except on a decimal column,
    # where pandas GE fails the mean (object dtype) and Spark GE computes it (docs/spark.md)
    assert [r.success for i, r in enumerate(auto) if i != 1] == [r.success for i, r in enumerate(local) if i != 1]
    assert auto[1].success is True and auto[1].observed_value == pytest.approx(8.0 / 3)
