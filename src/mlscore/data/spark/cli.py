"""What `mlscore data ... --engine spark` does between parsing and rendering (kept out of commands/)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlscore.data.spark.session import make_session, needs_delta, parse_conf, require_pyspark


@dataclass
class SparkOptions:
    master: str | None = None
    conf: Sequence[str] = field(default_factory=list)
    table: bool = False
    fmt: str | None = None


def _session(opts: SparkOptions, sources: Sequence[str]) -> Any:
    require_pyspark()
    from mlscore.config import env

    conf = parse_conf(opts.conf)
    # under spark-submit (or a Databricks job) the master is already chosen: never override it
    submitted = env("PYSPARK_GATEWAY_PORT") is not None or env("DATABRICKS_RUNTIME_VERSION") is not None
    default = None if submitted or "spark.master" in conf else "local[*]"
    return make_session(opts.master or default, conf,
                        delta=needs_delta(sources, opts.fmt, opts.table))


def profile_path(path: Path, opts: SparkOptions, encoding: str, say: Callable[[str], None] | None) -> Any:
    """The profile of one input, read and profiled by Spark."""
    from mlscore.data.spark.engine import engine_for, file_source

    spark = _session(opts, [str(path)])
    src = file_source(spark, str(path), table=opts.table, fmt=opts.fmt, encoding=encoding)
    with engine_for({src.name: src}) as eng:
        return eng.profile(src.name, encoding=encoding, progress=say)


def check(check_opts: Any, opts: SparkOptions, progress: Callable[[str], None] | None) -> Any:
    """run_check with the Spark engine over the two inputs."""
    from mlscore.data.check import run_check
    from mlscore.data.spark.engine import engine_for, file_source

    ref, cur = str(check_opts.reference), str(check_opts.current)
    spark = _session(opts, [ref, cur])
    sources = {
        ref: file_source(spark, ref, table=opts.table, fmt=opts.fmt, encoding=check_opts.encoding),
        cur: file_source(spark, cur, table=opts.table, fmt=opts.fmt, encoding=check_opts.encoding,
                         allow_profile=True),
    }
    if ref == cur:
        sources = {ref: sources[ref]}
    with engine_for(sources) as eng:
        return run_check(check_opts, progress, engine=eng)
