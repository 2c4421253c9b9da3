"""Feature engineering: the path from a raw record to the model's input matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from income.params import FeatureSpec

#: Capital gains are heavy-tailed: most rows are 0, a few are in the tens of thousands.
LOG_COLUMNS = ("capital_gain",)


def add_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Derived columns computed identically for training and prediction."""
    out = frame.copy()
    for name in LOG_COLUMNS:
        if name in out:
            out[name] = np.log1p(out[name].clip(lower=0))
    return out


def select_inputs(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Keep only the declared model inputs; protected attributes never reach the model."""
    missing = [c for c in spec.inputs if c not in frame.columns]
    if missing:
        raise KeyError(f"input columns missing: {missing}")
    return frame.loc[:, list(spec.inputs)]


def build_preprocessor(spec: FeatureSpec) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("numeric", StandardScaler(), list(spec.numeric)),
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(spec.categorical)),
        ],
        verbose_feature_names_out=True,
    )
    return Pipeline(
        [
            ("select", FunctionTransformer(select_inputs, kw_args={"spec": spec})),
            ("derive", FunctionTransformer(add_derived)),
            ("columns", columns),
        ]
    )
