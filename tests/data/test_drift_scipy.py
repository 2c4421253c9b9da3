"""Drift statistics from profiles agree with scipy on the same raw data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from mlscore.profile import DatasetProfile
from mlscore.profile.drift import column_drift, compare_profiles, dataset_drift


def _profiles(ref: dict, cur: dict) -> tuple[DatasetProfile, DatasetProfile]:
    r = DatasetProfile()
    r.update_columns(ref)
    c = DatasetProfile.empty_like(r)
    c.update_columns(cur)
    return r, c


def test_small_reference_uses_exact_ks_chisquare_and_z() -> None:
    rng = np.random.default_rng(0)
    ref = {"x": rng.normal(0, 1, 800), "cat": rng.choice(np.array(["a", "b", "c"]), 800),
           "bin": rng.choice(np.array(["y", "n"]), 800)}
    cur = {"x": rng.normal(0.2, 1, 600), "cat": rng.choice(np.array(["a", "b", "c"]), 600, p=[0.5, 0.3, 0.2]),
           "bin": rng.choice(np.array(["y", "n"]), 600, p=[0.6, 0.4])}
    r, c = _profiles(ref, cur)
    res = {d.column: d for d in compare_profiles(r, c)}
    assert res["x"].method == "ks" and not res["x"].approximate
    assert res["x"].statistic == pytest.approx(stats.ks_2samp(ref["x"], cur["x"]).pvalue, rel=1e-12)
    keys = ["a", "b", "c"]
    rc = np.array([np.sum(ref["cat"] == k) for k in keys], float)
    cc = np.array([np.sum(cur["cat"] == k) for k in keys], float)
    assert res["cat"].method == "chisquare"
    assert res["cat"].statistic == pytest.approx(stats.chisquare(cc, rc * cc.sum() / rc.sum()).pvalue, rel=1e-9)
    assert res["bin"].method == "z"
    # two-proportion z-test by hand
    p1, p2 = np.mean(ref["bin"] == "y"), np.mean(cur["bin"] == "y")
    pool = (p1 * 800 + p2 * 600) / 1400
    z = (p1 - p2) / np.sqrt(pool * (1 - pool) * (1 / 800 + 1 / 600))
    assert res["bin"].statistic == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.3, 1.0])
def test_large_reference_wasserstein_from_histograms_matches_scipy(shift: float) -> None:
    rng = np.random.default_rng(1)
    ref = {"x": rng.lognormal(0, 0.7, 60_000)}
    cur = {"x": rng.lognormal(shift, 0.7, 40_000)}
    r, c = _profiles(ref, cur)
    (d,) = compare_profiles(r, c)
    exact = stats.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"])
    assert d.method == "wasserstein" and d.approximate
    assert d.statistic == pytest.approx(exact, abs=2e-3)


def test_current_far_outside_reference_range_keeps_exact_tail_terms() -> None:
    rng = np.random.default_rng(2)
    ref = {"x": rng.uniform(0, 1, 20_000)}
    cur = {"x": np.concatenate([rng.uniform(0, 1, 15_000), rng.uniform(5, 9, 5_000)])}
    r, c = _profiles(ref, cur)
    (d,) = compare_profiles(r, c)
    exact = stats.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"])
    assert d.statistic == pytest.approx(exact, rel=1e-3)


def test_jensenshannon_and_psi_on_categories_match_scipy() -> None:
    rng = np.random.default_rng(3)
    cats = np.array([f"v{i}" for i in range(30)])
    ref = {"c": rng.choice(cats, 50_000)}
    cur = {"c": rng.choice(cats[:25], 20_000)}
    r, c = _profiles(ref, cur)
    (js,) = compare_profiles(r, c)
    keys = list(dict.fromkeys([*np.unique(ref["c"]), *np.unique(cur["c"])]))
    p = np.array([np.mean(ref["c"] == k) for k in keys])
    q = np.array([np.mean(cur["c"] == k) for k in keys])
    assert js.method == "jensenshannon" and not js.approximate
    assert js.statistic == pytest.approx(distance.jensenshannon(p, q), rel=1e-9)
    psi = column_drift(r.columns["c"], c.columns["c"], method="psi")
    q2 = np.where(q == 0, 0.0001, q)
    assert psi.statistic == pytest.approx(np.sum((p - q2) * np.log(p / q2)), rel=1e-9)


def test_dataset_drift_share() -> None:
    rng = np.random.default_rng(4)
    ref = {f"x{i}": rng.normal(0, 1, 5000) for i in range(4)}
    cur = {f"x{i}": rng.normal(1.0 if i < 2 else 0, 1, 5000) for i in range(4)}
    r, c = _profiles(ref, cur)
    res = compare_profiles(r, c)
    assert [d.drifted for d in res] == [True, True, False, False]
    assert dataset_drift(res, 0.5) == (0.5, True)
    assert dataset_drift(res, 0.75) == (0.5, False)


def test_undecidable_columns_say_so() -> None:
    r, c = _profiles({"x": np.arange(2000.0)}, {"x": np.full(10, np.nan)})
    (d,) = compare_profiles(r, c)
    assert d.drifted is None and "no values" in (d.note or "")
