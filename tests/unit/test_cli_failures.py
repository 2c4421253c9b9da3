"""Failures explain themselves (issue 13, point 4): one line with the reason on --fail-under and --fail-on-drop,
--fail-on-drop without a baseline is a usage error, and the compact `--format summary` the pre-commit hook uses."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlscore.cli import main
from mlscore.engine import run_audit
from mlscore.report.common import fmt_points
from tests.unit.conftest import commit_all, init_repo, write_files

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "income-model"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["audit", "-q", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def example_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/income-model in a git repository of its own, then a commit that deletes the pipeline test behind
    its only monitoring credit (MON5), so the score drops."""
    root = tmp_path_factory.mktemp("history") / "income-model"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    repo = init_repo(root)
    commit_all(repo, "the example")
    (root / "tests" / "test_pipeline.py").unlink()
    commit_all(repo, "drop the pipeline test")
    return root


def test_fail_under_says_why_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_audit(EXAMPLE)
    score = report.score.value
    weakest = min(report.score.sections, key=lambda s: s.points)
    code, out, err = run([str(EXAMPLE), "--fail-under", "2"], capsys)
    assert code == 1 and "ML Test Score" in out
    assert err == (f"mlscore: failed: ML Test Score {fmt_points(score)} is below fail-under 2 (the score is the "
                   f"minimum of the sections; weakest: {weakest.section.title} {fmt_points(weakest.points)})\n")
    code, _out, err = run([str(EXAMPLE), "--fail-under", fmt_points(score)], capsys)
    assert code == 0 and err == ""


def test_fail_on_drop_without_a_baseline_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([str(EXAMPLE), "--fail-on-drop"], capsys)
    assert code == 2 and out == ""
    assert err == ("mlscore: error: --fail-on-drop needs --baseline REF, the commit whose score it compares with "
                   "(e.g. --baseline origin/main)\n")


def test_fail_on_drop_from_a_config_file_without_a_baseline_is_said(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    repo = init_repo(root)
    write_files(root, {".mlscore.toml": "fail_on_drop = true\n", "train.py": "x = 1\n"})
    commit_all(repo, "config")
    code, _out, err = run([str(root)], capsys)
    assert code == 0
    assert err == "mlscore: note: fail_on_drop is set but not checked: no --baseline REF to compare with\n"


def test_fail_on_drop_names_the_drop_and_the_tests(example_history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = run_audit(example_history, ref="HEAD~1"), run_audit(example_history)
    assert new.score.value < old.score.value  # the setup really drops the score
    dropped = [r.rule_id for r in new.results if r.points < (old.result(r.rule_id).points - 1e-9)]  # type: ignore[union-attr]
    code, _out, err = run([str(example_history), "--baseline", "HEAD~1", "--fail-on-drop"], capsys)
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith(f"mlscore: failed: ML Test Score dropped from {fmt_points(old.score.value)} to "
                           f"{fmt_points(new.score.value)} (-{fmt_points(old.score.value - new.score.value)}) "
                           "compared with HEAD~1: ")
    assert [part.split()[0] for part in line.split("compared with HEAD~1: ", 1)[1].split(", ")] == dropped
    # no drop: the older commit audited against the newer one
    assert run([str(example_history), "--baseline", "HEAD", "--fail-on-drop"], capsys)[0] == 0


def test_summary_format_is_a_few_lines_that_agree_with_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run([str(EXAMPLE), "--format", "json"], capsys)
    doc = json.loads(out)
    code, out, err = run([str(EXAMPLE), "--format", "summary"], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert 3 <= len(lines) <= 8 and all(len(line) <= 200 for line in lines)
    value = fmt_points(doc["score"]["value"])
    assert lines[0].startswith(f"mlscore: ML Test Score {value} of 7, band {doc['score']['band']}")
    weakest = min(doc["score"]["sections"], key=lambda s: s["points"])
    assert f"{fmt_points(weakest['points'])}/7 (weakest)" in lines[1]
    nexts = [line.split()[1] for line in lines if line.lstrip().startswith("next:")]
    none_in_weakest = [r["rule_id"] for r in doc["results"] if r["section"] == weakest["section"]
                       and r["level"] == "none"]
    assert nexts and nexts == none_in_weakest[: len(nexts)]


def test_summary_with_a_baseline_shows_the_change(example_history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run([str(example_history), "--format", "summary", "--baseline", "HEAD~1"], capsys)
    assert code == 0
    change = next(line for line in out.splitlines() if line.lstrip().startswith("change:"))
    assert "compared with " in change and "MON5 -0.5" in change


def test_the_pre_commit_hook_fails_with_a_summary_and_a_reason(example_history: Path) -> None:
    """Run the hook's entry with the README's args the way pre-commit does (in the repository, no file names)."""
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["pass_filenames"] is False
    argv = shlex.split(hook["entry"]) + ["--fail-under", "2"]
    assert argv[:2] == ["mlscore", "audit"] and "summary" in argv
    done = subprocess.run([sys.executable, "-m", "mlscore", *argv[1:]], cwd=example_history, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) <= 8 and done.stdout.startswith("mlscore: ML Test Score ")
    assert done.stderr.splitlines()[-1].startswith("mlscore: failed: ML Test Score ")
    assert "is below fail-under 2" in done.stderr and "Traceback" not in done.stderr
