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
CONSTRAINTS = ROOT / "action" / "constraints.txt"
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
    "annotations-scope",
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
    assert {"mlscore.yml", "ci.yml", "release.yml"} <= names


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


def test_every_output_the_command_writes_is_declared() -> None:
    """band, failure-reason and markdown-file were written to GITHUB_OUTPUT but not declared (issue 13)."""
    assert set(_action()["outputs"]) == COMMAND_OUTPUTS
    for name, output in _action()["outputs"].items():
        assert output["description"].strip(), name


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version and not re.search(r"[<>=!~;@ ]", version), f"not an exact pin: {line}"
            pins[_canon(name)] = version
    return pins


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


ENVIRONMENTS = [
    {"python_version": v, "python_full_version": f"{v}.0", "sys_platform": p, "platform_system": s,
     "os_name": o, "platform_machine": "x86_64", "implementation_name": "cpython",
     "platform_python_implementation": "CPython"}
    for v in ("3.10", "3.11", "3.12", "3.13")
    for p, s, o in (("linux", "Linux", "posix"), ("darwin", "Darwin", "posix"), ("win32", "Windows", "nt"))
]


def test_the_action_installs_with_every_dependency_pinned() -> None:
    """Every distribution `pip install 'mlscore-audit[github]'` can install, on any Python and runner OS the action
    supports, has an exact pin in action/constraints.txt that satisfies what asks for it; action.yml passes the file
    to pip (and to the build backend's isolated install)."""
    from importlib.metadata import PackageNotFoundError, distribution

    import tomllib
    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = _pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [Requirement(r) for r in project["project"]["dependencies"]]
    wanted += [Requirement(r) for r in project["project"]["optional-dependencies"]["github"]]
    wanted += [Requirement(r) for r in project["build-system"]["requires"]]
    seen: set[str] = set()
    unchecked: list[str] = []
    while wanted:
        req = wanted.pop()
        if req.marker is not None and not any(req.marker.evaluate({**env, "extra": ""}) for env in ENVIRONMENTS):
            continue
        name = _canon(req.name)
        assert name in pins, f"{req.name} is installed by the action but not pinned in action/constraints.txt"
        assert Version(pins[name]) in req.specifier, f"{req.name}=={pins[name]} does not satisfy {req}"
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:  # not installed here (a backport for older Pythons, the build backend)
            unchecked.append(name)
            continue
        if dist.version == pins[name]:  # the pinned version's own requirements are the installed ones
            for raw in dist.requires or []:
                sub = Requirement(raw)
                if sub.marker is None or any(sub.marker.evaluate({**env, "extra": extra})
                                             for env in ENVIRONMENTS for extra in ("", *req.extras)):
                    wanted.append(sub)
        else:
            unchecked.append(name)
    assert {"pydantic-core", "httpcore", "h11", "markupsafe", "smmap"} <= seen  # the walk went deep
    assert len(unchecked) <= 6, unchecked
    steps = {s.get("id"): s for s in _action()["runs"]["steps"]}
    install = steps["install"]["run"]
    assert 'constraints="$GITHUB_ACTION_PATH/action/constraints.txt"' in install
    assert 'export PIP_CONSTRAINT="$constraints"' in install
    assert install.count('"${pip_install[@]}"') == 2 and '--constraint "$constraints"' in install


def test_release_workflow_builds_and_tags_the_package_version(tmp_path: Path) -> None:
    """The release workflow's version step, run as the runner would: the tag is v<__version__>, and a pushed tag
    that does not match the package version stops the release."""
    from mlscore import __version__

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}, "workflow_dispatch": None}  # PyYAML reads `on:` as True
    build = workflow["jobs"]["build"]
    step = next(s for s in build["steps"] if s.get("id") == "version")
    commands = " ".join(s.get("run", "") for s in build["steps"])
    assert "python -m build" in commands and "twine check --strict dist/*" in commands
    assert "action/constraints.txt" in commands
    for ref_type, ref_name, code in (("tag", f"v{__version__}", 0), ("branch", "main", 0), ("tag", "v9.9.9", 1)):
        output = tmp_path / f"output-{ref_type}-{ref_name}"
        output.write_text("")
        env = {"PATH": "/usr/bin:/bin", "REF_TYPE": ref_type, "REF_NAME": ref_name, "GITHUB_OUTPUT": str(output)}
        env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # `python` as setup-python provides it
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == code, done.stdout + done.stderr
        if code == 0:
            assert output.read_text() == f"tag=v{__version__}\n"
        else:
            assert f"tag v9.9.9 does not match the package version {__version__}" in done.stdout
    release = workflow["jobs"]["release"]
    assert release["permissions"] == {"contents": "write"} and release["needs"] == "build"
    assert '"$TAG" dist/*' in release["steps"][-1]["run"]


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


def _snippets(path: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(), re.DOTALL)


@pytest.mark.parametrize("doc", ["README.md", "docs/github-action.md"])
def test_documented_snippets_use_the_release_tag_and_are_valid(doc: str, tmp_path: Path) -> None:
    """The README's and the guide's Action workflow and pre-commit snippets name the tag the release workflow
    publishes (v<__version__>) and the hook this repository defines, and the workflow passes the schema."""
    from mlscore import __version__

    tag = f"v{__version__}"
    blocks = [(raw, yaml.safe_load(raw)) for raw in _snippets(ROOT / doc, "yaml")]
    workflows = [(raw, b) for raw, b in blocks if isinstance(b, dict) and "jobs" in b]
    hooks = [b for _, b in blocks if isinstance(b, dict) and "repos" in b]
    assert workflows and hooks
    for i, (raw, workflow) in enumerate(workflows):
        steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
        ours = [s["uses"] for s in steps if s.get("uses", "").startswith("mlscore/mlscore@")]
        assert ours == [f"mlscore/mlscore@{tag}"]
        path = tmp_path / f"workflow-{i}.yml"
        path.write_text(raw)
        proc = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    (hook_id,) = [h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())]
    for block in hooks:
        (repo,) = block["repos"]
        assert repo["repo"] == "https://github.com/mlscore/mlscore" and repo["rev"] == tag
        assert [h["id"] for h in repo["hooks"]] == [hook_id]
    installs = re.findall(r"git\+https://github\.com/mlscore/mlscore@(v[\w.]+)", (ROOT / doc).read_text())
    assert installs and set(installs) == {tag}
