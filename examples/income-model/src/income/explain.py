"""Debug one prediction: the transformed inputs and each feature's contribution to the logit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline


def explain_row(model: Pipeline, row: pd.DataFrame) -> pd.DataFrame:
    """For a single-row frame: feature name, transformed value, coefficient and contribution.

    The contributions plus the intercept sum to the model's logit for that row, so the table
    accounts for the whole prediction.
    """
    if len(row) != 1:
        raise ValueError(f"explain_row takes exactly one row, got {len(row)}")
    features = model.named_steps["features"]
    classifier = model.named_steps["classifier"]
    values = np.asarray(features.transform(row))[0]
    names = features.named_steps["columns"].get_feature_names_out()
    coef = classifier.coef_[0]
    table = pd.DataFrame({"feature": names, "value": values, "coefficient": coef, "contribution": values * coef})
    table = table.reindex(table["contribution"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    table.attrs["intercept"] = float(classifier.intercept_[0])
    table.attrs["logit"] = float(table["contribution"].sum() + classifier.intercept_[0])
    return table
