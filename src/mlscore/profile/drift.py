"""Per-column drift between a reference and a current profile, with Evidently 0.7's default method choice."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
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
MIN_VALUES = 5  # fewer valid values than this on either side: no verdict ("unknown")
FDR = 0.05  # Benjamini-Hochberg false-discovery rate across the columns of one comparison
IMPORTANT_WEIGHT = 0.5  # share of the BH weight given to the important features (weighted BH)


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
    #: calibration across columns (``calibrate``): a two-sample significance test per column, its
    #: Benjamini-Hochberg adjusted value, and Evidently's own verdict (``drifted`` becomes the calibrated one)
    test: str | None = None
    p_value: float | None = None
    q_value: float | None = None
    evidently_drifted: bool | None = None
    important: bool = False

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
    if n_ref < MIN_VALUES or n_cur < MIN_VALUES:
        return result(None, note=f"too few values to test (reference {n_ref}, current {n_cur}; "
                                 f"at least {MIN_VALUES} on each side)")
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


# ---------------------------------------------------------------- calibration across columns


def significance(ref: ColumnProfile, cur: ColumnProfile) -> tuple[str, float | None]:
    """A two-sample test of "same distribution" for one column: (test name, p-value or None).

    Numeric columns with more than 5 values: the Kolmogorov-Smirnov test (exact values, or the CDFs of
    the frozen histograms) combined with Welch's t-test on the means (exact from the moments at any size)
    by the Cauchy combination (Liu and Xie 2020: valid under dependence, close to the smaller p-value when
    both agree). Categorical and few-valued columns: the chi-square test of homogeneity on the 2 x k table,
    which, unlike a goodness-of-fit test against the reference shares, allows for the reference's own
    sampling error.
    """
    from scipy import stats

    if ref.valid_count < MIN_VALUES or cur.valid_count < MIN_VALUES:
        return "none", None
    nu = joint_n_unique(ref, cur)
    if ref.kind == "numeric" and cur.kind == "numeric" and (nu is None or nu > 5):
        p_ks = _ks_p(ref, cur)
        p_t = _welch_p(ref, cur)
        ps = [p for p in (p_ks, p_t) if p is not None]
        if not ps:
            return "ks+welch", None
        return "ks+welch", _cauchy(ps)
    counts = _counts(ref, cur)
    if counts is None:
        return "chi2_homogeneity", None
    _, r, c = counts
    keep = (r + c) > 0
    table = np.vstack((r[keep], c[keep]))
    if table.shape[1] < 2:
        return "chi2_homogeneity", 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = float(stats.chi2_contingency(table, correction=False)[1])
    return "chi2_homogeneity", p if math.isfinite(p) else None


def _ks_p(ref: ColumnProfile, cur: ColumnProfile) -> float | None:
    from scipy import stats

    a, b = ref.exact_values(), cur.exact_values()
    try:
        if a is not None and b is not None and a.size == ref.n and b.size == cur.n:
            # scipy's exact distribution costs O(n m) in compiled code holding the GIL (0.6 s at 5000 x 10000,
            # which stalled the sidecar's event loop): the asymptotic one is accurate well before that size
            method = "auto" if a.size * b.size <= 250_000 else "asymp"
            return float(stats.ks_2samp(a, b, method=method).pvalue)
        d = float(np.max(np.abs(_cdf_diff(ref, cur)[1])))
    except (ValueError, FloatingPointError):
        return None
    en = ref.n * cur.n / (ref.n + cur.n)
    return float(stats.kstwo.sf(d, max(1, round(en))))


def _welch_p(ref: ColumnProfile, cur: ColumnProfile) -> float | None:
    from scipy import stats

    n1, n2 = ref.n, cur.n
    if n1 < 2 or n2 < 2:
        return None
    v1, v2 = ref.m2 / (n1 - 1), cur.m2 / (n2 - 1)
    se2 = v1 / n1 + v2 / n2
    diff = cur.mean - ref.mean
    if not (math.isfinite(se2) and math.isfinite(diff)):
        return None
    if se2 <= 0:
        return 1.0 if diff == 0 else 0.0
    t = diff / math.sqrt(se2)
    df = se2 * se2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    return float(2.0 * stats.t.sf(abs(t), df))


def _cauchy(ps: list[float]) -> float:
    """Cauchy combination of p-values with equal weights."""
    if any(p <= 0.0 for p in ps):
        return 0.0
    terms = []
    for p in ps:
        p = min(p, 1.0)
        # tan((0.5 - p) pi) overflows nowhere on (0, 1]; for tiny p use 1 / (p pi) (same to 1e-16 relative)
        terms.append(1.0 / (p * math.pi) if p < 1e-15 else math.tan((0.5 - p) * math.pi))
    t = sum(terms) / len(terms)
    if t > 1e15:
        return min(1.0, 1.0 / (t * math.pi))
    return min(1.0, max(0.0, 0.5 - math.atan(t) / math.pi))


def bh_adjust(p: list[float], weights: list[float] | None = None) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), optionally weighted (Genovese, Roeder and
    Wasserman 2006: weights averaging 1; a column with weight w is tested as if its p-value were p / w)."""
    m = len(p)
    if m == 0:
        return []
    w = weights or [1.0] * m
    adj = [min(1.0, pi / wi) if wi > 0 else 1.0 for pi, wi in zip(p, w)]
    order = sorted(range(m), key=lambda i: adj[i])
    out = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, adj[i] * m / rank)
        out[i] = min(1.0, running)
    return out


def calibrate(
    results: list[ColumnDrift],
    reference: DatasetProfile,
    current: DatasetProfile,
    *,
    fdr: float = FDR,
    important: Iterable[str] = (),
    important_weight: float = IMPORTANT_WEIGHT,
) -> list[ColumnDrift]:
    """The calibrated verdicts: Evidently's per-column numbers kept, ``drifted`` decided across columns.

    Each decidable column gets a two-sample significance test (``significance``); the p-values are adjusted
    with Benjamini-Hochberg at ``fdr`` over the columns compared (weighted so that ``important`` columns
    share ``important_weight`` of the weight: more power where a shift matters, the same error rate). A
    column drifts when its adjusted value is below ``fdr`` and, for the distance methods Evidently uses on
    large references, its distance also reaches the threshold (at large n a significant shift can be
    negligible). Under no drift at all, the chance that any column is flagged is at most ``fdr``.
    """
    imp = set(important)
    tested: list[int] = []
    pvals: list[float] = []
    tests: dict[int, tuple[str, float | None]] = {}
    for i, r in enumerate(results):
        if r.drifted is None or r.column not in reference.columns or r.column not in current.columns:
            continue
        try:
            name, p = significance(reference.columns[r.column], current.columns[r.column])
        except (ValueError, ZeroDivisionError, FloatingPointError):
            name, p = "none", None
        tests[i] = (name, p)
        if p is not None and math.isfinite(p):
            tested.append(i)
            pvals.append(p)
    m = len(tested)
    k = sum(1 for i in tested if results[i].column in imp)
    if 0 < k < m:
        w_imp = important_weight * m / k
        w_other = (1.0 - important_weight) * m / (m - k)
        weights = [w_imp if results[i].column in imp else w_other for i in tested]
    else:
        weights = None
    qvals = dict(zip(tested, bh_adjust(pvals, weights)))
    out = []
    for i, r in enumerate(results):
        name, p = tests.get(i, (None, None))
        q = qvals.get(i)
        if r.drifted is None:
            drifted: bool | None = None
        elif q is None:  # the significance test could not run: Evidently's verdict stands
            drifted = r.drifted
        else:
            gate = r.drifted if r.statistic_name == "distance" else True
            drifted = bool(q < fdr and gate)
        out.append(replace(r, drifted=drifted, test=name, p_value=p, q_value=q,
                           evidently_drifted=r.drifted, important=r.column in imp))
    return out
