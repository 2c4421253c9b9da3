"""Hostile file systems: symlinks out of the repo and in loops, special files, huge and deep trees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.safety.hostile import assert_completed, audit, git_init

pytestmark = pytest.mark.timeout(180)

PASSWD = Path("/etc/passwd")


def _minimal_project(root: Path) -> None:
    (root / "src").mkdir(parents=True)
    (root / "src" / "train.py").write_text("import numpy as np\n\ndef train(x):\n    return np.mean(x)\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_train.py").write_text(
        "from src.train import train\n\ndef test_train():\n    assert train([1, 2]) == 1.5\n"
    )


def _passwd_fragments() -> list[str]:
    if not PASSWD.is_file():
        return []
    lines = [line.strip() for line in PASSWD.read_text(errors="replace").splitlines()]
    return [line for line in lines if len(line) > 12]


def _links_out(root: Path, target: Path) -> None:
    """Files a detector would read (CI, requirements, configs, code, docs) as links to ``target``."""
    (root / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    for rel in (
        "README.md", "requirements.txt", "params.yaml", "MODEL_CARD.md", "pyproject.toml",
        ".github/workflows/ci.yml", "src/secrets.py", "notebook.ipynb", "schema.json", "Dockerfile",
    ):
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)


@pytest.mark.parametrize("as_git", [False, True], ids=["walk", "git"])
def test_symlinks_out_of_the_repo_are_not_followed(tmp_path, as_git):
    if not _passwd_fragments():
        pytest.skip("/etc/passwd not readable here")
    root = tmp_path / "repo"
    _minimal_project(root)
    _links_out(root, PASSWD)
    (root / "etc").symlink_to("/etc", target_is_directory=True)
    (root / "everything").symlink_to("/", target_is_directory=True)
    (root / "up").symlink_to("../..", target_is_directory=True)
    if as_git:
        git_init(root)
    run = audit(root)
    assert_completed(run)
    for fragment in _passwd_fragments():
        assert fragment not in run.stdout, f"content of /etc/passwd leaked into the report: {fragment!r}"
        assert fragment not in run.stderr
    assert "root:x:0:0" not in run.stdout


def test_passwd_never_appears_in_any_report_format(tmp_path):
    fragments = _passwd_fragments()
    if not fragments:
        pytest.skip("/etc/passwd not readable here")
    root = tmp_path / "repo"
    _minimal_project(root)
    _links_out(root, PASSWD)
    out = tmp_path / "reports"
    run = audit(root, fmt="json,text,sarif,markdown,html,junit", extra=("--output-dir", str(out)))
    assert run.returncode in (0, 1), run.describe()
    written = sorted(out.iterdir())
    assert len(written) == 6, written
    for path in written:
        text = path.read_text(errors="replace")
        for fragment in fragments:
            assert fragment not in text, f"{path.name}: /etc/passwd content leaked: {fragment!r}"
    for fragment in fragments:
        assert fragment not in run.stdout + run.stderr


def test_symlink_loops_terminate(tmp_path):
    root = tmp_path / "repo"
    _minimal_project(root)
    (root / "a").symlink_to("b")
    (root / "b").symlink_to("a")
    (root / "self").symlink_to(".", target_is_directory=True)
    (root / "src" / "parent").symlink_to("..", target_is_directory=True)
    nested = root / "x" / "y"
    nested.mkdir(parents=True)
    (nested / "back").symlink_to("../../x", target_is_directory=True)
    (root / "dangling.py").symlink_to("does/not/exist.py")
    run = audit(root)
    assert_completed(run)


def test_links_to_devices_and_fifos_do_not_hang(tmp_path):
    root = tmp_path / "repo"
    _minimal_project(root)
    (root / "params.yaml").symlink_to("/dev/zero")
    (root / "train_data.csv").symlink_to("/dev/urandom")
    (root / "src" / "model.py").symlink_to("/dev/zero")
    os.mkfifo(root / "requirements.txt")  # opening it for reading would block forever
    os.mkfifo(root / "src" / "features.py")
    run = audit(root)
    assert_completed(run)


def test_200mb_files_are_capped(tmp_path):
    root = tmp_path / "repo"
    _minimal_project(root)
    big = 200 * 1024 * 1024
    names = ["src/huge.py", "huge.ipynb", "params.yaml", "data/train.csv", "requirements.txt"]
    for rel in names:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:  # sparse: costs no disk
            handle.truncate(big)
    run = audit(root)
    report = assert_completed(run)
    assert run.max_rss_kb < 1024 * 1024, f"max RSS {run.max_rss_kb // 1024} MB"
    mentioned = {p for p in run.diagnostic_paths() if p}
    assert mentioned & {"src/huge.py", "huge.ipynb", "params.yaml"}, report["diagnostics"]


def test_very_deep_directory_tree(tmp_path):
    root = tmp_path / "repo"
    _minimal_project(root)
    deep = root
    for _ in range(300):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "test_deep.py").write_text("def test_deep():\n    assert 1 == 1\n")
    (deep / "config.yaml").write_text("a: 1\n")
    run = audit(root)
    assert_completed(run)


def test_many_small_files_in_one_directory(tmp_path):
    root = tmp_path / "repo"
    _minimal_project(root)
    flat = root / "generated"
    flat.mkdir()
    for i in range(5000):
        (flat / f"m{i}.py").write_text(f"X = {i}\n")
    run = audit(root)
    assert_completed(run)
