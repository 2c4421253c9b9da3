"""Validate data against a Great Expectations suite: natively for common types, with GE for the rest.

The native path reproduces GE 1.x's pandas semantics (nulls are None/NaN, map expectations ignore
nulls except the null ones, ``mostly`` compares the success ratio, aggregates over NaN fail); the
tests run both on the same data and require identical verdicts.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlscore.data.readers import arrow_bools, arrow_floats
from mlscore.errors import InputError
from mlscore.models import Check, Diagnostic

if TYPE_CHECKING:
    import pyarrow as pa

    from mlscore.data.check import CheckOptions
    from mlscore.profile import DatasetProfile

PARTIAL = 20


@dataclass
class ExpectationResult:
    type: str
    kwargs: dict[str, Any]
    success: bool
    engine: str  # "native" | "great_expectations"
    observed_value: Any = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    partial_unexpected_list: list[Any] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    exception: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = _jsonable(dict(self.__dict__))
        d = {k: v for k, v in d.items() if not (v is None or (isinstance(v, (list, dict)) and not v))}
        d["success"] = self.success
        return d


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else str(f)
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    return str(v)


# ---------------------------------------------------------------- native engine

_MAP = {
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_unique",
}
_AGG = {
    "expect_column_mean_to_be_between": "mean",
    "expect_column_stdev_to_be_between": "std",
    "expect_column_min_to_be_between": "min",
    "expect_column_max_to_be_between": "max",
    "expect_column_sum_to_be_between": "sum",
    "expect_column_median_to_be_between": "median",
    "expect_column_unique_value_count_to_be_between": "nunique",
}
_TABLE = {"expect_table_row_count_to_be_between", "expect_table_columns_to_match_set", "expect_column_to_exist"}
NATIVE_TYPES = _MAP | set(_AGG) | _TABLE
_ALLOWED_KW = {"column", "mostly", "min_value", "max_value", "strict_min", "strict_max", "value_set",
               "column_set", "exact_match", "result_format", "catch_exceptions", "meta", "notes",
               "description", "severity", "id"}


class _Unsupported(Exception):
    pass


def between_bounds(kw: dict[str, Any]) -> tuple[Any, Any]:
    """(min_value, max_value) of a between expectation, as the native engines (local and Spark) decide it:
    numbers or None, at least one given, min not above max; anything else is left to great_expectations."""
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if (lo is not None and not _is_number(lo)) or (hi is not None and not _is_number(hi)):
        raise _Unsupported("non-numeric bounds")
    if lo is None and hi is None or (lo is not None and hi is not None and lo > hi):
        raise _Unsupported("invalid bounds")
    return lo, hi


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class NativeValidator:
    """Evaluates supported expectations on an Arrow table; ``validate`` returns None for the others."""

    def __init__(self, table: pa.Table, numeric: set[str] | None = None) -> None:
        self.table = table
        self.names = list(table.column_names)
        self.numeric = numeric or set()  # columns numeric in the reference
        self.text: dict[str, np.ndarray] = {}  # per such column read as text: values that are not numbers
        self._cache: dict[str, tuple[str, Any, np.ndarray]] = {}

    def _col(self, name: str) -> tuple[str, Any, np.ndarray]:
        """(kind, values, null mask): kind "num" with float64 values, or "str" with an object array."""
        if name in self._cache:
            return self._cache[name]
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = self.table.column(name)
        t = arr.type
        if pa.types.is_dictionary(t):
            arr = arr.cast(t.value_type)
            t = arr.type
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            values = arrow_floats(arr)
            nulls = np.isnan(values)
            out = ("num", values, nulls)
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            nulls = arrow_bools(pc.is_null(arr))
            out = ("str", arr, nulls)
            if name in self.numeric:  # numeric in the reference: numbers, and text that is not one
                values, text = _parse_numbers(arr)
                out = ("num", values, nulls)
                self.text[name] = text
        elif pa.types.is_null(t):
            out = ("null", None, np.ones(len(arr), dtype=bool))
        else:
            raise _Unsupported(f"column type {t}")
        self._cache[name] = out
        return out

    def validate(self, typ: str, kwargs: dict[str, Any]) -> ExpectationResult | None:
        if typ not in NATIVE_TYPES or set(kwargs) - _ALLOWED_KW:
            return None
        if any(isinstance(v, dict) for k, v in kwargs.items() if k not in ("meta", "result_format")):
            return None  # suite parameters ($PARAMETER) are GE's business
        try:
            return self._validate(typ, kwargs)
        except _Unsupported:
            return None

    def _validate(self, typ: str, kw: dict[str, Any]) -> ExpectationResult:
        res = ExpectationResult(type=typ, kwargs=kw, success=False, engine="native")
        if typ == "expect_table_row_count_to_be_between":
            n = self.table.num_rows
            res.observed_value = n
            res.success = _between(n, kw)
            return res
        if typ == "expect_table_columns_to_match_set":
            expected = kw.get("column_set")
            if expected is None or not isinstance(expected, list):
                raise _Unsupported("column_set")
            exact = kw.get("exact_match", True)
            exact = True if exact is None else bool(exact)
            actual = set(self.names)
            missing = sorted(set(expected) - actual)
            unexpected = sorted(actual - set(expected))
            res.observed_value = sorted(actual)
            res.missing = missing
            res.partial_unexpected_list = unexpected
            res.success = not missing and (not unexpected or not exact)
            return res
        column = kw.get("column")
        if not isinstance(column, str):
            raise _Unsupported("column")
        if typ == "expect_column_to_exist":
            res.success = column in self.names
            return res
        if column not in self.names:
            res.exception = f"column {column!r} not found"
            return res
        kind, values, nulls = self._col(column)
        total = len(nulls)
        if typ in _MAP:
            return self._map(res, typ, kw, kind, values, nulls, total)
        return self._agg(res, typ, kw, kind, values, nulls)

    def _map(
        self, res: ExpectationResult, typ: str, kw: dict[str, Any], kind: str, values: Any,
        nulls: np.ndarray, total: int,
    ) -> ExpectationResult:
        mostly = kw.get("mostly", 1.0)
        mostly = 1.0 if mostly is None else float(mostly)
        res.element_count = total
        if typ == "expect_column_values_to_not_be_null":
            bad = nulls
            considered = total
        else:
            if kind == "null":
                raise _Unsupported("all-null column")
            keep = ~nulls
            considered = int(keep.sum())
            bad = np.zeros(total, dtype=bool)
            if typ == "expect_column_values_to_be_between":
                if kind != "num":
                    raise _Unsupported("between on text")
                lo, hi = between_bounds(kw)
                ok = np.ones(total, dtype=bool)
                with np.errstate(invalid="ignore"):
                    if lo is not None:
                        ok &= (values > lo) if kw.get("strict_min") else (values >= lo)
                    if hi is not None:
                        ok &= (values < hi) if kw.get("strict_max") else (values <= hi)
                bad = keep & ~ok
                text = self.text.get(kw["column"])
                if text is not None:  # text in a numeric column is never between the bounds
                    bad |= text
            elif typ in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
                vs = kw.get("value_set")
                if not isinstance(vs, list) or not vs:
                    raise _Unsupported("value_set")
                member = self._isin(kind, values, vs)
                bad = keep & (~member if typ.endswith("to_be_in_set") and "not_be" not in typ else member)
            elif typ == "expect_column_values_to_be_unique":
                bad = keep & self._duplicated(kind, values, keep)
        unexpected = int(bad.sum())
        res.unexpected_count = unexpected
        res.unexpected_percent = 100.0 * unexpected / considered if considered else None
        if unexpected:
            idx = np.flatnonzero(bad)[:PARTIAL]
            column = kw["column"]
            if typ == "expect_column_values_to_not_be_null":
                res.partial_unexpected_list = [None] * len(idx)
            elif column in self.text:  # numbers and the text values as they were
                raw = self.table.column(column).take(idx).to_pylist()
                res.partial_unexpected_list = [v if self.text[column][i] else float(v) for i, v in zip(idx, raw)]
            else:
                res.partial_unexpected_list = values[idx].tolist() if kind == "num" else values.take(idx).to_pylist()
        if total == 0 or considered == 0:
            res.success = True
        else:
            res.success = (considered - unexpected) / considered >= mostly
        return res

    @staticmethod
    def _isin(kind: str, values: Any, vs: list[Any]) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        if kind == "str":
            if not all(isinstance(v, str) for v in vs):
                raise _Unsupported("mixed value_set")
            return arrow_bools(pc.is_in(values, value_set=pa.array(vs, pa.string()))) & ~arrow_bools(pc.is_null(values))
        if not all(_is_number(v) for v in vs):
            raise _Unsupported("non-numeric value_set")
        return np.isin(values, np.asarray(vs, dtype=np.float64))

    @staticmethod
    def _duplicated(kind: str, values: Any, keep: np.ndarray) -> np.ndarray:
        if kind == "num":
            v = values[keep]
            _, inv, cnt = np.unique(v, return_inverse=True, return_counts=True)
            dup = np.zeros(len(values), dtype=bool)
            dup[np.flatnonzero(keep)] = cnt[inv] > 1
            return dup
        import pyarrow.compute as pc

        vc = pc.value_counts(values)
        many = {k for k, c in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()) if c > 1 and k is not None}
        if not many:
            return np.zeros(len(keep), dtype=bool)
        import pyarrow as pa

        return arrow_bools(pc.is_in(values, value_set=pa.array(sorted(many), pa.string()))) & keep

    def _agg(
        self, res: ExpectationResult, typ: str, kw: dict[str, Any], kind: str, values: Any, nulls: np.ndarray
    ) -> ExpectationResult:
        what = _AGG[typ]
        for k in ("min_value", "max_value"):
            if kw.get(k) is not None and not _is_number(kw[k]):
                raise _Unsupported("non-numeric bounds")
        if what == "nunique":
            if kind == "num":
                observed: Any = int(np.unique(values[~nulls]).size)
            elif kind == "str":
                import pyarrow.compute as pc

                observed = int(pc.count_distinct(values, mode="only_valid").as_py())
            else:
                observed = 0
            res.observed_value = observed
            res.success = _between(observed, kw)
            return res
        if kind != "num":
            raise _Unsupported("aggregate on text")
        v = values[~nulls]
        if kw["column"] in self.text:
            v = v[~self.text[kw["column"]][~nulls]]
        if v.size == 0 or (what == "std" and v.size < 2):
            res.observed_value = None
            res.success = False
            return res
        with np.errstate(invalid="ignore", over="ignore"):
            if what == "mean":
                observed = float(v.sum() / v.size)
            elif what == "std":
                avg = v.sum() / v.size
                d = avg - v
                observed = float(np.sqrt((d * d).sum() / (v.size - 1)))
            elif what == "min":
                observed = float(v.min())
            elif what == "max":
                observed = float(v.max())
            elif what == "sum":
                observed = float(v.sum())
            else:
                observed = float(np.median(v))
        if math.isnan(observed):
            res.observed_value = None
            res.success = False
            return res
        res.observed_value = observed
        res.success = _between(observed, kw)
        return res


def _parse_numbers(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """Text values as float64 (NaN for nulls and non-numbers) and the mask of non-null non-numbers."""
    items = arr.to_pylist()
    values = np.full(len(items), np.nan)
    text = np.zeros(len(items), dtype=bool)
    for i, v in enumerate(items):
        if v is None:
            continue
        try:
            values[i] = float(v)
        except ValueError:
            text[i] = True
    return values, text


def _between(value: float, kw: dict[str, Any]) -> bool:
    lo, hi = kw.get("min_value"), kw.get("max_value")
    above = True if lo is None else (value > lo if kw.get("strict_min") else value >= lo)
    below = True if hi is None else (value < hi if kw.get("strict_max") else value <= hi)
    return bool(above and below)


# ---------------------------------------------------------------- Great Expectations engine


def ge_suite(exps: list[dict[str, Any]]) -> tuple[Any, Any, list[Any]]:
    """An ephemeral great_expectations context (quiet, no progress bars) holding ``exps`` as one suite: (context,
    suite, the expectations' ids in order). Shared by the pandas and the Spark engines."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in ("great_expectations", "great_expectations.core", "great_expectations.expectations"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    ctx = gx.get_context(mode="ephemeral")
    with contextlib.suppress(Exception):  # cosmetic only
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = gx.ExpectationSuite(name="mlscore", expectations=[{"type": e["type"], "kwargs": e["kwargs"]} for e in exps])
    if len(suite.expectations) != len(exps):
        raise InputError("great_expectations rejected some expectations in the suite (unknown type or bad kwargs)")
    suite = ctx.suites.add(suite)
    return ctx, suite, [e.id for e in suite.expectations]


def ge_validate(table: pa.Table, exps: list[dict[str, Any]]) -> list[ExpectationResult]:
    """Validate with great_expectations itself (pandas engine, ephemeral context)."""
    if not exps:
        return []
    df = table.to_pandas()
    ctx, suite, ids = ge_suite(exps)
    ds = ctx.data_sources.add_pandas("mlscore")
    asset = ds.add_dataframe_asset(name="current")
    bd = asset.add_batch_definition_whole_dataframe("all")
    batch = bd.get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(suite, result_format="SUMMARY")
    return ge_results(exps, ids, result)


def ge_results(exps: list[dict[str, Any]], ids: list[Any], result: Any) -> list[ExpectationResult]:
    """GE's validation result as ExpectationResults in suite order (pandas or Spark execution engine)."""
    by_id = {r.expectation_config.id: r for r in result.results}
    out = []
    for e, eid in zip(exps, ids):
        r = by_id.get(eid)
        if r is None:
            out.append(ExpectationResult(e["type"], e["kwargs"], False, "great_expectations", exception="no result"))
            continue
        res = r.result or {}
        exc = None
        if r.exception_info and r.exception_info.get("raised_exception"):
            exc = str(r.exception_info.get("exception_message"))[:300]
        elif r.exception_info and not r.exception_info.get("raised_exception", True) is False and not res:
            exc = "error during validation"
        if exc is None and isinstance(r.exception_info, dict) and not res:
            msgs = [v.get("exception_message") for v in r.exception_info.values() if isinstance(v, dict)]
            if msgs:
                exc = str(msgs[0])[:300]
        details = res.get("details") or {}
        out.append(
            ExpectationResult(
                type=e["type"], kwargs=e["kwargs"], success=bool(r.success), engine="great_expectations",
                observed_value=res.get("observed_value"), element_count=res.get("element_count"),
                unexpected_count=res.get("unexpected_count"), unexpected_percent=res.get("unexpected_percent"),
                partial_unexpected_list=list(res.get("partial_unexpected_list") or details.get("mismatched", {}).get("unexpected", []) or []),
                missing=list(details.get("mismatched", {}).get("missing", []) or []),
                exception=exc,
            )
        )
    return out


def validate(table: pa.Table, exps: list[dict[str, Any]], engine: str = "auto",
             numeric: set[str] | None = None) -> list[ExpectationResult]:
    """Results in suite order. engine: "auto" (native where supported, GE for the rest), "native", "ge"."""
    if engine == "ge":
        return ge_validate(table, exps)
    native = NativeValidator(table, numeric)
    results: list[ExpectationResult | None] = [native.validate(e["type"], e["kwargs"]) for e in exps]
    rest = [i for i, r in enumerate(results) if r is None]
    if rest:
        if engine == "native":
            for i in rest:
                typ = exps[i]["type"]
                results[i] = ExpectationResult(
                    typ, exps[i]["kwargs"], False, "native",
                    exception=(f"expectation type {typ!r} is not supported natively (use --validator auto or ge)"
                               if typ.startswith("expect_") else f"unknown expectation type {typ!r}"),
                )
        else:
            known = [i for i in rest if _ge_knows(exps[i]["type"])]
            for i in rest:
                if i not in known:  # the same answer as --validator native: a failed expectation, named
                    results[i] = ExpectationResult(exps[i]["type"], exps[i]["kwargs"], False, "great_expectations",
                                                   exception=f"unknown expectation type {exps[i]['type']!r}")
            for i, r in zip(known, ge_validate(table, [exps[i] for i in known])):
                results[i] = r
    return [r for r in results if r is not None]


def _ge_knows(typ: str) -> bool:
    """Whether great_expectations has an expectation of this type."""
    import great_expectations  # noqa: F401  (registers the core expectations)
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        get_expectation_impl(typ)
    except Exception:  # noqa: BLE001 - ExpectationNotFoundError, or anything GE raises for a bad name
        return False
    return True


# ---------------------------------------------------------------- checks


def needed_columns(exps: list[dict[str, Any]], available: list[str]) -> list[str]:
    cols: list[str] = []
    for e in exps:
        c = e["kwargs"].get("column")
        if isinstance(c, str) and c in available and c not in cols:
            cols.append(c)
        for key in ("column_A", "column_B"):
            c = e["kwargs"].get(key)
            if isinstance(c, str) and c in available and c not in cols:
                cols.append(c)
        for key in ("column_list",):
            for c in e["kwargs"].get(key) or []:
                if isinstance(c, str) and c in available and c not in cols:
                    cols.append(c)
    return cols


def validation_checks(opts: CheckOptions, ref: DatasetProfile, diagnostics: list[Diagnostic], *,
                      suite: list[dict[str, Any]] | None = None, current_rows: int | None = None,
                      runner: Any = None) -> list[Check]:
    """The schema.suite and validation checks. ``runner(exps, engine, numeric)`` validates the current data
    instead of reading opts.current here (the Spark engine's aggregations)."""
    from mlscore.data.readers import detect_format
    from mlscore.data.suite import expectations_from_schema, load_suite
    from mlscore.profile.schema import infer_schema

    checks: list[Check] = []
    if opts.suite is not None:
        exps = suite if suite is not None else load_suite(Path(opts.suite))
        source = str(opts.suite)
        checks.append(Check(
            id="schema.suite", rules=("DATA1",), title="Feature expectations are captured in a schema",
            status="passing", message=f"{len(exps)} expectations in {source}",
            details={"suite": source, "expectations": len(exps)},
        ))
    else:
        exps = expectations_from_schema(infer_schema(ref), ref, current_rows)
        source = f"inferred from {opts.reference}, tolerances for {ref.row_count} reference and {current_rows} current rows"
        checks.append(Check(
            id="schema.suite", rules=("DATA1",), title="Feature expectations are captured in a schema",
            status="unknown",
            message=("no suite given: validated against one inferred from the reference; write it with "
                     "`mlscore data schema`, review it and pass --suite"),
            details={"suite": None, "expectations": len(exps)},
        ))
    if runner is None and detect_format(Path(opts.current)) == "profile":
        checks.append(Check(
            id="validation", rules=("MON2",), title="Serving data satisfies the expectation suite",
            status="skipped", message="the current input is a saved profile; expectations need rows",
        ))
        return checks
    table = _current_table(opts, exps) if runner is None else None
    engine = "ge" if opts.validator == "ge" else ("native" if opts.validator == "native" else "auto")
    numeric = {n for n, c in ref.columns.items() if c.kind == "numeric"}
    results = validate(table, exps, engine, numeric) if runner is None else runner(exps, engine, numeric)
    failed = [r for r in results if not r.success]
    engines = sorted({r.engine for r in results})
    checks.append(Check(
        id="validation",
        rules=("MON2",),
        title="Serving data satisfies the expectation suite",
        status="failing" if failed else "passing",
        message=(f"{len(results) - len(failed)} of {len(results)} expectations met ({source}; engine: "
                 f"{', '.join(engines) or 'none'})" + (": failed " + ", ".join(_short(r) for r in failed[:5]) if failed else "")),
        details={"suite": source, "results": [r.to_dict() for r in results]},
    ))
    return checks


def _current_table(opts: CheckOptions, exps: list[dict[str, Any]]) -> pa.Table:
    """The current data's columns the suite names (the others as null placeholders)."""
    from mlscore.data.readers import TableReader

    reader = TableReader(opts.current, encoding=opts.encoding)
    header = _header(reader)
    table = TableReader(opts.current, columns=needed_columns(exps, header), encoding=opts.encoding).read_all()
    if table.num_columns == 0:
        import pyarrow as pa

        # table-level expectations still need the row count and the column names
        n = sum(b.num_rows for b in TableReader(opts.current, columns=header[:1], encoding=opts.encoding).batches())
        return pa.table({h: pa.nulls(n) for h in header}) if header else table
    return _with_all_names(table, header)


def _header(reader: Any) -> list[str]:
    for _ in reader.batches():
        break
    return reader.names


def _with_all_names(table: pa.Table, header: list[str]) -> pa.Table:
    """Add the unread columns as null placeholders so table-level expectations see every name."""
    import pyarrow as pa

    have = set(table.column_names)
    cols = {}
    for name in header:
        cols[name] = table.column(name) if name in have else pa.nulls(table.num_rows)
    return pa.table(cols)


def _short(r: ExpectationResult) -> str:
    col = r.kwargs.get("column")
    name = r.type.replace("expect_", "")
    if r.exception and r.type in r.exception:  # unknown or unsupported: name it in full
        name = r.type
    return f"{name}({col})" if col else name
