"""Monitoring next to a model server that the tree deploys with Docker Compose: the mlscore sidecar in front of
it, Prometheus with the sidecar's alert rules, Alertmanager that notifies, and a Grafana dashboard.

Claims follow LABELING.md: alert rules count as automated only with a notifier (C13), so Alertmanager with a
receiver is part of what is written; drift alerts need the training data's reference profile (MON2, MON3, MON7),
so without one only the non-finite and latency alerts are claimed (MON5, MON6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SERVER_RX = re.compile(r"(?i)mlserver|tensorflow/serving|tfserving|torchserve|bentoml|seldon|kserve|tritonserver|"
                       r"uvicorn|gunicorn|fastapi|flask|serve|predict|inference|model")
COMPOSE_NAMES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
DIR = "deploy/mlscore"


@dataclass(frozen=True)
class Server:
    compose: str  # the compose file that defines it
    service: str
    port: int  # the port the server listens on inside its container


def find_server(root: Path, paths: list[str]) -> Server | None:
    """The first Compose service that looks like a model server and publishes a port."""
    for name in (p for p in paths if p.rsplit("/", 1)[-1] in COMPOSE_NAMES and not p.startswith(DIR)):
        try:
            doc = yaml.safe_load((root / name).read_text("utf-8")[:512 * 1024])
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            continue
        services = doc.get("services") if isinstance(doc, dict) else None
        for service, spec in (services or {}).items() if isinstance(services, dict) else ():
            if not isinstance(spec, dict) or "mlscore" in str(service):
                continue
            text = " ".join(str(spec.get(k, "")) for k in ("image", "command", "entrypoint", "build"))
            if not SERVER_RX.search(f"{service} {text}"):
                continue
            for port in spec.get("ports") or spec.get("expose") or ():
                m = re.search(r"(\d+)(?:/tcp)?\s*$", str(port.get("target", "")) if isinstance(port, dict)
                              else str(port))
                if m:
                    return Server(name, str(service), int(m.group(1)))
    return None


def reference_profile(root: Path, train_data: str) -> str | None:
    """The training data's profile (JSON) for the sidecar's drift checks, or None without `mlscore[data]`."""
    try:
        from mlscore.data.readers import profile_file
    except ImportError:
        return None
    try:
        return profile_file(root / train_data).to_json() + "\n"
    except Exception:  # noqa: BLE001 - an unreadable dataset means no reference, said in the plan
        return None


def files(server: Server, model: str, reference: str | None) -> dict[str, str]:
    """Path -> text of everything written next to the server."""
    from mlscore.sidecar.config import SidecarConfig
    from mlscore.sidecar.dashboard import render_dashboard
    from mlscore.sidecar.rules import render_rules

    config = SidecarConfig.model_validate({"model": {"name": model}})
    toml = (f"# Written by `mlscore init` for the {server.service!r} service of {server.compose}.\n"
            f"[model]\nname = \"{model}\"\n# trained_at = \"2026-01-01T00:00:00Z\"  # set it to get the model-age "
            "alert (MON4)\n\n[alerts]\n")
    reference_arg = " --reference /etc/mlscore/reference.profile.json" if reference else ""
    compose: dict[str, Any] = {"services": {
        "mlscore-sidecar": {
            "image": "python:3.12-slim",
            "command": ["sh", "-c", ("pip install --no-cache-dir 'mlscore-audit[sidecar]' && exec mlscore sidecar "
                        f"--upstream http://{server.service}:{server.port} --listen 0.0.0.0:8000 "
                        f"--metrics 0.0.0.0:9108 --config /etc/mlscore/sidecar.toml{reference_arg}")],
            "ports": ["8000:8000"],
            "volumes": ["./sidecar.toml:/etc/mlscore/sidecar.toml:ro"]
            + (["./reference.profile.json:/etc/mlscore/reference.profile.json:ro"] if reference else []),
            "depends_on": [server.service]},
        "prometheus": {
            "image": "prom/prometheus:v2.53.0",
            "volumes": ["./prometheus.yml:/etc/prometheus/prometheus.yml:ro",
                        "./mlscore-alerts.yml:/etc/prometheus/mlscore-alerts.yml:ro"],
            "ports": ["9090:9090"]},
        "alertmanager": {
            "image": "prom/alertmanager:v0.27.0",
            "volumes": ["./alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro",
                        "./secrets/webhook-url:/etc/alertmanager/secrets/webhook-url:ro"],
            "ports": ["9093:9093"]},
    }}
    head = (f"# Written by `mlscore init`: the mlscore sidecar in front of {server.service!r} ({server.compose}),\n"
            "# Prometheus with its alert rules, and Alertmanager that notifies (ML Test Score MON2-MON7).\n"
            f"#   docker compose -f {server.compose} -f {DIR}/compose.yaml up -d\n"
            "# Send clients to port 8000 (the sidecar forwards to the model server). Put your incoming-webhook URL\n"
            f"# (Slack, Teams, PagerDuty...) in {DIR}/secrets/webhook-url, which is not committed.\n")
    prometheus = (
        "# Written by `mlscore init`: scrape the sidecar, evaluate its alert rules, send alerts to Alertmanager.\n"
        "global:\n  scrape_interval: 15s\n  evaluation_interval: 30s\n"
        "rule_files:\n  - mlscore-alerts.yml  # next to this file (/etc/prometheus/ in the container)\n"
        "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"alertmanager:9093\"]\n"
        f"scrape_configs:\n  - job_name: {config.alerts.job}\n    static_configs:\n"
        "      - targets: [\"mlscore-sidecar:9108\"]\n")
    alertmanager = (
        "# Written by `mlscore init`: every mlscore alert goes to the team's incoming webhook (the URL is a secret\n"
        "# file, mounted by compose.yaml). Replace the receiver with email, Slack or PagerDuty settings if you prefer.\n"
        "route:\n  receiver: team\n  group_by: [alertname, model]\n  repeat_interval: 4h\n"
        "receivers:\n  - name: team\n    webhook_configs:\n"
        "      - url_file: /etc/alertmanager/secrets/webhook-url\n        send_resolved: true\n")
    out = {
        f"{DIR}/compose.yaml": head + yaml.safe_dump(compose, sort_keys=False, width=1000),
        f"{DIR}/sidecar.toml": toml,
        f"{DIR}/prometheus.yml": prometheus,
        f"{DIR}/mlscore-alerts.yml": render_rules(config),
        f"{DIR}/alertmanager.yml": alertmanager,
        f"{DIR}/grafana-dashboard.json": render_dashboard(config),
        f"{DIR}/.gitignore": "secrets/\n",
    }
    if reference:
        out[f"{DIR}/reference.profile.json"] = reference
    return out


def claims(reference: str | None, train_data: str | None) -> list[tuple[str, str]]:
    """(rule id, why) for the rubric tests the deployed alerts watch, with a notifier (LABELING.md G6c, C13)."""
    out = [("MON5", ("an alert fires on non-finite served predictions and Alertmanager notifies (LABELING.md MON5: "
                    "alert rules on NaN counts, with notification, C13)")),
           ("MON6", ("alerts fire on p99 latency and on latency creeping over its baseline, and Alertmanager notifies "
                    "(LABELING.md MON6: alert rules on collected metrics)"))]
    if reference:
        out += [("MON2", ("an alert fires when live inputs drift from the training data or break its schema "
                         "(LABELING.md MON2: alert rules on input statistics)")),
                ("MON3", (f"the sidecar compares live input distributions with the profile of {train_data}, the "
                         "training data, and alerts (LABELING.md MON3: skew detection, automated under G6)")),
                ("MON7", ("an alert fires when the served prediction distribution drifts (LABELING.md MON7: alert "
                         "rules on the prediction distribution)"))]
    return out
