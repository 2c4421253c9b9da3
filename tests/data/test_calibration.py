"""Calibrated data verdicts (issue 13): BH across columns, sample-size tolerances, no false alarms, real shifts seen."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from mlscore.data.suite import exceedance_quantile
from mlscore.profile import DatasetProfile
from mlscore.profile.drift import bh_adjust, calibrate, compare_profiles

ROOT = Path(__file__).resolve().parents[2]


def test_bh_adjust_equals_scipy() -> None:
    from scipy.stats import false_discovery_control

    rng = np.random.default_rng(3)
    p = np.concatenate((rng.random(40), rng.random(5) * 1e-3))
    assert np.allclose(bh_adjust(p.tolist()), false_discovery_control(p, method="bh"))


def test_weighted_bh_gives_important_columns_more_power_and_keeps_weights_mean_one() -> None:
    p = [0.004] + [0.5] * 29
    assert bh_adjust(p)[0] > 0.05  # 0.004 * 30 = 0.12: not found without weights
    w_imp = 0.5 * 30 / 1
    w_other = 0.5 * 30 / 29
    assert math.isclose(w_imp + 29 * w_other, 30)
    assert bh_adjust(p, [w_imp] + [w_other] * 29)[0] < 0.05


def test_exceedance_quantile_matches_simulation() -> None:
    rng = np.random.default_rng(0)
    n, m, alpha = 60, 40, 0.02
    k = exceedance_quantile(n, m, alpha)
    a = rng.random((20000, n))
    b = rng.random((20000, m))
    outside = ((b < a.min(1, keepdims=True)) | (b > a.max(1, keepdims=True))).sum(1)
    assert (outside > k).mean() <= alpha + 0.004
    assert (outside > k - 1).mean() > alpha  # the smallest such k


def _profile(cols: dict[str, np.ndarray]) -> DatasetProfile:
    p = DatasetProfile()
    p.update_columns(cols)
    return p


def test_calibrated_verdicts_no_false_alarm_across_many_columns_but_a_real_shift_is_found() -> None:
    rng = np.random.default_rng(11)
    n = 300
    ref = _profile({f"x{i}": rng.normal(size=n) for i in range(40)})
    same = _profile({f"x{i}": rng.normal(size=n) for i in range(40)})
    raw = compare_profiles(ref, same)
    cal = calibrate(raw, ref, same)
    assert all(r.q_value is not None and r.p_value is not None for r in cal)
    assert not any(r.drifted for r in cal)
    assert [r.statistic for r in cal] == [r.statistic for r in raw]  # Evidently's numbers kept
    assert [r.evidently_drifted for r in cal] == [r.drifted for r in raw]
    shifted = {f"x{i}": rng.normal(size=n) for i in range(40)}
    shifted["x7"] = shifted["x7"] + 0.5
    cur = DatasetProfile.empty_like(ref)
    cur.update_columns(shifted)
    cal = calibrate(compare_profiles(ref, cur), ref, cur, important=["x7"])
    flagged = [r.column for r in cal if r.drifted]
    assert flagged == ["x7"] and cal[7].important


def test_distance_methods_need_the_distance_too_at_large_n() -> None:
    rng = np.random.default_rng(5)
    n = 200_000
    ref = _profile({"a": rng.normal(size=n)})
    cur = DatasetProfile.empty_like(ref)
    cur.update_columns({"a": rng.normal(size=n) + 0.03})  # significant at this n, but negligible
    r = calibrate(compare_profiles(ref, cur), ref, cur)[0]
    assert r.method == "wasserstein" and r.q_value < 0.05 and r.drifted is False


def test_one_row_reference_is_unknown_not_no_drift() -> None:
    ref = _profile({"a": np.array([1.0])})
    cur = _profile({"a": np.arange(50.0)})
    r = compare_profiles(ref, cur)[0]
    assert r.drifted is None and "too few values" in (r.note or "")
    assert calibrate([r], ref, cur)[0].drifted is None


@pytest.mark.slow
def test_benchmark_small_version_false_alarms_and_detection(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import data_calibration as bench
    finally:
        sys.path.pop(0)
    fa = det = runs = 0
    for name in ("breast_cancer", "diabetes"):
        r = bench.bench(name, splits=4, shift=0.5, rows=0, seed=2000)
        runs += r["splits"]
        fa += r["statuses"]["unshifted"].get("failing", 0)
        det += r["statuses"]["shifted"].get("failing", 0) + r["statuses"]["shifted"].get("warning", 0)
    assert fa == 0
    assert det >= runs - 1  # the full benchmark (benchmarks/data_calibration.py) measures the rate
