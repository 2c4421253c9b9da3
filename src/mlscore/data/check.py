"""`mlscore data check`: profile both datasets, compare schema and distributions, run the other checks."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlscore import __version__
from mlscore.data.readers import profile_file
from mlscore.data.report import (
    ColumnStats,
    ColumnSummary,
    DataReport,
    DriftRow,
    overall_status,
)
from mlscore.errors import InputError
from mlscore.models import Check, Diagnostic
from mlscore.profile import ColumnProfile, DatasetProfile
from mlscore.profile.drift import ColumnDrift, calibrate, compare_profiles, dataset_drift

Progress = Callable[[str], None]


@dataclass
class CheckOptions:
    reference: Path
    current: Path
    suite: Path | None = None
    target: str | None = None
    prediction: str | None = None
    slices: list[str] = field(default_factory=list)
    sensitive: list[str] = field(default_factory=list)
    columns: list[str] | None = None
    drift_method: str = "auto"
    drift_threshold: float | None = None
    drift_share: float = 0.5
    encoding: str = "utf-8"
    validator: str = "auto"  # auto | native | ge | none
    min_support: int = 30
    fairness_threshold: float = 0.1
    quality_tolerance: float = 0.05
    task: str = "auto"  # auto | classification | regression
    important: list[str] = field(default_factory=list)  # features whose drift matters most (else from --target)
    fdr: float = 0.05  # Benjamini-Hochberg false-discovery rate across columns


class LocalEngine:
    """Where `run_check` gets profiles and rows: files on this machine, read with pyarrow in chunks.

    The Spark engine (mlscore.data.spark.engine.SparkEngine) has the same methods, so every check after
    the profiles is this module's code whichever engine read the data.
    """

    name = "local"

    def profile(self, source: Any, *, reference: DatasetProfile | None = None, encoding: str = "utf-8") -> DatasetProfile:
        return profile_file(source, reference=reference, encoding=encoding, allow_profile=True)

    def is_profile(self, source: Any) -> bool:
        from mlscore.data.readers import detect_format

        return detect_format(Path(source)) == "profile"

    def rows_file(self, source: Any, columns: list[str]) -> Path:
        """A local file holding (at least) these columns of the source: the file itself."""
        return Path(source)

    def validation_checks(self, opts: CheckOptions, ref: DatasetProfile, diagnostics: list[Diagnostic],
                          **kw: Any) -> list[Check]:
        from mlscore.data import validation

        return validation.validation_checks(opts, ref, diagnostics, **kw)

    def model_checks(self, opts: CheckOptions, ref: DatasetProfile, cur: DatasetProfile,
                     diagnostics: list[Diagnostic]) -> Any:
        from mlscore.data import model_checks

        return model_checks.run(opts, ref, cur, diagnostics)


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def run_check(opts: CheckOptions, progress: Progress | None = None, *, engine: Any = None) -> DataReport:
    """All checks of `mlscore data check`; ``engine`` reads the data (default: LocalEngine)."""
    say = progress or (lambda _msg: None)
    eng = engine or LocalEngine()
    timings: dict[str, float] = {}
    diagnostics: list[Diagnostic] = []
    checks: list[Check] = []

    t0 = time.perf_counter()
    suite = None
    if opts.suite is not None and opts.validator != "none":
        from mlscore.data.suite import load_suite

        suite = load_suite(Path(opts.suite))  # a bad suite is reported before any profiling
    say(f"profiling reference {opts.reference}")
    ref = eng.profile(opts.reference, encoding=opts.encoding)
    timings["profile_reference"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    say(f"profiling current {opts.current}")
    cur = eng.profile(opts.current, reference=ref, encoding=opts.encoding)
    timings["profile_current"] = time.perf_counter() - t1

    roles = {opts.target: "target", opts.prediction: "prediction"}
    for name, what in ((opts.target, "--target"), (opts.prediction, "--prediction")):
        if name is not None and name not in cur.columns and name not in ref.columns:
            raise InputError(f"{opts.current}: no column {name!r} (given by {what})")
    for name in [*opts.slices, *opts.sensitive, *(opts.columns or []), *opts.important]:
        if name not in cur.columns and name not in ref.columns:
            raise InputError(f"{opts.current}: no column {name!r}")

    common = [n for n in ref.columns if n in cur.columns]
    if not common:
        raise InputError(
            f"{opts.current}: no column in common with the reference {opts.reference} "
            f"(reference has {_names(ref.columns)}; current has {_names(cur.columns)})"
        )
    checks.append(_schema_check(ref, cur, opts))
    diagnostics.extend(_column_diagnostics(ref, cur, opts))

    # ------------------------------------------------------------ drift (MON3)
    t2 = time.perf_counter()
    features = [n for n in (opts.columns or common) if n in common and roles.get(n) is None]
    drift = compare_profiles(ref, cur, columns=features, method=opts.drift_method, threshold=opts.drift_threshold)
    important, importance = _important(opts, ref, features, diagnostics, eng)
    drift = calibrate(drift, ref, cur, fdr=opts.fdr, important=important)
    timings["drift"] = time.perf_counter() - t2
    checks.append(_drift_check(drift, opts, important, importance))
    share, drifted = dataset_drift(drift, opts.drift_share)
    drifted_cols = [d.column for d in drift if d.drifted]

    # ------------------------------------------------------------ the rest needs rows
    t3 = time.perf_counter()
    if opts.validator != "none":
        say("validating expectations")
        checks.extend(eng.validation_checks(opts, ref, diagnostics, suite=suite, current_rows=cur.row_count))
    timings["validation"] = time.perf_counter() - t3
    t4 = time.perf_counter()
    pred_drift: ColumnDrift | None = None
    if opts.prediction is not None:
        say("checking predictions")
        model_out = eng.model_checks(opts, ref, cur, diagnostics)
        checks.extend(model_out.checks)
        pred_drift = model_out.prediction_drift
    timings["model"] = time.perf_counter() - t4

    drift_by_col = {d.column: d for d in drift}
    if pred_drift is not None:
        drift_by_col[pred_drift.column] = pred_drift
    columns = tuple(
        _summary(name, ref.columns.get(name), cur.columns.get(name), drift_by_col.get(name), roles.get(name))
        for name in list(ref.columns) + [n for n in cur.columns if n not in ref.columns]
    )
    timings["total"] = time.perf_counter() - t0
    return DataReport(
        version=__version__,
        generated_at=now_iso(),
        status=overall_status(checks),
        inputs={
            "reference": str(opts.reference),
            "current": str(opts.current),
            "suite": str(opts.suite) if opts.suite else None,
            "target": opts.target,
            "prediction": opts.prediction,
            **({"engine": eng.name} if eng.name != "local" else {}),
        },
        reference_rows=ref.row_count,
        current_rows=cur.row_count,
        checks=tuple(checks),
        dataset_drift={
            "share": share,
            "drifted": drifted,
            "drift_share": opts.drift_share,
            "drifted_columns": drifted_cols,
            "number_of_columns": len(drift),
            "fdr": opts.fdr,
            "correction": "benjamini-hochberg",
            "important_columns": important,
        },
        columns=columns,
        diagnostics=tuple(diagnostics),
        timings={k: round(v, 4) for k, v in timings.items()},
    )


def _important(opts: CheckOptions, ref: DatasetProfile, features: list[str],
               diagnostics: list[Diagnostic], eng: Any = None) -> tuple[list[str], dict[str, float]]:
    """The features given by --important, else the ones most associated with --target in the reference."""
    if opts.important:
        return [n for n in opts.important if n in features], {}
    if opts.target is None or opts.target not in ref.columns or not features:
        return [], {}
    from mlscore.data.importance import feature_importance, top_features

    eng = eng or LocalEngine()
    if eng.is_profile(opts.reference):
        return [], {}
    try:
        rows = eng.rows_file(opts.reference, [opts.target, *features])  # the Spark engine: these columns only
        scores = feature_importance(rows, opts.target, features, opts.encoding)
    except InputError as exc:
        diagnostics.append(Diagnostic(path=str(opts.reference), message=f"feature importance not computed: {exc}"))
        return [], {}
    return top_features(scores), scores


def _drift_check(drift: list[ColumnDrift], opts: CheckOptions, important: list[str],
                 importance: dict[str, float]) -> Check:
    share, dataset = dataset_drift(drift, opts.drift_share)
    drifted_cols = [d.column for d in drift if d.drifted]
    strong_important = [d.column for d in drift if d.drifted and d.important]
    undecided = [d.column for d in drift if d.drifted is None]
    evidently = [d.column for d in drift if d.evidently_drifted]
    if dataset:
        status = "failing"
    elif drifted_cols:
        status = "warning"  # a real shift in some column, below the dataset share: never silent
    else:
        status = "passing" if any(d.drifted is not None for d in drift) else "unknown"
    listed = strong_important + [c for c in drifted_cols if c not in strong_important]
    message = (
        f"{len(drifted_cols)} of {len(drift)} columns drifted ({share:.0%}; dataset drift when "
        f">= {opts.drift_share:.0%}; Benjamini-Hochberg at FDR {opts.fdr:g})"
        + (f": {', '.join(listed[:10])}" + (" ..." if len(listed) > 10 else "") if listed else "")
        + (f"; important: {', '.join(strong_important)}" if strong_important else "")
        + (f"; {len(undecided)} undecidable" if undecided else "")
    )
    return Check(
        id="drift.features",
        rules=("MON3",),
        title="Training/serving skew: feature distributions match the reference",
        status=status,  # type: ignore[arg-type]
        message=message,
        details={
            "share": share,
            "drift_share": opts.drift_share,
            "dataset_drift": dataset,
            "drifted_columns": drifted_cols,
            "undecided_columns": undecided,
            "methods": sorted({d.method for d in drift}),
            "correction": "benjamini-hochberg",
            "fdr": opts.fdr,
            "important_columns": important,
            "important_drifted": strong_important,
            "importance": {k: round(v, 4) for k, v in sorted(importance.items(), key=lambda kv: -kv[1])[:20]},
            "evidently_drifted_columns": evidently,
        },
    )


def _names(cols: dict[str, Any], n: int = 5) -> str:
    names = list(cols)
    return ", ".join(repr(x) for x in names[:n]) + (f" ... ({len(names)})" if len(names) > n else "")


def _schema_check(ref: DatasetProfile, cur: DatasetProfile, opts: CheckOptions) -> Check:
    missing = [n for n in ref.columns if n not in cur.columns and n not in (opts.target, opts.prediction)]
    extra = [n for n in cur.columns if n not in ref.columns]
    changed = [
        f"{n} ({ref.columns[n].kind} -> {cur.columns[n].kind})"
        for n in ref.columns
        if n in cur.columns and ref.columns[n].kind and cur.columns[n].kind
        and ref.columns[n].kind != cur.columns[n].kind
    ]
    text_in_numeric = [
        f"{n} ({cur.columns[n].type_errors} text values, e.g. {getattr(cur.columns[n], 'type_error_example', None)!r})"
        for n in ref.columns
        if n in cur.columns and ref.columns[n].kind == "numeric" and cur.columns[n].type_errors
    ]
    problems = []
    if text_in_numeric:
        problems.append(f"text in numeric columns: {', '.join(text_in_numeric[:10])}")
    if missing:
        problems.append(f"missing in current: {', '.join(missing[:10])}")
    if extra:
        problems.append(f"not in reference: {', '.join(extra[:10])}")
    if changed:
        problems.append(f"type changed: {', '.join(changed[:10])}")
    return Check(
        id="schema.columns",
        rules=("MON2",),
        title="Serving data has the reference's columns and types",
        status="failing" if (missing or changed or text_in_numeric) else "passing",
        message="; ".join(problems) if problems else f"all {len(ref.columns)} reference columns present, same types",
        details={"missing": missing, "extra": extra, "type_changed": changed, "text_in_numeric": text_in_numeric},
    )


def _column_diagnostics(ref: DatasetProfile, cur: DatasetProfile, opts: CheckOptions) -> list[Diagnostic]:
    out = []
    for label, prof, path in (("reference", ref, opts.reference), ("current", cur, opts.current)):
        for name, col in prof.columns.items():
            if col.count and col.null_count == col.count:
                out.append(Diagnostic(path=str(path), message=f"column {name!r} is entirely null in the {label}"))
            elif col.n_unique == 1 and col.null_count == 0 and label == "reference":
                out.append(Diagnostic(path=str(path), message=f"column {name!r} is constant in the {label}"))
            if col.type_errors:
                out.append(Diagnostic(path=str(path), message=f"column {name!r}: {col.type_errors} values of the wrong type"))
    return out


def _stats(col: ColumnProfile | None) -> ColumnStats | None:
    if col is None:
        return None
    top: tuple[tuple[str, int], ...] = ()
    if col.kind == "categorical":
        top = tuple(sorted(col.categories.items(), key=lambda kv: (-kv[1], kv[0]))[:10])
        return ColumnStats(count=col.count, null_count=col.null_count, n_unique=col.n_unique, top=top)
    return ColumnStats(
        count=col.count,
        null_count=col.null_count,
        n_unique=col.n_unique,
        min=col.min,
        max=col.max,
        mean=col.mean if col.n else None,
        std=col.std,
        median=col.quantile(0.5),
    )


def _summary(
    name: str, ref: ColumnProfile | None, cur: ColumnProfile | None, drift: ColumnDrift | None, role: str | None
) -> ColumnSummary:
    base = ref or cur
    assert base is not None
    return ColumnSummary(
        name=name,
        kind=base.kind,
        dtype=base.dtype,
        role=role or "feature",  # type: ignore[arg-type]
        reference=_stats(ref),
        current=_stats(cur),
        drift=DriftRow(**drift.to_dict()) if drift is not None else None,
        plot=_plot(ref, cur),
    )


def _plot(ref: ColumnProfile | None, cur: ColumnProfile | None, bins: int = 24) -> dict[str, Any]:
    """Shares on a few bins, for the inline SVG plots."""
    from mlscore.profile.drift import _binned

    cols = [c for c in (ref, cur) if c is not None and c.valid_count]
    if not cols:
        return {}
    if cols[0].kind == "numeric" and all(c.kind == "numeric" for c in cols):
        lo = min(c.min for c in cols)  # type: ignore[type-var]
        hi = max(c.max for c in cols)  # type: ignore[type-var]
        if not hi > lo:
            return {"kind": "numeric", "edges": [lo, lo], "reference": [1.0] if ref else [], "current": [1.0] if cur else []}
        edges = np.linspace(lo, hi, bins + 1)
        out: dict[str, Any] = {"kind": "numeric", "edges": [float(e) for e in edges]}
        for label, c in (("reference", ref), ("current", cur)):
            try:
                out[label] = [round(float(v), 6) for v in _binned(c, edges)] if c is not None and c.valid_count else []
            except ValueError:
                out[label] = []
        return out
    if all(c.kind == "categorical" for c in cols):
        totals = {}
        for c in cols:
            for k, v in c.categories.items():
                totals[k] = totals.get(k, 0) + v / max(c.valid_count, 1)
        labels = [k for k, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:12]]
        out = {"kind": "categorical", "labels": labels}
        for label, c in (("reference", ref), ("current", cur)):
            out[label] = (
                [round(c.categories.get(k, 0) / max(c.valid_count, 1), 6) for k in labels]
                if c is not None and c.valid_count else []
            )
        return out
    return {}
