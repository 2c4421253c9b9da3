"""`mlscore init` on the bundled example and on fixture repositories for each CI system: the files it writes are
valid for their CI system (check-jsonschema's vendored schemas, no network), the audit gives exactly the points
init claims, a second run changes nothing, and existing files are never overwritten."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlscore.cli import main
from mlscore.engine import run_audit
from mlscore.models import Section
from mlscore.scaffold import claimed_points, plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "income-model"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")

TRAIN = '''"""Train the churn model."""
import csv
import sys


def main(path="data/train.csv"):
    rows = list(csv.DictReader(open(path)))
    if not rows:
        sys.exit("no rows")
    print(len(rows))


if __name__ == "__main__":
    main()
'''

CI_FILES = {
    "github": (".github/workflows/ci.yml", """name: ci
on:
  push:
  pull_request:
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -r requirements.txt
      - run: python -m pytest tests
"""),
    "gitlab": (".gitlab-ci.yml", """test:
  image: python:3.12
  script:
    - pip install -r requirements.txt
    - python -m pytest tests
"""),
    "azure": ("azure-pipelines.yml", """trigger:
  - main
pool:
  vmImage: ubuntu-24.04
steps:
  - task: UsePythonVersion@0
    inputs:
      versionSpec: "3.12"
  - script: pip install -r requirements.txt
  - script: python -m pytest tests
"""),
}

SCHEMAS = {  # written path prefix -> check-jsonschema builtin schema (and data transform)
    ".github/workflows/": ("vendor.github-workflows", None),
    ".github/dependabot.yml": ("vendor.dependabot", None),
    "renovate.json": ("vendor.renovate", None),
    ".gitlab/": ("vendor.gitlab-ci", "gitlab-ci"),
    ".gitlab-ci.yml": ("vendor.gitlab-ci", "gitlab-ci"),
    "azure-pipelines.": ("vendor.azure-pipelines", "azure-pipelines"),
}


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


def fixture_repo(tmp_path: Path, ci: str) -> Path:
    path, text = CI_FILES[ci]
    return make_repo(tmp_path / f"churn-{ci}", {
        path: text,
        "requirements.txt": "pytest==8.3.5\n",
        "src/churn/__init__.py": "",
        "src/churn/train.py": TRAIN,
        "tests/test_train.py": "from churn.train import main\n\ndef test_main():\n    assert callable(main)\n",
        "data/train.csv": "tenure,plan,churned\n1,basic,0\n24,pro,1\n",
        "data/serving/requests-2026-11.csv": "tenure,plan\n3,basic\n30,pro\n",
    })


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git/" not in str(p.relative_to(root)) + "/"[:0] and not str(p.relative_to(root))
            .startswith(".git/")}


def schema_check(root: Path, written: list[str]) -> None:
    if not CHECK_JSONSCHEMA.exists():
        pytest.skip("check-jsonschema is not installed (pip install 'mlscore-audit[test]')")
    for rel in written:
        match = next(((schema, transform) for prefix, (schema, transform) in SCHEMAS.items()
                      if rel.startswith(prefix)), None)
        assert match is not None, f"no CI schema known for {rel}"
        schema, transform = match
        args = [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, str(root / rel)]
        if transform:
            args[1:1] = ["--data-transform", transform]
        if transform == "azure-pipelines":  # the vendored Azure schema has patterns only Python's engine compiles
            args[1:1] = ["--regex-variant", "python"]
        proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
        assert proc.returncode == 0, f"{rel} is not valid for {schema}:\n{proc.stdout}{proc.stderr}"


def run_init(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["init", str(root), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("ci", sorted(CI_FILES))
def test_init_raises_monitoring_by_exactly_the_claimed_points(tmp_path: Path, ci: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = fixture_repo(tmp_path, ci)
    before = run_audit(root)
    the_plan = plan(root, before, Section.MONITORING)
    claimed = claimed_points(before, the_plan.files)
    claimed_rules = {c.rule_id for f in the_plan.files for c in f.claims}
    assert claimed_rules == {"MON1", "MON2", "MON3", "MON4"}
    code, out = run_init(root, capsys, "--section", "monitoring")
    assert code == 0, out
    written = [f.path for f in the_plan.files if f.status == "new"]
    for rel in written:
        assert (root / rel).is_file() and f"wrote        {rel}" in out
    edits = [f for f in the_plan.files if f.status == "differs"]
    if ci == "gitlab":  # GitLab runs only what .gitlab-ci.yml includes: init shows that edit, the user applies it
        assert [e.path for e in edits] == [".gitlab-ci.yml"]
        assert "(counts once the change to .gitlab-ci.yml shown here is applied" in out
        (tmp_path / "include.patch").write_text(edits[0].diff)
        git(root, "apply", str(tmp_path / "include.patch"))
        written.append(".gitlab-ci.yml")
    else:
        assert edits == []
        monitoring_claim = sum(claimed[r.rule_id] for r in before.results if r.section is Section.MONITORING)
        assert f"(init claimed {monitoring_claim:g})" in out
    schema_check(root, written)
    after = run_audit(root)
    for rule_id in claimed_rules:
        assert after.result(rule_id).points == claimed[rule_id], (rule_id, after.result(rule_id).rationale)
    monitoring = {s.section: s.points for s in after.score.sections}[Section.MONITORING]
    assert monitoring == sum(claimed[r.rule_id] for r in before.results if r.section is Section.MONITORING)
    # a second init writes nothing and changes nothing
    files = snapshot(root)
    code, out = run_init(root, capsys, "--section", "monitoring")
    assert code == 0 and "nothing to write" in out
    assert snapshot(root) == files


def test_the_written_ci_files_are_what_each_system_expects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = {}
    for ci in sorted(CI_FILES):
        root = fixture_repo(tmp_path, ci)
        run_init(root, capsys, "--section", "monitoring")
        paths[ci] = sorted(str(p.relative_to(root)) for p in root.rglob("*mlscore*") if p.is_file())
    assert paths["github"] == [".github/workflows/mlscore-data-check.yml", ".github/workflows/mlscore-retrain.yml"]
    assert paths["gitlab"] == [".gitlab/mlscore-data-check.yml", ".gitlab/mlscore-retrain.yml"]
    assert paths["azure"] == ["azure-pipelines.mlscore-data-check.yml", "azure-pipelines.mlscore-retrain.yml"]
    github = (tmp_path / "churn-github" / ".github" / "workflows" / "mlscore-retrain.yml").read_text()
    assert 'python-version: "3.12"' in github and "run: python -m churn.train" in github
    assert "PYTHONPATH: src" in github and "gh issue create" in github
    check = (tmp_path / "churn-gitlab" / ".gitlab" / "mlscore-data-check.yml").read_text()
    assert "--reference data/train.csv --current data/serving/requests-2026-11.csv" in check
    assert (tmp_path / "churn-github" / ".github" / "dependabot.yml").is_file()
    assert (tmp_path / "churn-gitlab" / "renovate.json").is_file()


def test_dry_run_writes_nothing_and_existing_files_are_never_overwritten(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = fixture_repo(tmp_path, "github")
    mine = "name: my own retraining\non: workflow_dispatch\njobs: {}\n"
    (root / ".github" / "workflows" / "mlscore-retrain.yml").write_text(mine)
    files = snapshot(root)
    code, out = run_init(root, capsys, "--section", "monitoring", "--dry-run")
    assert code == 0 and "would write" in out and "Dry run: nothing written" in out
    assert snapshot(root) == files
    code, out = run_init(root, capsys, "--section", "monitoring")
    assert code == 0
    assert (root / ".github" / "workflows" / "mlscore-retrain.yml").read_text() == mine
    assert "exists, differs (not overwritten) .github/workflows/mlscore-retrain.yml" in out
    assert "+++ b/.github/workflows/mlscore-retrain.yml" in out and "-name: my own retraining" in out


def test_init_then_commit_then_audit_on_the_bundled_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "income-model"
    shutil.copytree(EXAMPLE, root)
    make_repo(root, {})
    before = run_audit(root)
    assert before.score.weakest == (Section.MONITORING,)
    code, out = run_init(root, capsys, "--section", "monitoring")
    assert code == 0, out
    assert "wrote        .github/dependabot.yml" in out and "wrote        .github/workflows/mlscore-retrain.yml" in out
    assert "MON2, MON3, MON5, MON6 and MON7 watch what a served model receives" in out  # no server: no placeholders
    assert not (root / "deploy").exists()
    schema_check(root, [".github/dependabot.yml", ".github/workflows/mlscore-retrain.yml"])
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "mlscore init --section monitoring")
    code = main(["audit", str(root), "-q", "--color", "never"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Monitoring          2.5 / 7" in out
    assert "MON1   automated    1" in out and ".github/dependabot.yml:4  dependabot watches pip dependencies" in out
    assert "MON4   automated    1" in out and ".github/workflows/mlscore-retrain.yml:22  scheduled retraining" in out
    after = run_audit(root)
    assert after.score.value == 2.5  # the minimum moved from monitoring 0.5 to monitoring 2.5 (model is 3 or more)


def test_sections_without_a_generator_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = fixture_repo(tmp_path, "github")
    code, out = run_init(root, capsys, "--section", "model")
    assert code == 0 and "init writes nothing for the Model section yet" in out
    assert main(["init", str(tmp_path / "missing")]) == 2


COMPOSE = """services:
  model:
    image: seldonio/mlserver:1.7.1-sklearn
    command: mlserver start /models
    ports:
      - "8080:8080"
"""


@pytest.mark.parametrize("with_data", [True, False])
def test_init_next_to_a_model_server_writes_alerts_that_promtool_accepts(tmp_path: Path, with_data: bool,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    if with_data:
        pytest.importorskip("pandas")  # the reference profile comes from `mlscore data` (the [data] extra)
    files = {".github/workflows/ci.yml": CI_FILES["github"][1], "requirements.txt": "mlserver==1.7.1\n",
             "docker-compose.yml": COMPOSE}
    if with_data:
        files["data/train.csv"] = "tenure,plan,churned\n" + "".join(f"{i},{'basic' if i % 2 else 'pro'},{i % 3 == 0:d}\n"
                                                                    for i in range(60))
    root = make_repo(tmp_path / "served", files)
    before = run_audit(root)
    the_plan = plan(root, before, Section.MONITORING)
    claimed = claimed_points(before, the_plan.files)
    rules = {c.rule_id for f in the_plan.files for c in f.claims}
    # C13: the alerts are claimed because Alertmanager notifies; drift needs the training data's profile
    assert rules == ({"MON1", "MON2", "MON3", "MON5", "MON6", "MON7"} if with_data else {"MON1", "MON5", "MON6"})
    code, out = run_init(root, capsys, "--section", "monitoring")
    assert code == 0, out
    deploy = root / "deploy" / "mlscore"
    assert (deploy / "alertmanager.yml").read_text().count("url_file: /etc/alertmanager/secrets/webhook-url") == 1
    assert (deploy / "reference.profile.json").is_file() == with_data
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian's prometheus package; scripts/test installs it)")
    for args in (["check", "rules", str(deploy / "mlscore-alerts.yml")],
                 ["check", "config", str(deploy / "prometheus.yml")]):
        proc = subprocess.run([promtool, *args], capture_output=True, text=True, check=False, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    schema_check(root, [".github/dependabot.yml"])
    if CHECK_JSONSCHEMA.exists():
        proc = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec",
                               str(deploy / "compose.yaml")], capture_output=True, text=True, check=False, timeout=120)
        assert proc.returncode == 0, proc.stdout
    after = run_audit(root)
    for rule_id in rules:
        assert after.result(rule_id).points == claimed[rule_id], (rule_id, after.result(rule_id).rationale)
    files_now = snapshot(root)
    code, out = run_init(root, capsys, "--section", "monitoring")
    assert code == 0 and snapshot(root) == files_now


def _init_section(root: Path, section: Section, capsys: pytest.CaptureFixture[str]) -> tuple[set[str], list[str]]:
    """init --section on ``root``: the audit rises by exactly the claimed points, the CI files are valid, and a
    second init changes nothing. Returns the claimed rules and the files written."""
    before = run_audit(root)
    the_plan = plan(root, before, section)
    claimed = claimed_points(before, the_plan.files)
    rules = {c.rule_id for f in the_plan.files for c in f.claims}
    code, out = run_init(root, capsys, "--section", section.name.lower())
    assert code == 0, out
    written = [f.path for f in the_plan.files if f.status == "new"]
    for rel in written:
        assert (root / rel).is_file() and f"wrote        {rel}" in out
    schema_check(root, [p for p in written if p.endswith((".yml", ".yaml"))])
    after = run_audit(root)
    for result in after.results:  # exactly the claimed points: nothing short, nothing extra
        assert result.points == claimed[result.rule_id], (result.rule_id, result.rationale)
    points = {s.section: s.points for s in after.score.sections}
    assert points[section] == sum(claimed[r.rule_id] for r in before.results if r.section is section)
    files = snapshot(root)
    code, out = run_init(root, capsys, "--section", section.name.lower())
    assert code == 0 and "nothing to write" in out, out
    assert snapshot(root) == files
    return rules, written


@pytest.mark.parametrize("ci", sorted(CI_FILES))
def test_init_data_writes_a_suite_a_test_and_a_ci_job(tmp_path: Path, ci: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("great_expectations")  # the suite comes from `mlscore data schema` (the [data] extra)
    root = fixture_repo(tmp_path, ci)
    rules, written = _init_section(root, Section.DATA, capsys)
    assert rules == {"DATA1"}
    job = {"github": ".github/workflows/mlscore-data-tests.yml", "gitlab": ".gitlab/mlscore-data-tests.yml",
           "azure": "azure-pipelines.mlscore-data-tests.yml"}[ci]
    assert written == ["expectations/train.json", "tests/test_data_expectations.py", job]
    assert "python -m pytest tests/test_data_expectations.py" in (root / job).read_text()
    suite = (root / "expectations" / "train.json").read_text()
    assert '"source": "data/train.csv"' in suite and "expect_column_values_to_be_between" in suite
    test = root / "tests" / "test_data_expectations.py"
    assert '@pytest.mark.mlscore("DATA1")' in test.read_text()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)], cwd=root,
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr
    (root / "data" / "train.csv").write_text("tenure,plan,churned\n1,basic,0\n,pro,1\n-5,pro,1\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)], cwd=root,
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 1 and "expect_column_values_to_not_be_null" in proc.stdout, proc.stdout


def test_init_data_without_training_data_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path / "nodata", {".github/workflows/ci.yml": CI_FILES["github"][1], "train.py": TRAIN})
    code, out = run_init(root, capsys, "--section", "data")
    assert code == 0 and "DATA1: no committed training data" in out and "nothing to write" in out


@pytest.mark.parametrize("ci", sorted(CI_FILES))
@pytest.mark.parametrize("deploys", [False, True])
def test_init_infrastructure_writes_ci_and_a_quality_gate(tmp_path: Path, ci: str, deploys: bool,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = fixture_repo(tmp_path, ci)
    if deploys:  # a path to serving: the gate is credited (manual until a deployment in CI depends on it)
        (root / "src" / "churn" / "deploy.py").write_text("def deploy(path):\n    print('deploying', path)\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "deploy")
    rules, written = _init_section(root, Section.INFRASTRUCTURE, capsys)
    assert rules == ({"INFRA4"} if deploys else set())
    job = {"github": ".github/workflows/mlscore-ci.yml", "gitlab": ".gitlab/mlscore-ci.yml",
           "azure": "azure-pipelines.mlscore-ci.yml"}[ci]
    assert written == ["scripts/quality_gate.py", job]
    text = (root / job).read_text()
    assert "python -m churn.train" in text and "python scripts/quality_gate.py" in text
    gate = [sys.executable, str(root / "scripts" / "quality_gate.py"), "--metrics", str(tmp_path / "m.json")]
    (tmp_path / "m.json").write_text('{"accuracy": 0.9}')
    assert subprocess.run(gate, capture_output=True, check=False).returncode == 0
    (tmp_path / "m.json").write_text('{"accuracy": 0.5}')
    assert subprocess.run(gate, capture_output=True, check=False).returncode == 1


def test_init_infrastructure_without_ci_writes_github_actions_that_run_the_tests(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path / "noci", {"train.py": TRAIN, "requirements.txt": "pytest\n",
                                         "tests/test_train.py": "from train import main\n\n\ndef test_main():\n"
                                                                "    assert main('data/train.csv') is None\n",
                                         "data/train.csv": "a,b\n1,2\n"})
    rules, written = _init_section(root, Section.INFRASTRUCTURE, capsys)
    assert written == ["scripts/quality_gate.py", ".github/workflows/mlscore-ci.yml"]
    text = (root / ".github" / "workflows" / "mlscore-ci.yml").read_text()
    assert "python -m pytest" in text and "pull_request:" in text
