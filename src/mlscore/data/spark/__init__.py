"""The Spark engine of `mlscore data`: the same profiles, expectations and verdicts on tables that do not fit
one machine. pyspark is imported only here (``pip install 'mlscore-audit[spark]'``).

Python API (notebooks, Databricks jobs)::

    from mlscore.data import check_spark, profile_spark

    report = check_spark(spark.table("ml.train"), spark.table("ml.serving_today"),
                         target="label", prediction="score", suite="expectations.json")
    report.status                                  # "passing" | "failing" | "unknown"
    open("data.json", "w").write(report.model_dump_json(indent=2))   # what `mlscore audit --data-report` reads

    ref = profile_spark(spark.read.parquet("s3://bucket/train/"))   # a DatasetProfile, mergeable
    ref.save("reference.profile.json")                              # for the sidecar, or as --reference

How: each partition is profiled by the local engine's own code on Arrow batches (``mapInArrow``), the
small profiles are merged on the driver (mlscore.data.spark.profiles); expectations are Spark aggregations
(mlscore.data.spark.validation); everything after the profiles is the local engine's code
(mlscore.data.check.run_check). See docs/spark.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlscore.data.spark.session import require_pyspark

__all__ = ["check_spark", "profile_spark"]


def profile_spark(df: Any, *, reference: Any = None, name: str = "dataframe") -> Any:
    """A DatasetProfile of a Spark DataFrame (``reference``: a DatasetProfile whose bins a current window uses)."""
    require_pyspark()
    from mlscore.data.spark.profiles import profile_dataframe

    return profile_dataframe(df, source=name, reference=reference)


def check_spark(reference: Any, current: Any, *, suite: str | Path | None = None, reference_name: str = "reference",
                current_name: str = "current", progress: Any = None, **options: Any) -> Any:
    """`mlscore data check` on two Spark DataFrames; returns the DataReport the CLI writes.

    ``reference`` may also be a saved profile (a path). ``options`` are the CheckOptions fields: target,
    prediction, slices, sensitive, columns, drift_method, drift_threshold, drift_share, validator, min_support,
    fairness_threshold, quality_tolerance, task, ...
    """
    require_pyspark()
    from mlscore.data.check import CheckOptions
    from mlscore.data.spark.engine import check_dataframes

    if reference_name == current_name:
        raise ValueError("reference_name and current_name must differ")
    opts = CheckOptions(reference=reference_name, current=current_name,  # type: ignore[arg-type]
                        suite=Path(suite) if suite is not None else None, **options)
    return check_dataframes(reference, current, opts, progress)
