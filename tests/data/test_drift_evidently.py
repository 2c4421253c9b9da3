"""Our drift methods and numbers agree with Evidently 0.7's DataDriftPreset on the same data.

Stated tolerance: p-values and Jensen-Shannon distances equal to 1e-6 (relative); the normed
Wasserstein distance within 0.003 absolute when it comes from histograms (reference above
``exact_cap`` values), else 1e-9. Verdicts equal except where the statistic is within that tolerance
of the threshold.
"""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("evidently")

from mlscore.data.evidently_bridge import evidently_values, run_evidently
from mlscore.profile import DatasetProfile
from mlscore.profile.drift import compare_profiles

EVIDENTLY_NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}


def _frames(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def make(m: int, shifted: bool) -> pd.DataFrame:
        s = 1.0 if shifted else 0.0
        nan_col = rng.normal(0, 1, m)
        nan_col[rng.random(m) < 0.05] = np.nan
        cats50 = np.array([f"k{i:02d}" for i in range(50)])
        w50 = np.linspace(1, 2 if shifted else 1, 50)
        return pd.DataFrame({
            "normal": rng.normal(0, 1, m),
            "shifted": rng.normal(0.25 * s, 1, m),
            "skewed": rng.lognormal(0.1 * s, 0.8, m),
            "small_int": rng.integers(0, 3 + int(s), m),
            "with_nan": nan_col,
            "colour": rng.choice(["red", "green", "blue", "grey", "pink"], m,
                                 p=[0.3, 0.2, 0.2, 0.2, 0.1] if shifted else [0.2] * 5),
            "code": rng.choice(cats50, m, p=w50 / w50.sum()),
            "flag": rng.choice(["yes", "no"], m, p=[0.6, 0.4] if shifted else [0.5, 0.5]),
        })

    return make(n, False), make(int(n * 0.8), True)


def _ours(ref: pd.DataFrame, cur: pd.DataFrame) -> dict:
    r = DatasetProfile()
    r.update_columns({c: ref[c].to_numpy() for c in ref.columns})
    k = DatasetProfile.empty_like(r)
    k.update_columns({c: cur[c].to_numpy() for c in cur.columns})
    return {d.column: d for d in compare_profiles(r, k)}


@pytest.mark.parametrize("n", [700, 20_000])
def test_methods_values_and_verdicts_agree_with_evidently(n: int) -> None:
    ref, cur = _frames(n, seed=n)
    theirs = evidently_values(run_evidently(ref, cur))
    ours = _ours(ref, cur)
    assert set(theirs) == set(ours)
    for column, (their_method, their_value) in theirs.items():
        d = ours[column]
        assert d.method == EVIDENTLY_NAMES[their_method], column
        tol = 3e-3 if d.approximate else 1e-6 * max(abs(their_value), 1e-300)
        assert d.statistic == pytest.approx(their_value, abs=tol), (column, d.method)
        their_drift = (their_value <= d.threshold) if d.method == "ks" else (
            their_value < d.threshold if d.statistic_name == "p_value" else their_value >= d.threshold
        )
        if abs(their_value - d.threshold) > tol:
            assert d.drifted == their_drift, column


@pytest.mark.slow
def test_evidently_html_option_writes_evidentlys_report(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from mlscore.cli import main

    ref, cur = _frames(300, seed=3)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    out = tmp_path / "evidently.html"
    code = main(["data", "check", "-q", "--reference", str(tmp_path / "ref.csv"), "--current",
                 str(tmp_path / "cur.csv"), "--validator", "none", "--evidently-html", str(out), "--no-fail"])
    capsys.readouterr()
    assert code == 0
    text = out.read_text()
    assert "<html" in text.lower() and "drift" in text.lower() and len(text) > 10_000
