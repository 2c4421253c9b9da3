"""A repository whose code, configs, hooks and artefacts write a marker file if anything runs them."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path

import pytest

from tests.safety.hostile import assert_completed, audit, git_init

pytestmark = pytest.mark.timeout(180)


def _payload(marker: Path, who: str) -> str:
    return f"open({str(marker / who)!r}, 'w').write('executed')"


def _shell(marker: Path, who: str) -> str:
    return f"touch {marker / who}"


class _Exploit:
    """Unpickling an instance calls exec(code): exactly what an unsafe loader would do."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def _write(root: Path, rel: str, content: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def build_trapped_repo(root: Path, marker: Path) -> None:
    py = lambda who: f"{_payload(marker, who)}\n"  # noqa: E731
    _write(root, "conftest.py", py("conftest") + "import pytest  # noqa: F401\n")
    _write(root, "tests/conftest.py", py("tests-conftest"))
    _write(root, "tests/test_model.py", py("test-module") + "\ndef test_x():\n    assert 1 + 1 == 2\n")
    _write(root, "setup.py", py("setup") + "from setuptools import setup\nsetup(name='trap')\n")
    _write(root, "sitecustomize.py", py("sitecustomize"))
    _write(root, "usercustomize.py", py("usercustomize"))
    _write(root, "trap.pth", f"import os; {_payload(marker, 'pth')}\n")
    _write(root, ".venv/pyvenv.cfg", "home = /usr/bin\ninclude-system-site-packages = false\n")
    _write(root, ".venv/lib/python3.11/site-packages/trap.pth", f"import os; {_payload(marker, 'venv-pth')}\n")
    _write(root, ".venv/bin/python", f"#!/bin/sh\n{_shell(marker, 'venv-python')}\n")
    _write(root, "trap/__init__.py", py("package-init"))
    _write(root, "trap/__main__.py", py("package-main"))
    _write(root, "trap/model.py", "from trap import helpers\n" + py("model-module"))
    _write(root, "trap/helpers.py", py("helpers"))
    # Shadow mlscore's own dependencies: importing from the audited repo's root would run these.
    for name in ("yaml", "pydantic", "click", "git", "jinja2", "json", "ast", "tomllib", "mlscore"):
        _write(root, f"{name}.py" if name != "mlscore" else "mlscore/__init__.py", py(f"shadow-{name}"))
    _write(root, "noxfile.py", py("noxfile"))
    _write(root, "tasks.py", py("invoke-tasks"))
    _write(root, "fabfile.py", py("fabfile"))
    _write(root, "docs/conf.py", py("sphinx-conf"))
    _write(root, "Makefile", f"all:\n\t{_shell(marker, 'make')}\ntest:\n\t{_shell(marker, 'make-test')}\n")
    _write(root, "tox.ini", f"[tox]\nenvlist = py\n[testenv]\ncommands = {_shell(marker, 'tox')}\n")
    _write(root, "scripts/train.sh", f"#!/bin/sh\n{_shell(marker, 'script')}\n")
    os.chmod(root / "scripts/train.sh", 0o755)
    _write(root, "requirements.txt", f"-e .\n--index-url http://127.0.0.1:9/simple\ntrap @ file://{root}\n")
    _write(
        root,
        "pyproject.toml",
        "[build-system]\nrequires = []\nbuild-backend = 'backend'\nbackend-path = ['.']\n"
        "[project]\nname = 'trap'\nversion = '0'\n[tool.pytest.ini_options]\naddopts = '-p trap'\n",
    )
    _write(root, "backend.py", py("build-backend"))
    _write(root, "dvc.yaml", f"stages:\n  train:\n    cmd: {_shell(marker, 'dvc')}\n")
    _write(
        root,
        ".github/workflows/ci.yml",
        "on: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - run: {_shell(marker, 'ci')}\n      - run: python -m pytest tests\n",
    )
    _write(root, ".pre-commit-config.yaml",
           f"repos:\n- repo: local\n  hooks:\n  - id: x\n    name: x\n    entry: {_shell(marker, 'precommit')}\n"
           "    language: system\n")
    _write(root, "params.yaml", f"seed: !!python/object/apply:os.system ['{_shell(marker, 'yaml-tag')}']\n")
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
             "source": [_payload(marker, "notebook")]},
            {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
             "source": [f"!{_shell(marker, 'notebook-shell')}"]},
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    _write(root, "notebooks/train.ipynb", json.dumps(notebook))
    blob = pickle.dumps(_Exploit(_payload(marker, "pickle")))
    for rel in ("models/model.pkl", "models/model.pickle", "models/model.joblib", "models/model.pt",
                "models/model.pth", "models/model.sav", "data/train.pkl", "data/frame.npy"):
        _write(root, rel, blob)


def _markers(marker: Path) -> list[str]:
    return sorted(p.name for p in marker.iterdir()) if marker.exists() else []


def test_the_traps_are_live(tmp_path):
    """Guard against a harmless fixture: each kind of trap really writes the marker when run."""
    marker = tmp_path / "markers"
    marker.mkdir()
    root = tmp_path / "repo"
    build_trapped_repo(root, marker)
    pickle.loads((root / "models/model.pkl").read_bytes())  # noqa: S301 - our own fixture, proving it works
    subprocess.run(["python3", str(root / "conftest.py")], check=False, capture_output=True)
    subprocess.run(["sh", str(root / "scripts/train.sh")], check=True)
    assert {"pickle", "conftest", "script"} <= set(_markers(marker))


@pytest.mark.parametrize("as_git", [False, True], ids=["walk", "git"])
def test_nothing_from_the_repo_runs(tmp_path, as_git):
    marker = tmp_path / "markers"
    marker.mkdir()
    root = tmp_path / "repo"
    build_trapped_repo(root, marker)
    if as_git:
        git_init(root)
        hooks = root / ".git" / "hooks"
        for hook in ("post-checkout", "post-index-change", "pre-commit", "post-merge", "reference-transaction",
                     "pre-auto-gc", "fsmonitor-watchman"):
            (hooks / hook).write_text(f"#!/bin/sh\n{_shell(marker, 'hook-' + hook)}\n")
            os.chmod(hooks / hook, 0o755)
    run = audit(root)  # cwd is the trapped repository, as when a user runs `mlscore audit .`
    assert_completed(run)
    assert _markers(marker) == [], f"code from the audited repository ran: {_markers(marker)}"


def _git_trapped_repo(root: Path, marker: Path) -> None:
    _write(root, "src/train.py", "x = 1\n")
    _write(root, "data.csv", "a,b\n1,2\n")
    git_init(root)
    _write(root, ".gitattributes", "* filter=trap diff=trap\n")
    _write(root, "src/train.py", "x = 2\n")  # a dirty worktree makes status/diff consult filters
    config = root / ".git" / "config"
    config.write_text(
        config.read_text()
        + f"[core]\n\tfsmonitor = {_shell(marker, 'fsmonitor')}\n\tpager = {_shell(marker, 'pager')}\n"
        + f"\thooksPath = {root / 'hooks'}\n\tsshCommand = {_shell(marker, 'ssh')}\n"
        + f"[filter \"trap\"]\n\tclean = {_shell(marker, 'clean')}\n\tsmudge = {_shell(marker, 'smudge')}\n"
        + f"\tprocess = {_shell(marker, 'process')}\n"
        + f"[diff \"trap\"]\n\ttextconv = {_shell(marker, 'textconv')}\n\tcommand = {_shell(marker, 'diffcmd')}\n"
        + f"[alias]\n\tstatus = !{_shell(marker, 'alias')}\n"
    )


def test_the_git_config_traps_are_live(tmp_path):
    """Plain `git ls-files` already runs core.fsmonitor; `git diff` runs filters and textconv."""
    marker = tmp_path / "markers"
    marker.mkdir()
    root = tmp_path / "repo"
    _git_trapped_repo(root, marker)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, env=env)
    assert "fsmonitor" in _markers(marker)
    subprocess.run(["git", "-C", str(root), "diff"], capture_output=True, env=env)
    assert set(_markers(marker)) & {"clean", "process", "textconv", "diffcmd"}


def test_git_config_commands_never_run(tmp_path):
    """A repository-local .git/config can name commands (fsmonitor, filters, textconv, pager)."""
    marker = tmp_path / "markers"
    marker.mkdir()
    root = tmp_path / "repo"
    _git_trapped_repo(root, marker)
    run = audit(root)
    assert_completed(run)
    assert _markers(marker) == [], f"git ran commands configured by the audited repository: {_markers(marker)}"
