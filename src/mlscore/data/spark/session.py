"""The Spark side of `mlscore data --engine spark`: the pyspark import guard, the session, reading
sources (Parquet, Delta, CSV, JSON, ORC, tables) and Spark errors turned into one line."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlscore.errors import InputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

INSTALL_HINT = "the Spark engine needs pyspark: pip install 'mlscore-audit[spark]'"
SUFFIX_FORMAT = {
    ".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "json", ".ndjson": "json",
    ".json": "json", ".orc": "orc",
}
FORMATS = ("parquet", "delta", "csv", "tsv", "json", "orc")
ARROW_BATCH_ROWS = 131_072  # as the local engine's batches (Spark's default is 10,000 rows)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")


def require_pyspark() -> None:
    """Raise the one-line install hint when pyspark is not importable."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise InputError(INSTALL_HINT) from None


def parse_conf(pairs: Sequence[str]) -> dict[str, str]:
    """``key=value`` strings (from --spark-conf) as a dict; a pair without '=' is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--spark-conf {pair!r}: expected key=value")
        out[key.strip()] = value
    return out


def make_session(master: str | None = None, conf: Mapping[str, str] | None = None, *,
                 delta: bool = False, app_name: str = "mlscore") -> SparkSession:
    """A SparkSession for the CLI: quiet JVM, Arrow batches of the local engine's size, UTC, no UI.

    ``getOrCreate`` returns the running session when there is one (spark-submit, Databricks), and only
    the runtime SQL settings are applied to it.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    from mlscore.config import env

    conf = dict(conf or {})
    if (master or "").startswith("local") and env("PYSPARK_PYTHON") is None:
        # the Python workers of a local session must run this interpreter (it has mlscore and pyarrow);
        # pyspark reads the variable when the SparkContext starts
        os.environ["PYSPARK_PYTHON"] = sys.executable
    log4j = Path(__file__).with_name("log4j2.properties")
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(ARROW_BATCH_ROWS),
        "spark.sql.shuffle.partitions": "8",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log4j}",
        "spark.executor.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log4j}",
    }
    settings.update(conf)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    if delta:
        try:
            from delta import configure_spark_with_delta_pip
        except ImportError:
            raise InputError("reading Delta tables needs delta-spark: pip install delta-spark") from None
        builder = configure_spark_with_delta_pip(
            builder.config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
            .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        )
    with spark_errors("cannot start Spark"):
        _quiet_gateway(master, settings)
        spark = builder.getOrCreate()
        with contextlib.suppress(Exception):
            spark.sparkContext.setLogLevel("OFF")
    return spark


def _quiet_gateway(master: str | None, settings: Mapping[str, str]) -> None:
    """Start the JVM ourselves with its stdout and stderr in a log file, so nothing the JVM prints (start-up
    notices, warnings, stack traces) reaches the terminal; errors reach the user as one line from mlscore.
    Not when a JVM is already up (notebooks, spark-submit) or with MLSCORE_DEBUG set."""
    import tempfile

    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    from mlscore.config import debug_enabled, env

    if SparkContext._gateway is not None or env("PYSPARK_GATEWAY_PORT") is not None or debug_enabled():
        return
    conf = SparkConf()
    if master:
        conf.setMaster(master)
    for key, value in settings.items():
        conf.set(key, value)
    log = open(Path(tempfile.gettempdir()) / "mlscore-spark-jvm.log", "ab")  # noqa: SIM115 - the JVM's for life
    SparkContext._ensure_initialized(gateway=launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log}))


def is_remote(path: str) -> bool:
    """s3://, abfss://, dbfs:/, hdfs://, file:/ ...: not checked on this machine's disk."""
    return bool(_SCHEME.match(path))


def source_format(source: str, fmt: str | None = None) -> str:
    """The Spark reader for a path: from --spark-format, a Delta log, the suffix, or the files inside."""
    if fmt:
        if fmt not in FORMATS:
            raise InputError(f"--spark-format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    p = Path(source)
    if not is_remote(source):
        if not p.exists():
            raise InputError(f"{source}: no such file or directory")
        if p.is_dir():
            if (p / "_delta_log").is_dir():
                return "delta"
            for child in sorted(p.rglob("*")):
                if child.is_file() and not child.name.startswith(("_", ".")):
                    suffix = child.suffix.lower()
                    if suffix in SUFFIX_FORMAT:
                        return SUFFIX_FORMAT[suffix]
                    if suffix in (".gz", ".bz2", ".snappy", ".zst") and Path(child.stem).suffix.lower() in SUFFIX_FORMAT:
                        return SUFFIX_FORMAT[Path(child.stem).suffix.lower()]
            raise InputError(f"{source}: no Parquet, CSV, JSON or ORC files in this directory (or pass --spark-format)")
        if p.is_file() and _head(p).startswith(b"PAR1"):
            return "parquet"
    for suffix in reversed([s.lower() for s in Path(source.rstrip("/")).suffixes]):
        if suffix in SUFFIX_FORMAT:
            return SUFFIX_FORMAT[suffix]
        if suffix not in (".gz", ".bz2", ".zst", ".snappy"):
            break
    if is_remote(source):
        return "parquet"  # a dataset folder on object storage
    raise InputError(f"{source}: unknown file type (use .parquet, .csv, .tsv, .json/.jsonl, .orc, a Delta "
                     "folder, or --spark-format)")


def _head(p: Path) -> bytes:
    try:
        with p.open("rb") as fh:
            return fh.read(4)
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None


def read_source(spark: SparkSession, source: str, *, table: bool = False, fmt: str | None = None,
                encoding: str = "utf-8") -> DataFrame:
    """A DataFrame over a path Spark reads, or over a catalog table (``table=True``)."""
    with spark_errors(source):
        if table:
            return spark.table(source)
        kind = source_format(source, fmt)
        reader = spark.read
        if kind in ("csv", "tsv"):
            reader = (reader.option("header", "true").option("inferSchema", "true")
                      .option("sep", "\t" if kind == "tsv" else ",").option("encoding", encoding)
                      .option("mode", "FAILFAST"))
            kind = "csv"
        if kind == "json":
            reader = reader.option("mode", "FAILFAST")
        df = reader.format(kind).load(source)
        if not df.columns:
            raise InputError(f"{source}: no columns")
        return df


def needs_delta(sources: Sequence[str], fmt: str | None, table: bool) -> bool:
    if table:
        return False
    if fmt == "delta":
        return True
    return any(not is_remote(s) and (Path(s) / "_delta_log").is_dir() for s in sources)


# ---------------------------------------------------------------- errors


def one_line(exc: BaseException, limit: int = 240) -> str:
    """The first meaningful line of a Spark, Py4J or Python-worker error, without JVM frames."""
    text = str(exc)
    worker = re.search(r"(?:mlscore\.errors\.)?InputError: (.+)", text)
    if worker:
        return _clip(worker.group(1).strip(), limit)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    line = next((ln for ln in lines if not ln.startswith(("at ", "Caused by", "Traceback", "File ", "...", "JVM stacktrace"))),
                type(exc).__name__)
    line = re.sub(r"\s*SQLSTATE: \w+\.?", "", line)
    line = re.sub(r"^An error occurred while calling [\w.]+\.\s*", "", line)
    line = re.sub(r"^(org\.apache\.spark\.|java\.\w+\.)[\w.$]+: ", "", line)
    return _clip(line, limit)


def _clip(line: str, limit: int) -> str:
    line = "".join(ch if ch.isprintable() else "?" for ch in line)
    return line if len(line) <= limit else line[: limit - 3] + "..."


@contextlib.contextmanager
def spark_errors(what: str) -> Iterator[None]:
    """Turn Spark/Py4J errors into one-line InputErrors naming ``what`` (a path, table or task)."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:
        if not _is_spark_error(exc):
            raise
        msg = one_line(exc)
        if "PATH_NOT_FOUND" in msg or "Path does not exist" in msg:
            msg = "no such file or directory"
        elif "TABLE_OR_VIEW_NOT_FOUND" in msg:
            msg = "no such table or view"
        raise InputError(f"{what}: {msg}") from None


def _is_spark_error(exc: BaseException) -> bool:
    mod = type(exc).__module__ or ""
    if mod.startswith(("pyspark", "py4j")):
        return True
    return any(c.__module__.startswith(("pyspark", "py4j")) for c in type(exc).__mro__[1:])


def is_dataframe(obj: Any) -> bool:
    try:
        from pyspark.sql import DataFrame
    except ImportError:
        return False
    if isinstance(obj, DataFrame):
        return True
    with contextlib.suppress(ImportError):  # Spark Connect (Databricks shared clusters)
        from pyspark.sql.connect.dataframe import DataFrame as ConnectDataFrame

        return isinstance(obj, ConnectDataFrame)
    return False
