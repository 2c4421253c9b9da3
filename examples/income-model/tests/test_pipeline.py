"""Integration: load and validate the real data, train, evaluate, save, reload and predict."""

from __future__ import annotations

import json

import joblib
import numpy as np

from income.train import fit, run


def test_end_to_end_on_committed_data(params, tmp_path):
    report = run(params, tmp_path / "models", tmp_path / "metrics.json")
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["n_train"] + saved["n_test"] == 800
    assert saved["model"]["roc_auc"] > saved["baseline"]["roc_auc"]
    assert report["beats_baseline"]

    model = joblib.load(tmp_path / "models" / "model.joblib")  # our own artefact, written just above
    _, _, _, test = fit(params)
    prob = model.predict_proba(test)[:, 1]
    assert prob.shape == (len(test),)
    assert np.isfinite(prob).all()


def test_training_is_reproducible(params):
    """Two runs with the same seed and data give identical predictions."""
    model_a, _, _, test = fit(params)
    model_b, _, _, _ = fit(params)
    np.testing.assert_array_equal(model_a.predict_proba(test), model_b.predict_proba(test))
