"""Per-column drift between a reference and a current profile, with Evidently 0.7's default method choice."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mlscore.profile.column import ColumnProfile
from mlscore.profile.dataset import DatasetProfile

#: method -> (statistic name, default threshold, "p" when drift is p < thr else "d" for distance >= thr)
METHODS: dict[str, tuple[str, float, str]] = {
    "ks": ("p_value", 0.05, "p<="),
    "chisquare": ("p_value", 0.05, "p<"),
    "z": ("p_value", 0.05, "p<"),
    "wasserstein": ("distance", 0.1, "d>="),
    "jensenshannon": ("distance", 0.1, "d>="),
    "psi": ("distance", 0.1, "d>="),
}
SMALL_REFERENCE = 1000  # Evidently: at most this many reference values -> p-value tests


@dataclass(frozen=True)
class ColumnDrift:
    """The drift verdict for one column; ``drifted`` is None when it cannot be decided."""

    column: str
    kind: str | None
    method: str
    statistic_name: str
    statistic: float | None
    threshold: float
    drifted: bool | None
    reference_n: int
    current_n: int
    n_unique: int | None
    approximate: bool = False
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["statistic"] is not None and not math.isfinite(d["statistic"]):
            d["statistic"] = None if math.isnan(d["statistic"]) else (1e308 if d["statistic"] > 0 else -1e308)
        return d


def default_method(ref: ColumnProfile, n_unique: int | None) -> str:
    """Evidently 0.7 ``_get_default_stattest``: from reference size and joint number of unique values."""
    few = n_unique is not None and n_unique <= 5
    if ref.valid_count <= SMALL_REFERENCE:
        if ref.kind == "numeric" and not few:
            return "ks"
        return "chisquare" if (n_unique is None or n_unique > 2) else "z"
    if ref.kind == "numeric" and not few:
        return "wasserstein"
    return "jensenshannon"


def joint_n_unique(ref: ColumnProfile, cur: ColumnProfile) -> int | None:
    a, b = ref.value_counts(), cur.value_counts()
    if a is None or b is None or ref.truncated or cur.truncated:
        return None
    return len(set(a) | set(b))


def compare_profiles(
    reference: DatasetProfile,
    current: DatasetProfile,
    *,
    columns: Iterable[str] | None = None,
    method: str = "auto",
    per_column_method: Mapping[str, str] | None = None,
    threshold: float | None = None,
    per_column_threshold: Mapping[str, float] | None = None,
) -> list[ColumnDrift]:
    """Drift of every column present in both profiles (or of ``columns``), in reference order."""
    names = list(columns) if columns is not None else [n for n in reference.columns if n in current.columns]
    out = []
    for name in names:
        m = (per_column_method or {}).get(name, method)
        t = (per_column_threshold or {}).get(name, threshold)
        out.append(column_drift(reference.columns[name], current.columns[name], method=m, threshold=t))
    return out


def dataset_drift(results: list[ColumnDrift], drift_share: float = 0.5) -> tuple[float, bool]:
    """Share of drifted columns (over all compared columns) and whether it reaches ``drift_share``."""
    if not results:
        return 0.0, False
    share = sum(1 for r in results if r.drifted) / len(results)
    return share, share >= drift_share


def column_drift(
    ref: ColumnProfile, cur: ColumnProfile, *, method: str = "auto", threshold: float | None = None
) -> ColumnDrift:
    kind = ref.kind or cur.kind
    n_ref, n_cur = ref.valid_count, cur.valid_count
    nu = joint_n_unique(ref, cur) if kind is not None else None
    if method != "auto" and method not in METHODS:
        raise ValueError(f"unknown drift method {method!r}; use one of auto, {', '.join(METHODS)}")
    chosen = default_method(ref, nu) if method == "auto" and kind is not None else method
    if chosen == "auto":
        chosen = "wasserstein"
    stat_name, default_thr, rule = METHODS[chosen]
    thr = default_thr if threshold is None else float(threshold)

    def result(stat: float | None, approx: bool = False, note: str | None = None) -> ColumnDrift:
        drifted: bool | None
        if stat is None or (isinstance(stat, float) and math.isnan(stat)):
            drifted = None
        elif rule == "p<=":
            drifted = stat <= thr
        elif rule == "p<":
            drifted = stat < thr
        else:
            drifted = stat >= thr
        return ColumnDrift(ref.name, kind, chosen, stat_name, stat, thr, drifted, n_ref, n_cur, nu, approx, note)

    if kind is None or n_ref == 0:
        return result(None, note="no values in the reference")
    if n_cur == 0:
        return result(None, note="no values in the current data")
    if ref.kind and cur.kind and ref.kind != cur.kind:
        return result(None, note=f"type changed: reference {ref.kind}, current {cur.kind}")
    if kind == "categorical" and chosen in ("ks", "wasserstein"):
        return result(None, note=f"{chosen} needs a numeric column")
    try:
        if chosen == "ks":
            return _ks(ref, cur, result)
        if chosen == "wasserstein":
            return _wasserstein(ref, cur, result)
        if chosen in ("chisquare", "z"):
            counts = _counts(ref, cur)
            if counts is None:
                return result(None, note=f"{chosen} needs exact value counts (too many distinct values)")
            keys, r, c = counts
            return result(_chisquare(r, c) if chosen == "chisquare" else _ztest(keys, r, c))
        shares = _shares(ref, cur, fill_zeroes=(chosen == "psi"))
        r, c, approx = shares
        if chosen == "psi":
            return result(float(np.sum((r - c) * np.log(r / c))), approx)
        return result(_js(r, c), approx)
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
        return result(None, note=f"cannot compute {chosen}: {exc}")


# ---------------------------------------------------------------- statistics


def _ks(ref: ColumnProfile, cur: ColumnProfile, result: Any) -> ColumnDrift:
    from scipy import stats

    a, b = ref.exact_values(), cur.exact_values()
    if a is not None and b is not None and a.size == ref.n and b.size == cur.n:
        return result(float(stats.ks_2samp(a, b).pvalue))
    d = float(np.max(np.abs(_cdf_diff(ref, cur)[1])))
    en = ref.n * cur.n / (ref.n + cur.n)
    p = float(stats.kstwo.sf(d, round(en))) if en >= 1 else 1.0
    return result(p, True, f"K-S statistic {d:.4f} from histograms (exact values not kept)")


def _wasserstein(ref: ColumnProfile, cur: ColumnProfile, result: Any) -> ColumnDrift:
    norm = max(ref.std or 0.0, 0.001)
    a, b = ref.exact_values(), cur.exact_values()
    if a is not None and b is not None and a.size == ref.n and b.size == cur.n:
        return result(_w1_exact(a, None, b, None) / norm)
    if ref.distinct is not None and cur.distinct is not None:
        ka = np.fromiter(ref.distinct.keys(), float)
        wa = np.fromiter(ref.distinct.values(), float)
        kb = np.fromiter(cur.distinct.keys(), float)
        wb = np.fromiter(cur.distinct.values(), float)
        return result(_w1_exact(ka, wa, kb, wb) / norm)
    xs, diff = _cdf_diff(ref, cur)
    return result(_integrate_abs(xs, diff) / norm, True)


def _w1_exact(a: np.ndarray, wa: np.ndarray | None, b: np.ndarray, wb: np.ndarray | None) -> float:
    """Exact Wasserstein-1 of two (weighted) samples: integral of |F_a - F_b|."""
    if wa is None:
        wa = np.ones(a.size)
    if wb is None:
        wb = np.ones(b.size)
    xs = np.concatenate((a, b))
    order = np.argsort(xs, kind="stable")
    xs = xs[order]
    w = np.concatenate((wa / wa.sum(), -wb / wb.sum()))[order]
    cdf_diff = np.cumsum(w)[:-1]
    return float(np.sum(np.abs(cdf_diff) * np.diff(xs)))


def _cdf_diff(ref: ColumnProfile, cur: ColumnProfile) -> tuple[np.ndarray, np.ndarray]:
    """Union knots and F_ref - F_cur there (piecewise-linear CDFs from histograms or exact values)."""
    xa, fa = _knots(ref)
    xb, fb = _knots(cur)
    xs = np.union1d(xa, xb)
    return xs, np.interp(xs, xa, fa, left=0.0, right=1.0) - np.interp(xs, xb, fb, left=0.0, right=1.0)


def _knots(col: ColumnProfile) -> tuple[np.ndarray, np.ndarray]:
    exact = col.exact_values()
    if exact is not None and exact.size == col.n:
        v = np.sort(exact)
        # step CDF as a steep ramp: knots just before and at each value
        f = np.arange(1, v.size + 1, dtype=np.float64) / v.size
        return v, f
    if col.hist is None:
        raise ValueError(f"column {col.name!r} has no histogram")
    return col.hist.knots(col.min, col.max)


def _integrate_abs(xs: np.ndarray, d: np.ndarray) -> float:
    """Integral of |d| for d linear between knots, exact where the sign changes."""
    dx = np.diff(xs)
    d0, d1 = d[:-1], d[1:]
    a0, a1 = np.abs(d0), np.abs(d1)
    same = (d0 * d1) >= 0
    denom = np.where(a0 + a1 > 0, a0 + a1, 1.0)
    seg = np.where(same, (a0 + a1) / 2.0, (d0 * d0 + d1 * d1) / (2.0 * denom))
    return float(np.sum(seg * dx))


def _counts(ref: ColumnProfile, cur: ColumnProfile) -> tuple[list[Any], np.ndarray, np.ndarray] | None:
    a, b = ref.value_counts(), cur.value_counts()
    if a is None or b is None:
        return None
    keys = list(dict.fromkeys([*a, *b]))
    return keys, np.array([a.get(k, 0) for k in keys], float), np.array([b.get(k, 0) for k in keys], float)


def _chisquare(r: np.ndarray, c: np.ndarray) -> float:
    from scipy import stats

    f_exp = r * (c.sum() / r.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(stats.chisquare(c, f_exp)[1])


def _ztest(keys: list[Any], r: np.ndarray, c: np.ndarray) -> float:
    from scipy.special import ndtr

    if len(keys) == 1:
        return 1.0
    first = min(range(len(keys)), key=lambda i: keys[i])
    n1, n2 = r.sum(), c.sum()
    p1 = (n1 - r[first]) / n1
    p2 = (n2 - c[first]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    denom = math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    if denom == 0:
        return float("nan")
    z = (p1 - p2) / denom
    return float(2 * (1 - ndtr(abs(z))))


def _shares(ref: ColumnProfile, cur: ColumnProfile, *, fill_zeroes: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """Value shares over the union of values, or over Sturges bins of the combined range (numeric, > 20 values)."""
    approx = False
    ref_unique = ref.n_unique
    if ref.kind == "numeric" and (ref_unique is None or ref_unique > 20 or cur.value_counts() is None):
        lo = min(ref.min, cur.min)  # type: ignore[type-var]
        hi = max(ref.max, cur.max)  # type: ignore[type-var]
        nbins = max(1, math.ceil(math.log2(ref.n + cur.n) + 1.0)) if hi > lo else 1
        edges = np.linspace(lo, hi, nbins + 1) if hi > lo else np.array([lo - 0.5, lo + 0.5])
        a, b = ref.exact_values(), cur.exact_values()
        if a is not None and b is not None and a.size == ref.n and b.size == cur.n:
            r = np.histogram(a, edges)[0] / a.size
            c = np.histogram(b, edges)[0] / b.size
        else:
            approx = True
            r, c = _binned(ref, edges), _binned(cur, edges)
    else:
        counts = _counts(ref, cur)
        if counts is None:
            raise ValueError("value counts unavailable")
        _, rc, cc = counts
        r, c = rc / rc.sum(), cc / cc.sum()
    if fill_zeroes:
        r, c = _fill(r), _fill(c)
    return r, c, approx


def _binned(col: ColumnProfile, edges: np.ndarray) -> np.ndarray:
    xa, fa = _knots(col)
    f = np.interp(edges, xa, fa, left=0.0, right=1.0)
    f[-1] = 1.0
    f[0] = 0.0
    return np.diff(f)


def _fill(p: np.ndarray) -> np.ndarray:
    p = p.astype(np.float64, copy=True)
    nz = p[p != 0]
    if nz.size == 0:
        return p
    m = nz.min()
    p[p == 0] = m / 10**6 if m <= 0.0001 else 0.0001
    return p


def _js(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance, natural log (as scipy.spatial.distance.jensenshannon)."""
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        kp = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kq = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return float(math.sqrt(max((kp + kq) / 2.0, 0.0)))
