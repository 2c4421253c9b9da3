"""`mlscore data`: readers, validation, drift/skew and model checks over real datasets, and the DataReport."""

from __future__ import annotations

from typing import Any


def check_spark(reference: Any, current: Any, **options: Any) -> Any:
    """`mlscore data check` on Spark DataFrames (mlscore.data.spark.check_spark; needs the spark extra)."""
    from mlscore.data.spark import check_spark as run

    return run(reference, current, **options)


def profile_spark(df: Any, **options: Any) -> Any:
    """A mergeable DatasetProfile of a Spark DataFrame (mlscore.data.spark.profile_spark)."""
    from mlscore.data.spark import profile_spark as run

    return run(df, **options)
