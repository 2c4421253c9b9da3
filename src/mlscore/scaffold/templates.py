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
