"""A dataset's mergeable profile: one ColumnProfile per column, versioned JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlscore.profile.column import (
    DEFAULT_BINS,
    DEFAULT_DISTINCT_CAP,
    DEFAULT_EXACT_CAP,
    DEFAULT_TOPK,
    MAX_BINS,
    ColumnProfile,
)

PROFILE_KIND = "mlscore-profile"
PROFILE_VERSION = 1


class DatasetProfile:
    """Profiles of every column of a dataset (or of a live window), updatable and mergeable."""

    def __init__(
        self,
        columns: Mapping[str, ColumnProfile] | None = None,
        *,
        source: str | None = None,
        nbins: int = DEFAULT_BINS,
        topk: int = DEFAULT_TOPK,
        distinct_cap: int = DEFAULT_DISTINCT_CAP,
        exact_cap: int = DEFAULT_EXACT_CAP,
    ) -> None:
        self.columns: dict[str, ColumnProfile] = dict(columns or {})
        self.row_count = 0
        self.source = source
        self.settings = {"nbins": nbins, "topk": topk, "distinct_cap": distinct_cap, "exact_cap": exact_cap}

    @classmethod
    def empty_like(cls, ref: DatasetProfile) -> DatasetProfile:
        """An empty profile whose columns use ``ref``'s kinds and frozen histogram bins."""
        out = cls(**ref.settings)
        out.columns = {name: ColumnProfile.empty_like(col) for name, col in ref.columns.items()}
        return out

    def column(self, name: str) -> ColumnProfile:
        """The named column's profile, created (with the rows seen so far as nulls) if new."""
        col = self.columns.get(name)
        if col is None:
            col = ColumnProfile(name, **self.settings)
            if self.row_count:
                col.add_nulls(self.row_count)
            self.columns[name] = col
        return col

    def update_columns(self, data: Mapping[str, Sequence[Any] | np.ndarray]) -> None:
        """Add one batch given column-major: ``{"a": [...], "b": array}``; all of one length."""
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of one batch have different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        for name, values in data.items():
            self.column(name).update(values)
        for name, col in self.columns.items():
            if name not in data:
                col.add_nulls(n)
        self.row_count += n

    def update_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add one batch given row-major (dicts); a missing key is a null."""
        if not rows:
            return
        names = list(self.columns)
        known = set(names)
        for row in rows:
            for key in row:
                if key not in known:
                    known.add(key)
                    names.append(key)
        self.update_columns({name: [row.get(name) for row in rows] for name in names})

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        """A new profile summarising both (columns missing on one side count as nulls there)."""
        out = DatasetProfile(**self.settings, source=self.source)
        out.row_count = self.row_count + other.row_count
        for name in list(self.columns) + [n for n in other.columns if n not in self.columns]:
            a = self.columns.get(name)
            b = other.columns.get(name)
            if a is None:
                a = ColumnProfile.empty_like(b) if b is not None else ColumnProfile(name)
                a.add_nulls(self.row_count)
            if b is None:
                b = ColumnProfile.empty_like(a)
                b.add_nulls(other.row_count)
            out.columns[name] = a.merge(b)
        return out

    # ---------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": PROFILE_KIND,
            "version": PROFILE_VERSION,
            "source": self.source,
            "row_count": self.row_count,
            "settings": self.settings,
            "columns": [col.to_dict() for col in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DatasetProfile:
        if not isinstance(d, Mapping) or d.get("kind") != PROFILE_KIND:
            raise ValueError(f"not an mlscore profile (expected \"kind\": {PROFILE_KIND!r})")
        if d.get("version") != PROFILE_VERSION:
            raise ValueError(f"unsupported profile version {d.get('version')!r} (this mlscore reads {PROFILE_VERSION})")
        settings = {k: int(v) for k, v in (d.get("settings") or {}).items()
                    if k in ("nbins", "topk", "distinct_cap", "exact_cap")}
        if not 1 <= settings.get("nbins", 1) <= MAX_BINS or any(v < 0 or v > 10**7 for v in settings.values()):
            raise ValueError(f"profile settings out of range: {settings}")
        out = cls(**settings)
        out.source = d.get("source")
        out.row_count = int(d["row_count"])
        for cd in d["columns"]:
            col = ColumnProfile.from_dict(cd)
            out.columns[col.name] = col
        return out

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, default=_json_default)

    @classmethod
    def from_json(cls, text: str) -> DatasetProfile:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> DatasetProfile:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def __repr__(self) -> str:
        return f"DatasetProfile(rows={self.row_count}, columns={len(self.columns)})"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
