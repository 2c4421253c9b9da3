"""Checks that need labels and predictions: outputs (MON5), quality and its drift (MON7), slices
(MODEL6), inclusion metrics (MODEL7) and simpler baselines (MODEL5)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlscore.data.readers import TableReader, arrow_bools, arrow_floats, detect_format
from mlscore.models import Check, Diagnostic
from mlscore.profile.drift import ColumnDrift, column_drift

if TYPE_CHECKING:
    from mlscore.data.check import CheckOptions
    from mlscore.profile import DatasetProfile

Z95 = 1.959963984540054
MAX_FIT_ROWS = 200_000
MAX_SLICES = 50
NUMERIC_SLICE_BINS = 5


@dataclass
class ModelOutput:
    checks: list[Check] = field(default_factory=list)
    prediction_drift: ColumnDrift | None = None


@dataclass
class Labeled:
    """Target and prediction of one dataset, with the task and the metric used."""

    y: np.ndarray
    p: np.ndarray
    task: str  # classification | regression
    path: str
    frame: dict[str, np.ndarray]
    positive: Any = None
    proba: bool = False

    @property
    def metric_name(self) -> str:
        return "accuracy" if self.task == "classification" else "mae"

    def scores(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Per-row score whose mean is the metric: correctness, or absolute error."""
        y, p = (self.y, self.p) if mask is None else (self.y[mask], self.p[mask])
        if self.task == "classification":
            return (y == p).astype(np.float64)
        return np.abs(y.astype(np.float64) - p.astype(np.float64))

    @property
    def higher_is_better(self) -> bool:
        return self.task == "classification"


def run(opts: CheckOptions, ref: DatasetProfile, cur: DatasetProfile, diagnostics: list[Diagnostic]) -> ModelOutput:
    out = ModelOutput()
    pred = opts.prediction
    assert pred is not None
    pcol = cur.columns.get(pred)
    # ---------------------------------------------------------------- MON5: outputs
    if pcol is None:
        out.checks.append(Check(id="predictions.present", rules=("MON5",), title="Predictions are present",
                                status="unknown", message=f"no column {pred!r} in {opts.current}"))
    else:
        out.checks.extend(_output_checks(opts, pcol))
        rcol = ref.columns.get(pred)
        if rcol is not None:
            d = column_drift(rcol, pcol, method=opts.drift_method, threshold=opts.drift_threshold)
            out.prediction_drift = d
            out.checks.append(Check(
                id="predictions.drift", rules=("MON7",), title="Prediction distribution matches the reference",
                status="unknown" if d.drifted is None else ("failing" if d.drifted else "passing"),
                message=(f"{d.method} {d.statistic_name} = {_fmt(d.statistic)} (threshold {d.threshold}; "
                         f"n = {d.reference_n} / {d.current_n})" + (f"; {d.note}" if d.note else "")),
                details=d.to_dict(),
            ))
        else:
            out.checks.append(Check(
                id="predictions.drift", rules=("MON7",), title="Prediction distribution matches the reference",
                status="unknown", message=f"the reference has no {pred!r} column to compare with",
            ))
    if opts.target is None:
        return out
    # ---------------------------------------------------------------- labelled data
    evald = _load_labeled(opts, opts.current, diagnostics) if _has(cur, opts) and _rows(opts.current) else None
    refd = _load_labeled(opts, opts.reference, diagnostics) if _has(ref, opts) and _rows(opts.reference) else None
    data = evald or refd
    if data is None:
        msg = f"neither dataset has both {opts.target!r} and {pred!r}"
        for cid, rules, title in (
            ("quality.current", ("MON7",), "Prediction quality on served data"),
            ("slices", ("MODEL6",), "Model quality is sufficient on all important slices"),
            ("baseline", ("MODEL5",), "A simpler model is not better"),
        ):
            out.checks.append(Check(id=cid, rules=rules, title=title, status="unknown", message=msg))
        return out
    out.checks.append(_quality_check(refd, evald, opts))
    out.checks.append(_slice_check(data, opts))
    if opts.sensitive:
        out.checks.append(_fairness_check(data, opts))
    out.checks.append(_baseline_check(data, refd if refd is not data else None, opts, ref))
    return out


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def _has(prof: DatasetProfile, opts: CheckOptions) -> bool:
    return opts.target in prof.columns and opts.prediction in prof.columns


def _rows(path: Path) -> bool:
    return detect_format(Path(path)) != "profile"


# ---------------------------------------------------------------- MON5


def _output_checks(opts: CheckOptions, pcol: Any) -> list[Check]:
    checks = []
    bad = pcol.null_count + pcol.inf_count
    if pcol.kind == "numeric":
        checks.append(Check(
            id="predictions.finite", rules=("MON5",), title="Predictions are finite (no NaN or infinity)",
            status="failing" if bad else "passing",
            message=(f"{pcol.null_count} missing/NaN and {pcol.inf_count} infinite of {pcol.count} predictions"
                     if bad else f"all {pcol.count} predictions are finite"),
            details={"nan_or_null": pcol.null_count, "infinite": pcol.inf_count, "count": pcol.count},
        ))
        looks_proba = _looks_like_probability(opts.prediction or "", pcol)
        if looks_proba:
            lo, hi = pcol.min, pcol.max
            outside = None
            if pcol.hist is not None:
                outside = _count_outside_unit(opts)
            status = "failing" if (outside or 0) > 0 else "passing"
            checks.append(Check(
                id="predictions.range", rules=("MON5",), title="Probabilities lie in [0, 1]",
                status=status,
                message=(f"{outside} predictions outside [0, 1] (min {_fmt(lo)}, max {_fmt(hi)})" if outside
                         else f"all predictions in [0, 1] (min {_fmt(lo)}, max {_fmt(hi)})"),
                details={"outside": outside, "min": lo, "max": hi},
            ))
    else:
        checks.append(Check(
            id="predictions.finite", rules=("MON5",), title="Predictions are present",
            status="failing" if pcol.null_count else "passing",
            message=f"{pcol.null_count} missing of {pcol.count} predictions",
            details={"null": pcol.null_count, "count": pcol.count},
        ))
    nu = pcol.n_unique
    checks.append(Check(
        id="predictions.constant", rules=("MON5",), title="Predictions are not constant",
        status="failing" if nu == 1 and pcol.count > 1 else ("passing" if pcol.valid_count else "unknown"),
        message=("every prediction is the same value" if nu == 1 and pcol.count > 1
                 else f"{'many' if nu is None else nu} distinct prediction values"),
        details={"n_unique": nu},
    ))
    return checks


def _looks_like_probability(name: str, col: Any) -> bool:
    lname = name.lower()
    if any(k in lname for k in ("proba", "prob", "probability", "score", "likelihood", "confidence")):
        return True
    if col.min is None or col.integral:
        return False
    return col.min >= -0.05 and col.max <= 1.05


def _count_outside_unit(opts: CheckOptions) -> int | None:
    if detect_format(Path(opts.current)) == "profile":
        return None
    total = 0
    for batch in TableReader(opts.current, columns=[opts.prediction], encoding=opts.encoding).batches():
        import pyarrow as pa
        import pyarrow.compute as pc

        v = arrow_floats(pc.cast(batch.column(0), pa.float64()))
        with np.errstate(invalid="ignore"):
            total += int(np.sum((v < 0) | (v > 1)))
    return total


# ---------------------------------------------------------------- loading labelled data


def _load_labeled(opts: CheckOptions, path: Path, diagnostics: list[Diagnostic]) -> Labeled | None:
    wanted = [c for c in dict.fromkeys([opts.target, opts.prediction, *opts.slices, *opts.sensitive]) if c]
    reader = TableReader(path, encoding=opts.encoding)
    for _ in reader.batches():
        break
    names = reader.names
    cols = [c for c in wanted if c in names]
    table = TableReader(path, columns=cols, encoding=opts.encoding).read_all()
    frame = {c: _to_numpy(table.column(c)) for c in cols}
    y, p = frame[opts.target], frame[opts.prediction]  # type: ignore[index]
    ok = ~(_isnull(y) | _isnull(p))
    dropped = int((~ok).sum())
    if dropped:
        diagnostics.append(Diagnostic(path=str(path), message=f"{dropped} rows without target or prediction left out of quality metrics"))
    frame = {k: v[ok] for k, v in frame.items()}
    y, p = frame[opts.target], frame[opts.prediction]  # type: ignore[index]
    if y.size == 0:
        return None
    task = opts.task
    proba = False
    if task == "auto":
        task = "classification" if _is_class_like(y) else "regression"
    positive = None
    if task == "classification":
        labels = sorted({_norm(v) for v in np.unique(y.astype(object) if y.dtype.kind == "O" else y).tolist()}, key=str)
        if p.dtype.kind == "f" and not np.all(np.floor(p) == p) and len(labels) == 2:
            proba = True
            positive = _positive(labels)
            other = next(lab for lab in labels if lab != positive)
            p = np.where(p >= 0.5, positive, other)
            y = np.array([_norm(v) for v in y.tolist()], dtype=object)
            p = np.asarray(p, dtype=object)
        else:
            y = np.array([_norm(v) for v in y.tolist()], dtype=object)
            p = np.array([_norm(v) for v in p.tolist()], dtype=object)
            positive = _positive(labels) if len(labels) == 2 else None
        frame[opts.target] = y  # type: ignore[index]
        frame[opts.prediction] = p  # type: ignore[index]
    else:
        if y.dtype.kind not in "fiub" or p.dtype.kind not in "fiub":
            return None
    return Labeled(y=y, p=p, task=task, path=str(path), frame=frame, positive=positive, proba=proba)


def _norm(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, (np.floating,)) and float(v).is_integer():
        return int(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def _positive(labels: list[Any]) -> Any:
    for cand in (1, True, "1", "yes", "true", "True", "positive", ">50K"):
        if cand in labels:
            return cand
    return labels[-1]


def _is_class_like(y: np.ndarray) -> bool:
    if y.dtype.kind in "OUSb":
        return True
    if y.dtype.kind in "iu":
        return np.unique(y).size <= 20
    if y.dtype.kind == "f":
        return bool(np.all(np.floor(y) == y)) and np.unique(y).size <= 20
    return False


def _to_numpy(arr: Any) -> np.ndarray:
    import pyarrow as pa

    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return arrow_floats(arr)
    if pa.types.is_boolean(t) and arr.null_count == 0:
        return arrow_bools(arr)
    return np.array(arr.to_pylist(), dtype=object)


def _isnull(v: np.ndarray) -> np.ndarray:
    if v.dtype.kind == "f":
        return ~np.isfinite(v)
    if v.dtype.kind == "O":
        return np.array([x is None or (isinstance(x, float) and math.isnan(x)) for x in v.tolist()], dtype=bool)
    return np.zeros(v.shape, dtype=bool)


# ---------------------------------------------------------------- metrics with intervals


def _interval(d: Labeled, scores: np.ndarray) -> tuple[float, float, float]:
    n = scores.size
    m = float(scores.mean())
    if d.task == "classification":  # Wilson score interval for a proportion
        denom = 1 + Z95**2 / n
        centre = (m + Z95**2 / (2 * n)) / denom
        half = Z95 * math.sqrt(m * (1 - m) / n + Z95**2 / (4 * n * n)) / denom
        return m, max(0.0, centre - half), min(1.0, centre + half)
    sd = float(scores.std(ddof=1)) if n > 1 else 0.0
    half = Z95 * sd / math.sqrt(n)
    return m, m - half, m + half


def _quality_check(refd: Labeled | None, evald: Labeled | None, opts: CheckOptions) -> Check:
    title = "Prediction quality on served data has not regressed"
    if evald is None:
        return Check(id="quality.current", rules=("MON7",), title=title, status="unknown",
                     message=f"the current data has no labels ({opts.target!r}) with predictions")
    m, lo, hi = _interval(evald, evald.scores())
    details: dict[str, Any] = {"metric": evald.metric_name, "current": m, "current_ci": [lo, hi], "n": int(evald.y.size)}
    if refd is None:
        return Check(id="quality.current", rules=("MON7",), title=title, status="unknown",
                     message=f"current {evald.metric_name} {m:.4f} (95% CI {lo:.4f}-{hi:.4f}); no labelled reference to compare",
                     details=details)
    rm, rlo, rhi = _interval(refd, refd.scores())
    details.update(reference=rm, reference_ci=[rlo, rhi])
    tol = opts.quality_tolerance
    if evald.higher_is_better:
        worse = m < rm - tol
    else:
        worse = m > rm * (1 + tol) + 1e-12
    return Check(
        id="quality.current", rules=("MON7",), title=title, status="failing" if worse else "passing",
        message=(f"{evald.metric_name} {m:.4f} on current vs {rm:.4f} on reference "
                 f"(tolerance {tol:g}{'' if evald.higher_is_better else ' relative'})"),
        details=details,
    )


def _slices_of(d: Labeled, column: str) -> list[tuple[str, np.ndarray]]:
    v = d.frame.get(column)
    if v is None:
        return []
    if v.dtype.kind in "fiu" and np.unique(v[np.isfinite(v.astype(float))]).size > 10:
        fv = v.astype(float)
        finite = np.isfinite(fv)
        edges = np.unique(np.quantile(fv[finite], np.linspace(0, 1, NUMERIC_SLICE_BINS + 1)))
        out = []
        for i in range(len(edges) - 1):
            lo, hi = edges[i], edges[i + 1]
            last = i == len(edges) - 2
            mask = finite & (fv >= lo) & ((fv <= hi) if last else (fv < hi))
            out.append((f"{column} in [{lo:.4g}, {hi:.4g}{']' if last else ')'}", mask))
        if (~finite).any():
            out.append((f"{column} is missing", ~finite))
        return out
    keys = np.array([_norm(x) if x is not None else None for x in v.tolist()], dtype=object)
    counts: dict[Any, int] = {}
    for k in keys.tolist():
        counts[k] = counts.get(k, 0) + 1
    top = sorted(counts, key=lambda k: -counts[k])[:MAX_SLICES]
    return [(f"{column} = {k!s}" if k is not None else f"{column} is missing", keys == k) for k in top]


def _slice_check(d: Labeled, opts: CheckOptions) -> Check:
    title = "Model quality is sufficient on all important slices"
    if not opts.slices:
        return Check(id="slices", rules=("MODEL6",), title=title, status="unknown",
                     message="no --slice columns given", details={})
    overall, olo, ohi = _interval(d, d.scores())
    rows = []
    low_support = []
    for column in opts.slices:
        for label, mask in _slices_of(d, column):
            n = int(mask.sum())
            if n == 0:
                continue
            if n < opts.min_support:
                low_support.append({"slice": label, "n": n})
                continue
            m, lo, hi = _interval(d, d.scores(mask))
            if d.higher_is_better:
                bad = hi < overall - opts.quality_tolerance
            else:
                bad = lo > overall * (1 + opts.quality_tolerance)
            rows.append({"slice": label, "column": column, "n": n, "metric": m, "ci": [lo, hi], "worse": bad})
    rows.sort(key=lambda r: r["metric"], reverse=not d.higher_is_better)
    bad_rows = [r for r in rows if r["worse"]]
    return Check(
        id="slices", rules=("MODEL6",), title=title,
        status="failing" if bad_rows else ("passing" if rows else "unknown"),
        message=(f"{len(bad_rows)} of {len(rows)} slices significantly worse than overall "
                 f"{d.metric_name} {overall:.4f}" + (": " + ", ".join(f"{r['slice']} ({r['metric']:.3f}, n={r['n']})" for r in bad_rows[:3]) if bad_rows else
                 (f"; worst: {rows[0]['slice']} ({rows[0]['metric']:.3f}, n={rows[0]['n']})" if rows else ""))),
        details={"metric": d.metric_name, "overall": overall, "overall_ci": [olo, ohi], "data": d.path,
                 "min_support": opts.min_support, "tolerance": opts.quality_tolerance,
                 "slices": rows, "low_support": low_support},
    )


def _fairness_check(d: Labeled, opts: CheckOptions) -> Check:
    """MODEL7 with fairlearn's MetricFrame: per group of each --sensitive attribute (groups under --min-support
    left out), demographic parity and equalized odds differences for a binary classifier; for regression the
    mean absolute error and the mean prediction per group, failing when the MAE gap between the best and the
    worst group exceeds --fairness-threshold times the overall MAE and a Welch test finds it significant."""
    title = "The model has been tested for inclusion (fairness across groups)"
    try:
        from fairlearn.metrics import MetricFrame
    except ImportError:
        return Check(id="fairness", rules=("MODEL7",), title=title, status="unknown",
                     message="fairlearn is not installed (pip install 'mlscore-audit[data]')")
    if d.task == "classification" and d.positive is None:
        return Check(id="fairness", rules=("MODEL7",), title=title, status="unknown",
                     message="demographic parity and equalized odds need two classes (or --task regression)")
    per_attr = []
    for attr in opts.sensitive:
        groups = [(label, mask) for label, mask in _slices_of(d, attr) if int(mask.sum()) >= opts.min_support]
        if len(groups) < 2:
            per_attr.append({"attribute": attr, "groups": [], "note": "fewer than two groups with enough support"})
            continue
        keep = np.zeros(d.y.size, dtype=bool)
        feature = np.empty(d.y.size, dtype=object)
        for label, mask in groups:
            keep |= mask
            feature[mask] = label
        if d.task == "classification":
            per_attr.append(_fair_classification(MetricFrame, d, attr, keep, feature[keep]))
        else:
            per_attr.append(_fair_regression(MetricFrame, d, attr, keep, feature[keep], opts))
    decided = [a for a in per_attr if "groups" in a and a["groups"]]
    if d.task == "classification":
        failing = [a for a in decided
                   if max(a["demographic_parity_difference"], a["equalized_odds_difference"]) > opts.fairness_threshold]
        msg = "; ".join(f"{a['attribute']}: demographic parity difference {a['demographic_parity_difference']:.3f}, "
                        f"equalized odds difference {a['equalized_odds_difference']:.3f}" for a in decided)
    else:
        failing = [a for a in decided if a["unfair"]]
        msg = "; ".join(f"{a['attribute']}: MAE from {a['mae_min']:.4g} to {a['mae_max']:.4g} across groups "
                        f"(gap {a['mae_gap_ratio']:.1%} of the overall MAE, p = {a['p_value']:.3g}), mean prediction "
                        f"difference {a['mean_prediction_difference']:.4g}" for a in decided)
    return Check(
        id="fairness", rules=("MODEL7",), title=title,
        status="unknown" if not decided else ("failing" if failing else "passing"),
        message=(msg or "no attribute has two groups with enough support") + f" (threshold {opts.fairness_threshold:g}; fairlearn MetricFrame)",
        details={"positive_label": _jsonable_label(d.positive), "threshold": opts.fairness_threshold,
                 "task": d.task, "engine": "fairlearn.metrics.MetricFrame", "attributes": per_attr},
    )


def _fair_classification(metric_frame: Any, d: Labeled, attr: str, keep: np.ndarray, feature: np.ndarray) -> dict:
    from fairlearn.metrics import count, false_positive_rate, selection_rate, true_positive_rate

    yt = (d.y[keep] == d.positive).astype(int)
    yp = (d.p[keep] == d.positive).astype(int)
    mf = metric_frame(metrics={"n": count, "selection_rate": selection_rate, "tpr": true_positive_rate,
                               "fpr": false_positive_rate},
                      y_true=yt, y_pred=yp, sensitive_features=feature)
    by = mf.by_group
    groups = []
    for label in by.index:
        row = by.loc[label]
        has_pos = bool(((feature == label) & (yt == 1)).any())
        has_neg = bool(((feature == label) & (yt == 0)).any())
        groups.append({"group": str(label), "n": int(row["n"]), "selection_rate": float(row["selection_rate"]),
                       "tpr": float(row["tpr"]) if has_pos else None, "fpr": float(row["fpr"]) if has_neg else None})
    sel = [g["selection_rate"] for g in groups]
    tpr = [g["tpr"] for g in groups if g["tpr"] is not None]
    fpr = [g["fpr"] for g in groups if g["fpr"] is not None]
    dpd = max(sel) - min(sel)
    eod = max((max(tpr) - min(tpr)) if len(tpr) > 1 else 0.0, (max(fpr) - min(fpr)) if len(fpr) > 1 else 0.0)
    return {"attribute": attr, "demographic_parity_difference": dpd, "equalized_odds_difference": eod,
            "groups": groups}


def _fair_regression(metric_frame: Any, d: Labeled, attr: str, keep: np.ndarray, feature: np.ndarray,
                     opts: CheckOptions) -> dict:
    from fairlearn.metrics import count
    from scipy import stats
    from sklearn.metrics import mean_absolute_error

    yt = d.y[keep].astype(np.float64)
    yp = d.p[keep].astype(np.float64)

    def mean_prediction(y_true: Any, y_pred: Any) -> float:
        return float(np.mean(y_pred))

    mf = metric_frame(metrics={"n": count, "mae": mean_absolute_error, "mean_prediction": mean_prediction},
                      y_true=yt, y_pred=yp, sensitive_features=feature)
    by = mf.by_group
    groups = [{"group": str(label), "n": int(by.loc[label]["n"]), "mae": float(by.loc[label]["mae"]),
               "mean_prediction": float(by.loc[label]["mean_prediction"])} for label in by.index]
    overall = float(mf.overall["mae"])
    best = min(groups, key=lambda g: g["mae"])
    worst = max(groups, key=lambda g: g["mae"])
    err = np.abs(yt - yp)
    a, b = err[feature == worst["group"]], err[feature == best["group"]]
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue) if a.size > 1 and b.size > 1 else 1.0
    if not math.isfinite(p):
        p = 1.0 if worst["mae"] == best["mae"] else 0.0
    ratio = (worst["mae"] - best["mae"]) / overall if overall > 0 else 0.0
    return {"attribute": attr, "mae_min": best["mae"], "mae_max": worst["mae"], "mae_overall": overall,
            "mae_gap_ratio": ratio, "p_value": p,
            "mean_prediction_difference": float(mf.difference(method="between_groups")["mean_prediction"]),
            "unfair": bool(ratio > opts.fairness_threshold and p < 0.05), "groups": groups}


def _jsonable_label(v: Any) -> Any:
    return v if isinstance(v, (str, int, float, bool)) or v is None else str(v)


# ---------------------------------------------------------------- MODEL5: baselines


def _features(opts: CheckOptions, ref: DatasetProfile) -> tuple[list[str], list[str]]:
    skip = {opts.target, opts.prediction}
    num = [n for n, c in ref.columns.items() if n not in skip and c.kind == "numeric" and c.n][:150]
    cat = [n for n, c in ref.columns.items() if n not in skip and c.kind == "categorical" and c.categories][:30]
    return num, cat


def _design(frame: dict[str, Any], n: int, num: list[str], cat: list[str], ref: DatasetProfile) -> np.ndarray:
    cols = [np.ones(n)]
    for name in num:
        c = ref.columns[name]
        v = frame[name].astype(np.float64) if name in frame else np.full(n, np.nan)
        mean, std = c.mean, (c.std or 1.0) or 1.0
        v = np.where(np.isfinite(v), v, mean)
        cols.append((v - mean) / std)
    for name in cat:
        c = ref.columns[name]
        top = sorted(c.categories, key=lambda k: -c.categories[k])[:20]
        v = frame.get(name)
        if v is None:
            continue
        keys = np.array([None if x is None else str(_norm(x)) for x in v.tolist()], dtype=object)
        for k in top[1:]:
            cols.append((keys == k).astype(np.float64))
    return np.column_stack(cols)


def _read_features(path: str, opts: CheckOptions, names: list[str], mask_len: int | None = None) -> dict[str, np.ndarray]:
    reader = TableReader(path, encoding=opts.encoding)
    for _ in reader.batches():
        break
    have = [n for n in names if n in reader.names]
    table = TableReader(path, columns=have, encoding=opts.encoding).read_all()
    return {c: _to_numpy(table.column(c)) for c in have}


def _baseline_check(d: Labeled, refd: Labeled | None, opts: CheckOptions, ref: DatasetProfile) -> Check:
    """MODEL5: fails only when a simpler model is significantly better than the model on the same rows (a
    one-sided paired t-test on per-row scores at 5%): a tie is not "better", so a linear model does not fail
    against a linear baseline."""
    title = "A simpler model is not better"
    model_rows = d.scores()
    model_metric = float(model_rows.mean())
    baselines: dict[str, float] = {}
    per_row: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # baseline -> (its scores, the model's on those rows)
    # trivial baseline, "trained" on the reference labels when present
    train = refd if refd is not None else d
    if d.task == "classification":
        vals, cnts = np.unique(np.array([str(x) for x in train.y.tolist()]), return_counts=True)
        majority = vals[int(np.argmax(cnts))]
        rows = (np.array([str(x) for x in d.y.tolist()]) == majority).astype(np.float64)
        baselines["majority_class"] = float(rows.mean())
    else:
        rows = np.abs(d.y.astype(float) - float(np.mean(train.y.astype(float))))
        baselines["mean"] = float(rows.mean())
    per_row[next(iter(baselines))] = (rows, model_rows)
    # linear model (logistic or ridge regression on standardised features; scikit-learn when installed)
    note = None
    against: dict[str, float] = {}  # the model's metric on the rows a baseline was scored on
    try:
        num, cat = _features(opts, ref)
        if num or cat:
            rows_ok = _load_rows_for_linear(d, refd, opts, num + cat)
            if rows_ok is not None:
                xtr, ytr, xte, yte, how, test_rows = rows_ok
                lin_rows, fitter = _linear_scores(d, xtr, ytr, xte, yte, num, cat, ref)
                baselines["linear"] = float(lin_rows.mean())
                mrows = model_rows[test_rows] if test_rows is not None else model_rows
                if mrows.size == lin_rows.size:
                    per_row["linear"] = (lin_rows, mrows)
                if test_rows is not None:  # compare on the same half the linear model was scored on
                    against["linear"] = float(mrows.mean())
                note = f"{how} ({fitter})"
    except (ValueError, np.linalg.LinAlgError) as exc:
        note = f"linear baseline not computed: {exc}"
    tests = {k: _paired_better(b, m, d.higher_is_better) for k, (b, m) in per_row.items()}
    better = [k for k, (is_better, _) in tests.items() if is_better]
    ties = [k for k, v in baselines.items() if k not in better
            and (v >= against.get(k, model_metric) if d.higher_is_better else v <= against.get(k, model_metric))]
    return Check(
        id="baseline", rules=("MODEL5",), title=title, status="failing" if better else "passing",
        message=(f"model {d.metric_name} {model_metric:.4f}; " + ", ".join(f"{k} {v:.4f}" for k, v in baselines.items())
                 + (f" — {', '.join(better)} is significantly better" if better else "")
                 + (f"; {', '.join(ties)} as good, within noise" if ties else "")),
        details={"metric": d.metric_name, "model": model_metric, "baselines": baselines, "data": d.path,
                 "model_on_baseline_rows": against, "note": note,
                 "paired_p_values": {k: p for k, (_, p) in tests.items()}},
    )


def _paired_better(base: np.ndarray, model: np.ndarray, higher_is_better: bool, alpha: float = 0.05) -> tuple[bool, float | None]:
    """Whether the baseline beats the model on the same rows: one-sided paired t-test (p < alpha)."""
    from scipy import stats

    diff = (base - model) if higher_is_better else (model - base)  # > 0: the baseline is better
    n = diff.size
    if n < 2:
        return False, None
    mean = float(diff.mean())
    sd = float(diff.std(ddof=1))
    if sd == 0:
        return mean > 0, 0.0 if mean > 0 else 1.0
    p = float(stats.t.sf(mean / (sd / math.sqrt(n)), n - 1))
    return p < alpha, p


def _load_rows_for_linear(d: Labeled, refd: Labeled | None, opts: CheckOptions, names: list[str]) -> Any:
    if refd is not None and refd is not d:
        ftr = _read_features(refd.path, opts, names + [opts.target, opts.prediction])  # type: ignore[list-item]
        fte = _read_features(d.path, opts, names + [opts.target, opts.prediction])  # type: ignore[list-item]
        ytr_raw, yte_raw = ftr.pop(opts.target), fte.pop(opts.target)  # type: ignore[arg-type]
        ptr, pte = ftr.pop(opts.prediction), fte.pop(opts.prediction)  # type: ignore[arg-type]
        ktr = ~(_isnull(ytr_raw) | _isnull(ptr))
        kte = ~(_isnull(yte_raw) | _isnull(pte))
        ftr = {k: v[ktr] for k, v in ftr.items()}
        fte = {k: v[kte] for k, v in fte.items()}
        return ftr, ytr_raw[ktr], fte, yte_raw[kte], f"linear model fitted on {refd.path}, scored on {d.path}", None
    f = _read_features(d.path, opts, names + [opts.target, opts.prediction])  # type: ignore[list-item]
    y, p = f.pop(opts.target), f.pop(opts.prediction)  # type: ignore[arg-type]
    keep = ~(_isnull(y) | _isnull(p))
    f = {k: v[keep] for k, v in f.items()}
    y = y[keep]
    n = y.size
    if n < 20:
        return None
    rng = np.random.default_rng(0)
    order = rng.permutation(n)
    half = n // 2
    tr, te = order[:half], order[half:]
    return ({k: v[tr] for k, v in f.items()}, y[tr], {k: v[te] for k, v in f.items()}, y[te],
            f"linear model fitted on one half of {d.path}, compared with the model on the other half", te)


def _linear_scores(d: Labeled, ftr: dict, ytr: np.ndarray, fte: dict, yte: np.ndarray,
                   num: list[str], cat: list[str], ref: DatasetProfile) -> tuple[np.ndarray, str]:
    """Per-row scores (correct or not, absolute error) of a linear model on the test rows, and what fitted it."""
    if ytr.size > MAX_FIT_ROWS:
        idx = np.random.default_rng(0).choice(ytr.size, MAX_FIT_ROWS, replace=False)
        ftr = {k: v[idx] for k, v in ftr.items()}
        ytr = ytr[idx]
    xtr = _design(ftr, ytr.size, num, cat, ref)[:, 1:]  # standardised features, no intercept column
    xte = _design(fte, yte.size, num, cat, ref)[:, 1:]
    # standardise again on the training rows: the reference profile's scale may differ from these rows'
    mu, sd = xtr.mean(0), xtr.std(0)
    sd[sd == 0] = 1.0
    xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    try:
        from sklearn.linear_model import LogisticRegression, Ridge
    except ImportError:
        LogisticRegression = Ridge = None  # noqa: N806
    if d.task == "classification":
        ytr_s = np.array([str(_norm(x)) for x in ytr.tolist()])
        yte_s = np.array([str(_norm(x)) for x in yte.tolist()])
        classes = np.unique(ytr_s)
        if classes.size < 2:
            return (yte_s == classes[0]).astype(np.float64), "one class in the training rows"
        if LogisticRegression is not None:
            model = LogisticRegression(C=1.0, max_iter=2000)
            model.fit(xtr, ytr_s)
            return (model.predict(xte) == yte_s).astype(np.float64), "scikit-learn LogisticRegression, standardised"
        onehot = (ytr_s[:, None] == classes[None, :]).astype(np.float64)
        w = _ridge_solve(xtr, onehot)
        pred = classes[np.argmax(_with_ones(xte) @ w, axis=1)]
        return (pred == yte_s).astype(np.float64), "least squares one-vs-rest, standardised (numpy)"
    y = ytr.astype(np.float64)
    if Ridge is not None:
        model = Ridge(alpha=1.0)
        model.fit(xtr, y)
        return np.abs(model.predict(xte) - yte.astype(np.float64)), "scikit-learn Ridge, standardised"
    w = _ridge_solve(xtr, y)
    return np.abs(_with_ones(xte) @ w - yte.astype(np.float64)), "ridge least squares, standardised (numpy)"


def _with_ones(x: np.ndarray) -> np.ndarray:
    return np.column_stack((np.ones(x.shape[0]), x))


def _ridge_solve(x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    xs = _with_ones(x)
    ridge = alpha * np.eye(xs.shape[1])
    ridge[0, 0] = 0
    return np.linalg.solve(xs.T @ xs + ridge, xs.T @ y)
