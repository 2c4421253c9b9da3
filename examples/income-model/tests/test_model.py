"""Unit tests of the model specification on toy data: shapes, learning, baseline, explanation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from income.evaluate import evaluate, slice_metrics
from income.explain import explain_row
from income.model import build_baseline, build_model


@pytest.fixture()
def fitted(params, toy_frame):
    y = toy_frame[params.target]
    return build_model(params).fit(toy_frame, y), build_baseline(params).fit(toy_frame, y)


def test_predict_proba_shape_and_range(fitted, toy_frame):
    model, _ = fitted
    prob = model.predict_proba(toy_frame)
    assert prob.shape == (len(toy_frame), 2)
    assert np.all((prob >= 0) & (prob <= 1))
    assert np.allclose(prob.sum(axis=1), 1.0)


def test_model_learns_the_toy_rule(fitted, toy_frame, params):
    model, _ = fitted
    assert (model.predict(toy_frame) == toy_frame[params.target]).all()


def test_model_loss_beats_the_prior_baseline(fitted, toy_frame, params):
    model, baseline = fitted
    y = toy_frame[params.target]
    assert log_loss(y, model.predict_proba(toy_frame)) < log_loss(y, baseline.predict_proba(toy_frame)) - 0.2


def test_model_ignores_protected_attribute(fitted, toy_frame):
    model, _ = fitted
    flipped = toy_frame.assign(sex=toy_frame["sex"].map({"female": "male", "male": "female"}))
    assert np.array_equal(model.predict_proba(toy_frame), model.predict_proba(flipped))


def test_unknown_model_type_is_rejected(params):
    from dataclasses import replace

    with pytest.raises(ValueError, match="unsupported model type 'xgboost'"):
        build_model(replace(params, model={"type": "xgboost"}))


def test_explain_row_contributions_sum_to_the_logit(fitted, toy_frame):
    model, _ = fitted
    row = toy_frame.iloc[[0]]
    table = explain_row(model, row)
    logit = model.named_steps["classifier"].decision_function(model.named_steps["features"].transform(row))[0]
    assert table.attrs["logit"] == pytest.approx(logit)
    assert abs(table["contribution"]).is_monotonic_decreasing
    assert not table["feature"].str.contains("sex").any()


def test_explain_row_rejects_several_rows(fitted, toy_frame):
    with pytest.raises(ValueError, match="exactly one row"):
        explain_row(fitted[0], toy_frame.head(2))


def test_slice_metrics_per_value_and_small_slices(toy_frame):
    y = toy_frame["income_over_50k"].to_numpy()
    prob = np.where(y == 1, 0.9, 0.1)
    table = slice_metrics(toy_frame, y, prob, "region", min_size=3)
    assert table["value"].tolist() == ["east", "north", "south", "west"]
    assert table["n"].tolist() == [3, 3, 3, 3]
    assert table["accuracy"].tolist() == [1.0, 1.0, 1.0, 1.0]
    small = slice_metrics(toy_frame, y, prob, "region", min_size=4)
    assert small["small"].all() and small["roc_auc"].isna().all()


def test_evaluate_reports_model_baseline_and_slices(fitted, toy_frame, params):
    model, baseline = fitted
    report = evaluate(model, baseline, toy_frame, params.target, ("sex",), min_size=1)
    assert report["beats_baseline"] is True
    assert report["baseline"]["roc_auc"] == 0.5
    assert {s["value"] for s in report["slices"]} == {"female", "male"}
    assert isinstance(pd.DataFrame(report["slices"]), pd.DataFrame)
