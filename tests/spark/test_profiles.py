"""Spark profiles equal the local engine's on the same data (real Spark, local[2])."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlscore.data.readers import profile_file
from mlscore.data.spark.profiles import profile_dataframe
from mlscore.profile import DatasetProfile
from mlscore.profile.drift import compare_profiles
from tests.spark.data import pair

pytestmark = pytest.mark.xdist_group("spark")  # one worker runs them all: one JVM (scripts/test: --dist loadgroup)

COUNTS = ("kind", "dtype", "count", "null_count", "inf_count", "type_errors", "n", "min", "max", "integral",
          "categories", "other_count", "truncated", "distinct")


def assert_counts_equal(local: DatasetProfile, spark: DatasetProfile) -> None:
    assert spark.row_count == local.row_count
    assert list(spark.columns) == list(local.columns)
    for name, a in local.columns.items():
        b = spark.columns[name]
        for attr in COUNTS:
            assert getattr(b, attr) == getattr(a, attr), (name, attr)
        if a.n:
            assert b.mean == pytest.approx(a.mean, rel=1e-12, abs=1e-12), name
            assert b.m2 == pytest.approx(a.m2, rel=1e-9), name
        ea, eb = a.exact_values(), b.exact_values()
        assert (ea is None) == (eb is None), name
        if ea is not None:
            assert np.array_equal(np.sort(ea), np.sort(eb)), name


def assert_same_bins(local: DatasetProfile, spark: DatasetProfile, skip: tuple[str, ...] = ()) -> None:
    for name, a in local.columns.items():
        if name in skip:
            continue
        b = spark.columns[name]
        assert (a.hist is None) == (b.hist is None), name
        if a.hist is not None:
            ha, hb = a.hist, b.hist
            assert (ha.origin, ha.width, ha.start, ha.nbins) == (hb.origin, hb.width, hb.start, hb.nbins), name
            assert np.array_equal(ha.counts, hb.counts), name
            assert (ha.under_n, ha.over_n) == (hb.under_n, hb.over_n), name


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return pair(tmp_path_factory.mktemp("spark-profiles"), n_ref=14_000, n_cur=11_000, row_group=3_000)


@pytest.fixture(scope="module")
def local(files: tuple[Path, Path]) -> tuple[DatasetProfile, DatasetProfile]:
    ref = profile_file(files[0])
    return ref, profile_file(files[1], reference=ref)


def test_single_parquet_file_gives_the_local_profile_bin_for_bin(spark: Any, files: tuple[Path, Path],
                                                                  local: tuple[DatasetProfile, DatasetProfile]) -> None:
    ref_path, cur_path = files
    sref = profile_dataframe(spark.read.parquet(str(ref_path)), source=str(ref_path), parquet=ref_path)
    scur = profile_dataframe(spark.read.parquet(str(cur_path)), source=str(cur_path), reference=sref)
    for a, b in zip(local, (sref, scur)):
        assert_counts_equal(a, b)
        # z has infinities in the first row group: the footer cannot tell its finite range, so its bins come
        # from the global range (the tolerance case); every other column has the local engine's bins
        assert_same_bins(a, b, skip=("z",))
    la, sa = compare_profiles(*local), compare_profiles(sref, scur)
    assert [d.column for d in sa] == [d.column for d in la]
    for x, y in zip(la, sa):
        assert (y.method, y.drifted, y.reference_n, y.current_n, y.n_unique) == (x.method, x.drifted, x.reference_n,
                                                                                x.current_n, x.n_unique), x.column
        if x.statistic is not None and x.column != "z":
            assert y.statistic == pytest.approx(x.statistic, rel=1e-9, abs=1e-12), x.column
        elif x.statistic is not None:
            assert abs(y.statistic - x.statistic) <= 0.003, x.column
    # skewed columns keep a quantile sketch in both (the decision made from the first rows)
    assert (sref.columns["skewed"].sketch is None) == (local[0].columns["skewed"].sketch is None)


@pytest.mark.parametrize("partitions", [1, 7, 64])
def test_partition_count_never_changes_counts_or_verdicts(spark: Any, files: tuple[Path, Path], partitions: int,
                                                         local: tuple[DatasetProfile, DatasetProfile]) -> None:
    ref_path, cur_path = files
    # repartition shuffles rows across partitions: no footer, bins from the global range
    sref = profile_dataframe(spark.read.parquet(str(ref_path)).repartition(partitions), source="ref")
    scur = profile_dataframe(spark.read.parquet(str(cur_path)).repartition(partitions), source="cur", reference=sref)
    for a, b in zip(local, (sref, scur)):
        assert_counts_equal(a, b)
    la, sa = compare_profiles(*local), compare_profiles(sref, scur)
    for x, y in zip(la, sa):
        assert (y.method, y.drifted, y.reference_n, y.current_n) == (x.method, x.drifted, x.reference_n, x.current_n), x.column
        if x.statistic is not None and x.approximate:
            # histogram-based statistics: other bins, the same distribution (docs/spark.md states 0.003)
            assert abs(y.statistic - x.statistic) <= 0.003, (x.column, x.statistic, y.statistic)
        elif x.statistic is not None:
            assert y.statistic == pytest.approx(x.statistic, rel=1e-9, abs=1e-12), x.column


def test_small_data_keeps_exact_values_through_partitions(spark: Any, tmp_path: Path) -> None:
    ref_path, cur_path = pair(tmp_path, n_ref=700, n_cur=500, row_group=100)
    lref = profile_file(ref_path)
    lcur = profile_file(cur_path, reference=lref)
    sref = profile_dataframe(spark.read.parquet(str(ref_path)).repartition(7), source="ref")
    scur = profile_dataframe(spark.read.parquet(str(cur_path)).repartition(7), source="cur", reference=sref)
    assert_counts_equal(lref, sref)
    assert_counts_equal(lcur, scur)
    la, sa = compare_profiles(lref, lcur), compare_profiles(sref, scur)
    assert {d.method for d in la} >= {"ks", "chisquare", "z"}
    for x, y in zip(la, sa):  # exact values on both sides: K-S, chi-square and Z p-values agree
        assert (y.method, y.drifted) == (x.method, x.drifted), x.column
        if x.statistic is not None:
            assert y.statistic == pytest.approx(x.statistic, rel=1e-9, abs=1e-12), x.column


def test_profile_json_round_trip_and_merge(spark: Any, files: tuple[Path, Path]) -> None:
    df = spark.read.parquet(str(files[0]))
    whole = profile_dataframe(df, source="ref")
    again = DatasetProfile.from_json(whole.to_json())
    assert again.row_count == whole.row_count == 14_000
    assert_counts_equal(whole, again)
