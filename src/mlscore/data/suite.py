"""Great Expectations suites: infer one from a profile (written by GE itself), load a user's suite."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mlscore.errors import InputError
from mlscore.profile import DatasetProfile
from mlscore.profile.schema import ColumnSchema, infer_schema

RANGE_MOSTLY = 0.99
MEAN_STD_FRACTION = 0.5


def _floor3(x: float) -> float:
    return math.floor(x * 1000) / 1000


def _num(x: float, typ: str) -> float | int:
    if typ == "integer" and float(x).is_integer():
        return int(x)
    return float(x)


def expectations_from_schema(schema: list[ColumnSchema]) -> list[dict[str, Any]]:
    """Plain expectation configurations (type, kwargs, meta) capturing the reference's invariants."""
    exps: list[dict[str, Any]] = [
        {"type": "expect_table_columns_to_match_set",
         "kwargs": {"column_set": [c.name for c in schema], "exact_match": False}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    ]
    for c in schema:
        exps.append({"type": "expect_column_to_exist", "kwargs": {"column": c.name}})
        if c.null_rate == 0:
            exps.append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": c.name}})
        elif c.null_rate < 0.5:
            exps.append({
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": c.name, "mostly": _floor3(1 - 2 * c.null_rate)},
                "meta": {"notes": f"reference null rate {c.null_rate:.4f}"},
            })
        if c.type in ("integer", "float") and c.min is not None and c.max is not None:
            exps.append({
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": c.name, "min_value": _num(c.min, c.type), "max_value": _num(c.max, c.type),
                           "mostly": RANGE_MOSTLY},
                "meta": {"notes": "reference min and max"},
            })
            if c.mean is not None and c.std is not None and not c.has_infinite:  # GE's mean would be inf
                half = max(MEAN_STD_FRACTION * c.std, 1e-9 * max(1.0, abs(c.mean)))
                exps.append({
                    "type": "expect_column_mean_to_be_between",
                    "kwargs": {"column": c.name, "min_value": c.mean - half, "max_value": c.mean + half},
                    "meta": {"notes": f"reference mean +/- {MEAN_STD_FRACTION} reference std"},
                })
        elif c.type == "string" and c.allowed_values:
            exps.append({
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": c.name, "value_set": list(c.allowed_values), "mostly": RANGE_MOSTLY},
                "meta": {"notes": "values seen in the reference"},
            })
    return exps


def build_suite(profile: DatasetProfile, name: str) -> dict[str, Any]:
    """A Great Expectations 1.x suite (JSON dict), built and serialised by great_expectations itself."""
    exps = expectations_from_schema(infer_schema(profile))
    return ge_suite_json(name, exps, meta={"generated_by": "mlscore data schema", "source": profile.source})


def ge_suite_json(name: str, exps: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name, expectations=exps, meta=dict(meta or {}))
    if len(suite.expectations) != len(exps):
        raise InputError(f"suite {name!r}: great_expectations rejected {len(exps) - len(suite.expectations)} expectations")
    return suite.to_json_dict()


def load_suite(path: Path) -> list[dict[str, Any]]:
    """The expectations of a GE suite file (1.x JSON), as ``{"type", "kwargs", "meta"}`` dicts."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > 50 << 20:
        raise InputError(f"{path}: suite file is larger than 50 MB")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise InputError(f"{path}: not a Great Expectations suite (no \"expectations\" list)")
    out = []
    for i, e in enumerate(data["expectations"]):
        if not isinstance(e, dict):
            raise InputError(f"{path}: expectation #{i} is not an object")
        typ = e.get("type") or e.get("expectation_type")
        kwargs = e.get("kwargs")
        if not isinstance(typ, str) or not isinstance(kwargs, dict):
            raise InputError(f"{path}: expectation #{i} has no \"type\" and \"kwargs\"")
        out.append({"type": typ, "kwargs": kwargs, "meta": e.get("meta") or {}})
    return out
