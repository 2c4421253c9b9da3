"""Schema inference from a profile: type, null rate, range or allowed values per column."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from mlscore.profile.dataset import DatasetProfile

MAX_ALLOWED_VALUES = 50


@dataclass(frozen=True)
class ColumnSchema:
    name: str
    type: str  # "integer" | "float" | "string" | "boolean" | "datetime" | "null"
    null_rate: float
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    allowed_values: tuple[str, ...] | None = None
    n_unique: int | None = None
    has_infinite: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def infer_schema(profile: DatasetProfile, *, max_allowed_values: int = MAX_ALLOWED_VALUES) -> list[ColumnSchema]:
    out = []
    for name, col in profile.columns.items():
        null_rate = col.null_count / col.count if col.count else 0.0
        dtype = (col.dtype or "").lower()
        if col.kind is None:
            out.append(ColumnSchema(name, "null", null_rate))
        elif col.kind == "numeric":
            if "timestamp" in dtype or "date" in dtype or "datetime" in dtype:
                typ = "datetime"
            elif col.integral and ("int" in dtype or not dtype.startswith(("float", "double", "decimal"))):
                typ = "integer"
            else:
                typ = "float"
            out.append(
                ColumnSchema(
                    name, typ, null_rate, col.min, col.max, col.mean if col.n else None,
                    col.std if col.std is not None and math.isfinite(col.std) else None, None, col.n_unique,
                    col.inf_count > 0,
                )
            )
        else:
            typ = "boolean" if dtype in ("bool", "boolean") else "string"
            allowed = None
            if not col.truncated and 0 < len(col.categories) <= max_allowed_values:
                allowed = tuple(sorted(col.categories))
            out.append(ColumnSchema(name, typ, null_rate, allowed_values=allowed, n_unique=col.n_unique))
    return out
