"""Alert rules and dashboard: generated from the metric table, committed copies current, promtool-clean."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlscore.sidecar.config import AlertSettings, SidecarConfig
from mlscore.sidecar.dashboard import render_dashboard
from mlscore.sidecar.metrics import METRICS, metrics_table_markdown
from mlscore.sidecar.rules import alert_specs, render_rules
from tests.support.mlserver import skip_or_fail

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "mlscore-alerts.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "mlscore-alerts.test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "mlscore.json"
DOCS = REPO / "docs" / "sidecar.md"
REGENERATE = "regenerate with `mlscore sidecar alerts -o deploy/prometheus/mlscore-alerts.yml` and " \
             "`mlscore sidecar dashboard -o deploy/grafana/mlscore.json`"


def _promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        skip_or_fail("promtool not installed: apt-get install -y prometheus")
    assert exe is not None
    return exe


def test_committed_rules_and_dashboard_are_up_to_date() -> None:
    assert RULES.read_text() == render_rules(SidecarConfig()), REGENERATE
    assert DASHBOARD.read_text() == render_dashboard(SidecarConfig()), REGENERATE


def test_docs_metrics_table_is_current() -> None:
    assert metrics_table_markdown() in DOCS.read_text(), "paste `mlscore sidecar metrics-table` into docs/sidecar.md"
    readme = DOCS.parent.parent / "README.md"
    assert metrics_table_markdown() in readme.read_text(), "paste `mlscore sidecar metrics-table` into README.md"


def test_metric_names_follow_prometheus_conventions() -> None:
    for d in METRICS:
        assert re.fullmatch(r"mlscore_[a-z0-9_]+", d.name)
        assert not d.name.endswith("_total"), "counters get _total from the client library"
        assert d.kind == "counter" or not d.exposed_name.endswith("_total")
        assert not re.search(r"_(ms|milliseconds|kb|mb|percent)$", d.name), "base units only"
        assert "le" not in d.labels and len(d.labels) <= 4


def test_thresholds_come_from_config() -> None:
    cfg = SidecarConfig(alerts=AlertSettings(error_ratio=0.2, latency_p99_seconds=1.5, drift_for="15m",
                                             max_model_age_days=7, job="ml"))
    text = render_rules(cfg)
    assert "> 0.2" in text and "> 1.5" in text and "for: 15m" in text and "> 604800" in text
    assert 'up{job="ml"}' in text
    op = yaml.safe_load(render_rules(cfg, kind="prometheusrule"))
    assert op["kind"] == "PrometheusRule"
    assert op["spec"]["groups"] == yaml.safe_load(text)["groups"]


@pytest.mark.integration
def test_promtool_checks_the_generated_rules(tmp_path: Path) -> None:
    promtool = _promtool()
    out = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(alert_specs(SidecarConfig()))} rules found" in out.stdout


@pytest.mark.integration
def test_promtool_unit_tests_cover_every_alert_both_ways() -> None:
    promtool = _promtool()
    doc = yaml.safe_load(RULE_TESTS.read_text())
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in doc["tests"]:
        for check in case["alert_rule_test"]:
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {s.name for s in alert_specs(SidecarConfig())}
    assert fires == names and quiet == names
    out = subprocess.run([promtool, "test", "rules", RULE_TESTS.name], capture_output=True, text=True, check=False,
                         cwd=RULE_TESTS.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


@pytest.mark.integration
def test_dashboard_queries_parse(tmp_path: Path) -> None:
    promtool = _promtool()
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= len(METRICS)
    shown = " ".join(exprs)
    for d in METRICS:
        assert d.name in shown, f"{d.name} has no panel"
    rules = [{"record": f"mlscore:panel{i}", "expr": e.replace("$__rate_interval", "5m").replace("$model", ".*")}
             for i, e in enumerate(exprs)]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    out = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
