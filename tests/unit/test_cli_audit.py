"""`mlscore audit` on the command line: exit codes, formats, --output-dir, --baseline on a real git history,
--select, and one-line errors. The CLI runs in-process through ``mlscore.cli.main``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from mlscore.cli import main
from tests.unit.conftest import GitRepoFactory, commit_all, init_repo, write_files

FEATURE_CODE = {
    "churn/__init__.py": "",
    "churn/features.py": "def ratio(a: float, b: float) -> float:\n    return a / b if b else 0.0\n",
    "tests/__init__.py": "",
    "tests/test_features.py": """
        from churn.features import ratio


        def test_ratio_handles_zero() -> None:
            assert ratio(1.0, 0.0) == 0.0
            assert ratio(3.0, 2.0) == 1.5
    """,
}
CI = {
    ".github/workflows/ci.yml": """
        name: ci
        on: [push, pull_request]
        jobs:
          test:
            runs-on: ubuntu-24.04
            steps:
              - uses: actions/checkout@v4
              - run: python -m pytest tests
    """,
}
MODEL = {
    "churn/train.py": """
        from sklearn.linear_model import LogisticRegression


        def build():
            return LogisticRegression(C=0.5, max_iter=300)
    """,
    "tests/test_train.py": """
        from churn.train import build


        def test_build_regularises() -> None:
            assert build().C == 0.5
    """,
}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["audit", "-q", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(git_repo: GitRepoFactory) -> Path:
    """DATA7 automated (feature test run by CI on push/PR), MODEL1 automated (spec + PR CI), the rest none."""
    root, _repo = git_repo({**FEATURE_CODE, **CI, **MODEL})
    return root


# -- exit codes ---------------------------------------------------------------------------------------------


def test_text_report_and_exit_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([str(project)], capsys)
    assert code == 0 and err == ""
    assert "ML Test Score: 0 of 7" in out
    assert "DATA7  automated    1" in out
    assert "\x1b[" not in out  # no colour when not a terminal


@pytest.mark.parametrize(("threshold", "expected"), [("0.5", 0), ("1", 0), ("1.5", 1), ("7", 1)])
def test_fail_under(project: Path, capsys: pytest.CaptureFixture[str], threshold: str, expected: int) -> None:
    # DATA7 and MODEL1 are both automated: two sections of 1 point, score 1.
    code, out, _err = run([str(project), "--select", "DATA7,MODEL1", "--fail-under", threshold], capsys)
    assert code == expected
    assert "ML Test Score: 1 of 1" in out  # the weakest selected section has one test


def test_fail_under_on_the_full_rubric(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run([str(project), "--fail-under", "0"], capsys)[0] == 0  # 0 is not below 0
    assert run([str(project), "--fail-under", "0.5"], capsys)[0] == 1  # monitoring scores 0


def test_missing_path_is_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([str(tmp_path / "nope")], capsys)
    assert code == 2 and out == ""
    assert err == f"mlscore: error: {tmp_path / 'nope'}: no such directory\n"


def test_missing_path_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mlscore", "audit", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [f"mlscore: error: {tmp_path / 'nope'}: no such directory"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "yaml"], "--format: unknown format 'yaml'"),
        (["--format", "json,sarif"], "--format with several formats needs --output-dir"),
        (["--select", "NOPE"], "NOPE"),
        (["--fail-under", "many"], "many"),
    ],
)
def test_usage_errors_are_exit_2(project: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                 message: str) -> None:
    code, out, err = run([str(project), *argv], capsys)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_bad_config_is_exit_2_naming_the_key(git_repo: GitRepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    root, _repo = git_repo({".mlscore.toml": 'fail_undr = 2\n'})
    code, _out, err = run([str(root)], capsys)
    assert code == 2
    assert err == (f"mlscore: error: {root / '.mlscore.toml'}: unknown key 'fail_undr' "
                   "(did you mean 'fail_under'?)\n")


# -- formats --------------------------------------------------------------------------------------------------


def _check_format(fmt: str, text: str) -> None:
    if fmt == "json":
        doc = json.loads(text)
        assert doc["kind"] == "audit" and len(doc["results"]) == 28
        assert {r["rule_id"]: r["level"] for r in doc["results"]}["DATA7"] == "automated"
    elif fmt == "sarif":
        doc = json.loads(text)
        assert doc["version"] == "2.1.0"
        assert doc["runs"][0]["tool"]["driver"]["name"] == "mlscore"
    elif fmt == "markdown":
        assert "ML Test Score" in text and "| " in text
    elif fmt == "html":
        assert text.lstrip().lower().startswith("<!doctype html") and "</html>" in text
    elif fmt == "junit":
        root = ET.fromstring(text)
        assert root.tag in ("testsuites", "testsuite")
        assert len(root.findall(".//testcase")) == 28
    elif fmt == "text":
        assert "ML Test Score" in text
    else:  # pragma: no cover
        raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "html", "junit"])
def test_each_format_on_stdout(project: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _err = run([str(project), "--format", fmt], capsys)
    assert code == 0
    _check_format(fmt, out)


def test_several_formats_into_an_output_dir(project: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "reports" / "mlscore"
    code, out, _err = run([str(project), "-f", "json,sarif", "-f", "markdown", "-f", "html,junit,text",
                           "--output-dir", str(out_dir)], capsys)
    assert code == 0 and out == ""
    names = {"json": "mlscore.json", "sarif": "mlscore.sarif", "markdown": "mlscore.md", "html": "mlscore.html",
             "junit": "mlscore.xml", "text": "mlscore.txt"}
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(names.values())
    for fmt, name in names.items():
        _check_format(fmt, (out_dir / name).read_text(encoding="utf-8"))


def test_output_file(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / "report.json"
    code, out, _err = run([str(project), "-f", "json", "-o", str(target)], capsys)
    assert code == 0 and out == ""
    _check_format("json", target.read_text(encoding="utf-8"))


def test_select_mon(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run([str(project), "--select", "MON", "--format", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["selected"] == [f"MON{i}" for i in range(1, 8)]
    assert [r["rule_id"] for r in doc["results"]] == doc["selected"]
    assert [s["section"] for s in doc["score"]["sections"]] == ["monitoring"]


# -- --baseline on a real two-commit history ----------------------------------------------------------------


@pytest.fixture
def two_commits(tmp_path: Path) -> tuple[Path, str, str]:
    """First commit: feature code and its test, no CI (DATA7 manual). Second: a CI workflow (DATA7 automated)."""
    root = tmp_path / "repo"
    repo = init_repo(root)
    write_files(root, FEATURE_CODE)
    first = commit_all(repo, "feature code with tests")
    write_files(root, CI)
    second = commit_all(repo, "run the tests in CI")
    return root, first, second


def test_baseline_reports_the_delta(two_commits: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    root, first, second = two_commits
    code, out, _err = run([str(root), "--select", "DATA", "--baseline", "HEAD~1"], capsys)
    assert code == 0
    assert f"@ {second[:12]}" in out.splitlines()[0]
    assert f"Change since {first[:12]}: 0.5 -> 1 (+0.5)" in out
    assert "  Data               0.5 -> 1 (+0.5)" in out
    assert "+0.5  DATA7 became automated because `.github/workflows/ci.yml` now runs `tests/test_features.py`" in out


def test_baseline_with_fail_on_drop(two_commits: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    root, _first, _second = two_commits
    # HEAD is better than HEAD~1: no drop.
    assert run([str(root), "--select", "DATA", "--baseline", "HEAD~1", "--fail-on-drop"], capsys)[0] == 0
    # Audit HEAD~1's content against HEAD: check out the old tree in a second work tree and compare.
    subprocess.run(["git", "-C", str(root), "worktree", "add", "-q", "--detach", str(root.parent / "old"),
                    "HEAD~1"], check=True, capture_output=True)
    code, out, _err = run([str(root.parent / "old"), "--select", "DATA", "--baseline", "main", "--fail-on-drop"],
                          capsys)
    assert code == 1
    assert "1 -> 0.5 (-0.5)" in out


def test_baseline_does_not_call_a_real_rise_self_declared(two_commits: tuple[Path, str, str],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    root, _first, _second = two_commits
    _code, out, _err = run([str(root), "--select", "DATA", "--baseline", "HEAD~1"], capsys)
    assert "self-declared" not in out


def test_unknown_baseline_ref_is_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run([str(project), "--baseline", "no-such-ref"], capsys)
    assert code == 2
    assert err.startswith("mlscore: error: ") and "no-such-ref" in err


def test_text_report_marks_attestations_and_waivers(git_repo: GitRepoFactory,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root, _repo = git_repo({".mlscore.toml": """
        [[attest]]
        rule = "MODEL2"
        owner = "ana@acme.example"
        date = 2025-10-01
        link = "https://wiki.acme.example/ab"

        [[attest]]
        rule = "DATA3"
        owner = "bo@acme.example"
        date = 2024-01-01
        expires = 2024-12-31

        [[waive]]
        rule = "MON1"
        reason = "no third-party runtime dependencies"
    """})
    code, out, _err = run([str(root), "--select", "MODEL2,DATA3,MON1"], capsys)
    assert code == 0
    assert "  MODEL2 manual     0.5  Offline and online metrics correlate." in out
    assert "! attested by ana@acme.example on 2025-10-01 (self-declared)" in out
    assert "  DATA3  none         0" in out
    assert "! attested by bo@acme.example on 2024-01-01 (expired, not counted)" in out
    assert "attestation by bo@acme.example expired on 2024-12-31" in out
    assert "! waived: no third-party runtime dependencies" in out
