"""`mlscore probe URL`: probe a live model endpoint for what it proves about the rubric."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

from mlscore.errors import InputError

_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_EXT_FORMAT = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "text"}


def _csv_list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def headers_from_env(specs: tuple[str, ...], environ: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """``NAME=ENVVAR`` pairs -> (header -> value, header -> env var name). Values are never echoed."""
    env = os.environ if environ is None else environ
    headers: dict[str, str] = {}
    sources: dict[str, str] = {}
    for spec in specs:
        name, sep, var = spec.partition("=")
        name, var = name.strip(), var.strip()
        if not sep or not name or not var:
            raise InputError(f"--header-env {spec!r}: expected HEADER=ENV_VAR, e.g. Authorization=MODEL_TOKEN")
        if not _HEADER_NAME.match(name):
            raise InputError(f"--header-env {spec!r}: {name!r} is not a valid header name")
        if var not in env:
            raise InputError(f"--header-env {spec!r}: environment variable {var} is not set")
        value = env[var]
        if any(c in value for c in "\r\n\0"):
            raise InputError(f"--header-env {spec!r}: the value of {var} contains a line break or NUL")
        headers[name] = value
        sources[name] = var
    return headers, sources


@click.command("probe", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("url")
@click.option("--model", "-m", help="Model name on the server (V2, TF Serving, TorchServe need it).")
@click.option(
    "--protocol", type=click.Choice(["auto", "v2", "tfserving", "torchserve", "mlflow", "bentoml", "json"]),
    default="auto", show_default=True, help="Serving protocol; auto tries each one's health paths and says how it decided.",
)
@click.option("--sample", type=click.Path(dir_okay=False), help="Reference rows to send (CSV, Parquet or JSONL).")
@click.option("--expected-predictions", type=click.Path(dir_okay=False), help="Offline predictions for the --sample rows, same order (skew check).")
@click.option("--prediction-column", help="Column of --expected-predictions to compare (default: prediction/pred/... or the only column).")
@click.option("--features", help="Comma-separated feature columns of --sample, in the model's order (default: all).")
@click.option("--drop", "drop", multiple=True, help="A --sample column that is not a feature (target, id); repeatable.")
@click.option("--api", help="Inference route of a plain JSON or BentoML service (default: from its OpenAPI document).")
@click.option("--model-output", "outputs", multiple=True, help="V2 output to request and compare, e.g. predict_proba; repeatable.")
@click.option("--v2-codec", type=click.Choice(["auto", "np", "pd"]), default="auto", show_default=True,
              help="V2 request layout: one 2-D tensor (np) or one named tensor per column (pd); auto: pd when a feature is not numeric.")
@click.option("--versions", help="Comma-separated model versions that should answer (rollback targets).")
@click.option("--metrics-url", help="Prometheus metrics URL, when it is not in one of the usual places.")
@click.option("--requests", "n_requests", type=click.IntRange(10, 100_000), default=200, show_default=True, help="Requests in the latency run.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True, help="Concurrent connections in the latency run.")
@click.option("--max-requests", type=click.IntRange(20, 1_000_000), default=1000, show_default=True, help="Hard cap on requests for the whole probe.")
@click.option("--time-budget", type=click.FloatRange(1, 3600), default=25.0, show_default=True, help="Hard cap on seconds; checks left over are skipped.")
@click.option("--max-rate", type=click.FloatRange(0, None), default=500.0, show_default=True, help="Most requests per second (0: no limit).")
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=5.0, show_default=True, help="Seconds to wait for each answer.")
@click.option("--header-env", "header_env", multiple=True, metavar="HEADER=ENV_VAR", help="Send HEADER with the value of ENV_VAR (never printed or saved); repeatable.")
@click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (test servers only).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), help="CA bundle to verify the server's certificate.")
@click.option("--p99-budget-ms", type=click.FloatRange(0, None), help="Fail the latency check when p99 is above this.")
@click.option("--max-age-days", type=click.FloatRange(0, None), default=90.0, show_default=True, help="Fail the model-age check above this age.")
@click.option("--atol", type=click.FloatRange(0, None), default=1e-6, show_default=True, help="Absolute tolerance of the skew check.")
@click.option("--rtol", type=click.FloatRange(0, None), default=1e-6, show_default=True, help="Relative tolerance of the skew check.")
@click.option("--max-mismatch-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True, help="Skew check fails above this share of differing rows.")
@click.option("--skew-rows", type=click.IntRange(1, 100_000), default=200, show_default=True, help="Sample rows replayed for the skew check.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=32, show_default=True, help="Rows per request when replaying.")
@click.option("--oversized-mb", type=click.FloatRange(0, 64), default=4.0, show_default=True, help="Size of the oversized-payload bad input (0: skip).")
@click.option("--check", "only", multiple=True, help="Run only this check (repeatable); see docs/probe.md for ids.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]), help="Report format (default: from -o's extension, else text).")
@click.option("--output", "-o", "output_file", type=click.Path(dir_okay=False, writable=True), help="Write the report here (a text summary goes to stderr).")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path),
              help="The project the report is evidence for (default: found from the working directory).")
@click.option("--valid-for", type=click.FloatRange(min=0, min_open=True, max=3650), default=30.0, show_default=True,
              metavar="DAYS", help="Days `mlscore audit` may count the report as evidence.")
@click.option("--fail-on", type=click.Choice(["failing", "never"]), default="failing", show_default=True, help="Exit 1 when a check fails or errs.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def probe(
    url: str, model: str | None, protocol: str, sample: str | None, expected_predictions: str | None,
    prediction_column: str | None, features: str | None, drop: tuple[str, ...], api: str | None, outputs: tuple[str, ...],
    v2_codec: str, versions: str | None, metrics_url: str | None, n_requests: int, concurrency: int, max_requests: int, time_budget: float,
    max_rate: float, timeout: float, header_env: tuple[str, ...], insecure: bool, ca_file: str | None,
    p99_budget_ms: float | None, max_age_days: float, atol: float, rtol: float, max_mismatch_rate: float, skew_rows: int,
    batch_size: int, oversized_mb: float, only: tuple[str, ...], fmt: str | None, output_file: str | None,
    project: Path | None, valid_for: float, fail_on: str, quiet: bool,
) -> int:
    """Probe the model endpoint at URL: health, version, metrics, latency, bad and edge inputs, skew.

    Every request is bounded (--max-requests, --time-budget, --max-rate, --timeout); the default
    run finishes in under 30 seconds. Exit 0 when no check fails, 1 when one does, 2 on bad usage
    or an endpoint that cannot be probed (refused, hangs, wrong protocol, not JSON).
    """
    from mlscore.probe.checks import Options
    from mlscore.probe.render import render
    from mlscore.probe.run import CHECK_IDS, ProbeConfig, run_probe

    unknown = [c for c in only if c not in CHECK_IDS]
    if unknown:
        raise InputError(f"--check {unknown[0]!r}: unknown check (known: {', '.join(CHECK_IDS)})")
    headers, sources = headers_from_env(header_env)
    options = Options(
        requests=n_requests, concurrency=concurrency, batch_size=batch_size, skew_rows=skew_rows, atol=atol, rtol=rtol,
        max_mismatch_rate=max_mismatch_rate, p99_budget_ms=p99_budget_ms, max_age_days=max_age_days,
        oversized_bytes=int(oversized_mb * 1024 * 1024), versions=_csv_list(versions), metrics_url=metrics_url,
        prediction_column=prediction_column, output=outputs[0] if outputs else None,
    )
    config = ProbeConfig(
        url=url, model=model, protocol=protocol, sample=sample, expected_predictions=expected_predictions,
        features=_csv_list(features), drop_columns=drop, api=api, outputs=outputs, headers=headers, header_sources=sources,
        timeout_s=timeout, time_budget_s=time_budget, max_requests=max_requests, max_rate=max_rate or None,
        verify_tls=not insecure, ca_file=ca_file, options=options, checks=only, v2_codec=v2_codec,
    )
    from mlscore.provenance import dataset, endpoint, project_option, stamp

    located = project_option(project)  # a bad --project is a usage error before any request
    progress = None if quiet else (lambda msg: click.echo(f"probe: {msg}", err=True))
    report = run_probe(config, progress)
    files = [("sample", sample), ("expected-predictions", expected_predictions)]
    report = report.model_copy(update={"provenance": stamp(
        located[0], datasets=[dataset(role, f, located[1]) for role, f in files if f], ep=endpoint(url, model),
        valid_days=valid_for)})
    if fmt is None:
        fmt = _EXT_FORMAT.get(Path(output_file).suffix.lower(), "text") if output_file else "text"
    if output_file:
        try:
            Path(output_file).parent.mkdir(parents=True, exist_ok=True)
            Path(output_file).write_text(render(report, fmt), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{output_file}: cannot write the report: {exc.strerror or exc}") from None
        click.echo(render(report, "text", color=sys.stderr.isatty() and "NO_COLOR" not in os.environ), err=True, nl=False)
        click.echo(f"probe: report written to {output_file}", err=True)
    else:
        click.echo(render(report, fmt, color=fmt == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ), nl=False)
    counts = report.counts()
    return 1 if fail_on == "failing" and (counts["failing"] or counts["error"]) else 0
