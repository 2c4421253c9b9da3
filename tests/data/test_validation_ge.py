"""The native expectation engine gives Great Expectations' verdicts on the same data (GE runs here too)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("great_expectations")

from mlscore.data.suite import build_suite, load_suite
from mlscore.data.validation import NativeValidator, ge_validate, validate
from mlscore.profile import DatasetProfile


def _table() -> pa.Table:
    rng = np.random.default_rng(7)
    n = 2_000
    x = rng.normal(10, 2, n)
    x[:40] = np.nan
    x[40] = np.inf
    ints = rng.integers(0, 100, n)
    s = rng.choice(["a", "b", "c", "d"], n).astype(object)
    s[:25] = None
    uniq = np.arange(n, dtype=np.float64)
    dup = uniq.copy()
    dup[5] = dup[6]
    return pa.table({
        "x": pa.array(x),
        "ints": pa.array(ints),
        "ints_null": pa.array([None if i % 17 == 0 else int(v) for i, v in enumerate(ints)], pa.int64()),
        "s": pa.array(s.tolist(), pa.string()),
        "empty": pa.array([np.nan] * n),
        "uniq": pa.array(uniq),
        "dup": pa.array(dup),
        "const": pa.array(np.full(n, 3.0)),
    })


def _suite() -> list[dict]:
    e = []

    def add(t: str, **kw: object) -> None:
        e.append({"type": t, "kwargs": kw})

    add("expect_table_row_count_to_be_between", min_value=1, max_value=5000)
    add("expect_table_row_count_to_be_between", min_value=2001)
    add("expect_table_columns_to_match_set", column_set=["x", "ints", "ints_null", "s", "empty", "uniq", "dup", "const"])
    add("expect_table_columns_to_match_set", column_set=["x", "ints"], exact_match=False)
    add("expect_table_columns_to_match_set", column_set=["x", "ints"])
    add("expect_table_columns_to_match_set", column_set=["x", "nope"], exact_match=False)
    add("expect_column_to_exist", column="x")
    add("expect_column_to_exist", column="nope")
    for col in ("x", "ints", "ints_null", "s", "empty", "const"):
        add("expect_column_values_to_not_be_null", column=col)
        add("expect_column_values_to_not_be_null", column=col, mostly=0.95)
    add("expect_column_values_to_not_be_null", column="x", mostly=0.98)
    add("expect_column_values_to_not_be_null", column="x", mostly=0.979)
    add("expect_column_values_to_be_between", column="x", min_value=0, max_value=20)
    add("expect_column_values_to_be_between", column="x", min_value=0, max_value=20, mostly=0.99)
    add("expect_column_values_to_be_between", column="x", min_value=4, max_value=16, mostly=0.99)
    add("expect_column_values_to_be_between", column="ints", min_value=0, max_value=99)
    add("expect_column_values_to_be_between", column="ints", min_value=0, max_value=99, strict_max=True)
    add("expect_column_values_to_be_between", column="ints", min_value=0, strict_min=True, mostly=0.9)
    add("expect_column_values_to_be_between", column="ints_null", max_value=50, mostly=0.5)
    add("expect_column_values_to_be_between", column="empty", min_value=0, max_value=1)
    add("expect_column_values_to_be_between", column="const", min_value=3, max_value=3)
    add("expect_column_values_to_be_in_set", column="s", value_set=["a", "b", "c", "d"])
    add("expect_column_values_to_be_in_set", column="s", value_set=["a", "b", "c"])
    add("expect_column_values_to_be_in_set", column="s", value_set=["a", "b", "c"], mostly=0.7)
    add("expect_column_values_to_be_in_set", column="ints", value_set=list(range(50)), mostly=0.4)
    add("expect_column_values_to_not_be_in_set", column="s", value_set=["z"])
    add("expect_column_values_to_not_be_in_set", column="s", value_set=["a"])
    add("expect_column_values_to_be_unique", column="uniq")
    add("expect_column_values_to_be_unique", column="dup")
    add("expect_column_values_to_be_unique", column="dup", mostly=0.99)
    add("expect_column_mean_to_be_between", column="ints", min_value=40, max_value=60)
    add("expect_column_mean_to_be_between", column="x", min_value=9, max_value=11)
    add("expect_column_mean_to_be_between", column="empty", min_value=0, max_value=1)
    add("expect_column_mean_to_be_between", column="const", min_value=3, max_value=3)
    add("expect_column_mean_to_be_between", column="const", min_value=3, max_value=4, strict_min=True)
    add("expect_column_stdev_to_be_between", column="ints", min_value=20, max_value=40)
    add("expect_column_stdev_to_be_between", column="ints_null", min_value=0, max_value=10)
    add("expect_column_stdev_to_be_between", column="const", max_value=0)
    add("expect_column_min_to_be_between", column="ints", min_value=0, max_value=0)
    add("expect_column_max_to_be_between", column="ints_null", min_value=90)
    add("expect_column_sum_to_be_between", column="ints", min_value=0, max_value=10)
    add("expect_column_median_to_be_between", column="ints", min_value=40, max_value=60)
    add("expect_column_unique_value_count_to_be_between", column="s", min_value=4, max_value=4)
    add("expect_column_unique_value_count_to_be_between", column="ints", min_value=1, max_value=50)
    return e


def test_native_verdicts_identical_to_great_expectations() -> None:
    table = _table()
    exps = _suite()
    assert len(exps) >= 50
    native = validate(table, exps, engine="native")
    assert all(r.engine == "native" and r.exception is None for r in native), [
        (r.type, r.exception) for r in native if r.exception]
    ge = ge_validate(table, exps)
    assert len(native) == len(ge) == len(exps)
    mismatches = [(e["type"], e["kwargs"], n.success, g.success) for e, n, g in zip(exps, native, ge) if n.success != g.success]
    assert not mismatches
    assert any(not r.success for r in ge) and any(r.success for r in ge)  # the suite exercises both verdicts
    for n, g in zip(native, ge):
        if g.unexpected_count is not None:
            assert n.unexpected_count == g.unexpected_count, n.type
        if isinstance(g.observed_value, float) and n.observed_value is not None:
            assert n.observed_value == pytest.approx(g.observed_value, rel=1e-12), n.type


def test_unsupported_expectations_fall_back_to_great_expectations() -> None:
    table = _table()
    exps = [
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "s", "regex": "^[ab]$", "mostly": 0.4}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}},
    ]
    res = validate(table, exps, engine="auto")
    assert [r.engine for r in res] == ["great_expectations", "native"]
    assert res[0].success is True and res[1].success is False
    assert NativeValidator(table).validate(exps[0]["type"], exps[0]["kwargs"]) is None


def test_written_suite_is_real_ge_json_and_passes_on_its_own_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    table = _table().drop(["empty"])
    prof = DatasetProfile()
    prof.update_columns({c: table.column(c).to_numpy(zero_copy_only=False) for c in table.column_names})
    suite = build_suite(prof, "train")
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(suite))
    import great_expectations as gx

    assert gx.ExpectationSuite(**{k: suite[k] for k in ("name", "expectations", "meta")}).expectations
    exps = load_suite(path)
    ge = ge_validate(table, exps)
    native = validate(table, exps, engine="native")
    assert [r.success for r in ge] == [r.success for r in native]
    assert all(r.success for r in ge), [(r.type, r.kwargs.get("column")) for r in ge if not r.success]
