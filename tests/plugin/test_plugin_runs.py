"""pytest-mlscore in real pytest runs (a subprocess per run, on a fixture project made by pytester)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "mlscore-tests.schema.json").read_text())
CI_FLAGS = ("GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "JENKINS_URL", "CIRCLECI", "BUILDKITE")

PYPROJECT = """
[tool.pytest.ini_options]
mlscore_rubric = [
  "tests/data/* = DATA1, DATA7",
]
"""

TEST_MODEL = '''
import math

import pytest


def scale(values):
    top = max(values)
    return [v / top for v in values]


@pytest.mark.mlscore("MODEL6", "infra2")
def test_scale_is_bounded():
    assert max(scale([1, 2, 4])) == 1.0


@pytest.mark.mlscore("MON5")
def test_nan_is_rejected():
    # fails on purpose: scale() lets NaN through
    assert not any(math.isnan(v) for v in scale([1.0, float("nan")]))


@pytest.mark.mlscore("INFRA2")
class TestScale:
    def test_keeps_order(self):
        assert scale([1, 3, 2]) == [1 / 3, 1.0, 2 / 3]

    @pytest.mark.skip(reason="not written yet")
    def test_empty(self):
        assert scale([]) == []

    @pytest.mark.parametrize("n", [1, 2, 3])
    def test_single(self, n):
        assert scale([n]) == [1.0]


def test_unmarked():
    assert scale([2]) == [1.0]
'''

TEST_DATA = '''
def test_rows_have_three_columns():
    rows = [line.split(",") for line in "a,b,c\\n1,2,3".splitlines()]
    assert all(len(r) == 3 for r in rows)
'''


@pytest.fixture()
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for flag in CI_FLAGS:  # the suite itself may run in CI: the fixture project's runs must not look like it
        monkeypatch.delenv(flag, raising=False)
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.mkdir("tests")
    pytester.mkdir("tests/data")
    (pytester.path / "tests" / "test_model.py").write_text(TEST_MODEL)
    (pytester.path / "tests" / "data" / "test_rows.py").write_text(TEST_DATA)
    return pytester


def read_doc(pytester: pytest.Pytester) -> dict:
    doc = json.loads((pytester.path / "mlscore-tests.json").read_text())
    errors = [e.message for e in Draft202012Validator(SCHEMA).iter_errors(doc)]
    assert errors == []
    return doc


def outcomes(doc: dict) -> dict[str, dict[str, str]]:
    return {rule_id: {t["nodeid"]: t["outcome"] for t in slot["tests"]} for rule_id, slot in doc["rubric"].items()}


def test_markers_mapping_and_a_failing_test_are_recorded(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--mlscore-report", "-p", "no:cacheprovider")
    assert result.ret == 1  # one marked test fails
    result.stdout.fnmatch_lines([
        "*mlscore: rubric tests covered by this run*",
        "  DATA1  passing  1 test (1 passed)",
        "  MODEL6 passing  1 test (1 passed)",
        "  INFRA2 passing  6 tests (5 passed, 1 skipped)",
        "  MON5   failing  1 test (1 failed)",
        "  coverage: data 2/7, model 1/7, infrastructure 1/7, monitoring 1/7; score 1 (the minimum over the sections)",
        "  ran outside CI*",
    ])
    doc = read_doc(project)
    assert doc["ci"] is None and doc["workers"] == []
    assert doc["tool"]["pytest"] == pytest.__version__
    got = outcomes(doc)
    assert got["DATA1"] == got["DATA7"] == {"tests/data/test_rows.py::test_rows_have_three_columns": "passed"}
    assert got["MON5"] == {"tests/test_model.py::test_nan_is_rejected": "failed"}
    assert got["INFRA2"]["tests/test_model.py::TestScale::test_empty"] == "skipped"
    assert got["INFRA2"]["tests/test_model.py::TestScale::test_single[2]"] == "passed"
    assert "tests/test_model.py::test_unmarked" not in {n for ids in got.values() for n in ids}
    assert doc["rubric"]["MON5"]["status"] == "failing"
    mapped = doc["rubric"]["DATA1"]["tests"][0]
    assert mapped["source"] == "mapping" and mapped["path"] == "tests/data/test_rows.py" and mapped["duration"] >= 0
    assert doc["totals"]["tests"] == 8 and doc["totals"]["failed"] == 1 and doc["totals"]["skipped"] == 1
    assert doc["coverage"] == {"data": 2, "model": 1, "infrastructure": 1, "monitoring": 1, "score": 1}


def test_xdist_workers_results_are_merged_into_one_file(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    serial = project.runpytest_subprocess("-p", "no:cacheprovider")
    assert serial.ret == 1
    alone = read_doc(project)
    (project.path / "mlscore-tests.json").unlink()
    parallel = project.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    assert parallel.ret == 1
    merged = read_doc(project)
    assert outcomes(merged) == outcomes(alone)
    assert merged["totals"] == {**alone["totals"], "duration": merged["totals"]["duration"]}
    assert merged["coverage"] == alone["coverage"]
    assert set(merged["workers"]) <= {"gw0", "gw1"} and merged["workers"]
    every = [t for slot in merged["rubric"].values() for t in slot["tests"]]
    assert all(t["worker"] in ("gw0", "gw1") for t in every)


@pytest.mark.parametrize("xdist", [False, True])
def test_an_unknown_rubric_id_is_a_collection_error(project: pytest.Pytester, xdist: bool) -> None:
    if xdist:
        pytest.importorskip("xdist")
    (project.path / "tests" / "test_typo.py").write_text(
        'import pytest\n\n@pytest.mark.mlscore("DATA9")\ndef test_x():\n    assert [1] == [1]\n')
    result = project.runpytest_subprocess(*(["-n", "2"] if xdist else []), "-p", "no:cacheprovider")
    assert result.ret != 0
    out = result.stdout.str()
    assert "INTERNALERROR" not in out
    result.stdout.fnmatch_lines([("*pytest-mlscore: test_x: @pytest.mark.mlscore('DATA9') unknown rubric id 'DATA9' "
                                 "(expected DATA1-7, MODEL1-7, INFRA1-7 or MON1-7)*")])


def test_a_marker_without_ids_or_with_keywords_is_an_error(project: pytest.Pytester) -> None:
    (project.path / "tests" / "test_bad.py").write_text(
        'import pytest\n\n@pytest.mark.mlscore\ndef test_a():\n    assert [1]\n\n'
        '@pytest.mark.mlscore(rule="DATA1")\ndef test_b():\n    assert [1]\n')
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*test_a: @pytest.mark.mlscore() needs at least one rubric id*",
                                 "*test_b: @pytest.mark.mlscore(rule='DATA1') takes rubric ids only*"])


def test_a_marker_on_a_fixture_is_an_error(project: pytest.Pytester) -> None:
    (project.path / "tests" / "test_fixture.py").write_text(
        "import pytest\n\n@pytest.fixture\n@pytest.mark.mlscore('DATA1')\ndef rows():\n    return [1]\n\n"
        "def test_rows(rows):\n    assert rows == [1]\n")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-W", "ignore::pytest.PytestRemovedIn9Warning"
                                          if int(pytest.__version__.split(".")[0]) < 9 else "default")
    assert result.ret != 0
    if int(pytest.__version__.split(".")[0]) >= 9:  # pytest 9 refuses marks on fixtures itself, as clearly
        result.stdout.fnmatch_lines(["*Marks cannot be applied to fixtures*"])
    else:
        result.stdout.fnmatch_lines(["*@pytest.mark.mlscore on fixture 'rows' (tests/test_fixture.py) has no effect*"])


def test_a_malformed_mapping_line_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nmlscore_rubric = ["tests/* DATA1"]\n')
    pytester.makepyfile(test_a="def test_a():\n    assert [1]\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*mlscore_rubric line 1 'tests/* DATA1': expected 'PATTERN = ID, ID'*"])
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nmlscore_rubric = ["tests/* = MON8"]\n')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown rubric id 'MON8'*"])


def test_fail_under_fails_a_green_session_that_covers_too_little(project: pytest.Pytester) -> None:
    (project.path / "tests" / "test_model.py").write_text(TEST_MODEL.replace('@pytest.mark.mlscore("MON5")\n', ""))
    result = project.runpytest_subprocess("--mlscore-fail-under", "1", "-p", "no:cacheprovider", "-k", "not nan")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # every test passed, but monitoring covers 0 of 7
    result.stdout.fnmatch_lines(["*Required rubric coverage of 1 not reached: the tests that ran cover 0*"])
    (project.path / "tests" / "test_mon.py").write_text(
        'import pytest\n\n@pytest.mark.mlscore("MON2")\ndef test_inputs():\n    assert sorted([2, 1]) == [1, 2]\n')
    result = project.runpytest_subprocess("--mlscore-fail-under", "1", "-p", "no:cacheprovider", "-k", "not nan")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*rubric coverage 1 reached the required 1*"])
    result = project.runpytest_subprocess("--mlscore-fail-under", "9", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


CI_CASES = {
    "github-actions": ({"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "schedule", "GITHUB_RUN_ID": "42",
                        "GITHUB_REPOSITORY": "acme/churn", "GITHUB_SHA": "a" * 40, "GITHUB_REF_NAME": "main",
                        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_WORKFLOW": "nightly"},
                       "schedule", "https://github.com/acme/churn/actions/runs/42"),
    "gitlab-ci": ({"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event", "CI_PIPELINE_ID": "7",
                   "CI_JOB_URL": "https://gitlab.example.com/acme/churn/-/jobs/9", "CI_COMMIT_SHA": "b" * 40},
                  "pull_request", "https://gitlab.example.com/acme/churn/-/jobs/9"),
    "azure-pipelines": ({"TF_BUILD": "True", "BUILD_REASON": "Schedule", "BUILD_BUILDID": "314",
                         "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI": "https://dev.azure.com/acme/",
                         "SYSTEM_TEAMPROJECT": "churn"},
                        "schedule", "https://dev.azure.com/acme/churn/_build/results?buildId=314"),
    "jenkins": ({"JENKINS_URL": "https://ci.example.com/", "BUILD_NUMBER": "12", "BRANCH_NAME": "main",
                 "BUILD_URL": "https://ci.example.com/job/churn/12/"}, "push", "https://ci.example.com/job/churn/12/"),
    "circleci": ({"CIRCLECI": "true", "CIRCLE_BRANCH": "feature", "CIRCLE_BUILD_NUM": "5",
                  "CIRCLE_PULL_REQUEST": "https://github.com/acme/churn/pull/3",
                  "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/churn/5"},
                 "pull_request", "https://circleci.com/gh/acme/churn/5"),
    "buildkite": ({"BUILDKITE": "true", "BUILDKITE_SOURCE": "schedule", "BUILDKITE_BUILD_NUMBER": "8",
                   "BUILDKITE_PULL_REQUEST": "false", "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/churn/builds/8"},
                  "schedule", "https://buildkite.com/acme/churn/builds/8"),
}


@pytest.mark.parametrize("system", sorted(CI_CASES))
def test_ci_context_is_read_from_each_ci_system(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                system: str) -> None:
    env, trigger, url = CI_CASES[system]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--mlscore-report", "-k", "not nan")
    assert result.ret == 0
    ci = read_doc(project)["ci"]
    assert ci["system"] == system and ci["trigger"] == trigger and ci["run_url"] == url
    result.stdout.fnmatch_lines([f"  ran in {ci['name']} ({trigger})"])


def test_unused_plugin_writes_nothing_and_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\n\ndef pytest_unconfigure(config):\n"
                          "    open('modules.txt', 'w').write(' '.join(sorted(m for m in sys.modules "
                          "if m.split('.')[0] in ('pydantic', 'mlscore'))))\n")
    pytester.makepyfile(test_plain="def test_a():\n    assert sorted([2, 1]) == [1, 2]\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 0
    assert not (pytester.path / "mlscore-tests.json").exists()
    # the plugin and the standard-library module of rubric ids it shares with the audit; no pydantic
    assert (pytester.path / "modules.txt").read_text().split() == [
        "mlscore", "mlscore.pytest_plugin", "mlscore.rubric_ids"]


def test_the_plugin_can_be_disabled_and_the_file_moved(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", "no:mlscore", "-p", "no:cacheprovider", "-k", "not nan")
    assert result.ret == 0 and not (project.path / "mlscore-tests.json").exists()
    result = project.runpytest_subprocess("--mlscore-json", "reports/tests.json", "-p", "no:cacheprovider")
    assert (project.path / "reports" / "tests.json").is_file()
    result = project.runpytest_subprocess("--mlscore-json=", "-p", "no:cacheprovider")
    assert not (project.path / "mlscore-tests.json").exists()


def test_importing_the_plugin_does_not_import_pydantic() -> None:
    import subprocess

    code = "import sys, mlscore.pytest_plugin; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
