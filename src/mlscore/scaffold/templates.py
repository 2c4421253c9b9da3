"""The files `mlscore init` writes, one function per mechanism and CI system; plain text, no logic beyond layout."""

from __future__ import annotations

import json
import re

RETRAIN_CRON = "17 4 * * 1"  # weekly, Monday 04:17 UTC (off the hour, when shared runners are less busy)
CHECK_CRON = "43 5 * * *"  # daily, 05:43 UTC


def q(value: str) -> str:
    """A YAML scalar for ``value``: plain when that is safe, else double-quoted (JSON strings are YAML)."""
    if re.search(r"(:\s|\s#|^[-?:,\[\]{}#&*!|>'\"%@`]|:$|^\s|\s$)", value) or value in ("", "true", "false", "null"):
        return json.dumps(value)
    return value


def dependabot(ecosystems: list[tuple[str, str]]) -> str:
    lines = ["# Written by `mlscore init`: Dependabot opens a pull request when an upstream dependency changes",
             "# (ML Test Score MON1). https://docs.github.com/code-security/dependabot", "version: 2", "updates:"]
    for ecosystem, directory in ecosystems:
        lines += [f"  - package-ecosystem: {ecosystem}", f"    directory: {directory}", "    schedule:",
                  "      interval: weekly", "    open-pull-requests-limit: 5"]
    return "\n".join(lines) + "\n"


def renovate() -> str:
    return ('{\n  "$schema": "https://docs.renovatebot.com/renovate-schema.json",\n'
            '  "description": "Written by `mlscore init`: Renovate opens a merge request when an upstream dependency '
            'changes (ML Test Score MON1). It needs the Renovate app or a Renovate runner for this repository.",\n'
            '  "extends": ["config:recommended"],\n  "schedule": ["before 6am on monday"]\n}\n')


def _gh_job(name: str, python: str, install: str, run_name: str, run: str, env: dict[str, str],
            artifact: tuple[str, str] | None, issue_title: str) -> list[str]:
    lines = [f"  {name}:", "    runs-on: ubuntu-24.04", "    timeout-minutes: 60", "    steps:",
             "      - uses: actions/checkout@v4", "      - uses: actions/setup-python@v5", "        with:",
             f'          python-version: "{python}"']
    if install:
        lines += ["      - name: Install the project's dependencies", f"        run: {q(install)}"]
    lines += [f"      - name: {q(run_name)}", f"        run: {q(run)}"]
    if env:
        lines += ["        env:"] + [f"          {k}: {q(v)}" for k, v in env.items()]
    if artifact:
        lines += ["      - uses: actions/upload-artifact@v4", "        with:", f"          name: {artifact[0]}",
                  f"          path: {artifact[1]}"]
    lines += ["      - name: Open an issue when this scheduled run fails",
              "        if: failure() && github.event_name == 'schedule'",
              "        run: " + q(f'gh issue create --title "{issue_title}" --body "$RUN_URL"'),
              "        env:", "          GH_TOKEN: ${{ github.token }}",
              "          RUN_URL: ${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}"]
    return lines


def github_scheduled(title: str, cron: str, job: str, python: str, install: str, run_name: str, run: str,
                     env: dict[str, str], artifact: tuple[str, str] | None, purpose: str) -> str:
    head = [f"# Written by `mlscore init`: {purpose}", f"name: {q(title)}", "on:", "  schedule:",
            f'    - cron: "{cron}"', "  workflow_dispatch:", "permissions:", "  contents: read", "  issues: write",
            "jobs:"]
    return "\n".join(head + _gh_job(job, python, install, run_name, run, env, artifact,
                                    f"{title} failed (scheduled run)")) + "\n"


def gitlab_scheduled(job: str, python: str, install: str, run: str, env: dict[str, str],
                     artifact: str | None, purpose: str) -> str:
    lines = [f"# Written by `mlscore init`: {purpose}",
             "# Include it from .gitlab-ci.yml (include: local: this file) and create a pipeline schedule in",
             "# Build > Pipeline schedules: GitLab keeps the cadence outside the repository.",
             f"{job}:", f"  image: python:{python}", "  rules:", '    - if: $CI_PIPELINE_SOURCE == "schedule"',
             "  script:"]
    if install:
        lines.append(f"    - {q(install)}")
    lines.append(f"    - {q(run)}")
    if env:
        lines += ["  variables:"] + [f"    {k}: {q(v)}" for k, v in env.items()]
    if artifact:
        lines += ["  artifacts:", "    paths:", f"      - {artifact}", "    expire_in: 30 days"]
    return "\n".join(lines) + "\n"


def azure_scheduled(display: str, cron: str, python: str, install: str, run: str, env: dict[str, str],
                    artifact: str | None, purpose: str) -> str:
    lines = [f"# Written by `mlscore init`: {purpose}",
             "# Create a pipeline from this file (Pipelines > New pipeline > Existing YAML file).",
             "trigger: none", "pr: none", "schedules:", f'  - cron: "{cron}"', f"    displayName: {q(display)}",
             "    branches:", "      include:", "        - main", "    always: \"true\"", "pool:",
             "  vmImage: ubuntu-24.04", "steps:", "  - task: UsePythonVersion@0", "    inputs:",
             f'      versionSpec: "{python}"']
    if install:
        lines += [f"  - script: {q(install)}", "    displayName: Install the project's dependencies"]
    lines += [f"  - script: {q(run)}", f"    displayName: {q(display)}"]
    if env:
        lines += ["    env:"] + [f"      {k}: {q(v)}" for k, v in env.items()]
    if artifact:
        lines += ["  - publish: " + artifact, "    artifact: model", "    condition: succeeded()"]
    return "\n".join(lines) + "\n"


def github_push(title: str, job: str, python: str, install: str, steps: list[tuple[str, str]],
                env: dict[str, str], purpose: str) -> str:
    """A workflow that runs ``steps`` (name, command) on every push and pull request."""
    lines = [f"# Written by `mlscore init`: {purpose}", f"name: {q(title)}", "on:", "  push:", "  pull_request:",
             "  workflow_dispatch:", "permissions:", "  contents: read", "jobs:", f"  {job}:",
             "    runs-on: ubuntu-24.04", "    timeout-minutes: 60", "    steps:", "      - uses: actions/checkout@v4",
             "      - uses: actions/setup-python@v5", "        with:", f'          python-version: "{python}"']
    if install:
        lines += ["      - name: Install the project's dependencies", f"        run: {q(install)}"]
    for name, run in steps:
        lines += [f"      - name: {q(name)}", f"        run: {q(run)}"]
        if env:
            lines += ["        env:"] + [f"          {k}: {q(v)}" for k, v in env.items()]
    return "\n".join(lines) + "\n"


def gitlab_push(job: str, python: str, install: str, steps: list[tuple[str, str]], env: dict[str, str],
                purpose: str) -> str:
    lines = [f"# Written by `mlscore init`: {purpose}",
             "# Include it from .gitlab-ci.yml (include: local: this file); it runs on every push and merge request.",
             f"{job}:", f"  image: python:{python}", "  rules:", '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
             '    - if: $CI_PIPELINE_SOURCE == "push"', "  script:"]
    if install:
        lines.append(f"    - {q(install)}")
    lines += [f"    - {q(run)}" for _name, run in steps]
    if env:
        lines += ["  variables:"] + [f"    {k}: {q(v)}" for k, v in env.items()]
    return "\n".join(lines) + "\n"


def azure_push(python: str, install: str, steps: list[tuple[str, str]], env: dict[str, str], purpose: str) -> str:
    lines = [f"# Written by `mlscore init`: {purpose}",
             "# Create a pipeline from this file (Pipelines > New pipeline > Existing YAML file).",
             "trigger:", "  branches:", "    include:", '      - "*"', "pr:", "  branches:", "    include:",
             '      - "*"', "pool:", "  vmImage: ubuntu-24.04", "steps:", "  - task: UsePythonVersion@0", "    inputs:",
             f'      versionSpec: "{python}"']
    if install:
        lines += [f"  - script: {q(install)}", "    displayName: Install the project's dependencies"]
    for name, run in steps:
        lines += [f"  - script: {q(run)}", f"    displayName: {q(name)}"]
        if env:
            lines += ["    env:"] + [f"      {k}: {q(v)}" for k, v in env.items()]
    return "\n".join(lines) + "\n"


def data_test(data: str, suite: str, depth: int) -> str:
    """A pytest file that validates the training data against its suite with mlscore's Python API (DATA1)."""
    return f'''"""Written by `mlscore init`: the training data must meet the expectations inferred from it (ML Test Score
DATA1). Review {suite} (written by `mlscore data schema {data}`): tighten or loosen what the data must satisfy,
and keep it in git. Needs mlscore-audit[data]; run it with `python -m pytest {{this file}}`."""

from pathlib import Path

import pytest

pytest.importorskip("mlscore.data.validation", reason="needs mlscore-audit[data]")

from mlscore.data.readers import TableReader  # noqa: E402
from mlscore.data.suite import load_suite  # noqa: E402
from mlscore.data.validation import validate  # noqa: E402

ROOT = Path(__file__).resolve().parents[{depth}]
DATA = ROOT / {data!r}
SUITE = ROOT / {suite!r}


@pytest.mark.mlscore("DATA1")
def test_training_data_meets_its_expectations():
    results = validate(TableReader(DATA).read_all(), load_suite(SUITE))
    failed = [f"{{r.type}} {{r.kwargs}}: observed {{r.observed_value!r}}{{' (' + r.exception + ')' if r.exception else ''}}"
              for r in results if not r.success]
    assert not failed, f"{{DATA}} breaks {{len(failed)}} expectation(s) of {{SUITE}}:\\n" + "\\n".join(failed)
'''


def quality_gate(metrics: str, metric: str, threshold: float) -> str:
    """A script that fails (exit 1) when the candidate's metric is below the threshold (INFRA4)."""
    return f'''"""Written by `mlscore init`: the quality gate a candidate model must pass before it is served (ML Test Score
INFRA4). Training writes its metrics as JSON ({metrics} by default, e.g. {{"{metric}": 0.87}}); this script exits
non-zero when the metric is missing or below the threshold, so the pipeline stops before the model goes further.

    python scripts/quality_gate.py [--metrics {metrics}] [--metric {metric}] [--threshold {threshold}]

Set the threshold to what the model in production achieves (or the least the product accepts)."""

import argparse
import json
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", default={metrics!r}, help="JSON file of metrics written by training")
    parser.add_argument("--metric", default={metric!r}, help="the metric to gate on (higher is better)")
    parser.add_argument("--threshold", type=float, default={threshold!r}, help="the least value accepted")
    args = parser.parse_args(argv)
    try:
        with open(args.metrics, encoding="utf-8") as handle:
            metrics = json.load(handle)
    except (OSError, ValueError) as exc:
        sys.exit(f"quality gate: cannot read the metrics {{args.metrics}}: {{exc}} (training must write them)")
    metric_value = metrics.get(args.metric) if isinstance(metrics, dict) else None
    if not isinstance(metric_value, (int, float)):
        sys.exit(f"quality gate: {{args.metrics}} has no number {{args.metric!r}}")
    if metric_value < args.threshold:
        print(f"quality gate: {{args.metric}} {{metric_value:g}} is below {{args.threshold:g}}: not promoted")
        sys.exit(1)
    print(f"quality gate: {{args.metric}} {{metric_value:g}} >= {{args.threshold:g}}: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''
