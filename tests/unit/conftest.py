"""Helpers for the unit tests: real git repositories made with gitpython, and ``--update-goldens``."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import git
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    try:
        parser.addoption(
            "--update-goldens",
            action="store_true",
            default=False,
            help="rewrite golden files from the current output instead of comparing",
        )
    except ValueError:  # already added by another conftest (tests/rules, tests/report)
        pass


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def init_repo(root: Path) -> git.Repo:
    root.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Test Author")
        cfg.set_value("user", "email", "tests@example.com")
        cfg.set_value("commit", "gpgsign", "false")
    return repo


def commit_all(repo: git.Repo, message: str) -> str:
    """Stage everything git does not ignore and commit it; returns the commit sha."""
    repo.git.add("-A")
    repo.git.commit("-m", message, "--no-verify", "--allow-empty")
    return repo.head.commit.hexsha


GitRepoFactory = Callable[..., tuple[Path, git.Repo]]


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepoFactory:
    """``git_repo(files, name="repo")``: a repository in tmp_path with ``files`` committed."""

    def make(files: dict[str, str], name: str = "repo") -> tuple[Path, git.Repo]:
        root = tmp_path / name
        repo = init_repo(root)
        write_files(root, files)
        commit_all(repo, "initial")
        return root, repo

    return make


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens", default=False))
