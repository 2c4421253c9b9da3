"""mlscore audit reads declared tests: markers from the AST, mappings from pytest configs, and the runs that
pytest-mlscore recorded (a real pytest run in a subprocess, in a real git repository)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlscore.cli import main
from mlscore.engine import run_audit

CI_FLAGS = ("GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "JENKINS_URL", "CIRCLECI", "BUILDKITE")

CI = """name: ci
on:
  push:
    branches: [main]
  pull_request:
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: pip install -r requirements.txt
      - run: python -m pytest tests
"""

NIGHTLY = """name: nightly
on:
  schedule:
    - cron: "0 5 * * *"
jobs:
  monitor:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: pip install -r requirements.txt
      - run: python -m pytest monitoring_tests
"""

FEATURES = """def add_ratio(rows):
    return [dict(r, ratio=r["a"] / r["b"]) for r in rows]
"""

TEST_FEATURES = '''import math

import pytest

from churn.features import add_ratio


@pytest.mark.mlscore("DATA7")
def test_ratio():
    assert add_ratio([{"a": 1, "b": 2}])[0]["ratio"] == 0.5


@pytest.mark.mlscore("MON5")
def test_ratio_is_finite_for_zero_b():
    # red on purpose: add_ratio divides by zero
    assert math.isfinite(add_ratio([{"a": 1, "b": 0}])[0]["ratio"])


@pytest.mark.mlscore("MON7")
def test_prediction_share():
    assert 0 < add_ratio([{"a": 1, "b": 4}])[0]["ratio"] < 1


@pytest.mark.mlscore("MODEL6")
def test_slices_on_fixture():
    assert len(add_ratio([{"a": 1, "b": 1}, {"a": 2, "b": 1}])) == 2
'''

TEST_MONITOR = '''import csv
from pathlib import Path

import pytest


@pytest.mark.mlscore("MON2")
def test_served_rows_have_positive_b():
    rows = list(csv.DictReader(open(Path(__file__).parents[1] / "data" / "served.csv")))
    assert all(float(r["b"]) > 0 for r in rows)
'''


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for flag in CI_FLAGS:
        monkeypatch.delenv(flag, raising=False)
    root = tmp_path / "churn"
    files = {
        ".github/workflows/ci.yml": CI,
        ".github/workflows/nightly.yml": NIGHTLY,
        "requirements.txt": "pytest\n",
        "src/churn/__init__.py": "",
        "src/churn/features.py": FEATURES,
        "tests/test_features.py": TEST_FEATURES,
        "monitoring_tests/test_served.py": TEST_MONITOR,
        "data/served.csv": "a,b\n1,2\n3,4\n",
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n',
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=root, check=False,
                          capture_output=True, text=True, timeout=300)


def result(report, rule_id):  # type: ignore[no-untyped-def]
    found = report.result(rule_id)
    assert found is not None
    return found


def test_declared_tests_count_as_the_rubric_allows(repo: Path) -> None:
    report = run_audit(repo)
    data7 = result(report, "DATA7")
    assert data7.level.value == "automated"
    assert any(str(e.location) == "tests/test_features.py:9" and e.trigger for e in data7.evidence)
    # a monitoring check that CI runs on pushes only is the manual level (G6)
    mon7 = result(report, "MON7")
    assert mon7.level.value == "manual" and "only when the team pushes" in mon7.rationale
    # on a schedule, it is automated
    mon2 = result(report, "MON2")
    assert mon2.level.value == "automated"
    assert any(e.kind == "test" and "test_served_rows_have_positive_b is declared for MON2" in e.summary
               and "nightly.yml" in (e.trigger or "") for e in mon2.evidence)
    # an outcome item checked on fixtures only is the manual level (G8)
    model6 = result(report, "MODEL6")
    assert model6.level.value == "manual" and "G8" in model6.rationale


def test_a_recorded_failure_is_failing_evidence_and_still_scores(repo: Path) -> None:
    before = run_audit(repo)
    proc = run_pytest(repo, "tests", "monitoring_tests")
    assert proc.returncode == 1, proc.stdout[-2000:]
    doc = json.loads((repo / "mlscore-tests.json").read_text())
    assert doc["rubric"]["MON5"]["status"] == "failing" and doc["commit"] is not None
    after = run_audit(repo)
    mon5 = result(after, "MON5")
    assert mon5.status.value == "failing"
    assert mon5.points == result(before, "MON5").points  # the rubric credits having the check
    assert any("FAILING in the recorded run" in e.summary for e in mon5.evidence)
    assert result(after, "DATA7").status.value == "passing"


def test_tests_report_option_and_xdist_run(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("xdist")
    out = tmp_path / "ci-tests.json"
    proc = run_pytest(repo, "-n", "2", "--mlscore-json", str(out), "tests", "monitoring_tests")
    assert proc.returncode == 1 and out.is_file()
    code = main(["audit", str(repo), "--tests-report", str(out), "--format", "json", "-q"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert str(out) in data["inputs"]
    mon5 = next(r for r in data["results"] if r["rule_id"] == "MON5")
    assert mon5["status"] == "failing"


def test_markers_are_read_statically_and_misuse_is_reported(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_static.py").write_text('''import pytest
from pytest import mark

pytestmark = pytest.mark.mlscore("INFRA3")
data_check = pytest.mark.mlscore


def double(x):
    return 2 * x


@data_check("DATA1")
def test_alias():
    assert double(2) == 4


@mark.mlscore("MODEL2")
class TestGroup:
    def test_in_class(self):
        assert double(1) == 2


@pytest.fixture
@pytest.mark.mlscore("DATA2")
def rows():
    return [1]


@pytest.mark.mlscore("DATA9")
def test_unknown():
    assert double(0) == 0


@pytest.mark.mlscore("DATA3")
def helper():
    return 1


@pytest.mark.mlscore("DATA4")
def test_placeholder():
    assert True


@pytest.mark.skip(reason="later")
@pytest.mark.mlscore("DATA5")
def test_skipped():
    assert double(3) == 6
''')
    report = run_audit(tmp_path)
    levels = {r.rule_id: r.level.value for r in report.results}
    assert levels["DATA1"] == "manual" and levels["MODEL2"] == "manual" and levels["INFRA3"] == "manual"
    for rule_id in ("DATA2", "DATA3", "DATA4", "DATA5"):
        assert levels[rule_id] == "none", rule_id
    messages = [d.message for d in report.diagnostics if d.path == "tests/test_static.py"]
    text = "\n".join(messages)
    assert "on fixture 'rows' has no effect" in text
    assert "unknown rubric id 'DATA9'" in text
    assert "'helper', which pytest does not collect" in text
    assert "test_placeholder is marked INFRA3, DATA4 but asserts nothing" in text
    assert "test_skipped is declared for a rubric test but always skipped" in text


def test_path_mapping_in_pytest_ini(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nmlscore_rubric =\n    tests/data/* = DATA1\n    tests/x = BAD1\n")
    (tmp_path / "tests" / "data").mkdir(parents=True)
    (tmp_path / "tests" / "data" / "test_schema.py").write_text(
        "def test_columns():\n    assert sorted(['b', 'a']) == ['a', 'b']\n")
    report = run_audit(tmp_path)
    data1 = result(report, "DATA1")
    assert data1.level.value == "manual"
    assert any("mlscore_rubric mapping" in e.summary for e in data1.evidence)
    assert any("unknown rubric id 'BAD1'" in d.message for d in report.diagnostics)


def _valid_doc() -> dict:
    return {"kind": "tests", "schema_version": "1",
            "tool": {"name": "pytest-mlscore", "mlscore": "0.1.0", "pytest": "8.3.5"},
            "generated_at": "2026-01-01T00:00:00+00:00", "root": "", "commit": None, "ci": None, "workers": [],
            "totals": {"tests": 0, "passed": 0, "failed": 0, "error": 0, "skipped": 0, "xfailed": 0, "xpassed": 0,
                       "duration": 0.0},
            "coverage": {"data": 0, "model": 0, "infrastructure": 0, "monitoring": 0, "score": 0}, "rubric": {}}


def _write(path: Path, content: bytes | str) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


HOSTILE = {
    "not-json": (b"\x00\xff not json", "not JSON"),
    "a-list": (b"[1, 2]", "not an mlscore-tests.json"),
    "wrong-kind": (json.dumps({**_valid_doc(), "kind": "audit"}).encode(), "not an mlscore-tests.json"),
    "future-version": (json.dumps({**_valid_doc(), "schema_version": "9"}).encode(), "schema_version '9'"),
    "wrong-type": (json.dumps({**_valid_doc(), "totals": {**_valid_doc()["totals"], "tests": "3"}}).encode(),
                   "totals.tests: Input should be a valid integer"),
    "unknown-id": (json.dumps({**_valid_doc(), "rubric": {"MON8": {}}}).encode(), "unknown rubric id 'MON8'"),
    "deep": (b"[" * 200_000 + b"]" * 200_000, "not JSON"),
    "bad-outcome": (json.dumps({**_valid_doc(), "rubric": {"DATA1": {
        "status": "passing", "passed": 1, "failed": 0, "error": 0, "skipped": 0, "xfailed": 0, "xpassed": 0,
        "tests": [{"nodeid": "t.py::t", "path": "t.py", "line": 1, "outcome": "great", "duration": 0.1,
                   "source": "marker", "worker": None}]}}}).encode(), "rubric.DATA1.tests[0].outcome"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tests_report_is_one_line_and_exit_2(tmp_path: Path, case: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    content, expected = HOSTILE[case]
    bad = _write(tmp_path / "bad.json", content)
    (tmp_path / "tree").mkdir()
    code = main(["audit", str(tmp_path / "tree"), "--tests-report", str(bad), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"mlscore: error: {bad}: ") and expected in err
    assert "Traceback" not in err


def test_huge_tests_report_is_refused_before_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:
        handle.truncate(40 * 1024 * 1024)  # sparse: costs no disk
    (tmp_path / "tree").mkdir()
    assert main(["audit", str(tmp_path / "tree"), "--tests-report", str(huge), "-q"]) == 2
    err = capsys.readouterr().err
    assert "too large for an mlscore-tests.json" in err and err.count("\n") == 1


def test_a_malformed_committed_report_is_a_warning_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "mlscore-tests.json").write_text('{"kind": "tests", "schema_version": "1", "rubric": 5}')
    report = run_audit(tmp_path)
    assert any(d.path == "mlscore-tests.json" and "not read" in d.message for d in report.diagnostics)
