"""A mergeable quantile sketch with relative accuracy (the DDSketch idea: logarithmic buckets)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

TINY = 1e-300  # |x| at or below this counts in the zero bucket


class QuantileSketch:
    """Quantiles within relative error ``alpha`` of a true value, for any range and skew.

    Values go to buckets ``ceil(log_gamma |x|)`` kept separately for positive and negative values
    (``gamma = (1 + alpha) / (1 - alpha)``); merging adds bucket counts. When there are more than
    ``max_buckets`` buckets on one side, the buckets nearest zero merge (only the smallest
    magnitudes lose accuracy).
    """

    __slots__ = ("_lg", "alpha", "gamma", "max_buckets", "neg", "pos", "zero")

    def __init__(self, alpha: float = 0.01, max_buckets: int = 2048) -> None:
        if not 0 < alpha < 1:
            raise ValueError("alpha must be in (0, 1)")
        self.alpha = alpha
        self.gamma = (1 + alpha) / (1 - alpha)
        self._lg = math.log(self.gamma)
        self.pos: dict[int, int] = {}
        self.neg: dict[int, int] = {}
        self.zero = 0
        self.max_buckets = max_buckets

    @property
    def count(self) -> int:
        return sum(self.pos.values()) + sum(self.neg.values()) + self.zero

    def add(self, x: np.ndarray) -> None:
        """Add finite float64 values."""
        if x.size == 0:
            return
        if float(x.min()) > TINY:  # the common case: all positive
            self._add_side(self.pos, x)
            return
        ax = np.abs(x)
        big = ax > TINY
        self.zero += int(x.size - int(big.sum()))
        for side, mask in ((self.pos, big & (x > 0)), (self.neg, big & (x < 0))):
            v = ax[mask]
            if v.size:
                self._add_side(side, v)

    def _add_side(self, side: dict[int, int], v: np.ndarray) -> None:
        idx = np.ceil(np.log(v) * (1.0 / self._lg)).astype(np.int64)
        lo = int(idx.min())
        counts = np.bincount(idx - lo)
        nz = np.flatnonzero(counts)
        for off, cnt in zip(nz.tolist(), counts[nz].tolist()):
            side[lo + off] = side.get(lo + off, 0) + cnt
        self._collapse(side)

    def _collapse(self, side: dict[int, int]) -> None:
        if len(side) <= self.max_buckets:
            return
        keys = sorted(side)
        cut = keys[len(keys) - self.max_buckets]
        folded = sum(side.pop(k) for k in keys if k < cut)
        side[cut] = side.get(cut, 0) + folded

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        if abs(self.alpha - other.alpha) > 1e-15:
            raise ValueError("sketches have different accuracy")
        out = QuantileSketch(self.alpha, max(self.max_buckets, other.max_buckets))
        for dst, a, b in ((out.pos, self.pos, other.pos), (out.neg, self.neg, other.neg)):
            dst.update(a)
            for k, v in b.items():
                dst[k] = dst.get(k, 0) + v
            out._collapse(dst)
        out.zero = self.zero + other.zero
        return out

    def _value(self, key: int) -> float:
        return 2.0 * self.gamma**key / (self.gamma + 1.0)

    def quantile(self, q: float) -> float | None:
        n = self.count
        if n == 0:
            return None
        rank = min(max(q, 0.0), 1.0) * (n - 1)
        seen = 0
        for key in sorted(self.neg, reverse=True):
            seen += self.neg[key]
            if seen > rank:
                return -self._value(key)
        seen += self.zero
        if seen > rank:
            return 0.0
        for key in sorted(self.pos):
            seen += self.pos[key]
            if seen > rank:
                return self._value(key)
        return self._value(max(self.pos)) if self.pos else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "max_buckets": self.max_buckets,
            "zero": self.zero,
            "pos": [[k, v] for k, v in sorted(self.pos.items())],
            "neg": [[k, v] for k, v in sorted(self.neg.items())],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QuantileSketch:
        s = cls(float(d["alpha"]), int(d.get("max_buckets", 2048)))
        s.zero = int(d["zero"])
        s.pos = {int(k): int(v) for k, v in d["pos"]}
        s.neg = {int(k): int(v) for k, v in d["neg"]}
        if any(v < 0 for v in s.pos.values()) or any(v < 0 for v in s.neg.values()) or s.zero < 0:
            raise ValueError("negative counts in quantile sketch")
        return s
