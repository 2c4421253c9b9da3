"""Unit tests of the feature code: every transformation is checked on hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from income.features import add_derived, build_preprocessor, select_inputs
from income.params import FeatureSpec


def test_add_derived_log_transforms_capital_gain():
    frame = pd.DataFrame({"capital_gain": [0, 9, 99999], "age": [20, 30, 40]})
    out = add_derived(frame)
    assert out["capital_gain"].tolist() == pytest.approx([0.0, math.log(10), math.log(100000)])
    assert out["age"].tolist() == [20, 30, 40]
    assert frame["capital_gain"].tolist() == [0, 9, 99999], "input must not be modified"


def test_add_derived_clips_negative_gains_to_zero():
    out = add_derived(pd.DataFrame({"capital_gain": [-5]}))
    assert out["capital_gain"].iloc[0] == 0.0


def test_select_inputs_drops_protected_and_label(toy_frame, params):
    out = select_inputs(toy_frame, params.features)
    assert list(out.columns) == list(params.features.inputs)
    assert "sex" not in out.columns
    assert params.target not in out.columns


def test_select_inputs_names_missing_columns(toy_frame, params):
    with pytest.raises(KeyError, match="age"):
        select_inputs(toy_frame.drop(columns=["age"]), params.features)


def test_preprocessor_scales_numeric_and_one_hot_encodes(toy_frame):
    spec = FeatureSpec(numeric=("hours_per_week",), categorical=("region",))
    pre = build_preprocessor(spec).fit(toy_frame)
    matrix = np.asarray(pre.transform(toy_frame))
    names = list(pre.named_steps["columns"].get_feature_names_out())
    assert names == [
        "numeric__hours_per_week",
        "categorical__region_east",
        "categorical__region_north",
        "categorical__region_south",
        "categorical__region_west",
    ]
    assert matrix[:, 0].mean() == pytest.approx(0.0, abs=1e-12)
    assert matrix[:, 0].std() == pytest.approx(1.0)
    assert matrix[:, 1:].sum(axis=1).tolist() == [1.0] * len(toy_frame)


def test_preprocessor_ignores_unseen_categories(toy_frame):
    spec = FeatureSpec(numeric=(), categorical=("region",))
    pre = build_preprocessor(spec).fit(toy_frame)
    unseen = toy_frame.head(1).assign(region="atlantis")
    assert np.asarray(pre.transform(unseen)).sum() == 0.0
