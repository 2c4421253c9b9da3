"""Which features matter: association of each feature with the target in the reference data.

Used to give important features more of the drift test's power (weighted Benjamini-Hochberg). The
association is model-free and cheap: |Pearson r| between numeric feature and numeric target, the
correlation ratio (eta) between a numeric feature and a class target, and Cramer's V between a
categorical feature and a class target (eta of the target over the categories for a numeric target).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

MAX_ROWS = 200_000
TOP_SHARE = 0.1  # the top tenth of the features (at least 1, at most MAX_IMPORTANT) count as important
MAX_IMPORTANT = 5
MIN_ASSOCIATION = 0.05  # below this a feature is not important whatever its rank


def feature_importance(path: Path, target: str, features: list[str], encoding: str = "utf-8") -> dict[str, float]:
    """Association in [0, 1] of each feature with ``target``, from up to MAX_ROWS reference rows."""
    from mlscore.data.model_checks import _is_class_like, _to_numpy
    from mlscore.data.readers import TableReader

    reader = TableReader(path, columns=[*features, target], encoding=encoding)
    frame: dict[str, list[np.ndarray]] = {}
    rows = 0
    for batch in reader.batches():
        for name in batch.schema.names:
            frame.setdefault(name, []).append(_to_numpy(batch.column(name)))
        rows += batch.num_rows
        if rows >= MAX_ROWS:
            break
    cols = {k: np.concatenate(v)[:MAX_ROWS] for k, v in frame.items()}
    y = cols.get(target)
    if y is None or y.size < 10:
        return {}
    classes = _is_class_like(y)
    y_codes, y_num = _codes(y), None
    if not classes:
        y_num = y.astype(np.float64)
    out = {}
    for name in features:
        x = cols.get(name)
        if x is None:
            continue
        numeric = x.dtype.kind in "fiub"
        try:
            if numeric and y_num is not None:
                score = _abs_r(x.astype(np.float64), y_num)
            elif numeric:
                score = _eta(x.astype(np.float64), y_codes)
            elif y_num is not None:
                score = _eta(y_num, _codes(x))
            else:
                score = _cramers_v(_codes(x), y_codes)
        except (ValueError, FloatingPointError, ZeroDivisionError):
            continue
        if math.isfinite(score):
            out[name] = score
    return out


def top_features(scores: dict[str, float]) -> list[str]:
    """The important features: the top tenth by association (at least one, at most MAX_IMPORTANT)."""
    ranked = sorted((s, n) for n, s in scores.items() if s >= MIN_ASSOCIATION)
    ranked.reverse()
    k = min(MAX_IMPORTANT, max(1, math.ceil(TOP_SHARE * len(scores))))
    return [n for _, n in ranked[:k]]


def _codes(v: np.ndarray) -> np.ndarray:
    """Integer codes per distinct value; -1 for missing."""
    if v.dtype.kind == "f":
        ok = np.isfinite(v)
        out = np.full(v.size, -1, dtype=np.int64)
        out[ok] = np.unique(v[ok], return_inverse=True)[1]
        return out
    keys: dict[Any, int] = {}
    out = np.empty(v.size, dtype=np.int64)
    for i, x in enumerate(v.tolist()):
        if x is None or (isinstance(x, float) and math.isnan(x)):
            out[i] = -1
        else:
            out[i] = keys.setdefault(x, len(keys))
    return out


def _abs_r(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    a, b = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    return abs(float(a @ b)) / den if den > 0 else 0.0


def _eta(values: np.ndarray, groups: np.ndarray) -> float:
    """Correlation ratio: share of the variance of ``values`` explained by ``groups`` (square-rooted)."""
    ok = np.isfinite(values) & (groups >= 0)
    v, g = values[ok], groups[ok]
    if v.size < 3:
        return float("nan")
    total = float(((v - v.mean()) ** 2).sum())
    if total <= 0:
        return 0.0
    counts = np.bincount(g)
    sums = np.bincount(g, weights=v)
    nz = counts > 0
    between = float((sums[nz] ** 2 / counts[nz]).sum() - v.sum() ** 2 / v.size)
    return math.sqrt(max(0.0, min(1.0, between / total)))


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    ok = (a >= 0) & (b >= 0)
    a, b = a[ok], b[ok]
    if a.size < 3:
        return float("nan")
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    if ka > 1000 or ka < 2 or kb < 2:
        return 0.0
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(np.float64)
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = float(np.nansum((table - expected) ** 2 / np.where(expected > 0, expected, np.nan)))
    return math.sqrt(chi2 / (n * (min(ka, kb) - 1)))
