"""Check a data frame against schema/income.schema.json and raise on any violation.

Supports the JSON Schema keywords the schema uses (type, enum, minimum, maximum, required,
additionalProperties) column-wise, plus the dataset-level ``x-dataset`` bounds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


class SchemaError(ValueError):
    """The data does not satisfy the schema; ``problems`` lists every violation found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} schema violation(s): " + "; ".join(problems[:10]))


def load_schema(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def check_frame(frame: pd.DataFrame, schema: dict) -> list[str]:
    """Return every violation of ``schema`` in ``frame`` (an empty list means valid)."""
    problems: list[str] = []
    props: dict = schema["properties"]
    missing = [c for c in schema.get("required", []) if c not in frame.columns]
    problems += [f"missing column {c!r}" for c in missing]
    if schema.get("additionalProperties") is False:
        problems += [f"unexpected column {c!r}" for c in frame.columns if c not in props]

    dataset = schema.get("x-dataset", {})
    if len(frame) < dataset.get("min_rows", 0):
        problems.append(f"{len(frame)} rows, expected at least {dataset['min_rows']}")

    for name, rule in props.items():
        if name not in frame.columns:
            continue
        col = frame[name]
        nulls = col.isna().mean()
        if nulls > dataset.get("max_null_fraction", 0.0):
            problems.append(f"{name}: {nulls:.1%} nulls")
        col = col.dropna()
        kind = rule.get("type")
        if kind == "integer" and not pd.api.types.is_integer_dtype(col):
            problems.append(f"{name}: expected integers, got {col.dtype}")
            continue
        if kind == "string" and not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
            problems.append(f"{name}: expected strings, got {col.dtype}")
            continue
        if "enum" in rule:
            bad = sorted(set(col) - set(rule["enum"]), key=str)
            if bad:
                problems.append(f"{name}: values not in {rule['enum']}: {bad[:5]}")
        if "minimum" in rule and (col < rule["minimum"]).any():
            problems.append(f"{name}: {(col < rule['minimum']).sum()} value(s) below {rule['minimum']}")
        if "maximum" in rule and (col > rule["maximum"]).any():
            problems.append(f"{name}: {(col > rule['maximum']).sum()} value(s) above {rule['maximum']}")
    return problems


def validate_frame(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """Return ``frame`` unchanged if it satisfies ``schema``; raise SchemaError otherwise."""
    problems = check_frame(frame, schema)
    if problems:
        raise SchemaError(problems)
    return frame
