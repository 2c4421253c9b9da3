"""Mergeable profiles: chunked == whole, JSON round trip, reference bins, row/column updates."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mlscore.profile import ColumnProfile, DatasetProfile, Histogram


def _data(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(3.0, 2.0, n),
        "k": rng.integers(0, 4, n).astype(np.int64),
        "c": rng.choice(np.array(["red", "green", "blue"]), n),
    }


def test_chunked_profile_equals_whole_profile() -> None:
    d = _data(50_000)
    whole = DatasetProfile()
    whole.update_columns(d)
    chunked = DatasetProfile()
    for i in range(0, 50_000, 7_001):
        chunked.update_columns({k: v[i : i + 7_001] for k, v in d.items()})
    a, b = whole.columns["x"], chunked.columns["x"]
    assert a.n == b.n == 50_000
    assert a.mean == pytest.approx(np.mean(d["x"]), rel=1e-12)
    assert b.mean == pytest.approx(np.mean(d["x"]), rel=1e-12)
    assert b.variance == pytest.approx(np.var(d["x"]), rel=1e-10)
    assert (a.min, a.max) == (b.min, b.max) == (d["x"].min(), d["x"].max())
    assert b.hist is not None and b.hist.total == 50_000
    # quantiles from the histogram are within one bin width of numpy's
    for q in (0.01, 0.25, 0.5, 0.75, 0.99):
        assert abs(b.quantile(q) - np.quantile(d["x"], q)) <= 2 * b.hist.width
    assert chunked.columns["k"].value_counts() == {float(v): int(c) for v, c in zip(*np.unique(d["k"], return_counts=True))}
    assert chunked.columns["c"].categories == whole.columns["c"].categories


def test_merge_of_partitions_equals_one_pass() -> None:
    d = _data(30_000, seed=1)
    ref = DatasetProfile()
    ref.update_columns(d)
    parts = []
    for i in range(3):
        p = DatasetProfile.empty_like(ref)
        p.update_columns({k: v[i * 10_000 : (i + 1) * 10_000] for k, v in d.items()})
        parts.append(p)
    merged = parts[0].merge(parts[1]).merge(parts[2])
    one = DatasetProfile.empty_like(ref)
    one.update_columns(d)
    assert merged.row_count == 30_000
    for name in d:
        m, o = merged.columns[name], one.columns[name]
        assert m.count == o.count and m.null_count == o.null_count
        if m.kind == "numeric":
            assert m.mean == pytest.approx(o.mean, rel=1e-12)
            assert m.m2 == pytest.approx(o.m2, rel=1e-9)
            assert np.array_equal(m.hist.counts, o.hist.counts)  # type: ignore[union-attr]
        else:
            assert m.categories == o.categories


def test_json_round_trip_is_lossless_and_versioned() -> None:
    prof = DatasetProfile(source="x.csv")
    prof.update_columns(_data(2_000))
    prof.update_rows([{"x": None, "k": 1, "c": None, "new": "a"}])
    text = prof.to_json()
    again = DatasetProfile.from_json(text)
    assert again.to_json() == text
    d = json.loads(text)
    assert d["kind"] == "mlscore-profile" and d["version"] == 1
    d["version"] = 99
    with pytest.raises(ValueError, match="version"):
        DatasetProfile.from_dict(d)


def test_empty_like_uses_reference_bins_and_tracks_tails() -> None:
    ref = ColumnProfile("x")
    ref.update(np.linspace(0.0, 10.0, 1001))
    cur = ColumnProfile.empty_like(ref)
    assert cur.hist is not None and cur.hist.frozen
    cur.update([-5.0, -3.0, 5.0, 20.0, None, float("nan"), float("inf")])
    h = cur.hist
    assert (h.under_n, h.under_sum) == (2, -8.0)  # bins leave 1/8 headroom on each side
    assert (h.over_n, h.over_sum) == (1, 20.0)
    assert h.origin == ref.hist.origin and h.width == ref.hist.width  # type: ignore[union-attr]
    assert cur.null_count == 2 and cur.inf_count == 1 and cur.n == 4


def test_update_rows_missing_keys_new_columns_and_type_errors() -> None:
    prof = DatasetProfile()
    prof.update_rows([{"a": 1.0, "b": "x"}, {"a": 2.5}])
    prof.update_rows([{"a": "oops", "b": "y", "c": 3}])
    a, b, c = prof.columns["a"], prof.columns["b"], prof.columns["c"]
    assert prof.row_count == 3
    assert a.kind == "numeric" and a.type_errors == 1 and a.n == 2 and a.count == 3
    assert b.kind == "categorical" and b.null_count == 1 and b.categories == {"x": 1, "y": 1}
    assert c.count == 3 and c.null_count == 2 and c.n == 1


def test_histogram_grows_by_doubling_and_keeps_every_value() -> None:
    h = Histogram.for_range(0.0, 1.0, 64)
    rng = np.random.default_rng(3)
    for scale in (1, 10, 1e3, 1e6):
        h.add(rng.normal(0, scale, 1000))
    assert h.total == 4000
    assert h.nbins == 64
    h.add(np.array([1e300, -1e300]))
    assert h.total == 4002


def test_constant_and_all_null_columns() -> None:
    col = ColumnProfile("k")
    col.update(np.full(100, 7.0))
    assert col.n_unique == 1 and col.std == 0.0 and col.quantile(0.5) == 7.0
    empty = ColumnProfile("e")
    empty.update([None, None])
    assert empty.kind is None and empty.null_count == 2


def test_import_does_not_pull_pandas_or_pyarrow() -> None:
    code = (
        "import sys, mlscore.profile, mlscore.profile.drift;"
        "bad=[m for m in ('pandas','pyarrow','scipy') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_quantile_sketch_relative_accuracy_and_merge() -> None:
    from mlscore.profile.sketch import QuantileSketch

    rng = np.random.default_rng(5)
    a = np.concatenate([-rng.lognormal(0, 2, 20_000), np.zeros(100), rng.pareto(1.2, 80_000) + 1])
    whole = QuantileSketch(0.01)
    whole.add(a)
    parts = QuantileSketch(0.01).merge(QuantileSketch(0.01))
    for chunk in np.array_split(a, 7):
        s = QuantileSketch(0.01)
        s.add(chunk)
        parts = parts.merge(s)
    assert parts.to_dict() == whole.to_dict()
    srt = np.sort(a)
    for q in (0.001, 0.1, 0.2, 0.5, 0.9, 0.999):
        got = whole.quantile(q)
        # the returned value is within 1% of some value whose rank is the requested one
        k = int(q * (a.size - 1))
        assert got is not None
        assert abs(got - srt[k]) <= 0.0101 * abs(srt[k]) + 1e-12
    assert QuantileSketch.from_dict(whole.to_dict()).to_dict() == whole.to_dict()


def test_skewed_columns_get_accurate_quantiles() -> None:
    rng = np.random.default_rng(6)
    a = rng.lognormal(10, 1.5, 200_000)  # income-like
    col = ColumnProfile("income")
    for chunk in np.array_split(a, 5):
        col.update(chunk)
    assert col.sketch is not None
    for q in (0.1, 0.5, 0.9):
        assert col.quantile(q) == pytest.approx(np.quantile(a, q), rel=0.011)
