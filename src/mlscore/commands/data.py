"""`mlscore data`: profile datasets, write a Great Expectations suite, check drift, skew and predictions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mlscore.errors import InputError

_SUFFIX_FORMAT = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
                  ".txt": "text"}


def _progress(quiet: bool):  # type: ignore[no-untyped-def]
    if quiet:
        return None
    return lambda msg: click.echo(f"mlscore: {msg}", err=True)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{output}: cannot write: {exc.strerror or exc}") from None


def _spark_options(fn):  # type: ignore[no-untyped-def]
    """--engine and the Spark engine's options (docs/spark.md)."""
    options = [
        click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
                     help="local: read files here with pyarrow; spark: read and profile them with Spark."),
        click.option("--spark-master", metavar="URL", help="Spark master (default: local[*], or the one spark-submit set)."),
        click.option("--spark-conf", multiple=True, metavar="KEY=VALUE", help="A Spark setting (repeatable)."),
        click.option("--table", "spark_table", is_flag=True, help="With --engine spark: the inputs are table names."),
        click.option("--spark-format", type=click.Choice(["parquet", "delta", "csv", "tsv", "json", "orc"]),
                     help="With --engine spark: how to read the input paths (default: from the path)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _spark(kw: dict) -> object | None:  # type: ignore[type-arg]
    """SparkOptions when --engine spark, else None (a Spark option without it is a usage error)."""
    engine = kw.pop("engine")
    spark = {k: kw.pop(k) for k in ("spark_master", "spark_conf", "spark_table", "spark_format")}
    if engine != "spark":
        given = [k for k, v in spark.items() if v]
        if given:
            raise click.UsageError(f"--{given[0].replace('_', '-').replace('spark-table', 'table')} needs --engine spark")
        return None
    from mlscore.data.spark.cli import SparkOptions

    return SparkOptions(master=spark["spark_master"], conf=list(spark["spark_conf"]), table=spark["spark_table"],
                        fmt=spark["spark_format"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def data() -> None:
    """Profile datasets, infer schemas, check drift, skew, predictions and slices.

    \b
      mlscore data profile train.parquet -o reference.profile.json
      mlscore data schema train.parquet -o expectations.json
      mlscore data check --reference train.parquet --current serving.parquet -o data.json
    """


@data.command("profile")
@click.argument("path", type=click.Path())
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the profile (JSON) here.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default=None,
              help="text summary or the mergeable profile JSON (default: json with -o, else text).")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of CSV files.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@_spark_options
def profile_cmd(path: Path, output: Path | None, fmt: str | None, encoding: str, quiet: bool, **kw) -> None:  # type: ignore[no-untyped-def]
    """Summarise a CSV, Parquet or JSON Lines file as a mergeable, versioned profile."""
    from mlscore.data.readers import profile_file

    spark = _spark(kw)
    path = path if spark is not None else Path(path)  # a URI (s3://...) stays a string for Spark
    say = _progress(quiet)
    last = [0]

    def tick(rows: int) -> None:
        if say and rows - last[0] >= 1_000_000:
            last[0] = rows
            say(f"{rows:,} rows")

    if spark is not None:
        from mlscore.data.spark.cli import profile_path

        prof = profile_path(path, spark, encoding, say)  # type: ignore[arg-type]
    else:
        prof = profile_file(path, encoding=encoding, progress=tick)
    fmt = fmt or ("json" if output is not None else "text")
    if fmt == "json":
        _write(prof.to_json() + "\n", output)
    else:
        _write(_profile_text(prof), output)
    if output is not None and say:
        say(f"profiled {prof.row_count:,} rows, {len(prof.columns)} columns -> {output}")


def _profile_text(prof) -> str:  # type: ignore[no-untyped-def]
    lines = [f"{prof.source}: {prof.row_count} rows, {len(prof.columns)} columns", ""]
    lines.append(f"{'column':<28} {'kind':<12} {'nulls':>8} {'distinct':>9} {'min':>11} {'median':>11} {'max':>11}")
    for name, c in prof.columns.items():
        nu = c.n_unique
        if c.kind == "numeric":
            stats = [c.min, c.quantile(0.5), c.max]
            cells = " ".join(f"{'-' if s is None else format(s, '.4g'):>11}" for s in stats)
        else:
            top = sorted(c.categories.items(), key=lambda kv: -kv[1])[:3]
            cells = "top: " + ", ".join(f"{k!r} ({v})" for k, v in top)
        lines.append(f"{name[:28]:<28} {c.kind or 'null':<12} {c.null_count:>8} {('many' if nu is None else nu):>9} {cells}")
    return "\n".join(lines) + "\n"


@data.command("schema")
@click.argument("path", type=click.Path())
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the suite (JSON) here.")
@click.option("--name", "suite_name", default=None, help="Suite name (default: from the file name).")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of CSV files.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@_spark_options
def schema_cmd(path: Path, output: Path | None, suite_name: str | None, encoding: str, quiet: bool, **kw) -> None:  # type: ignore[no-untyped-def]
    """Infer a schema from a dataset (or a saved profile) as a Great Expectations suite to review and keep."""
    from mlscore.data.readers import profile_file
    from mlscore.data.suite import build_suite

    spark = _spark(kw)
    path = path if spark is not None else Path(path)
    if spark is not None:
        from mlscore.data.spark.cli import profile_path

        prof = profile_path(path, spark, encoding, None)  # type: ignore[arg-type]
    else:
        prof = profile_file(path, encoding=encoding)
    name = suite_name or Path(str(path).rstrip("/")).name.split(".")[0] or "mlscore"
    suite = build_suite(prof, name)
    _write(json.dumps(suite, indent=2) + "\n", output)
    say = _progress(quiet)
    if output is not None and say:
        say(f"{len(suite['expectations'])} expectations -> {output}")


@data.command("check")
@click.option("--reference", required=True, type=click.Path(),
              help="Training data (CSV/Parquet/JSONL) or a saved profile; with --engine spark, what Spark reads.")
@click.option("--current", required=True, type=click.Path(), help="Serving data to check.")
@click.option("--suite", type=click.Path(path_type=Path), help="A Great Expectations suite (JSON) to validate.")
@click.option("--target", help="Label column.")
@click.option("--prediction", help="Model output column.")
@click.option("--slice", "slices", multiple=True, help="Column to slice quality by (repeatable).")
@click.option("--sensitive", multiple=True, help="Sensitive attribute for fairness metrics (repeatable).")
@click.option("--column", "columns", multiple=True, help="Only check drift on these columns (repeatable).")
@click.option("--drift-method", default="auto", show_default=True,
              type=click.Choice(["auto", "ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi"]),
              help="auto = Evidently's default choice per column.")
@click.option("--drift-threshold", type=float, help="Override the method's default threshold.")
@click.option("--drift-share", type=float, default=0.5, show_default=True,
              help="Dataset drift when at least this share of columns drifted.")
@click.option("--important", multiple=True,
              help="A feature whose drift matters most (repeatable; default: the features most associated with "
                   "--target in the reference). Important features get more of the drift tests' power.")
@click.option("--fdr", type=float, default=0.05, show_default=True,
              help="False-discovery rate of the drift tests across columns (Benjamini-Hochberg).")
@click.option("--validator", type=click.Choice(["auto", "native", "ge", "none"]), default="auto", show_default=True,
              help="Expectation engine: native where supported with GE for the rest, only one, or none.")
@click.option("--task", type=click.Choice(["auto", "classification", "regression"]), default="auto", show_default=True)
@click.option("--min-support", type=int, default=30, show_default=True, help="Smallest slice or group evaluated.")
@click.option("--fairness-threshold", type=float, default=0.1, show_default=True)
@click.option("--quality-tolerance", type=float, default=0.05, show_default=True)
@click.option("--evidently-html", type=click.Path(path_type=Path), help="Also write Evidently's own drift report.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]), default=None,
              help="Output format (default: from the -o suffix, else text).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the report here.")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of CSV files.")
@click.option("--fail/--no-fail", default=True, show_default=True, help="Exit 1 when a check fails.")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path),
              help="The project the report is evidence for (default: found from the working directory).")
@click.option("--valid-for", type=click.FloatRange(min=0, min_open=True, max=3650), default=30.0, show_default=True,
              metavar="DAYS", help="Days `mlscore audit` may count the report as evidence.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@_spark_options
def check_cmd(**kw) -> int:  # type: ignore[no-untyped-def]
    """Compare current data with the reference: schema, expectations, drift, predictions, slices."""
    from mlscore.data.check import CheckOptions, run_check
    from mlscore.data.render import render

    spark = _spark(kw)
    if spark is None:
        kw["reference"], kw["current"] = Path(kw["reference"]), Path(kw["current"])
    if kw["drift_share"] is not None and not 0 < kw["drift_share"] <= 1:
        raise click.BadParameter("must be in (0, 1]", param_hint="--drift-share")
    if not 0 < kw["fdr"] < 1:
        raise click.BadParameter("must be in (0, 1)", param_hint="--fdr")
    if kw["min_support"] < 1:
        raise click.BadParameter("must be at least 1", param_hint="--min-support")
    opts = CheckOptions(
        reference=kw["reference"], current=kw["current"], suite=kw["suite"], target=kw["target"],
        prediction=kw["prediction"], slices=list(kw["slices"]), sensitive=list(kw["sensitive"]),
        columns=list(kw["columns"]) or None, drift_method=kw["drift_method"],
        drift_threshold=kw["drift_threshold"], drift_share=kw["drift_share"], encoding=kw["encoding"],
        validator=kw["validator"], min_support=kw["min_support"], fairness_threshold=kw["fairness_threshold"],
        quality_tolerance=kw["quality_tolerance"], task=kw["task"], important=list(kw["important"]),
        fdr=kw["fdr"],
    )
    from mlscore.provenance import project_option

    located = project_option(kw["project"])  # a bad --project is a usage error before any data is read
    if spark is not None:
        from mlscore.data.spark.cli import check as spark_check

        report = spark_check(opts, spark, _progress(kw["quiet"]))
    else:
        report = run_check(opts, _progress(kw["quiet"]))
    report = report.model_copy(update={"provenance": _provenance(located, opts, kw["valid_for"])})
    output: Path | None = kw["output"]
    fmt = kw["fmt"] or (_SUFFIX_FORMAT.get(output.suffix.lower(), "text") if output is not None else "text")
    color = output is None and fmt == "text" and sys.stdout.isatty()
    _write(render(report, fmt, color=color), output)
    if kw["evidently_html"] is not None:
        from mlscore.data.evidently_bridge import write_evidently_html

        write_evidently_html(opts, kw["evidently_html"])
    return 1 if (kw["fail"] and report.status == "failing") else 0


def _provenance(located, opts, valid_days: float):  # type: ignore[no-untyped-def]
    """What the report describes: the project and commit, and a fingerprint of every input file."""
    from mlscore.provenance import dataset, stamp

    project, root = located
    files = [("reference", opts.reference), ("current", opts.current), ("suite", opts.suite)]
    # with --engine spark an input may be a folder, a table or a URI: only files on this machine are fingerprinted
    return stamp(project, datasets=[dataset(role, path, root) for role, path in files
                                    if path is not None and Path(str(path)).is_file()],
                 valid_days=valid_days)
