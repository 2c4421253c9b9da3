"""The Action on a pull request as GitHub runs it (issue 13, point 5): the checkout is the merge commit of the PR
into a base branch that moved on, a real audit runs, and a local GitHub API on 127.0.0.1 takes the comment.

Only findings on lines the pull request changed are annotated (unless annotations-scope is all), whether the changed
lines come from git or, in a shallow checkout, from the API's list of pull request files; the comment's evidence
links point at the PR's head commit (not the ephemeral merge commit) and resolve there, its test ids link to the
sections of docs/rules.md, and it links the workflow run."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlscore.commands.github import RULES_DOC_URL
from mlscore.github.changes import Changes, parse_patch

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
FakeGitHub = Any


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


e2e = _load("mlscore_tests_action_e2e_changes", HERE / "test_action_e2e.py")

TRAIN_BASE = '''import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV


def train(X, y):
    np.random.seed(42)
    search = GridSearchCV(LogisticRegression(max_iter=200), {"C": [0.1, 1.0, 10.0]}, cv=3)
    return search.fit(X, y).best_estimator_
'''
#: The pull request widens the grid: line 8 changes; the seed on line 7 (INFRA1's evidence) does not.
TRAIN_HEAD = TRAIN_BASE.replace('[0.1, 1.0, 10.0]', '[0.01, 0.1, 1.0, 10.0, 100.0]')
CHANGED = {("src/churn/train.py", 8)}


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_DATE": e2e.DATE, "GIT_COMMITTER_DATE": e2e.DATE, "PATH": "/usr/bin:/bin",
           "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def pull_request_repo(root: Path) -> tuple[str, str, str]:
    """base (main) -> head (feature: line 8 of train.py); main moves on (a runbook); the checkout is the merge of
    feature into main, as actions/checkout gives a pull_request job. Returns (main tip, head, merge)."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.org")
    git(root, "config", "user.name", "Test")
    (root / "src" / "churn").mkdir(parents=True)
    (root / "src" / "churn" / "train.py").write_text(TRAIN_BASE)
    (root / "pyproject.toml").write_text('[project]\nname = "churn"\nversion = "0.1"\n')
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    (root / "src" / "churn" / "train.py").write_text(TRAIN_HEAD)
    git(root, "commit", "-q", "-am", "widen the grid")
    head = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "main")
    (root / "docs").mkdir()
    (root / "docs" / "runbook.md").write_text("# Runbook\n\nCall the on-call engineer.\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "runbook")
    main = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "--detach", "main")
    git(root, "merge", "-q", "--no-ff", "--no-edit", "feature")
    merge = git(root, "rev-parse", "HEAD")
    git(root, "branch", "pull-7-merge", merge)
    return main, head, merge


def located(commands: list[str]) -> set[tuple[str, int | None]]:
    out = set()
    for c in commands:
        m = re.match(r"::(?:warning|notice|error) file=([^,:]+)(?:,line=(\d+))?", c)
        if m:
            out.add((m.group(1), int(m.group(2)) if m.group(2) else None))
    return out


def finding_commands(commands: list[str]) -> list[str]:
    return [c for c in commands if " file=" in c.split("::", 2)[1]]


@pytest.fixture
def pr(tmp_path: Path) -> tuple[Path, str, str, str]:
    ws = tmp_path / "ws"
    main, head, merge = pull_request_repo(ws)
    return ws, main, head, merge


def test_only_changed_lines_are_annotated_and_links_resolve_at_the_head_commit(
    tmp_path: Path, fake_github: FakeGitHub, pr: tuple[Path, str, str, str]
) -> None:
    ws, main, head, merge = pr
    event = e2e.pr_event(tmp_path / "event.json", number=7, base=main, head=head)

    everything = e2e.run_action(tmp_path, ws, fake_github.url, event, comment="false", annotations_scope="all")
    assert everything.proc.returncode == 0, everything.proc.stderr
    all_places = located(everything.commands)
    assert ("src/churn/train.py", 7) in all_places  # INFRA1: the seed, a line this PR did not touch
    assert all_places & CHANGED  # and findings on the line it changed (MODEL3: a grid search nothing runs)

    run = e2e.run_action(tmp_path, ws, fake_github.url, event)
    assert run.proc.returncode == 0, run.proc.stderr
    assert located(run.commands) == all_places & CHANGED
    hidden = len(finding_commands(everything.commands)) - len(finding_commands(run.commands))
    unlocated = [c for c in everything.commands if c.startswith("::warning title=mlscore ")]
    notes = [c for c in run.commands if c.startswith("::notice title=mlscore::")]
    assert any("finding(s) are not on lines this pull request changed" in n for n in notes)
    count = int(re.search(r"::(\d+) finding", notes[0]).group(1))  # type: ignore[union-attr]
    assert count >= hidden + len(unlocated) > 0

    (bot,) = fake_github.bot_comments(7)
    body = bot["body"]
    blob_links = re.findall(r"\]\((https://github\.test/acme/churn-model/blob/([0-9a-f]{40})/([^)#]+)#L(\d+))\)",
                            body)
    assert blob_links, body
    for _url, sha, path, line in blob_links:
        assert sha == head != merge  # the PR's head commit, not the merge commit that was checked out
        text = git(ws, "show", f"{sha}:{path}")  # the file exists at that commit ...
        assert int(line) <= len(text.splitlines())  # ... and has that line
    assert ("src/churn/train.py", "8") in {(p, n) for _, _, p, n in blob_links}
    assert "GridSearchCV" in git(ws, "show", f"{head}:src/churn/train.py").splitlines()[7]
    rule_links = re.findall(r"\[(\w+)\]\((https://[^)#]+)#(\w+)\)", body)
    assert {rid for rid, _, _ in rule_links} >= {"DATA1", "MODEL3", "INFRA1", "MON7"}
    headings = set(re.findall(r"^### (\w+)$", (ROOT / "docs" / "rules.md").read_text(), re.MULTILINE))
    for rid, url, anchor in rule_links:
        assert url == RULES_DOC_URL and anchor == rid.lower() and rid in headings
    assert "[workflow run](https://github.test/acme/churn-model/actions/runs/4242)" in body


def test_a_shallow_checkout_takes_the_changed_lines_from_the_api(
    tmp_path: Path, fake_github: FakeGitHub, pr: tuple[Path, str, str, str]
) -> None:
    origin, main, head, _merge = pr
    ws = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "pull-7-merge", f"file://{origin}", str(ws))
    assert git(ws, "rev-parse", "--is-shallow-repository") == "true"
    # GitHub's patches carry three lines of context; the files of a PR are the diff of its head against the base.
    files = []
    for name in git(origin, "diff", "--name-only", f"{main}...{head}").splitlines():
        patch = git(origin, "diff", f"{main}...{head}", "--", name)
        files.append({"filename": name, "status": "modified", "patch": patch[patch.index("@@"):]})
    fake_github.pull_files[7] = files + [{"filename": "data/big.parquet", "status": "added"}]  # no patch: binary
    event = e2e.pr_event(tmp_path / "event.json", number=7, base=main, head=head)
    run = e2e.run_action(tmp_path, ws, fake_github.url, event, comment="false", baseline="none")
    assert run.proc.returncode == 0, run.proc.stderr
    assert ("GET", "/repos/acme/churn-model/pulls/7/files") in [(m, p) for m, p, _, _ in fake_github.requests]
    places = located(run.commands)
    assert places and places <= CHANGED
    everything = e2e.run_action(tmp_path, ws, fake_github.url, event, comment="false", baseline="none",
                                annotations_scope="all")
    assert located(everything.commands) - places  # the API's answer did hide findings elsewhere


def test_unknown_changes_annotate_no_finding_and_say_why(
    tmp_path: Path, fake_github: FakeGitHub, pr: tuple[Path, str, str, str]
) -> None:
    """A fork pull request in a shallow checkout: git lacks the base and the read-only token is not used."""
    origin, main, head, _merge = pr
    ws = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "pull-7-merge", f"file://{origin}", str(ws))
    event = e2e.pr_event(tmp_path / "event.json", number=7, base=main, head=head, head_repo="mallory/churn-model")
    run = e2e.run_action(tmp_path, ws, fake_github.url, event, actor="mallory", baseline="none")
    assert run.proc.returncode == 0, run.proc.stderr
    assert fake_github.requests == []
    assert finding_commands(run.commands) == []
    note = next(c for c in run.commands if "are not annotated" in c)
    assert f"the base commit {main[:12]} is not in the checkout" in note and "fetch-depth: 0" in note


def test_push_events_annotate_the_lines_the_push_changed(
    tmp_path: Path, fake_github: FakeGitHub, pr: tuple[Path, str, str, str]
) -> None:
    ws, _main, head, _merge = pr
    git(ws, "checkout", "-q", head)
    event = tmp_path / "push.json"
    event.write_text(f'{{"before": "{git(ws, "rev-parse", "HEAD~1")}", "after": "{head}"}}')
    run = e2e.run_action(tmp_path, ws, fake_github.url, event, event_name="push", baseline="none")
    assert run.proc.returncode == 0, run.proc.stderr
    assert located(run.commands) and located(run.commands) <= CHANGED
    assert any("not on lines this push changed" in c for c in run.commands)


def test_bad_annotations_scope_is_one_line(tmp_path: Path, fake_github: FakeGitHub,
                                            pr: tuple[Path, str, str, str]) -> None:
    ws, main, head, _merge = pr
    event = e2e.pr_event(tmp_path / "event.json", number=7, base=main, head=head)
    run = e2e.run_action(tmp_path, ws, fake_github.url, event, annotations_scope="diff; rm -rf /")
    assert run.proc.returncode == 2 and fake_github.requests == []
    assert run.proc.stderr == ("mlscore: error: input annotations-scope (MLSCORE_ANNOTATIONS_SCOPE): expected "
                               "changed or all, got 'diff; rm -rf /'\n")


# -- the diff parser on its own ------------------------------------------------------------------------------

def test_patch_parser_counts_hunks() -> None:
    patch = [
        "diff --git a/x.py b/x.py", "--- a/x.py", "+++ b/x.py",
        "@@ -1,3 +1,4 @@", " a", "-b", "+B", "++++ not a header", " d",
        "@@ -10,0 +12,2 @@", "+e", "+f",
        "--- a/gone.py", "+++ /dev/null", "@@ -1 +0,0 @@", "-gone",
        '+++ "b/odd\\tname.py"', "@@ -0,0 +1 @@", "+x",
    ]
    assert parse_patch(patch) == {"x.py": {2, 3, 12, 13}, "odd\tname.py": {1}}
    assert parse_patch(["@@ -1 +1 @@", "-x", "+y", "\\ No newline at end of file"], "z") == {"z": {1}}
    # hostile: hunk counts far beyond the text, junk lines; nothing raises, nothing is invented
    assert parse_patch(["@@ -1,999999999 +1,999999999 @@", "+a", "junk"], "h") == {"h": {1}}
    changes = Changes({"a.py": {5}, "b.bin": None})
    assert changes.touches("a.py", 3, 6) and not changes.touches("a.py", 6, 9) and changes.touches("b.bin", 1)
    assert changes.touches("a.py", None) and not changes.touches("c.py", 5)


def test_fail_on_drop_without_a_baseline_is_said(tmp_path: Path, fake_github: FakeGitHub,
                                                 pr: tuple[Path, str, str, str]) -> None:
    ws, main, head, _merge = pr
    event = e2e.pr_event(tmp_path / "event.json", number=7, base=main, head=head)
    run = e2e.run_action(tmp_path, ws, fake_github.url, event, comment="false", fail_on_drop="true", baseline="none")
    assert run.proc.returncode == 2 and run.proc.stderr == (
        "mlscore: error: input fail-on-drop needs a baseline to compare with, but baseline is 'none' (use auto or a "
        "git ref)\n")
    dispatch = tmp_path / "dispatch.json"
    dispatch.write_text("{}")
    run = e2e.run_action(tmp_path, ws, fake_github.url, dispatch, event_name="workflow_dispatch", fail_on_drop="true")
    assert run.proc.returncode == 0, run.proc.stderr
    assert "::warning title=mlscore::fail-on-drop was not checked: there is no baseline" in run.proc.stdout
    assert run.outputs["failed"] == "false"
