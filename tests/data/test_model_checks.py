"""Baseline and fairness checks on regression and classification models (issue 13: fairlearn, no false MODEL5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("fairlearn")
import pandas as pd

from mlscore.cli import main


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main(["data", "check", "-q", "--format", "json", "--validator", "none", *args])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return {c["id"]: c for c in json.loads(out)["checks"]}


def _diabetes_with_ridge(tmp_path: Path, *, gap: bool = False) -> tuple[Path, Path]:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    frame = load_diabetes(as_frame=True, scaled=False).frame
    rng = np.random.default_rng(0)
    order = rng.permutation(len(frame))
    train, test = frame.iloc[order[:300]].copy(), frame.iloc[order[300:]].copy()
    features = [c for c in frame.columns if c != "target"]
    model = Ridge(alpha=1.0).fit(train[features], train["target"])
    for part in (train, test):
        part["prediction"] = model.predict(part[features])
        part["group"] = np.where(part["sex"] == frame["sex"].min(), "a", "b")
    if gap:  # the model is much worse for group "b" in the served data
        b = test["group"] == "b"
        test.loc[b, "prediction"] += rng.choice([-1, 1], int(b.sum())) * 80
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "test.csv"


def test_a_ridge_model_does_not_fail_against_its_own_baseline(tmp_path: Path, capsys) -> None:
    ref, cur = _diabetes_with_ridge(tmp_path)
    checks = _check(capsys, "--reference", str(ref), "--current", str(cur), "--target", "target",
                    "--prediction", "prediction", "--task", "regression")
    base = checks["baseline"]
    assert base["status"] == "passing", base["message"]
    assert "scikit-learn Ridge" in base["details"]["note"]
    assert base["details"]["paired_p_values"]["linear"] >= 0.05


def test_regression_fairness_uses_metricframe_and_finds_a_group_gap(tmp_path: Path, capsys) -> None:
    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import mean_absolute_error

    ref, cur = _diabetes_with_ridge(tmp_path)
    fair = _check(capsys, "--reference", str(ref), "--current", str(cur), "--target", "target",
                  "--prediction", "prediction", "--task", "regression", "--sensitive", "group")["fairness"]
    assert fair["status"] == "passing", fair["message"]
    (attr,) = fair["details"]["attributes"]
    t = pd.read_csv(cur)
    mf = MetricFrame(metrics=mean_absolute_error, y_true=t["target"], y_pred=t["prediction"],
                     sensitive_features=t["group"])
    assert attr["mae_max"] == pytest.approx(mf.group_max(), rel=1e-9)
    assert attr["mae_min"] == pytest.approx(mf.group_min(), rel=1e-9)
    ref, cur = _diabetes_with_ridge(tmp_path, gap=True)
    fair = _check(capsys, "--reference", str(ref), "--current", str(cur), "--target", "target",
                  "--prediction", "prediction", "--task", "regression", "--sensitive", "group")["fairness"]
    assert fair["status"] == "failing" and "group" in fair["message"]


def test_classification_fairness_equals_fairlearn(tmp_path: Path, capsys) -> None:
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    rng = np.random.default_rng(1)
    n = 2000
    g = rng.choice(["m", "f", "x"], n, p=[0.5, 0.4, 0.1])
    x = rng.normal(size=n)
    y = (x + rng.normal(size=n) * 0.5 > 0).astype(int)
    p = ((x + (g == "f") * 0.4) > 0).astype(int)
    frame = pd.DataFrame({"x": x, "g": g, "y": y, "p": p})
    frame.to_csv(tmp_path / "d.csv", index=False)
    fair = _check(capsys, "--reference", str(tmp_path / "d.csv"), "--current", str(tmp_path / "d.csv"),
                  "--target", "y", "--prediction", "p", "--sensitive", "g")["fairness"]
    (attr,) = fair["details"]["attributes"]
    assert attr["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, p, sensitive_features=g), abs=1e-12)
    assert attr["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y, p, sensitive_features=g), abs=1e-12)
    assert fair["status"] == "failing"
