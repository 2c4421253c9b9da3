"""`mlscore sidecar`: run the proxy/tap, or generate its Prometheus alert rules and Grafana dashboard."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mlscore.errors import InputError


def _write(text: str, output: str | None) -> None:
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{output}: cannot write: {exc.strerror}") from None
    click.echo(f"wrote {output}", err=True)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--upstream", metavar="URL", help="Model server to proxy to, e.g. http://127.0.0.1:8080. "
              "Without it, only the /ingest tap runs.")
@click.option("--listen", metavar="HOST:PORT", help="Where clients connect (default 127.0.0.1:8000).")
@click.option("--metrics", "metrics_addr", metavar="HOST:PORT",
              help="Metrics and /ingest port (default 127.0.0.1:9108).")
@click.option("--reference", metavar="PROFILE", help="Reference profile JSON (from `mlscore data profile`).")
@click.option("--window", metavar="ROWS|DURATION", help="Window: a row count (10000) or a duration (5m).")
@click.option("--config", "config_path", metavar="FILE", help="sidecar.toml with [sidecar], [model], [alerts].")
@click.option("--sample-rate", type=float, help="Share of requests analysed (0..1, default 1).")
@click.option("--max-body-bytes", type=int, help="Largest request body forwarded; larger ones get 413.")
@click.option("--log-payloads", is_flag=True, default=None,
              help="Log the first 512 bytes of payloads that fail to decode (off: payloads may be personal).")
@click.pass_context
def sidecar(ctx: click.Context, upstream: str | None, listen: str | None, metrics_addr: str | None,
            reference: str | None, window: str | None, config_path: str | None, sample_rate: float | None,
            max_body_bytes: int | None, log_payloads: bool | None) -> None:
    """Watch a model server's traffic and export drift and serving metrics.

    \b
    mlscore sidecar --upstream http://127.0.0.1:8080 --listen 127.0.0.1:8000 \\
        --reference reference.profile.json --metrics 127.0.0.1:9108 --window 5m
    mlscore sidecar alerts -o deploy/prometheus/mlscore-alerts.yml
    mlscore sidecar dashboard -o deploy/grafana/mlscore.json
    """
    from mlscore.sidecar.config import load_config

    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    if ctx.invoked_subcommand is not None:
        return
    config = load_config(config_path).with_overrides(
        upstream=upstream, listen=listen, metrics=metrics_addr, reference=reference, window=window,
        sample_rate=sample_rate, max_body_bytes=max_body_bytes, log_payloads=log_payloads,
    )
    import logging

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="mlscore sidecar: %(message)s")
    from mlscore.sidecar.server import run

    run(config)


@sidecar.command()
@click.option("-o", "--output", metavar="FILE", help="Write here instead of stdout.")
@click.option("--config", "config_path", metavar="FILE", help="sidecar.toml ([alerts] thresholds).")
@click.option("--format", "fmt", type=click.Choice(["rules", "prometheusrule"]), default="rules",
              show_default=True, help="A Prometheus rule file, or a prometheus-operator PrometheusRule.")
@click.pass_context
def alerts(ctx: click.Context, output: str | None, config_path: str | None, fmt: str) -> None:
    """Prometheus alerting rules for the metrics the sidecar exports."""
    from mlscore.sidecar.config import load_config
    from mlscore.sidecar.rules import render_rules

    config = load_config(config_path or ctx.obj.get("config_path"))
    _write(render_rules(config, kind=fmt), output)


@sidecar.command()
@click.option("-o", "--output", metavar="FILE", help="Write here instead of stdout.")
@click.option("--config", "config_path", metavar="FILE", help="sidecar.toml ([alerts] thresholds).")
@click.pass_context
def dashboard(ctx: click.Context, output: str | None, config_path: str | None) -> None:
    """A Grafana dashboard (JSON model) for the sidecar's metrics."""
    from mlscore.sidecar.config import load_config
    from mlscore.sidecar.dashboard import render_dashboard

    config = load_config(config_path or ctx.obj.get("config_path"))
    _write(render_dashboard(config), output)


@sidecar.command("metrics-table")
@click.option("-o", "--output", metavar="FILE", help="Write here instead of stdout.")
def metrics_table(output: str | None) -> None:
    """The Markdown table of exported metrics (for the README)."""
    from mlscore.sidecar.metrics import metrics_table_markdown

    _write(metrics_table_markdown(), output)
