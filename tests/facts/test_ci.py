"""ci.extract_ci over real-world-shaped CI files."""

from __future__ import annotations

from mlscore.facts.ci import extract_ci, wanted

from .conftest import make_repo

GH_WORKFLOW = """
name: CI
on:
  push:
    branches: [main]
  pull_request:
  schedule:
    - cron: "0 3 * * 1"
  workflow_dispatch:
defaults:
  run:
    shell: bash
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python-version: ["3.10", "3.11"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python-version }}
      - uses: ./.github/actions/setup
      - name: Test
        working-directory: src
        run: |
          pip install -e .
          pytest tests/ --cov
      # - name: lint
      #   run: flake8 .
      - name: flaky
        continue-on-error: true
        run: python scripts/eval.py
      - name: never
        if: ${{ false }}
        run: make train
      - run: cml comment create report.md
  call:
    uses: ./.github/workflows/reuse.yml
"""

REUSE = """
on: workflow_call
jobs:
  inner:
    runs-on: ubuntu-latest
    steps:
      - run: dvc repro
"""

COMPOSITE = """
name: setup
runs:
  using: composite
  steps:
    - run: pip install -r requirements.txt
      shell: bash
    - run: python -m mypkg.check
      shell: bash
"""


def _gh():
    return extract_ci(*make_repo({
        ".github/workflows/ci.yml": GH_WORKFLOW,
        ".github/workflows/reuse.yml": REUSE,
        ".github/actions/setup/action.yml": COMPOSITE,
    }))


def test_github_jobs_triggers_and_lines() -> None:
    facts = _gh()
    assert facts.diagnostics == ()
    test = facts.jobs[0]
    assert (test.file, test.line, test.id, test.system, test.matrix) == (".github/workflows/ci.yml", 13, "test",
                                                                          "github", True)
    assert [(t.kind, t.detail, t.line) for t in test.triggers] == [
        ("push", "main", 3), ("pull_request", None, 5), ("schedule", "0 3 * * 1", 7), ("manual", None, 8)]
    assert test.surfaces == ("pr_comment",)


def test_github_steps_commands_swallowing_and_disabled() -> None:
    steps = _gh().jobs[0].steps
    assert [(s.line, s.setup_only) for s in steps[:2]] == [(19, True), (20, True)]
    assert steps[1].uses is not None and steps[1].uses.inputs == {"python-version": "${{ matrix.python-version }}"}
    run = steps[3]
    assert (run.name, run.working_directory) == ("Test", "src")
    assert [(c.line, c.argv, c.cwd) for c in run.commands] == [
        (27, ("pip", "install", "-e", "."), "src"), (28, ("pytest", "tests/", "--cov"), "src")]
    flaky, never = steps[4], steps[5]
    assert (flaky.swallowed, flaky.swallow_reason) == (True, "continue-on-error: true")
    assert never.disabled and not flaky.disabled
    assert steps[6].surfaces == ("pr_comment",)


def test_composite_action_expanded() -> None:
    step = _gh().jobs[0].steps[2]
    assert [(e.file, e.line, e.commands[0].argv, e.setup_only) for e in step.expanded] == [
        (".github/actions/setup/action.yml", 5, ("pip", "install", "-r", "requirements.txt"), True),
        (".github/actions/setup/action.yml", 7, ("python", "-m", "mypkg.check"), False),
    ]


def test_reusable_workflow_inherits_caller_triggers() -> None:
    inner = next(j for j in _gh().jobs if j.id == "inner")
    assert inner.called_from == (".github/workflows/ci.yml:38",)
    assert [t.kind for t in inner.triggers] == ["push", "pull_request", "schedule", "manual"]


def test_commented_out_steps_recorded() -> None:
    assert [(c.line, c.text) for c in _gh().commented] == [(29, "name: lint"), (30, "run: flake8 .")]


def test_default_shell_has_no_pipefail_but_bash_does() -> None:
    wf = """
    on: push
    jobs:
      a:
        runs-on: ubuntu-latest
        steps:
          - run: pytest | tee out.txt
          - run: pytest | tee out.txt
            shell: bash
    """
    job = extract_ci(*make_repo({".github/workflows/a.yml": wf})).jobs[0]
    assert job.steps[0].commands[0].swallowed
    assert not job.steps[1].commands[0].swallowed


def test_on_as_list_and_tags_only_push() -> None:
    wf = """
    on:
      push:
        tags: ["v*"]
      release:
        types: [published]
    jobs:
      a:
        runs-on: ubuntu-latest
        steps: [{run: make release}]
    """
    job = extract_ci(*make_repo({".github/workflows/r.yaml": wf})).jobs[0]
    assert [t.kind for t in job.triggers] == ["tag", "release"]
    wf2 = "on: [push, pull_request]\njobs:\n  a:\n    steps:\n      - run: pytest\n"
    job2 = extract_ci(*make_repo({".github/workflows/s.yml": wf2})).jobs[0]
    assert [t.kind for t in job2.triggers] == ["push", "pull_request"]


def test_gitlab_rules_extends_include_allow_failure() -> None:
    files = {
        ".gitlab-ci.yml": """
        include:
          - local: ci/more.yml
        stages: [test]
        default:
          before_script:
            - pip install -r requirements.txt
        .py:
          image: python:3.11
        unit:
          extends: .py
          script:
            - pytest tests
          artifacts:
            reports:
              junit: report.xml
        nightly:
          rules:
            - if: '$CI_PIPELINE_SOURCE == "schedule"'
          script:
            - python monitor.py
          allow_failure: true
        """,
        "ci/more.yml": """
        deploy:
          when: manual
          script: ["./deploy.sh"]
        """,
    }
    facts = extract_ci(*make_repo(files))
    assert facts.diagnostics == ()
    by = {j.id: j for j in facts.jobs}
    assert set(by) == {"unit", "nightly", "deploy"}
    unit = by["unit"]
    assert [t.kind for t in unit.triggers] == ["push"]
    assert [(s.line, s.commands[0].argv) for s in unit.steps] == [
        (6, ("pip", "install", "-r", "requirements.txt")), (12, ("pytest", "tests"))]
    assert unit.surfaces == ("test_report",)
    assert [t.kind for t in by["nightly"].triggers] == ["schedule"]
    assert by["nightly"].swallowed
    assert (by["deploy"].file, [t.kind for t in by["deploy"].triggers]) == ("ci/more.yml", ["manual"])


def test_azure_script_steps_without_errexit_and_schedules() -> None:
    text = """
    trigger:
      - main
    schedules:
      - cron: "0 0 * * *"
        branches: {include: [main]}
    pool: {vmImage: ubuntu-latest}
    steps:
      - task: UsePythonVersion@0
        inputs: {versionSpec: '3.11'}
      - script: |
          pip install -r requirements.txt
          pytest tests
          echo done
        displayName: test
      - task: PublishTestResults@2
        inputs: {testResultsFiles: '**/junit.xml'}
    """
    job = extract_ci(*make_repo({"azure-pipelines.yml": text})).jobs[0]
    assert [(t.kind, t.detail) for t in job.triggers] == [("push", "main"), ("schedule", "0 0 * * *")]
    script = job.steps[1]
    assert [(c.line, c.argv[0], c.swallowed) for c in script.commands] == [
        (11, "pip", True), (12, "pytest", True), (13, "echo", False)]
    assert job.steps[0].setup_only and job.surfaces == ("test_report",)


def test_circleci_scheduled_workflow() -> None:
    text = """
    version: 2.1
    jobs:
      build:
        docker: [{image: cimg/python:3.11}]
        steps:
          - checkout
          - run: pip install -r requirements.txt
          - run:
              name: tests
              command: |
                pytest tests
          - store_test_results: {path: reports}
    workflows:
      nightly:
        triggers:
          - schedule:
              cron: "0 1 * * *"
              filters: {branches: {only: [main]}}
        jobs: [build]
    """
    job = extract_ci(*make_repo({".circleci/config.yml": text})).jobs[0]
    assert [(t.kind, t.detail) for t in job.triggers] == [("schedule", "0 1 * * *")]
    assert [c.argv for s in job.steps for c in s.commands] == [("pip", "install", "-r", "requirements.txt"),
                                                               ("pytest", "tests")]
    assert job.steps[2].commands[0].line == 11
    assert "test_report" in job.surfaces


def test_jenkinsfile_regex() -> None:
    text = """
    pipeline {
      agent any
      triggers { cron('H 2 * * *') }
      stages {
        stage('Test') {
          steps {
            sh 'pip install -r requirements.txt'
            sh '''
              pytest tests
            '''
            // sh 'python deploy.py'
          }
        }
      }
      post { always { junit 'reports/*.xml' } }
    }
    """
    facts = extract_ci(*make_repo({"Jenkinsfile": text}))
    job = facts.jobs[0]
    assert [(t.kind, t.detail) for t in job.triggers] == [("push", "multibranch/webhook (default)"),
                                                          ("schedule", "H 2 * * *")]
    assert [(s.name, c.line, c.argv) for s in job.steps for c in s.commands] == [
        ("Test", 7, ("pip", "install", "-r", "requirements.txt")), ("Test", 9, ("pytest", "tests"))]
    assert job.surfaces == ("test_report",)
    assert [(c.line, c.text) for c in facts.commented] == [(11, "sh 'python deploy.py'")]


def test_cloudbuild_buildspec_travis() -> None:
    files = {
        "cloudbuild.yaml": """
        steps:
          - name: python:3.11
            entrypoint: bash
            args: ["-c", "pip install -r requirements.txt && pytest tests"]
          - name: gcr.io/cloud-builders/docker
            args: ["build", "-t", "img", "."]
        """,
        "buildspec.yml": """
        version: 0.2
        phases:
          build:
            commands:
              - pytest tests
          post_build:
            on-failure: CONTINUE
            commands:
              - python notify.py
        """,
        ".travis.yml": """
        language: python
        script:
          - pytest
        after_success:
          - codecov
        """,
    }
    facts = extract_ci(*make_repo(files))
    by = {j.system: j for j in facts.jobs}
    cb = by["cloudbuild"]
    assert [t.kind for t in cb.triggers] == ["manual"]  # submitted by hand: no trigger in the tree
    assert [c.argv for s in cb.steps for c in s.commands] == [
        ("pip", "install", "-r", "requirements.txt"), ("pytest", "tests"), ("docker", "build", "-t", "img", ".")]
    code = by["codebuild"]
    assert [(s.name, s.swallowed) for s in code.steps] == [("build", False), ("post_build", True)]
    travis = by["travis"]
    assert [t.kind for t in travis.triggers] == ["push", "pull_request"]
    assert [(s.name, s.swallowed) for s in travis.steps] == [("script", False), ("after_success", True)]
    assert travis.surfaces == ("coverage_report",)


def test_malformed_and_hostile_files_are_diagnostics() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    prev = "a"
    for name in "bcdefghij":
        bomb += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    bomb += "on: push\njobs: {}\n"
    files = {
        ".github/workflows/bad.yml": "on: [push\njobs:\n  a: {",
        ".github/workflows/bomb.yml": bomb,
        ".github/workflows/list.yml": "- just\n- a list\n",
        ".gitlab-ci.yml": "include: missing.yml\n",
    }
    facts = extract_ci(*make_repo(files))
    assert facts.jobs == ()
    messages = sorted((d.path, d.message.split(":")[0]) for d in facts.diagnostics)
    assert messages == [
        (".github/workflows/bad.yml", "malformed YAML at line 2"),
        (".github/workflows/bomb.yml", "YAML refused"),
        (".github/workflows/list.yml", "GitHub workflow is not a mapping"),
        (".gitlab-ci.yml", "GitLab include missing.yml not found"),
    ]


def test_wanted() -> None:
    yes = [".github/workflows/ci.yml", ".gitlab-ci.yml", "azure-pipelines.yml", ".circleci/config.yml",
           "Jenkinsfile", "ci/Jenkinsfile", "cloudbuild.yaml", "deploy/cloudbuild.yml", "buildspec.yml",
           ".travis.yml", ".github/actions/setup/action.yml"]
    # YAML, Terraform, CDK code and Groovy anywhere may declare CI: extract_ci reads them and decides by content
    maybe = ["src/ci.yml", "build/pipeline-deploy.yaml", "infra/main.tf", "cdk/app.py", "ci/build.groovy"]
    no = ["docs/guide.md", "node_modules/x/.drone.yml.txt", "node_modules/pkg/cloudbuild.yml.bak", "types/x.d.ts",
          "venv/lib/site.yml", "data/train.csv"]
    assert all(wanted(p) for p in yes + maybe)
    assert not any(wanted(p) for p in no)
    facts = extract_ci(*make_repo({"src/ci.yml": "steps:\n  - name: Install\n    apt: {name: git}\n",
                                   ".github/dependabot.yml": "version: 2\nupdates: []\n",
                                   "workflows/ci.yml": "on: push\njobs:\n  a: {runs-on: x, steps: [{run: pytest}]}\n"}))
    assert (facts.jobs, facts.files) == ((), ())


def test_event_name_conditions_filter_triggers() -> None:
    wf = """
    on:
      push:
      pull_request:
      schedule: [{cron: "0 3 * * *"}]
    jobs:
      nightly:
        if: github.event_name == 'schedule'
        runs-on: x
        steps: [{run: python monitor.py}]
      tests:
        if: ${{ github.event_name != 'schedule' }}
        runs-on: x
        steps:
          - run: pytest
          - if: github.event_name == 'push' || github.event_name == 'schedule'
            run: python report.py
    """
    jobs = {j.id: j for j in extract_ci(*make_repo({".github/workflows/a.yml": wf})).jobs}
    assert [t.kind for t in jobs["nightly"].triggers] == ["schedule"]
    assert [t.kind for t in jobs["tests"].triggers] == ["push", "pull_request"]
    assert jobs["tests"].steps[0].events is None
    assert sorted(jobs["tests"].steps[1].events or ()) == ["push", "schedule", "tag"]


def test_folded_and_literal_run_blocks_start_on_the_next_line() -> None:
    wf = ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: >-\n          pytest tests\n"
          "          --maxfail=1\n      - run: |\n          python train.py\n      - run: python eval.py\n")
    job = extract_ci(*make_repo({".github/workflows/a.yml": wf})).jobs[0]
    assert [(c.line, c.argv[:2]) for s in job.steps for c in s.commands] == [
        (7, ("pytest", "tests")), (10, ("python", "train.py")), (11, ("python", "eval.py"))]


def test_workflow_run_and_gitlab_child_pipelines_inherit_triggers() -> None:
    files = {
        ".github/workflows/nightly.yml": ("name: Nightly\non:\n  schedule: [{cron: '0 1 * * *'}]\njobs:\n"
                                          "  a: {runs-on: x, steps: [{run: python train.py}]}\n"),
        ".github/workflows/after.yml": ("on:\n  workflow_run:\n    workflows: [Nightly]\n    types: [completed]\n"
                                        "jobs:\n  report: {runs-on: x, steps: [{run: python report.py}]}\n"),
        ".gitlab-ci.yml": ("monitor:\n  rules:\n    - if: '$CI_PIPELINE_SOURCE == \"schedule\"'\n"
                           "  trigger:\n    include: ci/monitor.yml\n"),
        "ci/monitor.yml": "drift:\n  script: [python drift.py]\n",
    }
    jobs = {j.id: j for j in extract_ci(*make_repo(files)).jobs}
    assert [(t.kind, t.detail) for t in jobs["report"].triggers] == [("workflow_run", "Nightly"),
                                                                     ("schedule", "0 1 * * *")]
    assert jobs["drift"].file == "ci/monitor.yml"
    assert [t.kind for t in jobs["drift"].triggers] == ["schedule"]
    assert jobs["drift"].called_from == (".gitlab-ci.yml:1",)
