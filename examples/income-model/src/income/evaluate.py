"""Evaluation: overall metrics against a trivial baseline, and metrics per data slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score


def scores(y_true: np.ndarray, y_prob: np.ndarray) -> dict[str, float]:
    y_true = np.asarray(y_true)
    y_prob = np.asarray(y_prob, dtype=float)
    return {
        "roc_auc": float(roc_auc_score(y_true, y_prob)) if len(set(y_true)) == 2 else float("nan"),
        "log_loss": float(log_loss(y_true, y_prob, labels=[0, 1])),
        "accuracy": float(accuracy_score(y_true, y_prob >= 0.5)),
    }


def slice_metrics(
    frame: pd.DataFrame, y_true: np.ndarray, y_prob: np.ndarray, column: str, min_size: int = 20
) -> pd.DataFrame:
    """One row per value of ``column``: size, positive rate and scores; small slices are flagged."""
    rows = []
    for value, idx in frame.groupby(column, sort=True).indices.items():
        row = {"column": column, "value": value, "n": len(idx), "positive_rate": float(np.mean(y_true[idx]))}
        if len(idx) >= min_size:
            row.update(scores(y_true[idx], y_prob[idx]))
        else:
            row.update({"roc_auc": float("nan"), "log_loss": float("nan"), "accuracy": float("nan")})
        row["small"] = len(idx) < min_size
        rows.append(row)
    return pd.DataFrame(rows)


def evaluate(model, baseline, test: pd.DataFrame, target: str, slice_columns=(), min_size: int = 20) -> dict:
    """Metrics of ``model`` and ``baseline`` on ``test``, plus slices of the model's metrics."""
    y_true = test[target].to_numpy()
    y_prob = model.predict_proba(test)[:, 1]
    base_prob = baseline.predict_proba(test)[:, 1]
    report = {
        "n_test": int(len(test)),
        "model": scores(y_true, y_prob),
        "baseline": scores(y_true, base_prob),
    }
    report["beats_baseline"] = report["model"]["log_loss"] < report["baseline"]["log_loss"]
    report["slices"] = [
        rec
        for col in slice_columns
        for rec in slice_metrics(test, y_true, y_prob, col, min_size).to_dict(orient="records")
    ]
    return report
