"""action.yml, the workflows and .pre-commit-hooks.yaml: schemas, zizmor, and agreement with `mlscore github`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent

ISSUE_INPUTS = {
    "path",
    "config",
    "select",
    "ignore",
    "fail-under",
    "fail-on-drop",
    "baseline",
    "comment",
    "summary",
    "annotations",
    "sarif-file",
    "upload-sarif",
    "python-version",
    "version",
    "github-token",
}
ISSUE_OUTPUTS = {"score", "previous-score", "failed", "report-json", "sarif-file", "comment-url"}
# What `mlscore github` writes to GITHUB_OUTPUT (checked exactly by test_action_e2e.py).
COMMAND_OUTPUTS = {
    "score",
    "previous-score",
    "delta",
    "band",
    "failed",
    "failure-reason",
    "report-json",
    "markdown-file",
    "sarif-file",
    "comment-url",
    "can-write",
}


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (it is in the [test] extra)")
    return found


def test_workflows_exist() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"mlscore.yml", "ci.yml"} <= names


def test_action_yml_passes_the_github_action_schema() -> None:
    proc = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(ACTION)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflows_pass_the_github_workflow_schema() -> None:
    proc = subprocess.run(
        [
            _tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_offline_finds_nothing() -> None:
    # Without --min-severity, zizmor raises one *low* self-repository finding on `uses: ./`, our self-audit.
    proc = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--no-progress",
            "--min-severity",
            "low",
            str(ACTION),
            str(ROOT / ".github" / "workflows"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = proc.stdout + proc.stderr
    lows = re.findall(r"^(\w+)\[([\w-]+)\]", findings, re.M)
    assert {rule for _, rule in lows} <= {"self-repository"}, findings
    proc = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--no-progress",
            "--min-severity",
            "medium",
            str(ACTION),
            str(ROOT / ".github" / "workflows"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _action() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(ACTION.read_text())


def test_action_inputs_and_outputs_are_the_documented_ones() -> None:
    action = _action()
    assert ISSUE_INPUTS <= set(action["inputs"])
    assert all(name == name.lower() and "_" not in name for name in action["inputs"])  # kebab-case
    assert ISSUE_OUTPUTS <= set(action["outputs"])
    for name, output in action["outputs"].items():
        match = re.fullmatch(r"\$\{\{ steps\.run\.outputs\.([\w-]+) \}\}", output["value"])
        assert match and match.group(1) in COMMAND_OUTPUTS, name


def test_every_input_reaches_the_command_through_env_never_through_run() -> None:
    action = _action()
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    for step in steps:
        assert "${{" not in step.get("run", ""), step["name"]  # no template injection
        if "run" in step:
            assert step["shell"] == "bash"
    run = next(s for s in steps if s.get("id") == "run")
    passed = {
        m.group(1) for v in run["env"].values() if (m := re.search(r"inputs\.([\w-]+)", str(v)))
    }
    inputs_used_elsewhere = {"python-version", "version", "upload-sarif", "category"}
    assert set(action["inputs"]) - inputs_used_elsewhere == passed
    for name in passed:
        env_name = "MLSCORE_" + name.upper().replace("-", "_")
        assert run["env"][env_name] == f"${{{{ inputs.{name} }}}}"
    # every MLSCORE_* the step sets is one the command reads
    source = (ROOT / "src" / "mlscore" / "github" / "event.py").read_text()
    for env_name in run["env"]:
        if env_name != "MLSCORE_BIN":
            assert f'"{env_name}"' in source, env_name


def test_failing_step_is_last_and_uses_are_pinned() -> None:
    steps = _action()["runs"]["steps"]
    assert steps[-1]["name"] == "Enforce thresholds"
    assert "exit 1" in steps[-1]["run"]
    for path in (ACTION, *WORKFLOWS):
        for line in path.read_text().splitlines():
            m = re.match(r"\s*(?:- )?uses:\s*([^\s#]+)", line)
            if m and not m.group(1).startswith("./"):
                assert re.search(r"@[0-9a-f]{40}\s+# v\d+\.\d+\.\d+", line), (
                    f"{path.name}: unpinned {line.strip()}"
                )


def test_pre_commit_hook_definition() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hooks, list) and len(hooks) == 1
    hook = hooks[0]
    assert {"id", "name", "entry", "language"} <= set(hook)
    assert hook["id"] == "mlscore" and hook["language"] == "python"
    assert hook["entry"].split()[:2] == ["mlscore", "audit"]
    assert hook["pass_filenames"] is False
    re.compile(hook["files"])


def test_the_validators_do_catch_a_bad_action(tmp_path: Path) -> None:
    """Guard against vacuous checks: a composite step without shell, and template injection, are caught."""
    bad = tmp_path / "action.yml"
    bad.write_text(
        "name: bad\ndescription: bad\nruns:\n  using: composite\n  steps:\n"
        "    - run: echo ${{ github.event.pull_request.title }}\n"
    )
    schema = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert schema.returncode == 1
    bad.write_text(
        "name: bad\ndescription: bad\nruns:\n  using: composite\n  steps:\n"
        "    - shell: bash\n      run: echo ${{ github.event.pull_request.title }}\n"
    )
    audit = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", "--min-severity", "medium", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode != 0 and "template-injection" in audit.stdout + audit.stderr
