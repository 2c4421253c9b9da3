"""The Spark engine of `mlscore data check`: the same `run_check`, with profiles, expectations and row
reads done by Spark. Profiles and expectations never bring rows to the driver; the checks that need
labelled rows (quality, slices, fairness, baselines, feature importance) run the local engine's code on
the columns they use, fetched to the driver as Arrow (see ``rows_file``)."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlscore.data.spark.profiles import profile_dataframe
from mlscore.data.spark.session import is_remote, spark_errors
from mlscore.errors import InputError
from mlscore.models import Check, Diagnostic

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from mlscore.data.check import CheckOptions
    from mlscore.profile import DatasetProfile


@dataclasses.dataclass
class Source:
    """One input: a DataFrame (with the name reports use), or a saved profile file."""

    name: str
    df: DataFrame | None = None
    profile: Path | None = None
    parquet: Path | None = None  # a single local Parquet file: its footer gives the local engine's bins
    text: bool = False  # CSV/JSON: count text columns that are nearly all numbers (the local rule)


class SparkEngine:
    """``run_check(opts, engine=SparkEngine(...))``: sources by name (``opts.reference``/``opts.current``)."""

    name = "spark"

    def __init__(self, sources: dict[str, Source], *, max_label_rows: int = 5_000_000) -> None:
        self.sources = sources
        self.max_label_rows = max_label_rows
        self._tmp: Path | None = None
        self._files: dict[tuple[str, tuple[str, ...]], Path] = {}

    def source(self, name: Any) -> Source:
        src = self.sources.get(str(name))
        if src is None:
            raise InputError(f"{name}: not an input of this check")
        return src

    # ------------------------------------------------------------ profiles

    def is_profile(self, name: Any) -> bool:
        return self.source(name).profile is not None

    def profile(self, name: Any, *, reference: DatasetProfile | None = None, encoding: str = "utf-8",
                progress: Any = None) -> DatasetProfile:
        from mlscore.data.readers import load_profile

        src = self.source(name)
        if src.profile is not None:
            prof = load_profile(src.profile)
            prof.source = src.name
            return prof
        assert src.df is not None
        return profile_dataframe(src.df, source=src.name, reference=reference, parquet=src.parquet,
                                 track_mixed=src.text, progress=progress)

    # ------------------------------------------------------------ expectations

    def validation_checks(self, opts: CheckOptions, ref: DatasetProfile, diagnostics: list[Diagnostic],
                          **kw: Any) -> list[Check]:
        from mlscore.data import validation
        from mlscore.data.spark.validation import validate_spark

        src = self.source(opts.current)

        def run(exps: list[dict[str, Any]], engine: str, numeric: set[str]) -> list[Any]:
            assert src.df is not None
            return validate_spark(src.df, exps, src.name, engine, numeric)

        if src.df is None:  # a saved profile as the current input: validation is skipped, as locally
            from mlscore.data.check import LocalEngine

            return LocalEngine().validation_checks(opts, ref, diagnostics, **kw)
        return validation.validation_checks(opts, ref, diagnostics, runner=run, **kw)

    # ------------------------------------------------------------ rows for the model checks

    def rows_file(self, name: Any, columns: list[str]) -> Path:
        """A local Parquet file with these columns of the source (the checks that need labelled rows read
        it with the local engine's code). Above ``max_label_rows`` rows, a seeded sample of that many."""
        src = self.source(name)
        if src.profile is not None:
            return src.profile
        assert src.df is not None
        have = [c for c in dict.fromkeys(columns) if c in src.df.columns]
        key = (src.name, tuple(have))
        if key in self._files:
            return self._files[key]
        import pyarrow.parquet as pq

        df = src.df.select(*[src.df[f"`{c}`"] for c in have]) if have else src.df.select(src.df.columns[:1])
        with spark_errors(src.name):
            n = df.count()
            if n > self.max_label_rows:
                df = df.sample(fraction=min(1.0, 1.05 * self.max_label_rows / n), seed=0).limit(self.max_label_rows)
            table = df.toArrow()
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="mlscore-spark-"))
        out = self._tmp / f"rows{len(self._files)}.parquet"
        pq.write_table(table, out)
        self._files[key] = out
        self.sampled = getattr(self, "sampled", set()) | ({src.name} if n > self.max_label_rows else set())
        return out

    def model_checks(self, opts: CheckOptions, ref: DatasetProfile, cur: DatasetProfile,
                     diagnostics: list[Diagnostic]) -> Any:
        from mlscore.data import model_checks

        wanted = [c for c in (opts.target, opts.prediction, *opts.slices, *opts.sensitive) if c]
        if opts.target is not None:
            num, cat = model_checks._features(opts, ref)
            wanted += num + cat
        files = {str(opts.reference): self.rows_file(opts.reference, wanted),
                 str(opts.current): self.rows_file(opts.current, wanted)}
        local = dataclasses.replace(opts, reference=files[str(opts.reference)], current=files[str(opts.current)])
        start = len(diagnostics)
        out = model_checks.run(local, ref, cur, diagnostics)
        names = {str(path): name for name, path in files.items()}
        out.checks = [_renamed(c, names) for c in out.checks]
        for i in range(start, len(diagnostics)):
            d = diagnostics[i]
            diagnostics[i] = d.model_copy(update={"path": names.get(d.path, d.path),
                                                   "message": _rename(d.message, names)})
        for name in sorted(getattr(self, "sampled", ())):
            diagnostics.append(Diagnostic(path=name, message=(
                f"quality, slices, fairness and baselines used a seeded sample of {self.max_label_rows:,} rows")))
        return out

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            self._files.clear()


def _rename(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in names.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _rename(v, names) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_rename(v, names) for v in value)
    return value


def _renamed(check: Check, names: dict[str, str]) -> Check:
    return check.model_copy(update={"message": _rename(check.message, names), "details": _rename(check.details, names)})


# ---------------------------------------------------------------- sources


def file_source(spark: Any, path: str, *, table: bool = False, fmt: str | None = None, encoding: str = "utf-8",
                allow_profile: bool = True) -> Source:
    """A Source for a CLI argument: a saved profile, a table name, or a path Spark reads."""
    from mlscore.data.readers import detect_format
    from mlscore.data.spark.session import read_source, source_format

    p = Path(path)
    if not table and not is_remote(path) and p.is_file() and p.suffix.lower() == ".json":
        with contextlib.suppress(InputError):
            if detect_format(p) == "profile":
                if not allow_profile:
                    raise InputError(f"{p}: is a saved profile; raw rows are needed here")
                return Source(name=path, profile=p)
    df = read_source(spark, path, table=table, fmt=fmt, encoding=encoding)
    kind = None if table else source_format(path, fmt)
    single = not table and not is_remote(path) and p.is_file() and kind == "parquet"
    return Source(name=path, df=df, parquet=p if single else None, text=kind in ("csv", "tsv", "json"))


@contextlib.contextmanager
def engine_for(sources: dict[str, Source], **kw: Any) -> Iterator[SparkEngine]:
    eng = SparkEngine(sources, **kw)
    try:
        yield eng
    finally:
        eng.close()


def check_dataframes(reference: Any, current: Any, opts: CheckOptions, progress: Any = None) -> Any:
    """run_check on two DataFrames (or a saved profile as the reference)."""
    from mlscore.data.check import run_check

    with engine_for({str(opts.reference): _as_source(reference, str(opts.reference)),
                     str(opts.current): _as_source(current, str(opts.current))}) as eng:
        return run_check(opts, progress, engine=eng)


def _as_source(obj: Any, name: str) -> Source:
    from mlscore.data.spark.session import is_dataframe

    if isinstance(obj, Source):
        return obj
    if is_dataframe(obj):
        return Source(name=name, df=obj)
    if isinstance(obj, (str, Path)) and Path(obj).is_file():
        return Source(name=name, profile=Path(obj))
    raise InputError(f"{name}: expected a Spark DataFrame or a saved mlscore profile, got {type(obj).__name__}")
