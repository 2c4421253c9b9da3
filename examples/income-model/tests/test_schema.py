"""The schema check: the committed data satisfies it, and each kind of violation is caught."""

from __future__ import annotations

import pandas as pd
import pytest

from income.data import load_dataset
from income.schema import SchemaError, check_frame, load_schema, validate_frame


@pytest.fixture(scope="module")
def schema(params):
    return load_schema(params.schema_path)


def test_committed_training_data_satisfies_schema(params):
    frame = load_dataset(params)  # raises SchemaError on any violation
    assert len(frame) >= 200


def test_schema_covers_every_feature_and_the_label(schema, params):
    declared = set(schema["properties"])
    assert set(params.features.inputs) | set(params.features.protected) | {params.target} == declared


def test_no_protected_attribute_is_a_model_input(params, schema):
    protected = {name for name, rule in schema["properties"].items() if "Protected" in rule.get("description", "")}
    assert protected == set(params.features.protected)
    assert not protected & set(params.features.inputs)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("age", 130, "age: 1 value(s) above 90"),
        ("hours_per_week", 0, "hours_per_week: 1 value(s) below 1"),
        ("education", "kindergarten", "education: values not in"),
        ("income_over_50k", 2, "income_over_50k: values not in"),
    ],
)
def test_out_of_range_values_are_rejected(toy_frame, schema, column, value, message):
    schema = {**schema, "x-dataset": {"min_rows": 1}}
    bad = toy_frame.copy()
    bad.loc[0, column] = value
    with pytest.raises(SchemaError) as err:
        validate_frame(bad, schema)
    assert any(p.startswith(message) for p in err.value.problems), err.value.problems


def test_missing_and_unexpected_columns_are_reported(toy_frame, schema):
    schema = {**schema, "x-dataset": {"min_rows": 1}}
    problems = check_frame(toy_frame.drop(columns=["region"]).assign(zip_code="12345"), schema)
    assert "missing column 'region'" in problems
    assert "unexpected column 'zip_code'" in problems


def test_nulls_and_too_few_rows_are_reported(toy_frame, schema):
    bad = toy_frame.astype({"age": "float"})
    bad.loc[3, "age"] = None
    problems = check_frame(bad, schema)
    assert any(p.startswith("age: 8.3% nulls") for p in problems), problems
    assert any("rows, expected at least 200" in p for p in problems)


def test_wrong_dtype_is_reported(toy_frame, schema):
    problems = check_frame(toy_frame.astype({"hours_per_week": "float"}), {**schema, "x-dataset": {}})
    assert problems == ["hours_per_week: expected integers, got float64"]


def test_valid_frame_is_returned_unchanged(toy_frame, schema):
    schema = {**schema, "x-dataset": {"min_rows": 1}}
    assert validate_frame(toy_frame, schema) is toy_frame
    assert isinstance(toy_frame, pd.DataFrame)
