"""One column's mergeable profile: counts, moments, a fixed-bin histogram, distinct values, top categories."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from mlscore.profile.sketch import QuantileSketch

DEFAULT_BINS = 2048
DEFAULT_TOPK = 1000
DEFAULT_DISTINCT_CAP = 64
DEFAULT_EXACT_CAP = 10_000
MAX_BINS = 1 << 16
_CLIP = 1e300  # values beyond this are clipped for binning only (keeps (x - origin) / width finite)
_SCRATCH = threading.local()


def _scratch(n: int) -> np.ndarray:
    """A per-thread float64 work array of length ``n`` (avoids a fresh allocation per column batch)."""
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < n:
        buf = np.empty(max(n, 1 << 17), dtype=np.float64)
        _SCRATCH.buf = buf
    return buf[:n]


class Histogram:
    """Equal-width bins ``[origin + k*width, origin + (k+1)*width)`` for ``k`` in ``start .. start+nbins-1``.

    A free histogram widens itself by doubling the width (pairs of bins merge), so a reference of any
    range is profiled in one pass with bounded memory. A frozen histogram keeps the reference's bins;
    values outside go to under/overflow, where count and sum are kept (enough for exact tail terms of
    the Wasserstein distance).
    """

    __slots__ = ("counts", "frozen", "origin", "over_n", "over_sum", "start", "under_n", "under_sum", "width")

    def __init__(
        self,
        origin: float,
        width: float,
        start: int,
        counts: np.ndarray,
        *,
        frozen: bool = False,
        under_n: int = 0,
        under_sum: float = 0.0,
        over_n: int = 0,
        over_sum: float = 0.0,
    ) -> None:
        self.origin = float(origin)
        self.width = float(width)
        self.start = int(start)
        self.counts = counts
        self.frozen = frozen
        self.under_n = int(under_n)
        self.under_sum = float(under_sum)
        self.over_n = int(over_n)
        self.over_sum = float(over_sum)

    @classmethod
    def for_range(cls, lo: float, hi: float, nbins: int = DEFAULT_BINS) -> Histogram:
        """Bins covering ``[lo, hi]`` in the middle three quarters, leaving room to grow on both sides."""
        lo, hi = max(lo, -_CLIP), min(hi, _CLIP)
        if hi > lo:
            width = (hi - lo) / (nbins * 0.75)
        else:
            width = max(abs(lo), 1.0) / nbins
        return cls(lo, width, -(nbins // 8), np.zeros(nbins, dtype=np.int64))

    @property
    def nbins(self) -> int:
        return int(self.counts.size)

    @property
    def total(self) -> int:
        return int(self.counts.sum()) + self.under_n + self.over_n

    def edges(self) -> np.ndarray:
        return self.origin + (self.start + np.arange(self.nbins + 1, dtype=np.float64)) * self.width

    def empty_frozen(self) -> Histogram:
        return Histogram(self.origin, self.width, self.start, np.zeros_like(self.counts), frozen=True)

    def copy(self) -> Histogram:
        return Histogram(
            self.origin, self.width, self.start, self.counts.copy(), frozen=self.frozen,
            under_n=self.under_n, under_sum=self.under_sum, over_n=self.over_n, over_sum=self.over_sum,
        )

    def add(self, x: np.ndarray, lo: float | None = None, hi: float | None = None) -> None:
        """Add finite float64 values (``lo``/``hi``: their min and max, when already known)."""
        if x.size == 0:
            return
        if lo is None or hi is None:
            lo, hi = float(x.min()), float(x.max())
        xc = np.clip(x, -_CLIP, _CLIP) if (lo < -_CLIP or hi > _CLIP) else x
        if self.frozen:
            pos = _scratch(x.size)
            np.subtract(xc, self.origin, out=pos)
            np.divide(pos, self.width, out=pos)
            np.floor(pos, out=pos)
            pos -= self.start
            under = pos < 0
            over = pos >= self.nbins
            outside = under | over
            if outside.any():
                if under.any():
                    self.under_n += int(under.sum())
                    self.under_sum += float(x[under].sum())
                if over.any():
                    self.over_n += int(over.sum())
                    self.over_sum += float(x[over].sum())
                pos = pos[~outside]
            self.counts += np.bincount(pos.astype(np.int64), minlength=self.nbins)
            return
        kmin = math.floor((max(lo, -_CLIP) - self.origin) / self.width)
        kmax = math.floor((min(hi, _CLIP) - self.origin) / self.width)
        if kmin < self.start or kmax >= self.start + self.nbins:
            self._cover(kmin, kmax)
        tmp = _scratch(x.size)
        np.subtract(xc, self.origin, out=tmp)
        np.divide(tmp, self.width, out=tmp)
        np.floor(tmp, out=tmp)
        pos = tmp.astype(np.int64)
        pos -= self.start
        np.clip(pos, 0, self.nbins - 1, out=pos)
        self.counts += np.bincount(pos, minlength=self.nbins)

    def _coarsen(self, factor_log2: int) -> None:
        """Multiply the width by ``2**factor_log2``, merging bins."""
        while factor_log2 > 0:
            step = min(factor_log2, 60)
            factor = 1 << step
            absolute = self.start + np.arange(self.nbins, dtype=np.int64)
            new_start = self.start // factor
            pos = absolute // factor - new_start
            self.counts = np.bincount(pos, weights=self.counts, minlength=self.nbins)[: self.nbins].astype(
                np.int64
            )
            self.start = new_start
            self.width *= factor
            factor_log2 -= step

    def _cover(self, kmin: int, kmax: int) -> None:
        """Re-range (and coarsen if needed) so bins ``kmin..kmax`` at the current width fit."""
        nb = self.nbins
        nz = np.nonzero(self.counts)[0]
        data_lo = self.start + int(nz[0]) if nz.size else kmin
        data_hi = self.start + int(nz[-1]) if nz.size else kmax
        lo, hi = min(data_lo, kmin), max(data_hi, kmax)
        doublings = 0
        while hi - lo + 1 > nb:
            lo //= 2
            hi //= 2
            doublings += 1
        if doublings:
            self._coarsen(doublings)
            data_lo, data_hi = data_lo >> doublings, data_hi >> doublings
        new_start = lo - (nb - (hi - lo + 1)) // 2
        if new_start != self.start:
            new = np.zeros(nb, dtype=np.int64)
            if nz.size:
                src = self.counts[data_lo - self.start : data_hi - self.start + 1]
                new[data_lo - new_start : data_lo - new_start + src.size] = src
            self.counts = new
            self.start = new_start

    def compatible(self, other: Histogram) -> bool:
        if self.origin != other.origin or self.width <= 0 or other.width <= 0:
            return False
        ratio = math.log2(max(self.width, other.width) / min(self.width, other.width))
        return abs(ratio - round(ratio)) < 1e-9

    def merged(self, other: Histogram) -> Histogram:
        if self.frozen or other.frozen:
            if not (
                self.frozen and other.frozen and self.origin == other.origin
                and self.width == other.width and self.start == other.start and self.nbins == other.nbins
            ):
                raise ValueError("histograms have different reference bins")
            out = self.copy()
            out.counts = self.counts + other.counts
            out.under_n += other.under_n
            out.under_sum += other.under_sum
            out.over_n += other.over_n
            out.over_sum += other.over_sum
            return out
        if not self.compatible(other):
            raise ValueError("histograms have unrelated bins (profile both from one reference template)")
        a, b = self.copy(), other.copy()
        if a.width < b.width:
            a._coarsen(round(math.log2(b.width / a.width)))
        elif b.width < a.width:
            b._coarsen(round(math.log2(a.width / b.width)))
        nz = np.nonzero(b.counts)[0]
        if nz.size:
            a._cover(b.start + int(nz[0]), b.start + int(nz[-1]))
            absolute = b.start + nz
            a.counts += np.bincount(absolute - a.start, weights=b.counts[nz], minlength=a.nbins).astype(np.int64)
        return a

    def knots(self, vmin: float | None, vmax: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Piecewise-linear CDF (uniform mass within each bin) as knots ``(x, F)``.

        Under/overflow mass sits on a segment placed so its mean matches the exact sum (so the
        integral of the CDF, hence the Wasserstein distance, is exact in the tails).
        """
        n = self.total
        edges = self.edges()
        cum = np.concatenate(([0], np.cumsum(self.counts))).astype(np.float64) + self.under_n
        xs = [edges]
        fs = [cum]
        nz = np.nonzero(self.counts)[0]
        if nz.size:  # trim empty bins at both ends so the knots hug the data
            lo_i, hi_i = int(nz[0]), int(nz[-1]) + 1
            xs, fs = [edges[lo_i : hi_i + 1]], [cum[lo_i : hi_i + 1]]
            if vmin is not None and self.under_n == 0 and vmin > xs[0][0]:
                xs[0] = xs[0].copy()
                xs[0][0] = min(vmin, xs[0][1])
            if vmax is not None and self.over_n == 0 and vmax < xs[0][-1]:
                xs[0] = xs[0].copy()
                xs[0][-1] = max(vmax, xs[0][-2])
        else:
            xs, fs = [edges[:1], edges[-1:]], [cum[:1], cum[-1:]]
        x = np.concatenate(xs)
        f = np.concatenate(fs)
        if self.under_n:
            e0 = x[0]
            a = min(2.0 * self.under_sum / self.under_n - e0, e0)
            x = np.concatenate(([a], x))
            f = np.concatenate(([0.0], f))
        if self.over_n:
            e1 = x[-1]
            b = max(2.0 * self.over_sum / self.over_n - e1, e1)
            x = np.concatenate((x, [b]))
            f = np.concatenate((f, [float(n)]))
        if n:
            f = f / n
        return x, f

    def to_dict(self) -> dict[str, Any]:
        nz = np.nonzero(self.counts)[0]
        offset = int(nz[0]) if nz.size else 0
        end = int(nz[-1]) + 1 if nz.size else 0
        return {
            "origin": self.origin,
            "width": self.width,
            "start": self.start,
            "nbins": self.nbins,
            "frozen": self.frozen,
            "offset": offset,
            "counts": self.counts[offset:end].tolist(),
            "under": [self.under_n, self.under_sum],
            "over": [self.over_n, self.over_sum],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Histogram:
        nbins = int(d["nbins"])
        if not 1 <= nbins <= MAX_BINS:
            raise ValueError(f"histogram has {nbins} bins (at most {MAX_BINS})")
        counts = np.zeros(nbins, dtype=np.int64)
        raw = np.asarray(d["counts"], dtype=np.int64)
        off = int(d["offset"])
        if off < 0 or off + raw.size > nbins or (raw < 0).any():
            raise ValueError("histogram counts do not fit its bins")
        counts[off : off + raw.size] = raw
        width = float(d["width"])
        if not (width > 0 and math.isfinite(width)):
            raise ValueError("histogram width must be positive")
        return cls(
            float(d["origin"]), width, int(d["start"]), counts, frozen=bool(d["frozen"]),
            under_n=int(d["under"][0]), under_sum=float(d["under"][1]),
            over_n=int(d["over"][0]), over_sum=float(d["over"][1]),
        )


def _cat_key(value: Any) -> str | None:
    """Category key of one value; None for nulls (None, NaN)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, np.floating):
        return _cat_key(float(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def infer_kind(values: Sequence[Any] | np.ndarray) -> str | None:
    """"numeric" or "categorical" from a batch; None when every value is null."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiuM":
        return "numeric"
    if isinstance(values, np.ndarray) and values.dtype.kind in "bUS":
        return "categorical"
    seen = False
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        seen = True
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            return "categorical"
    return "numeric" if seen else None


class ColumnProfile:
    """A mergeable summary of one column; see the package docstring for the contract."""

    def __init__(
        self,
        name: str,
        kind: str | None = None,
        *,
        nbins: int = DEFAULT_BINS,
        topk: int = DEFAULT_TOPK,
        distinct_cap: int = DEFAULT_DISTINCT_CAP,
        exact_cap: int = DEFAULT_EXACT_CAP,
    ) -> None:
        if kind not in (None, "numeric", "categorical"):
            raise ValueError(f"column {name!r}: unknown kind {kind!r}")
        self.name = name
        self.kind = kind
        self.dtype: str | None = None
        self.nbins, self.topk, self.distinct_cap, self.exact_cap = nbins, topk, distinct_cap, exact_cap
        self.count = 0
        self.null_count = 0
        self.inf_count = 0
        self.type_errors = 0
        # numeric (finite values only)
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min: float | None = None
        self.max: float | None = None
        self.integral = True
        self.hist: Histogram | None = None
        self.sketch: QuantileSketch | None = None
        self.distinct: dict[float, int] | None = {}
        self.exact: list[np.ndarray] | None = []
        # categorical
        self.categories: dict[str, int] = {}
        self.other_count = 0
        self.truncated = False

    # ---------------------------------------------------------------- construction

    @classmethod
    def empty_like(cls, ref: ColumnProfile) -> ColumnProfile:
        """An empty profile with ``ref``'s kind, settings and frozen histogram bins."""
        out = cls(
            ref.name, ref.kind, nbins=ref.nbins, topk=ref.topk, distinct_cap=ref.distinct_cap,
            exact_cap=ref.exact_cap,
        )
        out.dtype = ref.dtype
        if ref.hist is not None:
            out.hist = ref.hist.empty_frozen()
        return out

    # ---------------------------------------------------------------- properties

    @property
    def valid_count(self) -> int:
        """Values that take part in statistics: finite numbers, or non-null categories."""
        if self.kind == "categorical":
            return sum(self.categories.values()) + self.other_count
        return self.n

    @property
    def variance(self) -> float | None:
        return self.m2 / self.n if self.n else None

    @property
    def std(self) -> float | None:
        v = self.variance
        return math.sqrt(max(v, 0.0)) if v is not None else None

    @property
    def n_unique(self) -> int | None:
        """Distinct non-null values, or None when above the tracked cap."""
        if self.kind == "categorical":
            return None if self.truncated else len(self.categories)
        if self.kind == "numeric":
            return None if self.distinct is None else len(self.distinct)
        return 0

    def exact_values(self) -> np.ndarray | None:
        if self.exact is None:
            return None
        return np.concatenate(self.exact) if self.exact else np.empty(0, dtype=np.float64)

    def value_counts(self) -> dict[Any, int] | None:
        """Exact counts per value (categories, or numbers while few distinct), else None."""
        if self.kind == "categorical":
            if self.truncated:
                out: dict[Any, int] = dict(self.categories)
                if self.other_count:
                    out["\x00other"] = self.other_count
                return out
            return dict(self.categories)
        if self.distinct is None:
            return None
        return dict(self.distinct)

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1): exact while exact values are kept, else from the histogram."""
        if self.kind != "numeric" or self.n == 0:
            return None
        exact = self.exact_values()
        if exact is not None and exact.size == self.n:
            return float(np.quantile(exact, q))
        if self.sketch is not None and self.sketch.count == self.n:
            value = self.sketch.quantile(q)
            if value is not None and self.min is not None and self.max is not None:
                return min(max(value, self.min), self.max)
        if self.hist is None:
            return None
        x, f = self.hist.knots(self.min, self.max)
        value = float(np.interp(q, f, x))
        return min(max(value, self.min if self.min is not None else value), self.max if self.max is not None else value)

    # ---------------------------------------------------------------- updates

    def add_nulls(self, n: int) -> None:
        self.count += n
        self.null_count += n

    def update(self, values: Sequence[Any] | np.ndarray) -> None:
        """Add one batch of this column's values (None/NaN are nulls)."""
        if self.kind is None:
            self.kind = infer_kind(values)
            if self.kind is None:
                self.add_nulls(len(values))
                return
        if self.dtype is None:
            self.dtype = _dtype_name(values)
        if self.kind == "numeric":
            self._update_numeric(values)
        else:
            self._update_categorical(values)

    def _update_numeric(self, values: Sequence[Any] | np.ndarray) -> None:
        x, errors = _to_float(values)
        self.count += x.size
        self.type_errors += errors
        finite = np.isfinite(x)
        if finite.all():
            f = x
        else:
            nan = int(np.isnan(x).sum())
            self.null_count += nan - errors
            self.inf_count += int(x.size - nan - int(finite.sum()))
            f = x[finite]
        if f.size == 0:
            return
        self._add_finite(f)

    def _add_finite(self, f: np.ndarray) -> None:
        bn = int(f.size)
        bmin, bmax = float(f.min()), float(f.max())
        bmean = float(f.mean())
        d = _scratch(bn)
        np.subtract(f, bmean, out=d)
        bm2 = float(np.dot(d, d))
        n_new = self.n + bn
        delta = bmean - self.mean
        self.mean += delta * bn / n_new
        self.m2 += bm2 + delta * delta * self.n * bn / n_new
        self.min = bmin if self.min is None else min(self.min, bmin)
        self.max = bmax if self.max is None else max(self.max, bmax)
        if self.integral:
            head = f[:64]
            self.integral = bool(np.all(np.floor(head) == head)) and bool(np.all(np.floor(f) == f))
        if self.distinct is not None:
            if bn > 2000 and np.unique(f[:2000]).size > self.distinct_cap:
                self.distinct = None
            else:
                u, c = np.unique(f, return_counts=True)
                if u.size > self.distinct_cap:
                    self.distinct = None
                else:
                    for value, cnt in zip(u.tolist(), c.tolist()):
                        self.distinct[value] = self.distinct.get(value, 0) + cnt
                    if len(self.distinct) > self.distinct_cap:
                        self.distinct = None
        if self.exact is not None:
            if self.n + bn > self.exact_cap:
                self.exact = None
            else:
                self.exact.append(np.array(f, dtype=np.float64, copy=True))
        if self.hist is None:
            self.hist = Histogram.for_range(bmin, bmax, self.nbins)
            if _skewed(f, bmin, bmax):  # equal-width bins would give poor quantiles: keep a sketch too
                self.sketch = QuantileSketch()
        self.hist.add(f, bmin, bmax)
        if self.sketch is not None:
            self.sketch.add(f)
        self.n = n_new

    def _update_categorical(self, values: Sequence[Any] | np.ndarray) -> None:
        if isinstance(values, np.ndarray) and values.dtype.kind in "US":
            counts: Counter[Any] = Counter(values.tolist())
        else:
            counts = Counter(values if not isinstance(values, np.ndarray) else values.tolist())
        nulls = 0
        keys: list[str] = []
        cnts: list[int] = []
        for value, cnt in counts.items():
            if isinstance(value, (dict, list, tuple, set)):
                self.type_errors += cnt
                self.count += cnt
                continue
            key = _cat_key(value)
            if key is None:
                nulls += cnt
            else:
                keys.append(key)
                cnts.append(cnt)
        self.update_counts(keys, cnts, nulls)

    def update_counts(self, keys: Iterable[Any], counts: Iterable[int], nulls: int = 0) -> None:
        """Add precomputed category counts (the fast path for columnar readers)."""
        if self.kind is None:
            self.kind = "categorical"
        if self.kind != "categorical":
            raise ValueError(f"column {self.name!r} is numeric; update_counts is for categorical columns")
        total = 0
        cats = self.categories
        for key, cnt in zip(keys, counts):
            k = key if isinstance(key, str) else _cat_key(key)
            if k is None:
                nulls += int(cnt)
                continue
            cats[k] = cats.get(k, 0) + int(cnt)
            total += int(cnt)
        self.count += total + nulls
        self.null_count += nulls
        self._prune()

    def _prune(self) -> None:
        if len(self.categories) > 2 * self.topk:
            ranked = sorted(self.categories.items(), key=lambda kv: (-kv[1], kv[0]))
            keep = dict(ranked[: self.topk])
            self.other_count += sum(c for _, c in ranked[self.topk :])
            self.categories = keep
            self.truncated = True

    # ---------------------------------------------------------------- merge

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """A new profile summarising both inputs."""
        kind = self.kind or other.kind
        if self.kind and other.kind and self.kind != other.kind:
            raise ValueError(f"column {self.name!r}: cannot merge {self.kind} with {other.kind}")
        out = ColumnProfile(
            self.name, kind, nbins=self.nbins, topk=self.topk, distinct_cap=self.distinct_cap,
            exact_cap=self.exact_cap,
        )
        out.dtype = self.dtype or other.dtype
        out.count = self.count + other.count
        out.null_count = self.null_count + other.null_count
        out.inf_count = self.inf_count + other.inf_count
        out.type_errors = self.type_errors + other.type_errors
        # numeric
        out.n = self.n + other.n
        if out.n:
            delta = other.mean - self.mean
            out.mean = self.mean + delta * other.n / out.n
            out.m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / out.n
        mins = [v for v in (self.min, other.min) if v is not None]
        maxs = [v for v in (self.max, other.max) if v is not None]
        out.min = min(mins) if mins else None
        out.max = max(maxs) if maxs else None
        out.integral = self.integral and other.integral
        if self.sketch is not None and other.sketch is not None:
            out.sketch = self.sketch.merge(other.sketch)
        elif self.n == 0 or other.n == 0:
            src = self.sketch or other.sketch
            out.sketch = src.merge(QuantileSketch(src.alpha)) if src is not None else None
        if self.hist is None or other.hist is None:
            h = self.hist or other.hist
            out.hist = h.copy() if h is not None else None
        else:
            out.hist = self.hist.merged(other.hist)
        if self.distinct is None or other.distinct is None:
            out.distinct = None
        else:
            merged = dict(self.distinct)
            for k, v in other.distinct.items():
                merged[k] = merged.get(k, 0) + v
            out.distinct = merged if len(merged) <= out.distinct_cap else None
        if self.exact is None or other.exact is None or out.n > out.exact_cap:
            out.exact = None
        else:
            out.exact = [a.copy() for a in self.exact + other.exact]
        # categorical
        cats = dict(self.categories)
        for k, v in other.categories.items():
            cats[k] = cats.get(k, 0) + v
        out.categories = cats
        out.other_count = self.other_count + other.other_count
        out.truncated = self.truncated or other.truncated
        out._prune()
        return out

    # ---------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "count": self.count,
            "null_count": self.null_count,
            "inf_count": self.inf_count,
            "type_errors": self.type_errors,
            "settings": {
                "nbins": self.nbins, "topk": self.topk, "distinct_cap": self.distinct_cap,
                "exact_cap": self.exact_cap,
            },
        }
        if self.kind == "numeric":
            exact = self.exact_values()
            d.update(
                n=self.n, mean=self.mean, m2=self.m2, min=self.min, max=self.max, integral=self.integral,
                hist=self.hist.to_dict() if self.hist is not None else None,
                sketch=self.sketch.to_dict() if self.sketch is not None else None,
                distinct=(
                    None if self.distinct is None
                    else "from_exact" if exact is not None and exact.size == self.n
                    else [[k, v] for k, v in sorted(self.distinct.items())]
                ),
                exact=None if exact is None else exact.tolist(),
            )
        elif self.kind == "categorical":
            d.update(categories=self.categories, other_count=self.other_count, truncated=self.truncated)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnProfile:
        s = d.get("settings") or {}
        if not 1 <= int(s.get("nbins", DEFAULT_BINS)) <= MAX_BINS or int(s.get("topk", DEFAULT_TOPK)) > 10**6:
            raise ValueError(f"column {d.get('name')!r}: profile settings out of range")
        col = cls(
            str(d["name"]), d.get("kind"),
            nbins=int(s.get("nbins", DEFAULT_BINS)), topk=int(s.get("topk", DEFAULT_TOPK)),
            distinct_cap=int(s.get("distinct_cap", DEFAULT_DISTINCT_CAP)),
            exact_cap=int(s.get("exact_cap", DEFAULT_EXACT_CAP)),
        )
        col.dtype = d.get("dtype")
        col.count = int(d["count"])
        col.null_count = int(d["null_count"])
        col.inf_count = int(d.get("inf_count", 0))
        col.type_errors = int(d.get("type_errors", 0))
        if col.kind == "numeric":
            col.n = int(d["n"])
            col.mean = float(d["mean"])
            col.m2 = float(d["m2"])
            col.min = None if d.get("min") is None else float(d["min"])
            col.max = None if d.get("max") is None else float(d["max"])
            col.integral = bool(d.get("integral", False))
            col.hist = Histogram.from_dict(d["hist"]) if d.get("hist") else None
            if d.get("sketch"):
                col.sketch = QuantileSketch.from_dict(d["sketch"])
            ex = d.get("exact")
            col.exact = None if ex is None else ([np.asarray(ex, dtype=np.float64)] if ex else [])
            dist = d.get("distinct")
            if dist == "from_exact":
                if ex is None:
                    raise ValueError(f"column {col.name!r}: distinct values refer to missing exact values")
                u, c = np.unique(np.asarray(ex, dtype=np.float64), return_counts=True)
                col.distinct = dict(zip(u.tolist(), c.tolist()))
            else:
                col.distinct = None if dist is None else {float(k): int(v) for k, v in dist}
        elif col.kind == "categorical":
            col.categories = {str(k): int(v) for k, v in (d.get("categories") or {}).items()}
            col.other_count = int(d.get("other_count", 0))
            col.truncated = bool(d.get("truncated", False))
        return col

    def __repr__(self) -> str:
        return f"ColumnProfile({self.name!r}, kind={self.kind!r}, count={self.count})"


def _skewed(f: np.ndarray, lo: float, hi: float) -> bool:
    """Heavy tails or outliers: the range is much wider than the interquartile range."""
    probe = f[:4096]
    if probe.size < 16:
        return False
    q1, q3 = np.quantile(probe, [0.25, 0.75])
    iqr = float(q3 - q1)
    return iqr <= 0 or (hi - lo) > 30.0 * iqr


def _dtype_name(values: Sequence[Any] | np.ndarray) -> str:
    if isinstance(values, np.ndarray):
        return str(values.dtype)
    for v in values:
        if v is not None:
            return type(v).__name__
    return "null"


def _to_float(values: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, int]:
    """Values as float64 (None -> NaN) and the number that were not numbers (also NaN)."""
    if isinstance(values, np.ndarray):
        k = values.dtype.kind
        if k == "f":
            return values.astype(np.float64, copy=False), 0
        if k in "iub":
            return values.astype(np.float64), 0
        if k == "M":
            nat = np.isnat(values)
            out = values.astype("datetime64[ns]").astype(np.int64).astype(np.float64) / 1e9
            out[nat] = np.nan
            return out, 0
        values = values.tolist()
    try:
        out = np.array(values, dtype=np.float64)
        if out.ndim == 1:
            return out, 0
    except (TypeError, ValueError, OverflowError):
        pass
    out = np.empty(len(values), dtype=np.float64)
    errors = 0
    for i, v in enumerate(values):
        if v is None:
            out[i] = np.nan
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
            try:
                out[i] = float(v)
            except OverflowError:
                out[i] = math.copysign(math.inf, v)
        else:
            out[i] = np.nan
            errors += 1
    return out, errors
