"""Great Expectations suites: infer one from a profile (written by GE itself), load a user's suite."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mlscore.errors import InputError
from mlscore.profile import DatasetProfile
from mlscore.profile.schema import ColumnSchema, infer_schema

RANGE_MOSTLY = 0.99  # used only when the reference size is unknown
MEAN_STD_FRACTION = 0.5
SUITE_ALPHA = 0.01  # chance that an inferred suite fails on data from the reference's own distribution


def exceedance_quantile(n: int, m: int, alpha: float) -> int:
    """The smallest k such that P(K > k) <= alpha, where K counts how many of m new values fall outside
    the range (min, max) of n reference values drawn from the same continuous distribution.

    K is distribution-free: the ranks of the pooled sample are a uniform permutation, so
    P(K = k) = (k + 1) C(n + m - k - 2, n - 2) / C(n + m, n). Ties (discrete data) only make K smaller.
    """
    if n < 2 or m < 1:
        return m
    total = n + m
    log_den = math.lgamma(total + 1) - math.lgamma(n + 1) - math.lgamma(m + 1)
    tail = 1.0
    for k in range(m + 1):
        a = total - k - 2
        log_p = math.log(k + 1) + math.lgamma(a + 1) - math.lgamma(n - 1) - math.lgamma(a - n + 3) - log_den
        tail -= math.exp(log_p)
        if tail <= alpha:
            return k
    return m


def _mostly(allowed: float) -> float:
    """A ``mostly`` that admits an unexpected share up to ``allowed`` (rounded down to 1e-6)."""
    return max(0.0, math.floor((1.0 - allowed) * 1e6) / 1e6)


def _z(alpha: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def _floor3(x: float) -> float:
    return math.floor(x * 1000) / 1000


def _num(x: float, typ: str) -> float | int:
    if typ == "integer" and float(x).is_integer():
        return int(x)
    return float(x)


def expectations_from_schema(
    schema: list[ColumnSchema], profile: DatasetProfile | None = None, current_rows: int | None = None,
    alpha: float = SUITE_ALPHA,
) -> list[dict[str, Any]]:
    """Plain expectation configurations (type, kwargs, meta) capturing the reference's invariants.

    With the reference ``profile``, tolerances follow from sample sizes, so that a current dataset of
    ``current_rows`` rows (default: as many as the reference) drawn from the reference's distribution fails
    the whole suite with probability about ``alpha`` at most (split over the expectations, Bonferroni):
    value ranges admit the number of values outside the reference's min and max that chance gives
    (``exceedance_quantile``, distribution-free), means and null rates get the sampling error of both
    datasets, and allowed values leave room for categories too rare to be seen in the reference
    (Good-Turing: the share of values seen once).
    """
    sized = profile is not None
    n_rows = profile.row_count if profile is not None else 0
    m_rows = current_rows if current_rows else n_rows
    per = alpha / max(1, 3 * len(schema))  # at most three calibrated expectations per column
    z = _z(per)
    exps: list[dict[str, Any]] = [
        {"type": "expect_table_columns_to_match_set",
         "kwargs": {"column_set": [c.name for c in schema], "exact_match": False}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    ]
    for c in schema:
        col = profile.columns.get(c.name) if profile is not None else None
        exps.append({"type": "expect_column_to_exist", "kwargs": {"column": c.name}})
        if c.null_rate == 0:
            exps.append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": c.name}})
        elif c.null_rate < 0.5:
            r = c.null_rate
            if sized and n_rows and m_rows:
                allowed = r + z * math.sqrt(max(r, 1.0 / n_rows) * (1 - r) * (1.0 / n_rows + 1.0 / m_rows))
                mostly, note = _mostly(allowed), (f"reference null rate {r:.4f} plus {z:.2f} standard errors "
                                                  f"({n_rows} reference rows, {m_rows} current rows)")
            else:
                mostly, note = _floor3(1 - 2 * r), f"reference null rate {r:.4f}"
            exps.append({
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": c.name, "mostly": mostly},
                "meta": {"notes": note},
            })
        if c.type in ("integer", "float") and c.min is not None and c.max is not None:
            n_values = col.n if col is not None else 0
            if sized and n_values >= 2:
                m_values = max(1, round(m_rows * (1 - c.null_rate)))
                k = exceedance_quantile(n_values, m_values, per)
                mostly = _mostly(k / m_values)
                note = (f"reference min and max; up to {k} of {m_values} values outside is chance "
                        f"({n_values} reference values, P <= {per:.2g})")
            else:
                mostly, note = RANGE_MOSTLY, "reference min and max"
            exps.append({
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": c.name, "min_value": _num(c.min, c.type), "max_value": _num(c.max, c.type),
                           "mostly": mostly},
                "meta": {"notes": note},
            })
            if c.mean is not None and c.std is not None and not c.has_infinite and (c.std > 0 or not sized):
                # (GE's mean would be inf with infinities; a constant reference says nothing about the mean's
                # sampling error, so its range expectation, with its tolerance, is the check)
                half = max(MEAN_STD_FRACTION * c.std, 1e-9 * max(1.0, abs(c.mean)))
                note = f"reference mean +/- {MEAN_STD_FRACTION} reference std"
                if sized and col is not None and col.n >= 2:
                    m_values = max(1, round(m_rows * (1 - c.null_rate)))
                    err = z * c.std * math.sqrt(1.0 / col.n + 1.0 / m_values)
                    if err > half:
                        half = err
                        note = (f"reference mean +/- {z:.2f} standard errors ({col.n} reference values, "
                                f"{m_values} current values)")
                exps.append({
                    "type": "expect_column_mean_to_be_between",
                    "kwargs": {"column": c.name, "min_value": c.mean - half, "max_value": c.mean + half},
                    "meta": {"notes": note},
                })
        elif c.type == "string" and c.allowed_values:
            mostly, note = RANGE_MOSTLY, "values seen in the reference"
            if sized and col is not None and col.valid_count:
                nv = col.valid_count
                singles = sum(1 for v in col.categories.values() if v == 1)
                unseen = (singles + 1) / nv  # Good-Turing share of values in categories not seen, plus one
                m_values = max(1, round(m_rows * (1 - c.null_rate)))
                allowed = unseen + z * math.sqrt(unseen * (1.0 / nv + 1.0 / m_values)) + 1.0 / m_values
                mostly = min(RANGE_MOSTLY, _mostly(allowed))
                note = f"values seen in the reference ({singles} seen once in {nv})"
            exps.append({
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": c.name, "value_set": list(c.allowed_values), "mostly": mostly},
                "meta": {"notes": note},
            })
    return exps


def build_suite(profile: DatasetProfile, name: str) -> dict[str, Any]:
    """A Great Expectations 1.x suite (JSON dict), built and serialised by great_expectations itself."""
    exps = expectations_from_schema(infer_schema(profile), profile)
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
