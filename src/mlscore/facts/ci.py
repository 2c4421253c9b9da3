"""CI definitions as facts: jobs, their normalised triggers and their steps' commands, never executed.

Public API
- ``wanted(path) -> bool``: whether ``extract_ci`` may read this repo-relative path: a CI file by name
  (``CI_GLOBS``), or a file whose content can declare CI (YAML/JSON anywhere, Terraform, CDK code under a
  ``cdk.json``, Groovy, READMEs that tell users to copy seed workflows); ``extract_ci`` decides by content.
- ``extract_ci(files, read) -> CiFacts``: parse every CI definition among ``files`` (``read(path) -> str | None``).
  By name: GitHub Actions (workflows, local composite actions, local reusable workflows), GitLab CI (local
  includes with wildcards, ``extends``, child pipelines), Azure Pipelines (``azure-pipelines*.yml``,
  ``.azure-pipelines/``), CircleCI, Jenkinsfile (regex), Cloud Build, CodeBuild buildspec, Travis, Bitbucket
  Pipelines, Drone, Buildkite. By content, wherever they live (every check behind substring prefilters):
  Cloud Build configs (steps of container images with args/entrypoint/script) and Cloud Build triggers (YAML and
  Terraform ``google_cloudbuild_trigger``); Azure pipelines (trigger/pr/schedules/pool + Azure stages, jobs or
  steps) with stage/job/step/extends templates and their parameters, local paths relative to the including file or
  the root; CodeBuild buildspecs, and CodeBuild projects with their CodePipelines or webhooks in CloudFormation,
  CDK (Python, TypeScript) and Terraform; Tekton Tasks/Pipelines/TriggerTemplates/EventListeners; Jenkins
  pipelines in any Groovy file; a template's seed workflows (``seed/.github/workflows``) when a README tells users
  to copy them into place (LABELING.md C6). Files renamed out of a system's sight (``*.disabled.yml``,
  ``*.old.yaml``...) are not CI (C6). Malformed files give Diagnostics, never exceptions.
- ``Trigger``: ``kind`` in push, pull_request, schedule, manual, release, tag, merge_request, workflow_call,
  workflow_run, external, other; ``detail`` (cron string, branches, event name, the declaration that starts a
  build); ``line``. A build file nothing in the tree triggers (Cloud Build, CodeBuild, a Tekton pipeline) is
  ``manual``: submitted by a person, still CI (G5a).
- ``ActionUse``: a ``uses:`` reference: ``name`` (lower-case ``owner/repo[/path]``), ``version``, ``inputs``
  (``with:`` as text), ``local``.
- ``Step``: ``file``/``line``/``name``; ``run`` text split into ``commands`` (``shell.ShellCommand``, with cwd
  from ``working-directory``/``cd``); ``commented`` command lines; ``uses``; ``swallowed`` + ``swallow_reason``
  (``continue-on-error``, ``allow_failure``, ``after_script``, ``on-failure: CONTINUE``, ``soft_fail``...);
  ``disabled`` (``if: false``, ``enabled: false``); ``surfaces`` (kinds of result surfacing, see
  ``SURFACE_KINDS``); ``setup_only`` (checkout/setup/install only); ``expanded`` (the steps of a local composite
  action it uses); ``events`` (trigger kinds it runs for when its ``if:``/``when:`` tests the event, else None);
  ``external`` (a step defined in another repository, C7: a reusable workflow ``org/repo/...@ref`` or an Azure
  ``template: x@repo``; ``uses.inputs`` are its parameters, and the files they name are the evidence).
- ``event_filter(condition) -> (allowed kinds | None, excluded kinds)``: reads ``github.event_name ==/!=``
  tests; jobs' triggers are already filtered by their own ``if:``.
- ``Job``: ``file``/``line``/``id``/``name``/``system``, ``triggers``, ``steps``, ``swallowed``, ``disabled``,
  ``needs``, ``calls`` (reusable workflow ref), ``called_from`` (caller locations: the including pipeline of a
  template's jobs, the declarations that run a build spec), ``surfaces`` (union over steps and job-level
  reports), ``matrix``, ``workflow`` (GitHub workflow name). A ``workflow_run`` job also carries the triggers of
  the workflows it follows; a GitLab child pipeline (``trigger: include:``) carries its parent job's triggers.
- ``CommentedStep``: a commented-out step in a CI file (``# - run: pytest``): evidence of nothing (G2).
- ``CiFacts``: ``jobs``, ``commented``, ``files``, ``diagnostics``; ``jobs_in(path)``.
- ``SURFACE_KINDS`` / ``STRONG_SURFACES``: surfacing kinds; the strong ones count under G7 (a PR/commit comment,
  SARIF/code scanning, a notification, an issue, a published test report, published pages);
  ``coverage_report``, ``artifact`` and ``step_summary`` do not.
- ``surfaces_of_command(argv, text) -> tuple[str, ...]``: surfacing kinds of one shell command (``cml comment``,
  ``gh pr comment``, Slack webhooks, ``>> $GITHUB_STEP_SUMMARY``...); shared with the automation model.
- ``cloudbuild_like(doc)``, ``buildspec_like(doc)``, ``azure_pipeline_like(doc)``, ``cloudbuild_trigger_like(doc)``:
  the content tests, for one parsed YAML document.
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import posixpath
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mlscore.facts.shell import ShellCommand, is_setup_command, split_script
from mlscore.facts.yamlsafe import (
    LineDict,
    LineList,
    as_dict,
    as_list,
    line_of,
    load_yaml,
    text_lines,
    value_line,
)
from mlscore.models import Diagnostic

Reader = Callable[[str], "str | None"]
System = Literal["github", "gitlab", "azure", "circleci", "jenkins", "cloudbuild", "codebuild", "travis", "tekton",
                 "bitbucket", "drone", "buildkite"]
TriggerKind = Literal[
    "push", "pull_request", "schedule", "manual", "release", "tag", "merge_request", "workflow_call",
    "workflow_run", "external", "other",
]

_CI_KINDS = ("push", "pull_request", "schedule", "manual", "release", "tag", "merge_request", "workflow_call",
             "workflow_run", "external", "other")
#: CI files recognised by name; everything else is recognised by content (see ``wanted``).
CI_GLOBS: tuple[str, ...] = (
    ".github/workflows/*.yml", ".github/workflows/*.yaml", ".github/actions/*/action.yml",
    ".github/actions/*/action.yaml", "action.yml", "action.yaml", ".gitlab-ci.yml", "*.gitlab-ci.yml",
    ".gitlab/ci/*.yml", "azure-pipelines.yml", "azure-pipelines*.yml", "azure-pipelines*.yaml",
    ".azure-pipelines/*.yml", ".azure-pipelines/*.yaml", ".azure-pipelines/**/*.yml",
    ".circleci/config.yml", ".circleci/config.yaml", "Jenkinsfile", "**/Jenkinsfile", "Jenkinsfile.*",
    "*.jenkinsfile", "cloudbuild.yaml", "cloudbuild.yml", "cloudbuild.json", "**/cloudbuild*.yaml",
    "buildspec.yml", "buildspec.yaml", "**/buildspec*.yml", ".travis.yml", "bitbucket-pipelines.yml", ".drone.yml",
    ".buildkite/**/*.yml", "buildkite.yml", "buildkite.*.yml",
)

SURFACE_KINDS = ("pr_comment", "sarif", "notification", "issue", "test_report", "coverage_report", "publish",
                 "artifact", "step_summary")
#: Surfacing that counts under G7. A coverage upload does not surface a swallowed failure (the coverage of a
#: failing run is reported all the same); artifacts and step summaries reach nobody.
STRONG_SURFACES = frozenset({"pr_comment", "sarif", "notification", "issue", "test_report", "publish"})


class _Rec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Trigger(_Rec):
    kind: TriggerKind
    detail: str | None = None
    line: int | None = None


class ActionUse(_Rec):
    ref: str
    name: str
    version: str | None = None
    inputs: dict[str, str] = {}
    local: bool = False


class Step(_Rec):
    file: str
    line: int
    name: str | None = None
    run: str | None = None
    shell: str | None = None
    working_directory: str | None = None
    commands: tuple[ShellCommand, ...] = ()
    commented: tuple[ShellCommand, ...] = ()
    uses: ActionUse | None = None
    condition: str | None = None
    swallowed: bool = False
    swallow_reason: str | None = None
    disabled: bool = False
    surfaces: tuple[str, ...] = ()
    setup_only: bool = False
    expanded: tuple[Step, ...] = ()
    events: tuple[str, ...] | None = None
    external: bool = False


class Job(_Rec):
    file: str
    line: int
    id: str
    name: str | None = None
    system: System
    triggers: tuple[Trigger, ...] = ()
    steps: tuple[Step, ...] = ()
    swallowed: bool = False
    swallow_reason: str | None = None
    disabled: bool = False
    needs: tuple[str, ...] = ()
    calls: str | None = None
    called_from: tuple[str, ...] = ()
    surfaces: tuple[str, ...] = ()
    matrix: bool = False
    workflow: str | None = None


class CommentedStep(_Rec):
    file: str
    line: int
    text: str


class CiFacts(_Rec):
    jobs: tuple[Job, ...] = ()
    commented: tuple[CommentedStep, ...] = ()
    files: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    def jobs_in(self, path: str) -> tuple[Job, ...]:
        return tuple(j for j in self.jobs if j.file == path)


Step.model_rebuild()

# --------------------------------------------------------------------------------------------------- helpers

_GITHUB_WF = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")
_GITHUB_ACTION = re.compile(r"^(\.github/actions/.+/|)action\.ya?ml$")
_GITLAB = re.compile(r"(^|/)\.gitlab-ci\.ya?ml$|\.gitlab-ci\.ya?ml$|^\.gitlab/ci/.+\.ya?ml$")
# Azure's default pipeline file name and its conventional folder; pipelines elsewhere are recognised by content
_AZURE = re.compile(r"^(.*/)?azure-pipelines[^/]*\.ya?ml$|^\.azure-pipelines/.+\.ya?ml$")
_CIRCLE = re.compile(r"^\.circleci/config\.ya?ml$")
_JENKINS = re.compile(r"(^|/)Jenkinsfile([._-][^/]*)?$|\.[jJ]enkinsfile$")
_CLOUDBUILD = re.compile(r"(^|/)cloudbuild[^/]*\.(ya?ml|json)$")
_CODEBUILD = re.compile(r"(^|/)buildspec[^/]*\.ya?ml$")
_TRAVIS = re.compile(r"^\.travis\.ya?ml$")
_BITBUCKET = re.compile(r"^bitbucket-pipelines\.ya?ml$")
_DRONE = re.compile(r"^\.drone\.ya?ml$")
_BUILDKITE = re.compile(r"(^|/)\.buildkite/(.+/)?[^/]+\.ya?ml$|^buildkite(\.[^/]+)?\.ya?ml$")
#: A CI file renamed out of its system's sight (``azure-pipelines.disabled.yml``, ``cloudbuild.old.yaml``): not CI (C6)
_DISABLED_NAME = re.compile(r"[._-](disabled?|deactivated|bak|backup|old|orig|unused)(\.[^/]*)?$", re.IGNORECASE)
_NESTED_WORKFLOW = re.compile(r"^(.+)/\.github/workflows/[^/]+\.ya?ml$")
_README = re.compile(r"^readme(\.(md|rst|txt|markdown))?$", re.IGNORECASE)
_SKIP_DIRS = frozenset({"node_modules", "site-packages", ".venv", "venv", "__pycache__", ".tox", ".git",
                        ".mypy_cache", ".pytest_cache", "cdk.out", ".terraform"})
_CANDIDATE_SUFFIXES = (".yml", ".yaml", ".json", ".template", ".tf", ".py", ".ts", ".js", ".groovy", ".jenkinsfile",
                       ".Jenkinsfile")


_NAME_TOKENS = (".github/", "action.y", "gitlab", "azure-pipelines", ".circleci/", "enkinsfile", "cloudbuild",
                "buildspec", ".travis.", "bitbucket-pipelines", ".drone.", "buildkite")


@functools.lru_cache(maxsize=65536)
def _system_of(path: str) -> str | None:
    if not any(tok in path for tok in _NAME_TOKENS):
        return None
    if _GITHUB_WF.match(path):
        return "github"
    if _GITHUB_ACTION.match(path):
        return "github_action"
    if _GITLAB.search(path):
        return "gitlab"
    if _AZURE.match(path):
        return "azure"
    if _CIRCLE.match(path):
        return "circleci"
    if _JENKINS.search(path):
        return "jenkins"
    if _CLOUDBUILD.search(path):
        return "cloudbuild"
    if _CODEBUILD.search(path):
        return "codebuild"
    if _TRAVIS.match(path):
        return "travis"
    if _BITBUCKET.match(path):
        return "bitbucket"
    if _DRONE.match(path):
        return "drone"
    if _BUILDKITE.search(path):
        return "buildkite"
    return None


def wanted(path: str) -> bool:
    """Whether ``extract_ci`` may read this repo-relative POSIX path: a CI file by name, or a file of a kind whose
    content can declare CI (YAML/JSON, Terraform, CDK code, Groovy), or a README (which may tell users to copy a
    template's seed workflows into place); ``extract_ci`` tests the content."""
    if _system_of(path) is not None:
        return True
    base = path.rpartition("/")[2]
    if not path.endswith(_CANDIDATE_SUFFIXES):
        return base == "cdk.json" or (base[:6].lower() == "readme" and _README.match(base) is not None)
    return not (path.endswith(".d.ts") or "/" in path and any(part in _SKIP_DIRS for part in path.split("/")[:-1]))


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        v = value.strip().lower()
        return v in ("true", "yes", "on", "${{ true }}", "${{true}}")
    return False


def _falsy_condition(value: Any) -> bool:
    if value is False:
        return True
    if isinstance(value, str):
        v = re.sub(r"\s+", "", value.lower())
        return v in ("false", "${{false}}", "0", "${{0}}") or v.startswith(("false&&", "${{false&&")) or v.endswith(
            ("&&false", "&&false}}"))
    return False


_EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "push": ("push", "tag"), "pull_request": ("pull_request",), "pull_request_target": ("pull_request",),
    "merge_group": ("pull_request",), "schedule": ("schedule",), "workflow_dispatch": ("manual",),
    "repository_dispatch": ("manual",), "release": ("release",), "workflow_run": ("workflow_run",),
    "workflow_call": ("workflow_call",),
}


def event_filter(condition: Any) -> tuple[set[str] | None, set[str]]:
    """(allowed trigger kinds or None for all, excluded kinds) of a GitHub ``if:`` on ``github.event_name``."""
    if not isinstance(condition, str) or "event_name" not in condition:
        return None, set()
    c = condition.replace("${{", "").replace("}}", "")
    eq = re.findall(r"github\.event_name\s*==\s*['\"]([\w-]+)['\"]", c)
    ne = re.findall(r"github\.event_name\s*!=\s*['\"]([\w-]+)['\"]", c)
    only: set[str] | None = None
    if eq and ("||" not in c or all("event_name" in d for d in c.split("||"))):
        only = {k for e in eq for k in _EVENT_KINDS.get(e, ("other",))}
    excluded = {k for e in ne for k in _EVENT_KINDS.get(e, ())} if ne and "||" not in c else set()
    return only, excluded


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    return None


_SURFACE_ACTIONS: tuple[tuple[str, str], ...] = (
    ("peter-evans/create-or-update-comment", "pr_comment"),
    ("marocchino/sticky-pull-request-comment", "pr_comment"),
    ("thollander/actions-comment-pull-request", "pr_comment"),
    ("mshick/add-pr-comment", "pr_comment"),
    ("machine-learning-apps/pr-comment", "pr_comment"),
    ("unsplash/comment-on-pr", "pr_comment"),
    ("actions-ecosystem/action-create-comment", "pr_comment"),
    ("github/codeql-action/upload-sarif", "sarif"),
    ("github/codeql-action/analyze", "sarif"),
    ("slackapi/slack-github-action", "notification"),
    ("8398a7/action-slack", "notification"),
    ("rtcamp/action-slack-notify", "notification"),
    ("dawidd6/action-send-mail", "notification"),
    ("appleboy/telegram-action", "notification"),
    ("appleboy/discord-action", "notification"),
    ("sarisia/actions-status-discord", "notification"),
    ("jasonetco/create-an-issue", "issue"),
    ("peter-evans/create-issue-from-file", "issue"),
    ("dacbd/create-issue-action", "issue"),
    ("dorny/test-reporter", "test_report"),
    ("enricomi/publish-unit-test-result-action", "test_report"),
    ("mikepenz/action-junit-report", "test_report"),
    ("codecov/codecov-action", "coverage_report"),
    ("coverallsapp/github-action", "coverage_report"),
    ("py-cov-action/python-coverage-comment-action", "pr_comment"),
    ("orgoro/coverage", "pr_comment"),
    ("actions/deploy-pages", "publish"),
    ("peaceiris/actions-gh-pages", "publish"),
    ("jamesives/github-pages-deploy-action", "publish"),
    ("actions/upload-artifact", "artifact"),
    ("actions/upload-pages-artifact", "artifact"),
)
_SETUP_ACTION = re.compile(
    r"^(actions/(checkout|setup-[\w-]+|cache|download-artifact|github-token)|conda-incubator/setup-miniconda|"
    r"mamba-org/(setup-micromamba|provision-with-micromamba)|astral-sh/setup-uv|snok/install-poetry|"
    r"abatilo/actions-poetry|iterative/setup-(cml|dvc|tools)|docker/(setup-[\w-]+|login-action|metadata-action)|"
    r"aws-actions/configure-aws-credentials|google-github-actions/(auth|setup-gcloud)|azure/login|"
    r"pdm-project/setup-pdm|prefix-dev/setup-pixi|jdx/mise-action|extractions/setup-just|"
    r"actions-rs/toolchain|dtolnay/rust-toolchain|ruby/setup-ruby|hashicorp/setup-terraform|"
    r"azure/setup-[\w-]+|nick-fields/retry|jlumbroso/free-disk-space|styfle/cancel-workflow-action)$"
)


def surfaces_of_command(argv: tuple[str, ...] | list[str], text: str = "") -> tuple[str, ...]:
    """Surfacing kinds of one shell command (G7): comments, issues, notifications, step summaries."""
    out: list[str] = []
    a = [x for x in argv if x not in ("sudo", "npx")]
    head = posixpath.basename(a[0]) if a else ""
    if head == "cml" and len(a) > 1 and a[1] in ("comment", "send-comment", "pr", "check") or head in ("cml-send-comment", "cml-pr"):
        out.append("pr_comment")
    elif head in ("cml-publish",) or (head == "cml" and len(a) > 1 and a[1] == "publish"):
        out.append("artifact")
    if head == "gh" and len(a) > 2 and a[1] in ("pr", "issue") and a[2] in ("comment", "review", "create"):
        out.append("issue" if a[1] == "issue" and a[2] == "create" else "pr_comment")
    if head == "gh" and len(a) > 1 and a[1] == "api" and re.search(r"/(comments|issues|statuses|check-runs)\b",
                                                                   text):
        out.append("pr_comment")
    if re.search(r"hooks\.slack\.com|discord(app)?\.com/api/webhooks|webhook\.office\.com|api\.telegram\.org|"
                 r"\$\{?\{?\s*(secrets|env)\.\w*(SLACK|TEAMS|DISCORD|WEBHOOK)\w*", text, re.IGNORECASE):
        out.append("notification")
    if head in ("sendmail", "mail", "mailx") or head == "apprise":
        out.append("notification")
    if head in ("codecov", "coveralls") or (head in ("python", "python3") and "codecov" in a[1:3]):
        out.append("coverage_report")
    if "GITHUB_STEP_SUMMARY" in text:
        out.append("step_summary")
    return tuple(dict.fromkeys(out))


def _action_use(ref: str, inputs: Any) -> ActionUse:
    ref = ref.strip()
    local = ref.startswith(("./", "../"))
    name, _, version = ref.partition("@")
    ins: dict[str, str] = {}
    if isinstance(inputs, dict):
        for k, v in inputs.items():
            s = text_lines(v)
            if s is not None:
                ins[str(k)] = s
    return ActionUse(ref=ref, name=name if local else name.lower(), version=version or None, inputs=ins,
                     local=local)


def _surfaces_of_action(use: ActionUse) -> tuple[str, ...]:
    out = [kind for prefix, kind in _SURFACE_ACTIONS if use.name == prefix or use.name.startswith(prefix + "/")]
    if use.name == "actions/github-script":
        script = use.inputs.get("script", "")
        if re.search(r"createComment|createReview|updateComment", script):
            out.append("pr_comment")
        if re.search(r"issues\.create\b", script):
            out.append("issue")
        if re.search(r"checks\.create|createCommitStatus", script):
            out.append("pr_comment")
    return tuple(dict.fromkeys(out))


def _script_step(file: str, line: int, script: str, *, first_line: int, errexit: bool, pipefail: bool,
                 cwd: str | None, **kw: Any) -> Step:
    parsed = split_script(script, first_line=first_line, errexit=errexit, pipefail=pipefail, cwd=cwd)
    surf: list[str] = []
    for c in parsed.commands:
        surf.extend(surfaces_of_command(c.argv, c.text))
    surf.extend(kw.pop("surfaces", ()))
    setup = bool(parsed.commands) and all(is_setup_command(c.argv) for c in parsed.commands) and not surf
    return Step(file=file, line=line, run=script, commands=parsed.commands, commented=parsed.commented,
                working_directory=cwd, surfaces=tuple(dict.fromkeys(surf)), setup_only=setup, **kw)


def _block_first_line(mapping: Any, key: str, value: str) -> int:
    """The line of the first script line of ``mapping[key]`` (block scalars start on the next line)."""
    vl = value_line(mapping, key)
    if vl:
        return vl
    kl = line_of(mapping, key) or 1
    return kl + 1 if "\n" in value.rstrip("\n") or value.endswith("\n") else kl


# one way to match each blank run (no two blank quantifiers around an optional '-'): linear on a line of blanks
_COMMENTED_STEP = re.compile(r"^[ \t]*#[ \t]*(?:-[ \t]*)?(run|uses|script|sh|name|task|bash|command)[ \t]*:[ \t]*(\S.*)$")


def _commented_steps(path: str, text: str) -> list[CommentedStep]:
    out = []
    for i, raw in enumerate(text.split("\n"), start=1):
        m = _COMMENTED_STEP.match(raw)
        if m:
            out.append(CommentedStep(file=path, line=i, text=f"{m.group(1)}: {m.group(2).strip()}"))
    return out


# --------------------------------------------------------------------------------------------------- GitHub

def _github_triggers(doc: LineDict) -> list[Trigger]:
    key: Any = "on" if "on" in doc else (True if True in doc else None)
    if key is None:
        return []
    on = doc[key]
    base = line_of(doc, key)
    out: list[Trigger] = []
    if isinstance(on, str):
        on = {on: None}
    elif isinstance(on, list):
        on = {str(e): None for e in on}
    if not isinstance(on, dict):
        return []
    for event, cfg in on.items():
        event = str(event)
        line = line_of(on, event) if isinstance(on, LineDict) else base
        if event == "push":
            if isinstance(cfg, dict) and (cfg.get("tags") or cfg.get("tags-ignore")) and not (
                    cfg.get("branches") or cfg.get("branches-ignore") or cfg.get("paths")):
                out.append(Trigger(kind="tag", detail=_join(cfg.get("tags")), line=line))
            else:
                detail = _join(cfg.get("branches")) if isinstance(cfg, dict) else None
                out.append(Trigger(kind="push", detail=detail, line=line))
        elif event in ("pull_request", "pull_request_target", "merge_group"):
            detail = _join(cfg.get("branches")) if isinstance(cfg, dict) else None
            out.append(Trigger(kind="pull_request", detail=detail or (None if event == "pull_request" else event),
                               line=line))
        elif event == "schedule":
            items = cfg if isinstance(cfg, list) else []
            for k, item in enumerate(items):
                cron = _str(item.get("cron")) if isinstance(item, dict) else None
                if cron:
                    out.append(Trigger(kind="schedule", detail=cron, line=line_of(items, k) or line))
        elif event in ("workflow_dispatch", "repository_dispatch"):
            out.append(Trigger(kind="manual", detail=None if event == "workflow_dispatch" else event, line=line))
        elif event == "release":
            out.append(Trigger(kind="release", line=line))
        elif event == "workflow_call":
            out.append(Trigger(kind="workflow_call", line=line))
        elif event == "workflow_run":
            detail = _join(cfg.get("workflows")) if isinstance(cfg, dict) else None
            out.append(Trigger(kind="workflow_run", detail=detail, line=line))
        else:
            out.append(Trigger(kind="other", detail=event, line=line))
    return out


def _join(value: Any) -> str | None:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return _str(value)


def _shell_opts(shell: str | None) -> tuple[bool, bool]:
    """(errexit, pipefail) of a GitHub ``shell:`` value on Linux runners."""
    if shell is None:
        return True, False  # bash -e {0}
    s = shell.strip()
    if s == "bash":
        return True, True  # bash --noprofile --norc -eo pipefail {0}
    if s == "sh":
        return True, False
    if s in ("pwsh", "powershell"):
        return True, False
    if s == "cmd":
        return False, False
    ws = s.split()
    return any(w.startswith("-") and "e" in w and not w.startswith("--") for w in ws), "pipefail" in s


def _github_steps(path: str, steps: Any, *, defaults_shell: str | None, defaults_wd: str | None,
                  read: Reader | None, files: set[str], depth: int, diags: list[Diagnostic],
                  root: str = "") -> list[Step]:
    out: list[Step] = []
    if not isinstance(steps, list):
        return out
    for k, st in enumerate(steps):
        if not isinstance(st, dict):
            continue
        line = line_of(steps, k) or 1
        name = _str(st.get("name"))
        cond = st.get("if")
        disabled = _falsy_condition(cond)
        coe = st.get("continue-on-error")
        swallowed = _truthy(coe)
        reason = "continue-on-error: true" if swallowed else None
        wd = _str(st.get("working-directory")) or defaults_wd
        if root:  # a seed workflow runs from the root of the repository its folder is copied into
            wd = posixpath.normpath(posixpath.join(root, wd)) if wd and not wd.startswith(("$", "/")) else (wd or root)
        only, excluded = event_filter(cond)
        events = None
        if only is not None or excluded:
            events = tuple(k for k in (only if only is not None else set(_CI_KINDS)) if k not in excluded)
        common: dict[str, Any] = {"name": name, "condition": _str(cond) if cond is not None else None,
                                  "disabled": disabled, "events": events}
        if "run" in st:
            script = text_lines(st.get("run")) or ""
            shell = _str(st.get("shell")) or defaults_shell
            errexit, pipefail = _shell_opts(shell)
            if shell and shell.strip().startswith("python"):
                step = Step(file=path, line=line, run=script, shell=shell, working_directory=wd,
                            swallowed=swallowed, swallow_reason=reason, **common)
            else:
                step = _script_step(path, line, script, first_line=_block_first_line(st, "run", script),
                                    errexit=errexit, pipefail=pipefail, cwd=wd, shell=shell,
                                    swallowed=swallowed, swallow_reason=reason, **common)
            out.append(step)
        elif "uses" in st and isinstance(st.get("uses"), str):
            use = _action_use(st["uses"], st.get("with"))
            surf = _surfaces_of_action(use)
            expanded: tuple[Step, ...] = ()
            if use.local and read is not None and depth < 4:
                ref = "./" + posixpath.join(root, use.name.removeprefix("./")) if root else use.name
                expanded = tuple(_composite_steps(ref, read, files, depth + 1, diags))
            setup = bool(_SETUP_ACTION.match(use.name)) and not surf
            out.append(Step(file=path, line=line, uses=use, swallowed=swallowed, swallow_reason=reason,
                            surfaces=surf, setup_only=setup, expanded=expanded, working_directory=wd, **common))
    return out


def _composite_steps(ref: str, read: Reader, files: set[str], depth: int,
                     diags: list[Diagnostic]) -> list[Step]:
    if ref.startswith("../"):
        return []
    base = posixpath.normpath(ref.removeprefix("./"))
    prefix = "" if base in (".", "") else base + "/"  # `uses: ./` is the repository's own root action
    for cand in (f"{prefix}action.yml", f"{prefix}action.yaml"):
        text = read(cand)
        if text is None:
            continue
        doc, d = load_yaml(cand, text)
        diags.extend(d)
        runs = doc.get("runs") if isinstance(doc, dict) else None
        if isinstance(runs, dict) and str(runs.get("using", "")).lower() == "composite":
            return _github_steps(cand, runs.get("steps"), defaults_shell=None, defaults_wd=None, read=read,
                                 files=files, depth=depth, diags=diags)
        return []
    return []


def _parse_github(path: str, text: str, read: Reader | None, files: set[str],
                  diags: list[Diagnostic], root: str = "") -> list[Job]:
    """Jobs of a workflow; ``root``: the folder of a template's seed workflows (C6), which run from the root of
    the repository that folder is copied into."""
    doc, d = load_yaml(path, text)
    diags.extend(d)
    if not isinstance(doc, LineDict):
        if doc is not None:
            diags.append(Diagnostic(path=path, message="GitHub workflow is not a mapping"))
        return []
    triggers = _github_triggers(doc)
    wf_defaults = doc.get("defaults", {}).get("run", {}) if isinstance(doc.get("defaults"), dict) else {}
    wf_defaults = wf_defaults if isinstance(wf_defaults, dict) else {}
    jobs = doc.get("jobs")
    out: list[Job] = []
    if not isinstance(jobs, dict):
        return out
    for job_id, job in jobs.items():
        if not isinstance(job, dict):
            continue
        jd = job.get("defaults", {}).get("run", {}) if isinstance(job.get("defaults"), dict) else {}
        jd = jd if isinstance(jd, dict) else {}
        shell = _str(jd.get("shell")) or _str(wf_defaults.get("shell"))
        wd = _str(jd.get("working-directory")) or _str(wf_defaults.get("working-directory"))
        steps = _github_steps(path, job.get("steps"), defaults_shell=shell, defaults_wd=wd, read=read,
                              files=files, depth=0, diags=diags, root=root)
        needs = job.get("needs")
        needs_t = tuple(str(n) for n in needs) if isinstance(needs, list) else ((str(needs),) if needs else ())
        swallowed = _truthy(job.get("continue-on-error"))
        calls = _str(job.get("uses"))
        if calls and root and calls.startswith("./"):
            calls = "./" + posixpath.join(root, calls[2:])
        strategy = job.get("strategy")
        surf = tuple(dict.fromkeys(
            s for st in steps for s in (*st.surfaces, *(x for e in st.expanded for x in e.surfaces))))
        only, excluded = event_filter(job.get("if"))
        job_triggers = [t for t in triggers if (only is None or t.kind in only) and t.kind not in excluded]
        if calls and not calls.startswith("./") and not steps:
            # a reusable workflow of another repository (C7): what it runs is outside the tree; the files its
            # inputs name in this tree are the evidence
            steps = [Step(file=path, line=line_of(job, "uses") or line_of(jobs, job_id) or 1,
                          name=f"reusable workflow {calls}", uses=_action_use(calls, job.get("with")),
                          external=True)]
        out.append(Job(
            file=path, line=line_of(jobs, job_id) or 1, id=str(job_id), name=_str(job.get("name")),
            system="github", triggers=tuple(job_triggers), steps=tuple(steps), swallowed=swallowed,
            swallow_reason="continue-on-error: true" if swallowed else None,
            disabled=_falsy_condition(job.get("if")), needs=needs_t, calls=calls, surfaces=surf,
            matrix=isinstance(strategy, dict) and "matrix" in strategy,
            workflow=_str(doc.get("name")) or posixpath.basename(path),
        ))
    return out


def _link_workflow_run(jobs: list[Job]) -> list[Job]:
    """A GitHub ``workflow_run`` trigger fires after the named workflows run: it inherits their triggers."""
    by_name: dict[str, list[Trigger]] = {}
    for j in jobs:
        if j.system == "github" and j.workflow:
            by_name.setdefault(j.workflow, []).extend(t for t in j.triggers if t.kind != "workflow_run")
    out: list[Job] = []
    for j in jobs:
        runs = [t for t in j.triggers if t.kind == "workflow_run"]
        if runs and j.system == "github":
            inherited: list[Trigger] = []
            for t in runs:
                for name in (t.detail or "").split(","):
                    inherited.extend(by_name.get(name.strip(), []))
            if inherited:
                seen: set[tuple[str, str | None]] = set()
                merged = []
                for t in (*j.triggers, *inherited):
                    if (t.kind, t.detail) not in seen:
                        seen.add((t.kind, t.detail))
                        merged.append(t)
                j = j.model_copy(update={"triggers": tuple(merged)})
        out.append(j)
    return out


def _link_reusable(jobs: list[Job]) -> list[Job]:
    """Jobs of a workflow only triggered by workflow_call inherit the triggers of their local callers."""
    by_file: dict[str, list[Job]] = {}
    for j in jobs:
        by_file.setdefault(j.file, []).append(j)
    callers: dict[str, list[Job]] = {}
    for j in jobs:
        if j.calls and j.calls.startswith("./"):
            target = posixpath.normpath(j.calls[2:].split("@")[0])
            callers.setdefault(target, []).append(j)
    if not callers:
        return jobs
    out: list[Job] = []
    for j in jobs:
        cs = callers.get(j.file)
        if cs:
            inherited = [t for c in cs if not c.disabled for t in c.triggers if t.kind != "workflow_call"]
            own = [t for t in j.triggers if t.kind != "workflow_call"]
            j = j.model_copy(update={
                "triggers": tuple(own + inherited),
                "called_from": tuple(f"{c.file}:{c.line}" for c in cs),
                "swallowed": j.swallowed or all(c.swallowed for c in cs),
                "disabled": j.disabled or all(c.disabled for c in cs),
            })
        out.append(j)
    return out


# --------------------------------------------------------------------------------------------------- GitLab

_GITLAB_RESERVED = {"stages", "variables", "include", "default", "workflow", "image", "services",
                    "before_script", "after_script", "cache", "types", "spec"}


def _gitlab_includes(doc: Any, files: set[str] | None = None) -> list[str]:
    """Local includes (``include: path``, ``include: {local: path}``); wildcard paths (``configs/*.yml``,
    ``configs/**.yml``) expand over the tree's .yml files with GitLab's grammar (``**/`` any directories or none,
    ``**`` anything, ``*`` anything but ``/``)."""
    inc = doc.get("include") if isinstance(doc, dict) else None
    items = inc if isinstance(inc, list) else ([inc] if inc else [])
    out = []
    for it in items:
        if isinstance(it, str) and not it.startswith(("http://", "https://")):
            out.append(it)
        elif isinstance(it, dict) and isinstance(it.get("local"), str):
            out.append(it["local"])
    paths: list[str] = []
    for p in out:
        p = p.lstrip("/")
        if "*" not in p:
            paths.append(posixpath.normpath(p))
            continue
        if files is None:
            continue
        rx = re.escape(p).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        pat = re.compile(rx + "$")
        paths.extend(sorted(f for f in files if f.endswith((".yml", ".yaml")) and pat.match(f))[:50])
    return paths


def _gitlab_triggers(job: dict[str, Any], line: int) -> list[Trigger]:
    out: list[Trigger] = []
    when = _str(job.get("when"))
    rules = job.get("rules")
    only = job.get("only")
    if isinstance(rules, list):
        for r in rules:
            if not isinstance(r, dict):
                continue
            rw = _str(r.get("when")) or when
            if rw == "never":
                continue
            cond = _str(r.get("if")) or ""
            if rw == "manual":
                out.append(Trigger(kind="manual", detail=cond or None, line=line))
            elif "schedule" in cond and "!=" not in cond:
                out.append(Trigger(kind="schedule", detail=cond, line=line))
            elif "merge_request" in cond and "!=" not in cond:
                out.append(Trigger(kind="merge_request", detail=cond, line=line))
            elif "CI_COMMIT_TAG" in cond and "==" not in cond and "!" not in cond:
                out.append(Trigger(kind="tag", detail=cond, line=line))
            elif '"web"' in cond or "'web'" in cond or '"api"' in cond:
                out.append(Trigger(kind="manual", detail=cond, line=line))
            else:
                out.append(Trigger(kind="push", detail=cond or None, line=line))
        return out
    if only is not None:
        refs = only if isinstance(only, list) else (only.get("refs") if isinstance(only, dict) else [only])
        for ref in refs or []:
            ref = str(ref)
            kind: TriggerKind = {"schedules": "schedule", "merge_requests": "merge_request", "tags": "tag",
                                 "web": "manual", "api": "manual", "triggers": "other",
                                 "pipelines": "other"}.get(ref, "push")  # type: ignore[assignment]
            out.append(Trigger(kind="manual" if when == "manual" else kind, detail=ref, line=line))
        return out
    return [Trigger(kind="manual" if when == "manual" else "push", line=line)]


def _gitlab_merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = LineDict(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k] = _gitlab_merge(merged[k], v)
        else:
            merged[k] = v
    if isinstance(child, LineDict):
        merged.line = child.line  # type: ignore[attr-defined]
        merged.key_lines = {**getattr(base, "key_lines", {}), **child.key_lines}  # type: ignore[attr-defined]
    return merged


def _parse_gitlab(path: str, read: Reader, files: set[str], diags: list[Diagnostic], depth: int = 0) -> list[Job]:
    docs: list[tuple[str, Any]] = []
    queue: list[str] = [path]
    seen: set[str] = set()
    while queue and len(seen) < 20:
        p = queue.pop(0)
        if p in seen:
            continue
        seen.add(p)
        text = read(p)
        if text is None:
            if p != path:
                diags.append(Diagnostic(path=path, message=f"GitLab include {p} not found"))
            continue
        doc, d = load_yaml(p, text)
        diags.extend(d)
        if isinstance(doc, dict):
            docs.append((p, doc))
            queue.extend(_gitlab_includes(doc, files))
    all_jobs: dict[str, tuple[str, Any]] = {}
    default_before: Any = None
    for p, doc in docs:
        for k, v in doc.items():
            if k == "default" and isinstance(v, dict) and v.get("before_script") is not None:
                default_before = (p, v, "before_script")
            elif k == "before_script" and default_before is None:
                default_before = (p, doc, "before_script")
            elif isinstance(v, dict) and str(k) not in _GITLAB_RESERVED:
                all_jobs[str(k)] = (p, v)

    def resolve(name: str, depth: int = 0) -> dict[str, Any]:
        _, job = all_jobs[name]
        ext = job.get("extends")
        parents = ext if isinstance(ext, list) else ([ext] if ext else [])
        base: dict[str, Any] = {}
        for parent in parents:
            if isinstance(parent, str) and parent in all_jobs and depth < 10:
                base = _gitlab_merge(base, resolve(parent, depth + 1))
        return _gitlab_merge(base, job) if base else job

    out: list[Job] = []
    for name, (p, _job) in all_jobs.items():
        if name.startswith("."):
            continue
        job = resolve(name)
        jline = line_of(_job) or 1
        doc_of: Any = next((d for dp, d in docs if dp == p), {})
        jline = line_of(doc_of, name) or jline
        steps: list[Step] = []
        before = job.get("before_script")
        before_src: tuple[str, Any, str] | None = (p, job, "before_script") if before is not None else default_before
        swallowed = job.get("allow_failure") is True
        for src, key, swallow in ((before_src, "before_script", None), ((p, job, "script"), "script", None),
                                  ((p, job, "after_script"), "after_script", "after_script cannot fail the job")):
            if src is None:
                continue
            sp, holder, k = src
            value = holder.get(k) if isinstance(holder, dict) else None
            items = value if isinstance(value, list) else ([value] if isinstance(value, str) else [])
            for idx, item in enumerate(items):
                script = text_lines(item)
                if not script:
                    continue
                if isinstance(value, LineList):
                    first = value.item_lines[idx] if idx < len(value.item_lines) else 1
                    if "\n" in script.rstrip("\n"):
                        first += 1
                else:
                    first = line_of(holder, k) or 1
                steps.append(_script_step(sp, first, script, first_line=first, errexit=True, pipefail=True,
                                          cwd=None, name=f"{key}[{idx}]", swallowed=swallow is not None,
                                          swallow_reason=swallow))
        surf: list[str] = [s for st in steps for s in st.surfaces]
        arts = job.get("artifacts")
        reports = arts.get("reports") if isinstance(arts, dict) else None
        if isinstance(reports, dict):
            if "junit" in reports:
                surf.append("test_report")
            if any(k in reports for k in ("coverage_report", "cobertura")):
                surf.append("coverage_report")
            if any(k in reports for k in ("sast", "codequality", "dependency_scanning", "container_scanning",
                                          "secret_detection")):
                surf.append("sarif")
        if isinstance(arts, dict) and "reports" not in arts:
            surf.append("artifact")
        if name == "pages":
            surf.append("publish")
        needs = job.get("needs")
        needs_t = tuple(str(n.get("job") if isinstance(n, dict) else n) for n in needs) if isinstance(
            needs, list) else ()
        out.append(Job(
            file=p, line=jline, id=name, system="gitlab", triggers=tuple(_gitlab_triggers(job, jline)),
            steps=tuple(steps), swallowed=swallowed, swallow_reason="allow_failure: true" if swallowed else None,
            disabled=False, needs=needs_t, surfaces=tuple(dict.fromkeys(surf)),
            matrix=isinstance(job.get("parallel"), dict),
        ))
        child = job.get("trigger")
        inc = child.get("include") if isinstance(child, dict) else None
        if inc is not None and depth < 3:  # a child pipeline from a local file runs when this job does
            parent = out[-1]
            for cp in _gitlab_includes({"include": inc}, files):
                for cj in _parse_gitlab(cp, read, files, diags, depth + 1):
                    out.append(cj.model_copy(update={"triggers": parent.triggers,
                                                     "called_from": (f"{p}:{jline}",)}))
    return out


# --------------------------------------------------------------------------------------------------- Azure

def _azure_triggers(doc: dict[str, Any]) -> list[Trigger]:
    """CI (``trigger``), PR (``pr``), scheduled and pipeline-completion triggers. Without a ``trigger`` key a
    pipeline runs on every push; ``trigger: none`` + ``pr: none`` leaves it to be queued by hand."""
    out: list[Trigger] = []
    trig = doc.get("trigger", "__absent__")
    if trig == "__absent__":
        out.append(Trigger(kind="push", detail="default (all branches)"))
    elif trig not in ("none", None, False, []):
        tags = isinstance(trig, dict) and trig.get("tags") and not trig.get("branches")
        out.append(Trigger(kind="tag" if tags else "push", detail=_join(trig) if not isinstance(trig, dict)
                           else _join(trig.get("branches", {}).get("include")
                                      if isinstance(trig.get("branches"), dict) else None),
                           line=line_of(doc, "trigger")))
    pr = doc.get("pr", "__absent__")
    if pr not in ("__absent__", "none", None, False, []):
        out.append(Trigger(kind="pull_request", line=line_of(doc, "pr")))
    scheds = doc.get("schedules")
    if isinstance(scheds, list):
        for k, s in enumerate(scheds):
            if isinstance(s, dict) and _str(s.get("cron")):
                out.append(Trigger(kind="schedule", detail=_str(s.get("cron")), line=line_of(scheds, k)))
    res = doc.get("resources")
    pipes = res.get("pipelines") if isinstance(res, dict) else None
    for k, pipe in enumerate(pipes if isinstance(pipes, list) else []):
        if isinstance(pipe, dict) and pipe.get("trigger") not in (None, "none", False):
            out.append(Trigger(kind="workflow_run", detail=_str(pipe.get("source")), line=line_of(pipes, k)))
    if not out:  # `trigger: none`: the pipeline is queued by hand (still a CI run, G5a)
        out.append(Trigger(kind="manual", detail="queued by hand (trigger: none)", line=line_of(doc, "trigger")))
    return out


def _azure_declares_pipeline(doc: dict[str, Any]) -> bool:
    """A trigger, or a ``pool`` at the top (templates have neither)."""
    return _azure_has_trigger(doc) or "pool" in doc


def _azure_has_trigger(doc: dict[str, Any]) -> bool:
    """Whether a YAML file declares itself a pipeline (not a template): trigger, pr or schedules at the top,
    or a pipeline-completion trigger."""
    if any(k in doc for k in ("trigger", "pr", "schedules")):
        return True
    res = doc.get("resources")
    pipes = res.get("pipelines") if isinstance(res, dict) else None
    return any(isinstance(p, dict) and "trigger" in p for p in (pipes if isinstance(pipes, list) else []))


_AZURE_SCRIPT_KEYS = ("script", "bash", "pwsh", "powershell")
_AZURE_STEP_KEYS = frozenset({"task", "script", "bash", "pwsh", "powershell", "checkout", "template", "download",
                              "downloadBuild", "publish", "getPackage", "restoreCache", "saveCache", "reviewApp"})
_AZ_PARAM = re.compile(r"\$\{\{\s*parameters\.([\w.-]+)\s*\}\}")
_AZ_WHOLE_PARAM = re.compile(r"\s*\$\{\{\s*parameters\.([\w.-]+)\s*\}\}\s*")
_AZ_MAX_FILES = 100  # Azure Pipelines itself allows 100 template files per pipeline
_AZ_MAX_DEPTH = 20   # ... and 20 levels of nesting


class _AzureCtx:
    """State of one pipeline's template expansion: files loaded (bounded like Azure's own limits)."""

    def __init__(self, root: str, read: Reader, diags: list[Diagnostic]) -> None:
        self.root, self.read, self.diags = root, read, diags
        self.loaded: dict[str, Any] = {}
        self.used_templates: set[str] = set()

    def template(self, ref: str, including: str, line: int) -> tuple[str, Any] | None:
        """The template file a ``template:`` names (relative to the including file, or to the repository
        root when it starts with ``/``) and its document; None with a diagnostic when it cannot be read."""
        path = posixpath.normpath(ref.lstrip("/") if ref.startswith("/") else
                                  posixpath.join(posixpath.dirname(including), ref))
        if path.startswith("../") or path == "..":
            self.diags.append(Diagnostic(path=including, message=f"Azure template {ref} is outside the tree (line {line})"))
            return None
        if path not in self.loaded:
            if len(self.loaded) >= _AZ_MAX_FILES:
                return None
            text = self.read(path)
            if text is None:
                self.diags.append(Diagnostic(path=including, message=f"Azure template {path} not found (line {line})"))
                self.loaded[path] = None
                return None
            doc, d = load_yaml(path, text)
            self.diags.extend(d)
            self.loaded[path] = doc if isinstance(doc, dict) else None
        doc = self.loaded[path]
        if doc is None:
            return None
        self.used_templates.add(path)
        return path, doc


def _az_ref(ref: str) -> tuple[str, str | None]:
    """``path@repo`` -> (path, repo); ``@self`` is this repository."""
    if "@" in ref:
        path, _, repo = ref.rpartition("@")
        return path, (None if repo == "self" else repo)
    return ref, None


def _az_subst(value: str, params: dict[str, Any]) -> str:
    """``${{ parameters.x }}`` replaced by scalar parameter values; other expressions stay as written."""
    if "${{" not in value:
        return value

    def sub(m: re.Match[str]) -> str:
        v = params.get(m.group(1))
        return str(v) if isinstance(v, (str, int, float)) and not isinstance(v, bool) else m.group(0)

    return _AZ_PARAM.sub(sub, value)


def _az_params(doc: Any, given: Any, outer: dict[str, Any]) -> dict[str, Any]:
    """A template's parameters: its declared defaults overridden by the values the caller passes (with the
    caller's own parameters substituted)."""
    out: dict[str, Any] = {}
    decl = doc.get("parameters") if isinstance(doc, dict) else None
    if isinstance(decl, list):
        for p in decl:
            if isinstance(p, dict) and _str(p.get("name")):
                out[str(p["name"])] = p.get("default")
    elif isinstance(decl, dict):
        out.update({str(k): v for k, v in decl.items()})
    if isinstance(given, dict):
        for k, v in given.items():
            out[str(k)] = _az_subst(v, outer) if isinstance(v, str) else _az_section(v, outer, keep=True)
    return out


def _az_section(value: Any, params: dict[str, Any], keep: bool = False) -> Any:
    """A list-valued section (steps, jobs, stages), possibly passed as ``${{ parameters.steps }}``."""
    if isinstance(value, str):
        m = _AZ_WHOLE_PARAM.fullmatch(value)
        if m and isinstance(params.get(m.group(1)), list):
            return params[m.group(1)]
        return value if keep else None
    if keep:
        return value
    return value if isinstance(value, list) else None


def _az_items(items: Any, depth: int = 0) -> Iterable[tuple[Any, int, Any]]:
    """(holder, index, item) of a list, looking through conditional insertions (``- ${{ if ... }}:``)."""
    if not isinstance(items, list) or depth > 5:
        return
    for k, it in enumerate(items):
        if isinstance(it, dict) and len(it) == 1 and str(next(iter(it))).lstrip().startswith("${{"):
            yield from _az_items(next(iter(it.values())), depth + 1)
            continue
        yield items, k, it


def _az_external_step(file: str, line: int, ref: str, params: Any, outer: dict[str, Any], **kw: Any) -> Step:
    """A template from another repository (C7): what it runs is outside the tree; the files its parameters name
    in this tree are the evidence (the automation model follows them)."""
    ins: dict[str, str] = {}
    if isinstance(params, dict):
        for k, v in params.items():
            t = text_lines(v)
            if t is not None:
                ins[str(k)] = _az_subst(t, outer)
    use = ActionUse(ref=ref, name=ref.lower(), version=None, inputs=ins, local=False)
    return Step(file=file, line=line, name=f"template {ref}", uses=use, external=True, **kw)


def _azure_steps(ctx: _AzureCtx, path: str, steps: Any, params: dict[str, Any], depth: int = 0) -> list[Step]:
    out: list[Step] = []
    for holder, k, st in _az_items(_az_section(steps, params)):
        if not isinstance(st, dict):
            continue
        line = line_of(holder, k) or 1
        name = _str(st.get("displayName")) or _str(st.get("name"))
        swallowed = _truthy(st.get("continueOnError"))
        reason = "continueOnError: true" if swallowed else None
        disabled = st.get("enabled") is False or _falsy_condition(st.get("condition"))
        wd = _str(st.get("workingDirectory"))
        if wd:
            wd = re.sub(r"^\$\((Build\.SourcesDirectory|System\.DefaultWorkingDirectory|"
                        r"Pipeline\.Workspace)\)/?", "", _az_subst(wd, params)) or None
        key = next((x for x in _AZURE_SCRIPT_KEYS if x in st), None)
        if key is not None:
            script = _az_subst(text_lines(st.get(key)) or "", params)
            errexit = key in ("pwsh", "powershell")  # bash/script steps run without -e
            out.append(_script_step(path, line, script, first_line=_block_first_line(st, key, script),
                                    errexit=errexit, pipefail=False, cwd=wd, name=name, swallowed=swallowed,
                                    swallow_reason=reason, disabled=disabled, shell=key))
        elif isinstance(st.get("task"), str):
            task = st["task"]
            inputs = {kk: (_az_subst(v, params) if isinstance(v, str) else v)
                      for kk, v in as_dict(st.get("inputs")).items()}
            use = _action_use(task, inputs)
            tname = use.name.split("@")[0]
            surf: list[str] = []
            if tname.startswith("publishtestresults"):
                surf.append("test_report")
            elif tname.startswith("publishcodecoverageresults"):
                surf.append("coverage_report")
            elif tname.startswith(("publishbuildartifacts", "publishpipelineartifact")):
                surf.append("artifact")
            script = None
            if tname in ("bash", "cmdline", "shellscript", "powershell", "pythonscript", "azurecli"):
                script = text_lines(inputs.get("script")) or text_lines(inputs.get("inlineScript")) or None
                fp = _str(inputs.get("filePath")) or _str(inputs.get("scriptPath"))
                if not script and fp:
                    fp = re.sub(r"^\$\([\w.]+\)/?", "", fp)
                    arguments = _str(inputs.get("arguments")) or _str(inputs.get("scriptArguments")) or ""
                    script = (f"python {fp}" if tname == "pythonscript" else f"bash {fp}") + (
                        " " + arguments if arguments else "")
            if script:
                out.append(_script_step(path, line, script, first_line=line + 1 if "\n" in script.strip() else line,
                                        errexit=False, pipefail=False, cwd=wd, name=name, uses=use,
                                        swallowed=swallowed, swallow_reason=reason, disabled=disabled,
                                        surfaces=tuple(surf)))
            else:
                setup = bool(re.match(r"(usepythonversion|checkout|pipauthenticate|cache|downloadpipelineartifact|"
                                      r"condaenvironment|nodetool|docker|azurecli|kubectl)", tname)) and not surf
                out.append(Step(file=path, line=line, name=name, uses=use, swallowed=swallowed,
                                swallow_reason=reason, disabled=disabled, surfaces=tuple(surf), setup_only=setup))
        elif "checkout" in st:
            out.append(Step(file=path, line=line, name="checkout", setup_only=True))
        elif isinstance(st.get("template"), str):
            ref, repo = _az_ref(_az_subst(st["template"], params))
            if repo is not None:
                out.append(_az_external_step(path, line, st["template"], st.get("parameters"), params,
                                             disabled=disabled))
                continue
            if depth >= _AZ_MAX_DEPTH:
                continue
            got = ctx.template(ref, path, line)
            if got is None:
                continue
            tp, doc = got
            out.extend(_azure_steps(ctx, tp, doc.get("steps"), _az_params(doc, st.get("parameters"), params),
                                    depth + 1))
    return out


def _azure_jobs(ctx: _AzureCtx, path: str, jobs: Any, params: dict[str, Any], triggers: tuple[Trigger, ...],
                depth: int = 0, disabled: bool = False, via: str | None = None) -> list[Job]:
    out: list[Job] = []
    for holder, k, job in _az_items(_az_section(jobs, params)):
        if not isinstance(job, dict):
            continue
        line = line_of(holder, k) or 1
        called = (via,) if via else ()
        if isinstance(job.get("template"), str):
            ref, repo = _az_ref(_az_subst(job["template"], params))
            if repo is not None:
                step = _az_external_step(path, line, job["template"], job.get("parameters"), params)
                out.append(Job(file=path, line=line, id=job["template"], system="azure", triggers=triggers,
                               steps=(step,), disabled=disabled, called_from=called))
                continue
            got = ctx.template(ref, path, line) if depth < _AZ_MAX_DEPTH else None
            if got is not None:
                tp, doc = got
                out.extend(_azure_jobs(ctx, tp, doc.get("jobs"), _az_params(doc, job.get("parameters"), params),
                                       triggers, depth + 1, disabled, via or f"{path}:{line}"))
            continue
        jid = _str(job.get("job")) or _str(job.get("deployment")) or f"job{k}"
        step_lists: list[Any] = [job.get("steps")]
        strat = job.get("strategy")
        if job.get("steps") is None and isinstance(strat, dict):  # deployment jobs: lifecycle hooks' steps
            for phase in strat.values():
                if not isinstance(phase, dict):
                    continue
                for hook in phase.values():
                    if isinstance(hook, dict) and "steps" in hook:
                        step_lists.append(hook["steps"])
                    elif isinstance(hook, dict):  # on: {success: {steps}, failure: {steps}}
                        step_lists.extend(h["steps"] for h in hook.values() if isinstance(h, dict) and "steps" in h)
        steps = [st for lst in step_lists for st in _azure_steps(ctx, path, lst, params, depth)]
        sw = _truthy(job.get("continueOnError"))
        out.append(Job(file=path, line=line, id=jid, name=_str(job.get("displayName")),
                       system="azure", triggers=triggers, steps=tuple(steps), swallowed=sw,
                       swallow_reason="continueOnError: true" if sw else None,
                       disabled=disabled or _falsy_condition(job.get("condition")), called_from=called,
                       surfaces=tuple(dict.fromkeys(s for st in steps for s in st.surfaces)),
                       matrix=isinstance(strat, dict) and "matrix" in strat))
    return out


def _azure_stages(ctx: _AzureCtx, path: str, stages: Any, params: dict[str, Any], triggers: tuple[Trigger, ...],
                  depth: int = 0, via: str | None = None) -> list[Job]:
    out: list[Job] = []
    for holder, k, stage in _az_items(_az_section(stages, params)):
        if not isinstance(stage, dict):
            continue
        line = line_of(holder, k) or 1
        if isinstance(stage.get("template"), str):
            ref, repo = _az_ref(_az_subst(stage["template"], params))
            if repo is not None:
                step = _az_external_step(path, line, stage["template"], stage.get("parameters"), params)
                out.append(Job(file=path, line=line, id=stage["template"], system="azure", triggers=triggers,
                               steps=(step,), called_from=(via,) if via else ()))
                continue
            got = ctx.template(ref, path, line) if depth < _AZ_MAX_DEPTH else None
            if got is not None:
                tp, doc = got
                out.extend(_azure_stages(ctx, tp, doc.get("stages"),
                                         _az_params(doc, stage.get("parameters"), params), triggers, depth + 1,
                                         via or f"{path}:{line}"))
            continue
        out.extend(_azure_jobs(ctx, path, stage.get("jobs"), params, triggers, depth,
                               disabled=_falsy_condition(stage.get("condition")), via=via))
    return out


def _azure_body(ctx: _AzureCtx, path: str, doc: dict[str, Any], params: dict[str, Any],
                triggers: tuple[Trigger, ...], depth: int = 0, via: str | None = None) -> list[Job]:
    out: list[Job] = []
    out.extend(_azure_stages(ctx, path, doc.get("stages"), params, triggers, depth, via))
    out.extend(_azure_jobs(ctx, path, doc.get("jobs"), params, triggers, depth, via=via))
    steps_src = _az_section(doc.get("steps"), params)
    if steps_src is not None:
        steps = _azure_steps(ctx, path, steps_src, params, depth)
        out.append(Job(file=path, line=line_of(doc, "steps") or 1, id="steps", system="azure",
                       triggers=triggers, steps=tuple(steps), called_from=(via,) if via else (),
                       surfaces=tuple(dict.fromkeys(s for st in steps for s in st.surfaces))))
    ext = doc.get("extends")
    if isinstance(ext, dict) and isinstance(ext.get("template"), str) and depth < _AZ_MAX_DEPTH:
        line = line_of(doc, "extends") or 1
        ref, repo = _az_ref(_az_subst(ext["template"], params))
        if repo is not None:
            step = _az_external_step(path, line, ext["template"], ext.get("parameters"), params)
            out.append(Job(file=path, line=line, id=ext["template"], system="azure", triggers=triggers,
                           steps=(step,)))
        else:
            got = ctx.template(ref, path, line)
            if got is not None:
                tp, tdoc = got
                out.extend(_azure_body(ctx, tp, tdoc, _az_params(tdoc, ext.get("parameters"), params), triggers,
                                       depth + 1, via or f"{path}:{line}"))
    return out


def azure_pipeline_like(doc: Any) -> bool:
    """A YAML document shaped like an Azure Pipelines pipeline: stages of jobs, jobs of steps, or steps that
    are Azure steps (script/bash/task/template...), plus a trigger, pr or schedules at the top."""
    if not isinstance(doc, dict) or "on" in doc or True in doc or not _azure_declares_pipeline(doc):
        return False
    stages, jobs, steps = doc.get("stages"), doc.get("jobs"), doc.get("steps")
    if isinstance(stages, list) and stages and all(
            isinstance(s, dict) and ("stage" in s or "template" in s or str(next(iter(s), "")).startswith("${{"))
            for s in stages):
        return True
    if isinstance(jobs, list) and jobs and all(
            isinstance(j, dict) and ("job" in j or "deployment" in j or "template" in j
                                     or str(next(iter(j), "")).startswith("${{")) for j in jobs):
        return True
    if isinstance(steps, list) and steps and all(
            isinstance(s, dict) and (set(map(str, s)) & _AZURE_STEP_KEYS or str(next(iter(s), "")).startswith("${{"))
            for s in steps):
        return True
    ext = doc.get("extends")
    return isinstance(ext, dict) and isinstance(ext.get("template"), str)


def _parse_azure(path: str, text: str, read: Reader, files: set[str], diags: list[Diagnostic],
                 templates: set[str] | None = None) -> tuple[list[Job], bool]:
    """Jobs of one pipeline file with its local templates expanded; also whether it declares triggers.
    ``templates`` collects the files it includes as templates (they are not pipelines of their own)."""
    doc, d = load_yaml(path, text)
    diags.extend(d)
    if not isinstance(doc, dict):
        return [], False
    if not any(k in doc for k in ("steps", "jobs", "stages", "trigger", "pr", "schedules", "pool", "extends")):
        return [], False  # a template file, parsed where it is used
    ctx = _AzureCtx(path, read, diags)
    params = _az_params(doc, None, {})
    jobs = _azure_body(ctx, path, doc, params, tuple(_azure_triggers(doc)))
    if templates is not None:
        templates |= ctx.used_templates
    return jobs, _azure_has_trigger(doc)


# --------------------------------------------------------------------------------------------------- CircleCI

def _parse_circleci(path: str, text: str, diags: list[Diagnostic]) -> list[Job]:
    doc, d = load_yaml(path, text)
    diags.extend(d)
    if not isinstance(doc, dict):
        return []
    jobs = as_dict(doc.get("jobs"))
    workflows = as_dict(doc.get("workflows"))
    job_triggers: dict[str, list[Trigger]] = {}
    for wf_name, wf in workflows.items():
        if not isinstance(wf, dict):
            continue
        trig: list[Trigger] = []
        wline = line_of(workflows, wf_name)
        for t in wf.get("triggers") or []:
            sch = t.get("schedule") if isinstance(t, dict) else None
            if isinstance(sch, dict) and _str(sch.get("cron")):
                trig.append(Trigger(kind="schedule", detail=_str(sch.get("cron")), line=line_of(t) or wline))
        when = wf.get("when")
        if "scheduled_pipeline" in repr(when):
            trig.append(Trigger(kind="schedule", detail="scheduled_pipeline", line=wline))
        if not trig:
            trig.append(Trigger(kind="push", line=wline))
        for entry in wf.get("jobs") or []:
            jname = entry if isinstance(entry, str) else (next(iter(entry)) if isinstance(entry, dict) and entry
                                                           else None)
            if jname is not None:
                job_triggers.setdefault(str(jname), []).extend(trig)
    out: list[Job] = []
    for jid, job in jobs.items():
        if not isinstance(job, dict):
            continue
        steps: list[Step] = []
        raw = job.get("steps")
        for k, st in enumerate(raw if isinstance(raw, list) else []):
            line = line_of(raw, k) or 1
            if st == "checkout":
                steps.append(Step(file=path, line=line, name="checkout", setup_only=True))
            elif isinstance(st, dict) and "run" in st:
                run = st["run"]
                cmd = text_lines(run) if not isinstance(run, dict) else text_lines(run.get("command"))
                holder, key = (run, "command") if isinstance(run, dict) else (st, "run")
                if cmd:
                    wd = _str(run.get("working_directory")) if isinstance(run, dict) else None
                    when = _str(run.get("when")) if isinstance(run, dict) else None
                    steps.append(_script_step(path, line, cmd, first_line=_block_first_line(holder, key, cmd),
                                              errexit=True, pipefail=True, cwd=wd,
                                              name=_str(run.get("name")) if isinstance(run, dict) else None,
                                              condition=when))
            elif isinstance(st, dict) and ("store_test_results" in st):
                steps.append(Step(file=path, line=line, name="store_test_results", surfaces=("test_report",)))
            elif isinstance(st, dict) and "store_artifacts" in st:
                steps.append(Step(file=path, line=line, name="store_artifacts", surfaces=("artifact",)))
            elif isinstance(st, dict) and st:
                name = str(next(iter(st)))
                steps.append(Step(file=path, line=line, name=name, setup_only=name in (
                    "restore_cache", "save_cache", "setup_remote_docker", "attach_workspace", "persist_to_workspace",
                    "add_ssh_keys")))
        trig = job_triggers.get(str(jid)) or ([Trigger(kind="push")] if not workflows else [])
        out.append(Job(file=path, line=line_of(jobs, jid) or 1, id=str(jid), system="circleci",
                       triggers=tuple(trig), steps=tuple(steps),
                       surfaces=tuple(dict.fromkeys(s for st in steps for s in st.surfaces))))
    return out


# --------------------------------------------------------------------------------------------------- Jenkins

_JENKINS_SH = re.compile(
    r"""\b(sh|bat|powershell)\s*\(?\s*(?:script\s*:\s*)?(?P<q>'''|\"\"\"|'|")(?P<body>.{0,20000}?)(?P=q)"""
    r"""(?P<rest>[^\n]{0,500})""",
    re.DOTALL,
)
_JENKINS_CRON = re.compile(r"\b(cron|pollSCM)\s*\(\s*(['\"])(.*?)\2")
_JENKINS_STAGE = re.compile(r"\bstage\s*\(\s*['\"]([^'\"]+)['\"]")


def _strip_groovy_comments(text: str) -> str:
    """Blank ``//`` and ``/* */`` comments (outside strings, roughly), keeping line numbers. Linear: an unclosed
    ``/*`` blanks to the end instead of being searched again from every later ``/*``."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("/*", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        k = text.find("*/", j + 2)
        end = n if k < 0 else k + 2
        out.append(re.sub(r"[^\n]", " ", text[j:end]))
        i = end
    return re.sub(r"(?m)^([ \t]*)//.*$", lambda m: m.group(1), "".join(out))


class _Lines:
    """Line numbers of increasing offsets in one text, counted incrementally (linear over all lookups)."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        if offset < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, offset)
        self.pos = offset
        return self.line


class _LineIndex:
    """Line numbers of any offsets of one text (newline offsets found once, then bisected)."""

    def __init__(self, text: str) -> None:
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def at(self, offset: int) -> int:
        return bisect.bisect_left(self.newlines, offset) + 1


def _parse_jenkins(path: str, text: str) -> tuple[list[Job], list[CommentedStep]]:
    text = text[:500_000]
    commented = [CommentedStep(file=path, line=i, text=raw.strip().lstrip("/").strip())
                 for i, raw in enumerate(text.split("\n"), start=1)
                 if re.match(r"^\s*//\s*(sh|bat)\b", raw)]
    clean = _strip_groovy_comments(text)
    triggers: list[Trigger] = []
    lines = _Lines(clean)
    for m in _JENKINS_CRON.finditer(clean):
        line = lines.at(m.start())
        triggers.append(Trigger(kind="schedule" if m.group(1) == "cron" else "push", detail=m.group(3),
                                line=line))
    if not any(t.kind == "push" for t in triggers):
        triggers.insert(0, Trigger(kind="push", detail="multibranch/webhook (default)"))
    lines = _Lines(clean)
    stages = [(lines.at(m.start()), m.group(1)) for m in _JENKINS_STAGE.finditer(clean)]
    stage_lines = [sl for sl, _ in stages]
    steps: list[Step] = []
    lines = _Lines(clean)
    for m in _JENKINS_SH.finditer(clean):
        line = lines.at(m.start())
        body = m.group("body")
        first = line + (1 if m.group("q") in ("'''", '"""') and body.startswith("\n") else 0)
        k = bisect.bisect_right(stage_lines, line)
        stage = stages[k - 1][1] if k else None
        rest = m.group("rest")
        swallowed = bool(re.search(r"returnStatus\s*:\s*true", rest))
        body = body.removeprefix("\n")
        steps.append(_script_step(path, line, body, first_line=first, errexit=True, pipefail=False, cwd=None,
                                  name=stage, swallowed=swallowed,
                                  swallow_reason="returnStatus: true" if swallowed else None))
    surf: list[str] = []
    if re.search(r"\bjunit\b|\bxunit\b|publishHTML|recordIssues", clean):
        surf.append("test_report")
    if re.search(r"\b(slackSend|mail|emailext|office365ConnectorSend|discordSend)\b", clean):
        surf.append("notification")
    if re.search(r"\bpublishCoverage|\bcobertura\b|recordCoverage", clean):
        surf.append("coverage_report")
    surf.extend(s for st in steps for s in st.surfaces)
    if not steps and not re.search(r"\bpipeline\b|\bnode\b", clean):
        return [], commented
    return [Job(file=path, line=1, id="pipeline", system="jenkins", triggers=tuple(triggers), steps=tuple(steps),
                surfaces=tuple(dict.fromkeys(surf)))], commented


# --------------------------------------------------------------------------------------------------- Cloud Build

#: Build config fields (cloud.google.com/build/docs/build-config-file-schema).
_CB_BUILD_KEYS = frozenset({"steps", "timeout", "queueTtl", "logsBucket", "options", "substitutions", "tags",
                            "serviceAccount", "secrets", "availableSecrets", "artifacts", "images"})
_CB_STEP_KEYS = frozenset({"name", "args", "env", "allowFailure", "allowExitCodes", "dir", "id", "waitFor",
                           "entrypoint", "secretEnv", "volumes", "timeout", "script", "automapSubstitutions",
                           "results"})
_IMAGE = re.compile(r"[\w${}.\-/:@+]+")
_SHELLS = ("bash", "sh", "/bin/bash", "/bin/sh", "/usr/bin/bash", "/usr/bin/env")


def cloudbuild_like(doc: Any) -> bool:
    """A Cloud Build config: ``steps`` whose items are container images (``name``) run with ``args``,
    ``entrypoint`` or ``script``, and nothing but build-config fields around them. A YAML file that merely has
    ``steps:`` (Ansible, Kedro, Buildkite, Drone, a GitHub composite action...) does not qualify."""
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list) or not doc["steps"]:
        return False
    if not set(map(str, doc)) <= _CB_BUILD_KEYS:
        return False
    runs = False
    for st in doc["steps"]:
        if not isinstance(st, dict) or not set(map(str, st)) <= _CB_STEP_KEYS:
            return False
        name = st.get("name")
        if not isinstance(name, str) or not _IMAGE.fullmatch(name):
            return False
        runs = runs or any(k in st for k in ("args", "entrypoint", "script"))
    return runs


_CB_MANUAL = Trigger(kind="manual", detail="submitted by hand (gcloud builds submit); no trigger for it in the tree")


def _cloudbuild_jobs(path: str, doc: Any, triggers: tuple[Trigger, ...] = (_CB_MANUAL,), *,
                     job_id: str = "build", line_offset: int = 0, cwd: str | None = None) -> list[Job]:
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list):
        return []
    steps: list[Step] = []
    raw = doc["steps"]
    for k, st in enumerate(raw):
        if not isinstance(st, dict):
            continue
        line = (line_of(raw, k) or 1) + line_offset
        image = _str(st.get("name")) or ""
        entry = _str(st.get("entrypoint"))
        args = st.get("args")
        args_l = [str(a) for a in args] if isinstance(args, list) else ([str(args)] if args else [])
        script = _str(st.get("script"))
        errexit = False
        first = line
        if script is not None:
            first = (value_line(st, "script") or line) + line_offset if isinstance(st, LineDict) else line
        if script is None and entry in _SHELLS and len(args_l) >= 2 and args_l[0].startswith("-") and \
                "c" in args_l[0]:
            script = args_l[1]  # `entrypoint: bash` + `args: [-c, ...]`: a shell script
            errexit = "e" in args_l[0][1:]
            if isinstance(args, LineList) and len(args.item_lines) > 1:
                first = args.item_lines[1] + line_offset + (1 if "\n" in script.rstrip("\n") else 0)
        if script is None:
            head = [entry] if entry else []
            if not entry and image:
                base = image.split("/")[-1].split(":")[0]
                if base in ("docker", "gcloud", "kubectl", "gsutil", "git", "bq", "npm", "mvn", "gradle", "python",
                            "python3", "pytest"):
                    head = [base]
            script = " ".join(_quote(a) for a in head + args_l)
        sw = st.get("allowFailure") is True
        # `bash -c` scripts and `script:` run without -e: only their last command decides the step
        sdir = _str(st.get("dir"))
        steps.append(_script_step(path, line, script, first_line=first, errexit=errexit, pipefail=False,
                                  cwd=posixpath.join(cwd, sdir) if cwd and sdir else (sdir or cwd),
                                  name=_str(st.get("id")) or image,
                                  swallowed=sw, swallow_reason="allowFailure: true" if sw else None))
    return [Job(file=path, line=(line_of(doc, "steps") or 1) + line_offset, id=job_id, system="cloudbuild",
                triggers=triggers, steps=tuple(steps),
                surfaces=tuple(dict.fromkeys(s for st in steps for s in st.surfaces)))]


def _parse_cloudbuild(path: str, text: str, diags: list[Diagnostic]) -> list[Job]:
    doc, d = load_yaml(path, text)
    diags.extend(d)
    return _cloudbuild_jobs(path, doc)


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


_CB_TRIGGER_SOURCES = ("github", "triggerTemplate", "repositoryEventConfig", "bitbucketServerTriggerConfig",
                       "gitlabEnterpriseEventsConfig", "sourceToBuild", "pubsubConfig", "webhookConfig")


def cloudbuild_trigger_like(doc: Any) -> bool:
    """A Cloud Build trigger (``gcloud builds triggers import`` / the BuildTrigger resource)."""
    return isinstance(doc, dict) and any(k in doc for k in _CB_TRIGGER_SOURCES) and any(
        k in doc for k in ("filename", "build", "gitFileSource", "autodetect"))


def _cb_trigger_kinds(doc: dict[str, Any], line: int | None) -> list[Trigger]:
    out: list[Trigger] = []
    for key in ("github", "repositoryEventConfig", "bitbucketServerTriggerConfig", "gitlabEnterpriseEventsConfig"):
        src = doc.get(key)
        if not isinstance(src, dict):
            continue
        push = src.get("push")
        if isinstance(push, dict):
            tag_only = push.get("tag") and not push.get("branch")
            out.append(Trigger(kind="tag" if tag_only else "push", detail=_str(push.get("branch") or push.get("tag")),
                               line=line))
        if isinstance(src.get("pullRequest"), dict):
            out.append(Trigger(kind="pull_request", detail=_str(src["pullRequest"].get("branch")), line=line))
    tt = doc.get("triggerTemplate")
    if isinstance(tt, dict):
        out.append(Trigger(kind="tag" if tt.get("tagName") and not tt.get("branchName") else "push",
                           detail=_str(tt.get("branchName") or tt.get("tagName")), line=line))
    if "sourceToBuild" in doc and not out:
        out.append(Trigger(kind="manual", detail="manual Cloud Build trigger", line=line))
    if any(k in doc for k in ("pubsubConfig", "webhookConfig")) and not out:
        out.append(Trigger(kind="other", detail="Pub/Sub or webhook Cloud Build trigger", line=line))
    return out


# --------------------------------------------------------------------------------------------------- CodeBuild

def buildspec_like(doc: Any) -> bool:
    """A CodeBuild buildspec: ``version`` and ``phases`` whose phases run ``commands``."""
    if not isinstance(doc, dict) or "version" not in doc or not isinstance(doc.get("phases"), dict):
        return False
    return any(isinstance(p, dict) and "commands" in p for p in doc["phases"].values())


_CODEBUILD_MANUAL = Trigger(kind="manual", detail="started by hand (aws codebuild start-build); no source trigger "
                                                  "for it in the tree")


def _codebuild_jobs(path: str, doc: Any, triggers: tuple[Trigger, ...] = (_CODEBUILD_MANUAL,), *,
                    job_id: str = "build", line_offset: int = 0, cwd: str | None = None) -> list[Job]:
    if not isinstance(doc, dict) or not isinstance(doc.get("phases"), dict):
        return []
    steps: list[Step] = []
    for phase, body in doc["phases"].items():
        if not isinstance(body, dict):
            continue
        sw = str(body.get("on-failure", "")).upper().startswith("CONTINUE")
        for key, soft in (("commands", None), ("finally", "finally commands cannot fail the phase")):
            cmds = body.get(key)
            items = cmds if isinstance(cmds, list) else ([cmds] if isinstance(cmds, str) else [])
            for k, c in enumerate(items):
                script = text_lines(c)
                if not script:
                    continue
                line = (line_of(cmds, k) or line_of(body, key) or 1) + line_offset
                swallowed = sw or soft is not None
                reason = "on-failure: CONTINUE" if sw else soft
                steps.append(_script_step(path, line, script, first_line=line + (1 if "\n" in script.strip() else 0),
                                          errexit=True, pipefail=False, cwd=cwd, name=str(phase),
                                          swallowed=swallowed, swallow_reason=reason))
    surf = ["test_report"] if isinstance(doc.get("reports"), dict) else []
    return [Job(file=path, line=(line_of(doc, "phases") or 1) + line_offset, id=job_id, system="codebuild",
                triggers=triggers, steps=tuple(steps),
                surfaces=tuple(dict.fromkeys(surf + [s for st in steps for s in st.surfaces])))]


def _parse_codebuild(path: str, text: str, diags: list[Diagnostic]) -> list[Job]:
    doc, d = load_yaml(path, text)
    diags.extend(d)
    return _codebuild_jobs(path, doc)


class _Decl:
    """A build declared in infrastructure code (CloudFormation, CDK, Terraform, a Cloud Build trigger): the spec
    it runs (a path, inline YAML, or commands) and the triggers that start it."""

    __slots__ = (
        "commands",
        "disabled",
        "file",
        "inline",
        "inline_line",
        "line",
        "name",
        "spec_base",
        "spec_path",
        "system",
        "triggers",
    )

    def __init__(self, system: str, file: str, line: int, name: str, *, spec_path: str | None = None,
                 spec_base: str | None = None, inline: Any = None, inline_line: int = 0,
                 commands: list[tuple[int, str]] | None = None, triggers: list[Trigger] | None = None,
                 disabled: bool = False) -> None:
        self.system, self.file, self.line, self.name = system, file, line, name
        self.spec_path, self.spec_base, self.inline, self.inline_line = spec_path, spec_base, inline, inline_line
        self.commands, self.triggers, self.disabled = commands, triggers or [], disabled


_REPO_SOURCES = ("CodeCommit", "GitHub", "CodeStarSourceConnection", "Bitbucket", "GitLab")


def _cfn_ref(value: Any) -> str | None:
    """The logical ID a CloudFormation value refers to (``!Ref X``, ``{"Ref": X}``, ``!GetAtt X.Arn``), or a
    literal name."""
    if isinstance(value, str):
        return value.split(".")[0].strip()
    if isinstance(value, dict):
        for key in ("Ref", "Fn::GetAtt"):
            v = value.get(key)
            if isinstance(v, str):
                return v.split(".")[0]
            if isinstance(v, list) and v and isinstance(v[0], str):
                return v[0]
    return None


def _webhook_kinds(patterns: Iterable[str], line: int | None, detail: str) -> list[Trigger]:
    """CodeBuild webhook EVENT filter patterns (PUSH, PULL_REQUEST_CREATED...) as trigger kinds."""
    kinds: list[Trigger] = []
    text = ",".join(patterns).upper()
    if "PUSH" in text:
        kinds.append(Trigger(kind="push", detail=detail, line=line))
    if "PULL_REQUEST" in text:
        kinds.append(Trigger(kind="pull_request", detail=detail, line=line))
    if "RELEASE" in text:
        kinds.append(Trigger(kind="release", detail=detail, line=line))
    return kinds


def _cfn_decls(path: str, docs: list[Any]) -> list[_Decl]:
    """CodeBuild projects of CloudFormation templates, started by a webhook or by a CodePipeline whose source is
    a repository (AWS::CodeBuild::Project, AWS::CodePipeline::Pipeline)."""
    out: list[_Decl] = []
    for doc in docs:
        res = doc.get("Resources") if isinstance(doc, dict) else None
        if not isinstance(res, dict):
            continue
        projects: dict[str, tuple[Any, _Decl]] = {}
        for lid, r in res.items():
            if not isinstance(r, dict) or r.get("Type") != "AWS::CodeBuild::Project":
                continue
            props = as_dict(r.get("Properties"))
            src = as_dict(props.get("Source"))
            line = line_of(res, lid) or 1
            decl = _Decl("codebuild", path, line, str(lid))
            spec = src.get("BuildSpec")
            if isinstance(spec, dict) and len(spec) == 1:  # !Sub / Fn::Sub around the text
                spec = next(iter(spec.values()))
            if isinstance(spec, list) and spec and isinstance(spec[0], str):  # Fn::Sub [text, {vars}]
                spec = spec[0]
            if isinstance(spec, str) and "phases" in spec:
                decl.inline, decl.inline_line = spec, (value_line(src, "BuildSpec") or line)
            elif isinstance(spec, str) and spec.strip() and "${" not in spec:
                decl.spec_path = spec.strip()
            elif spec is None and str(src.get("Type", "")).upper() != "NO_SOURCE":
                decl.spec_path = "buildspec.yml"  # CodeBuild's default: buildspec.yml at the source root
            trig = props.get("Triggers")
            if isinstance(trig, dict) and _truthy(trig.get("Webhook")):
                pats = [str(f.get("Pattern", "")) for grp in as_list(trig.get("FilterGroups")) for f in as_list(grp)
                        if isinstance(f, dict) and str(f.get("Type", "")).upper() == "EVENT"]
                decl.triggers.extend(_webhook_kinds(pats or ["PUSH", "PULL_REQUEST"], line_of(props, "Triggers"),
                                                    f"CodeBuild webhook ({path}:{line})"))
            projects[str(lid)] = (props.get("Name"), decl)
            out.append(decl)
        by_name = {str(n): d for n, (name, d) in ((k, v) for k, v in projects.items())
                   for n in ([name] if isinstance(name, str) else [])}
        for lid, r in res.items():
            if not isinstance(r, dict) or r.get("Type") != "AWS::CodePipeline::Pipeline":
                continue
            line = line_of(res, lid) or 1
            stages = as_list(as_dict(r.get("Properties")).get("Stages"))
            sources: list[Trigger] = []
            builds: list[_Decl] = []
            for stage in stages:
                for act in as_list(as_dict(stage).get("Actions")):
                    if not isinstance(act, dict):
                        continue
                    tid = as_dict(act.get("ActionTypeId"))
                    cfg = as_dict(act.get("Configuration"))
                    cat, prov = str(tid.get("Category", "")), str(tid.get("Provider", ""))
                    if cat == "Source" and prov in _REPO_SOURCES:
                        off = str(cfg.get("DetectChanges", "true")).lower() == "false"
                        sources.append(Trigger(kind="manual" if off else "push",
                                               detail=f"CodePipeline {lid} source {prov} ({path}:{line})", line=line))
                    elif prov == "CodeBuild":
                        ref = _cfn_ref(cfg.get("ProjectName"))
                        d = projects.get(ref or "", (None, None))[1] or by_name.get(ref or "")
                        if d is not None:
                            builds.append(d)
            for d in builds:
                d.triggers.extend(sources)
    return out


_HCL_RESOURCE = re.compile(r'(?m)^[ \t]*resource[ \t]+"(aws_codebuild_project|aws_codebuild_webhook|aws_codepipeline|'
                           r'google_cloudbuild_trigger)"[ \t]+"([^"]+)"[ \t]*\{')


def _hcl_end(text: str, i: int, limit: int = 200_000) -> int:
    """Index of the ``}`` closing the ``{`` at ``i`` (strings, comments and heredocs skipped)."""
    depth, n = 0, min(len(text), i + limit)
    j = i
    while j < n:
        c = text[j]
        if c == '"':
            j += 1
            while j < n and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
        elif c == "#" or text.startswith("//", j):
            k = text.find("\n", j)
            j = n if k < 0 else k
        elif text.startswith("<<", j):
            m = re.match(r"<<-?[ \t]*([A-Za-z_]\w*)", text[j:j + 64])
            if m:
                end = re.search(r"(?m)^[ \t]*" + re.escape(m.group(1)) + r"[ \t]*$", text[j + m.end():n])
                j = n if end is None else j + m.end() + end.end()
                continue
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return n


def _hcl_blocks(body: str, name: str) -> list[tuple[int, str]]:
    """Nested blocks ``name { ... }`` of an HCL body: (offset of the block, its text)."""
    out = []
    for m in re.finditer(r"(?m)^[ \t]*" + re.escape(name) + r"[ \t]*\{", body):
        end = _hcl_end(body, m.end() - 1)
        out.append((m.start(), body[m.end():end]))
    return out


def _hcl_attr(body: str, name: str) -> tuple[str, int] | None:
    """The raw value of ``name = value`` (a heredoc's text for ``<<EOF``) and its offset."""
    m = re.search(r"(?m)^[ \t]*" + re.escape(name) + r"[ \t]*=[ \t]*(.*)$", body)
    if m is None:
        return None
    value = m.group(1).strip()
    h = re.match(r"<<-?[ \t]*([A-Za-z_]\w*)", value)
    if h:
        rest = body[m.end() + 1:]
        end = re.search(r"(?m)^[ \t]*" + re.escape(h.group(1)) + r"[ \t]*$", rest)
        return (rest[:end.start()] if end else rest), m.end() + 1
    return value, m.start(1)


def _hcl_string(value: str) -> str | None:
    m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"\s*(?:#.*|//.*)?', value)
    return m.group(1) if m else None


def _tf_decls(path: str, text: str) -> tuple[list[_Decl], dict[str, Any]]:
    """Terraform CodeBuild projects (with their webhooks and CodePipelines) and Cloud Build triggers of one
    file. Returns the declarations and the links to resolve within the module (the file's directory)."""
    decls: list[_Decl] = []
    links: dict[str, Any] = {"webhooks": [], "pipelines": [], "projects": {}}
    base = posixpath.dirname(path)
    index = _LineIndex(text)
    for m in _HCL_RESOURCE.finditer(text):
        kind, name = m.group(1), m.group(2)
        end = _hcl_end(text, m.end() - 1)
        body = text[m.end():end]
        line = index.at(m.start())

        def line_at(offset: int, body_start: int = m.end()) -> int:
            return index.at(body_start + offset)

        if kind == "aws_codebuild_project":
            decl = _Decl("codebuild", path, line, f"aws_codebuild_project.{name}")
            srcs = _hcl_blocks(body, "source")
            src_body = srcs[0][1] if srcs else ""
            got = _hcl_attr(src_body, "buildspec") if src_body else None
            src_off = srcs[0][0] if srcs else 0
            if got is not None:
                value, off = got
                lit = _hcl_string(value)
                fm = re.match(r'(?:file|templatefile)\(\s*"([^"]+)"', value)
                if fm:  # file("${path.module}/buildspec.yml"): a file of this module, read at plan time
                    decl.spec_path = fm.group(1).replace("${path.module}", base or ".").replace("${path.root}", ".")
                    decl.spec_base = ""
                elif lit is not None and "\n" not in lit and "phases" not in lit:
                    decl.spec_path = lit if "${" not in lit else None
                elif "phases" in value:
                    decl.inline = value
                    decl.inline_line = line_at(src_off + off + body[src_off:].find(src_body))
            elif not re.search(r'type[ \t]*=[ \t]*"NO_SOURCE"', src_body):
                decl.spec_path = "buildspec.yml"
            nm = _hcl_attr(body, "name")
            links["projects"][name] = (_hcl_string(nm[0]) if nm else None, decl)
            decls.append(decl)
        elif kind == "aws_codebuild_webhook":
            pats = re.findall(r'pattern[ \t]*=[ \t]*"([^"]*)"', body)
            ref = _hcl_attr(body, "project_name")
            links["webhooks"].append((ref[0] if ref else "", pats or ["PUSH", "PULL_REQUEST"], line))
        elif kind == "aws_codepipeline":
            repo = [p for p in re.findall(r'provider[ \t]*=[ \t]*"([^"]+)"', body) if p in _REPO_SOURCES]
            off = re.search(r'DetectChanges"?[ \t]*=[ \t]*"?false', body, re.IGNORECASE)
            refs = re.findall(r'ProjectName"?[ \t]*=[ \t]*(?:aws_codebuild_project\.([\w-]+)\.\w+|"([^"]+)")', body)
            links["pipelines"].append((bool(repo) and not off, bool(repo), [a or b for a, b in refs], line,
                                       f"aws_codepipeline.{name}"))
        elif kind == "google_cloudbuild_trigger":
            decl = _Decl("cloudbuild", path, line, f"google_cloudbuild_trigger.{name}")
            fn = _hcl_attr(body, "filename")
            lit = _hcl_string(fn[0]) if fn else None
            for blk in ("git_file_source",):
                for _, b in _hcl_blocks(body, blk):
                    p = _hcl_attr(b, "path")
                    lit = lit or (_hcl_string(p[0]) if p else None)
            if lit and "${" not in lit:
                decl.spec_path = lit
            decl.disabled = bool(re.search(r"(?m)^[ \t]*disabled[ \t]*=[ \t]*true", body))
            detail = f"Cloud Build trigger {name} ({path}:{line})"
            for blk in ("github", "repository_event_config", "bitbucket_server_trigger_config"):
                for _, b in _hcl_blocks(body, blk):
                    if _hcl_blocks(b, "push"):
                        decl.triggers.append(Trigger(kind="push", detail=detail, line=line))
                    if _hcl_blocks(b, "pull_request"):
                        decl.triggers.append(Trigger(kind="pull_request", detail=detail, line=line))
            for _, b in _hcl_blocks(body, "trigger_template"):
                tag = "tag_name" in b and "branch_name" not in b
                decl.triggers.append(Trigger(kind="tag" if tag else "push", detail=detail, line=line))
            if not decl.triggers and (_hcl_blocks(body, "source_to_build") or "source_to_build" in body):
                decl.triggers.append(Trigger(kind="manual", detail=detail, line=line))
            if not decl.triggers and ("pubsub_config" in body or "webhook_config" in body):
                decl.triggers.append(Trigger(kind="other", detail=detail, line=line))
            if not decl.triggers and decl.spec_path is None:
                continue
            decls.append(decl)
    return decls, links


def _tf_link(modules: dict[str, list[dict[str, Any]]]) -> None:
    """Webhooks and CodePipelines start the CodeBuild projects of the same Terraform module they name."""
    for links in modules.values():
        projects: dict[str, tuple[str | None, _Decl]] = {}
        for lk in links:
            projects.update(lk["projects"])
        by_name = {n: d for n, d in projects.values() if n}
        for lk in links:
            for ref, pats, line in lk["webhooks"]:
                m = re.search(r"aws_codebuild_project\.([\w-]+)", ref)
                d = projects[m.group(1)][1] if m and m.group(1) in projects else by_name.get(_hcl_string(ref) or "")
                if d is not None:
                    d.triggers.extend(_webhook_kinds(pats, line, f"CodeBuild webhook ({d.file}:{line})"))
            for push, repo, refs, line, name in lk["pipelines"]:
                for ref in refs:
                    d = projects[ref][1] if ref in projects else by_name.get(ref)
                    if d is not None and repo:
                        d.triggers.append(Trigger(kind="push" if push else "manual",
                                                  detail=f"{name} repository source ({d.file}:{line})", line=line))


# CDK (Python and TypeScript), read as text: constructs from docs.aws.amazon.com/cdk/api/v2 (aws_codebuild,
# aws_codepipeline_actions, pipelines)
_CDK_PROJECT = re.compile(r"\b(?:codebuild\.|aws_codebuild\.)?(PipelineProject|(?<=codebuild\.)Project)\s*\(")
#: ``project = `` / ``const project: codebuild.Project = new `` just before a construct call (searched in at most
#: 200 characters of its line, so a megabyte line costs no backtracking)
_CDK_ASSIGNED = re.compile(r"(?:self\.|this\.)?([A-Za-z_]\w{0,100})\s*(?::\s*[\w.]{1,100}\s*)?=\s*(?:new\s+)?"
                           r"(?:codebuild\.|aws_codebuild\.)?$")
_CDK_SPEC = re.compile(r"\b(?:build_spec|buildSpec|partial_build_spec|partialBuildSpec)\s*[=:]\s*(?:[\w.]+\.)?BuildSpec\."
                       r"(from_source_filename|fromSourceFilename|from_asset|fromAsset|from_object|fromObject|"
                       r"from_object_to_yaml|fromObjectToYaml)\s*\(")
_CDK_SOURCE = re.compile(r"\bsource\s*[=:]\s*(?:[\w.]+\.)?Source\.(git_hub|gitHub|git_hub_enterprise|gitHubEnterprise|"
                         r"bit_bucket|bitBucket)\s*\(")
_CDK_REPO_ACTION = re.compile(r"\b(CodeCommitSourceAction|GitHubSourceAction|CodeStarConnectionsSourceAction|"
                              r"BitBucketSourceAction|CodePipelineSource\.(?:git_hub|gitHub|connection|code_commit|"
                              r"codeCommit))\s*\(")
_CDK_STEP = re.compile(r"\b(ShellStep|CodeBuildStep)\s*\(")
_CDK_STRING = re.compile(r"""[rfbuRFBU]{0,2}("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)""")


def _call_args(text: str, open_paren: int, limit: int = 30_000) -> tuple[int, int]:
    """(start, end) of the argument text of the call whose ``(`` is at ``open_paren`` (strings skipped)."""
    depth, n, j = 0, min(len(text), open_paren + limit), open_paren
    while j < n:
        c = text[j]
        if c in "\"'`":
            k = j + 1
            while k < n and text[k] != c:
                if text[k] == "\n" and c != "`":
                    break
                k += 2 if text[k] == "\\" else 1
            j = k
        elif c == "#" and text[j - 1:j] in ("", "\n", " ", "\t"):
            k = text.find("\n", j)
            j = n if k < 0 else k
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return open_paren + 1, j
        j += 1
    return open_paren + 1, n


def _strings(text: str, base: int, lines: _LineIndex) -> list[tuple[int, str]]:
    """String literals in ``text`` (an excerpt starting at offset ``base`` of the file), with their lines."""
    out = []
    for m in _CDK_STRING.finditer(text):
        raw = m.group(1)[1:-1]
        value = raw.encode("utf-8", "replace").decode("unicode_escape", "replace") if "\\" in raw else raw
        out.append((lines.at(base + m.start()), value))
    return out


def _cdk_commands(args: str, base: int, whole: _LineIndex,
                  keys: tuple[str, ...] = ("commands",)) -> list[tuple[int, str]]:
    """Strings of ``commands=[...]`` / ``"commands": [...]`` / ``commands: "..."`` in an argument text."""
    out: list[tuple[int, str]] = []
    for m in re.finditer(r"""["']?\b(""" + "|".join(keys) + r""")["']?\s*[=:]\s*([\[("'`])""", args):
        start = m.end() - 1
        if m.group(2) in "[(":
            s, e = _call_args(args, start)
            out.extend(_strings(args[s:e], base + s, whole))
        else:
            got = _strings(args[start:start + 5000], base + start, whole)
            out.extend(got[:1])
    return out


def _cdk_decls(path: str, text: str) -> list[_Decl]:
    """CodeBuild projects and CDK Pipelines steps of a CDK app, and what starts them: a CodePipeline whose source
    action is a repository, or a CodeBuild webhook."""
    out: list[_Decl] = []
    lines = _LineIndex(text)
    repo_actions = list(_CDK_REPO_ACTION.finditer(text))
    repo_push = any(not re.search(r"trigger\s*[=:]\s*(?:[\w.]+\.)?(?:CodeCommitTrigger|GitHubTrigger)\.NONE|"
                                  r"trigger_?[oO]n_?[pP]ush\s*[=:]\s*(?:False|false)",
                                  text[slice(*_call_args(text, m.end() - 1))]) for m in repo_actions)
    pipeline_trigger = ([Trigger(kind="push" if repo_push else "manual",
                                 detail=f"CodePipeline repository source ({path}:"
                                        f"{lines.at(repo_actions[0].start())})",
                                 line=lines.at(repo_actions[0].start()))] if repo_actions else [])
    action_spans = [(_call_args(text, m.end() - 1), m) for m in re.finditer(r"\bCodeBuildAction\s*\(", text)]
    action_projects = set()
    for (s, e), _m in action_spans:
        pm = re.search(r"\bproject\s*[=:]\s*(?:self\.|this\.)?([A-Za-z_]\w*)", text[s:e])
        if pm:
            action_projects.add(pm.group(1))
    for m in _CDK_PROJECT.finditer(text):
        before = text[max(text.rfind("\n", max(0, m.start() - 200), m.start()) + 1, m.start() - 200):m.start()]
        am = _CDK_ASSIGNED.search(before)
        var = am.group(1) if am else None
        s, e = _call_args(text, m.end() - 1)
        args = text[s:e]
        line = lines.at(m.start())
        decl = _Decl("codebuild", path, line, f"{m.group(1)} {var or ''}".strip())
        sm = _CDK_SPEC.search(args)
        if sm is None:
            decl.spec_path = "buildspec.yml"
        else:
            a0, a1 = _call_args(args, sm.end() - 1)
            method = sm.group(1).lower().replace("_", "")
            if method in ("fromsourcefilename", "fromasset"):
                lits = _strings(args[a0:a1], s + a0, lines)
                if lits:
                    decl.spec_path = lits[0][1]
                    if method == "fromasset":
                        decl.spec_base = posixpath.dirname(path)
            else:
                decl.commands = _cdk_commands(args[a0:a1], s + a0, lines)
        src = _CDK_SOURCE.search(args)
        if src is not None:
            b0, b1 = _call_args(args, src.end() - 1)
            sargs = args[b0:b1]
            if re.search(r"\bwebhook\s*[=:]\s*(True|true)", sargs):
                events = re.findall(r"EventAction\.(\w+)", sargs)
                decl.triggers.extend(_webhook_kinds(events or ["PUSH", "PULL_REQUEST"], line,
                                                    f"CodeBuild webhook ({path}:{line})"))
        inside_action = any(s0 <= m.start() < e0 for (s0, e0), _ in action_spans)
        if (inside_action or (var and var in action_projects)) and pipeline_trigger:
            decl.triggers.extend(pipeline_trigger)
        out.append(decl)
    for m in _CDK_STEP.finditer(text):
        s, e = _call_args(text, m.end() - 1)
        args = text[s:e]
        line = lines.at(m.start())
        cmds = _cdk_commands(args, s, lines, ("install_commands", "installCommands", "commands"))
        if not cmds:
            continue
        out.append(_Decl("codebuild", path, line, m.group(1), commands=cmds,
                         triggers=list(pipeline_trigger) if "CodePipelineSource" in text else []))
    return out


def _resolve_spec(decl: _Decl, files: set[str]) -> tuple[str, str] | None:
    """The repository file a declaration names, and the folder it runs from. A path read from this tree at deploy
    time (Terraform ``file()``, CDK ``fromAsset``) is that file. A path in the build's source (the spec a
    CodeBuild project or Cloud Build trigger runs) is relative to the source root, which is this repository's root
    or, for a template, one of its folders that seeds another repository: it resolves only when exactly one file of
    the tree fits (at the root, next to the declaration, or under a folder), since guessing would give one
    project's triggers to another's spec."""
    p = (decl.spec_path or "").strip()
    if not p or "://" in p or p.startswith("arn:"):
        return None
    p = posixpath.normpath(p.removeprefix("./"))
    if decl.spec_base is not None:
        local = posixpath.normpath(posixpath.join(decl.spec_base, p))
        if local in files:
            return local, ""
    hits: dict[str, str] = {}
    for c in (p, posixpath.normpath(posixpath.join(posixpath.dirname(decl.file), p))):
        if c in files:
            hits[c] = ""
    suffix = "/" + p
    for f in files:
        if f.endswith(suffix) and f not in hits:
            hits[f] = f[: -len(suffix)]  # a seed folder: its buildspec runs from the folder's root
    return next(iter(hits.items())) if len(hits) == 1 else None


# --------------------------------------------------------------------------------------------------- Tekton

_TEKTON_KINDS = frozenset({"Task", "ClusterTask", "Pipeline", "PipelineRun", "TaskRun", "TriggerTemplate",
                           "EventListener", "Trigger"})


class _Tekton:
    """Tekton resources of the whole tree, linked by name (tekton.dev/docs: Tasks, Pipelines, Triggers)."""

    def __init__(self) -> None:
        self.tasks: dict[str, tuple[str, dict[str, Any], int]] = {}
        self.pipelines: dict[str, tuple[str, dict[str, Any], int]] = {}
        self.runs: list[tuple[str, dict[str, Any], int]] = []
        self.templates: dict[str, tuple[str, dict[str, Any], int]] = {}
        self.listeners: list[tuple[str, dict[str, Any], int]] = []
        self.triggers: dict[str, tuple[str, dict[str, Any], int]] = {}

    def add(self, path: str, doc: Any) -> None:
        if not isinstance(doc, dict) or "tekton.dev" not in str(doc.get("apiVersion", "")):
            return
        kind = str(doc.get("kind", ""))
        name = str(_dig_get(doc, "metadata", "name") or _dig_get(doc, "metadata", "generateName") or kind)
        entry = (path, doc, line_of(doc) or 1)
        if kind in ("Task", "ClusterTask"):
            self.tasks[name] = entry
        elif kind == "Pipeline":
            self.pipelines[name] = entry
        elif kind in ("PipelineRun", "TaskRun"):
            self.runs.append(entry)
        elif kind == "TriggerTemplate":
            self.templates[name] = entry
        elif kind == "EventListener":
            self.listeners.append(entry)
        elif kind == "Trigger":
            self.triggers[name] = entry

    def _task_steps(self, path: str, spec: Any) -> list[Step]:
        out: list[Step] = []
        steps = spec.get("steps") if isinstance(spec, dict) else None
        for k, st in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(st, dict):
                continue
            line = line_of(steps, k) or 1
            wd = _tekton_dir(_str(st.get("workingDir")))
            name = _str(st.get("name"))
            sw = str(st.get("onError", "")).lower() == "continue"
            reason = "onError: continue" if sw else None
            if isinstance(st.get("script"), str):
                script = st["script"]
                first = value_line(st, "script") or line
                shebang = script.lstrip().split("\n", 1)[0]
                if shebang.startswith("#!") and "python" in shebang:
                    cmd = ShellCommand(text="python <inline script>", line=first, argv=("python", "-c", script[:20000]),
                                       cwd=wd)
                    out.append(Step(file=path, line=line, name=name, run=script, commands=(cmd,), swallowed=sw,
                                    swallow_reason=reason, working_directory=wd))
                    continue
                out.append(_script_step(path, line, script, first_line=first, errexit=False, pipefail=False,
                                        cwd=wd, name=name, swallowed=sw, swallow_reason=reason))
                continue
            argv = [str(x) for x in (as_list(st.get("command")) + as_list(st.get("args")))]
            if argv:
                if len(argv) >= 3 and posixpath.basename(argv[0]) in ("bash", "sh") and argv[1].startswith("-") \
                        and "c" in argv[1]:
                    out.append(_script_step(path, line, argv[2], first_line=line, errexit="e" in argv[1][1:],
                                            pipefail=False, cwd=wd, name=name, swallowed=sw, swallow_reason=reason))
                else:
                    out.append(_script_step(path, line, " ".join(_quote(a) for a in argv), first_line=line,
                                            errexit=True, pipefail=False, cwd=wd, name=name, swallowed=sw,
                                            swallow_reason=reason))
        return out

    def _pipeline_steps(self, path: str, spec: Any, used: set[str]) -> list[Step]:
        out: list[Step] = []
        if not isinstance(spec, dict):
            return out
        for key in ("tasks", "finally"):
            for t in as_list(spec.get(key)):
                if not isinstance(t, dict):
                    continue
                ref = _str(_dig_get(t, "taskRef", "name"))
                if ref and ref in self.tasks:
                    used.add(ref)
                    tpath, tdoc, _ = self.tasks[ref]
                    out.extend(self._task_steps(tpath, tdoc.get("spec")))
                elif isinstance(t.get("taskSpec"), dict):
                    out.extend(self._task_steps(path, t["taskSpec"]))
        return out

    def jobs(self) -> list[Job]:
        kinds: dict[str, list[Trigger]] = {}  # pipeline or task name -> triggers

        def listen(template: str | None, events: list[Trigger]) -> None:
            entry = self.templates.get(template or "")
            if entry is None:
                return
            for rt in as_list(_dig_get(entry[1], "spec", "resourcetemplates")):
                ref = _str(_dig_get(rt, "spec", "pipelineRef", "name")) or _str(_dig_get(rt, "spec", "taskRef", "name"))
                if ref:
                    kinds.setdefault(ref, []).extend(events)

        for path, doc, line in self.listeners:
            for t in as_list(_dig_get(doc, "spec", "triggers")):
                if not isinstance(t, dict):
                    continue
                spec = t
                tref = _str(_dig_get(t, "triggerRef"))
                if tref and tref in self.triggers:
                    spec = as_dict(self.triggers[tref][1].get("spec"))
                events = _tekton_events(spec, f"EventListener {path}:{line}", line)
                template = _str(_dig_get(spec, "template", "ref")) or _str(_dig_get(spec, "template", "name"))
                listen(template, events)
        used: set[str] = set()
        out: list[Job] = []
        for name, (path, doc, line) in self.pipelines.items():
            steps = self._pipeline_steps(path, doc.get("spec"), used)
            trig = kinds.get(name) or [Trigger(kind="manual", detail="a PipelineRun created by hand (tkn pipeline "
                                                                      "start); no EventListener for it in the tree")]
            out.append(Job(file=path, line=line, id=name, system="tekton", triggers=tuple(trig), steps=tuple(steps),
                           surfaces=tuple(dict.fromkeys(s for st in steps for s in st.surfaces))))
        for path, doc, line in self.runs:  # runs with an inline pipelineSpec/taskSpec
            spec = as_dict(doc.get("spec"))
            if isinstance(spec.get("pipelineSpec"), dict):
                steps = self._pipeline_steps(path, spec["pipelineSpec"], used)
            elif isinstance(spec.get("taskSpec"), dict):
                steps = self._task_steps(path, spec["taskSpec"])
            else:
                continue
            out.append(Job(file=path, line=line, id=str(_dig_get(doc, "metadata", "name") or "run"), system="tekton",
                           triggers=(Trigger(kind="manual", detail="a run created by hand"),), steps=tuple(steps)))
        for name, (path, doc, line) in self.tasks.items():
            if name in used:
                continue
            steps = self._task_steps(path, doc.get("spec"))
            if steps:
                trig = kinds.get(name) or [Trigger(kind="manual", detail="a TaskRun created by hand (tkn task start)")]
                out.append(Job(file=path, line=line, id=name, system="tekton", triggers=tuple(trig),
                               steps=tuple(steps)))
        return out


def _dig_get(doc: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(k)
    return doc


def _tekton_dir(wd: str | None) -> str | None:
    """``$(workspaces.source.path)/ml`` -> ``ml`` (the workspace holds the cloned repository)."""
    if not wd:
        return None
    wd = re.sub(r"^\$\(workspaces\.[\w-]+\.path\)/?", "", wd)
    return None if not wd or "$(" in wd or wd.startswith("/") else wd


def _tekton_events(spec: dict[str, Any], detail: str, line: int) -> list[Trigger]:
    """Event kinds a Tekton trigger listens to: interceptor ``eventTypes`` or a CEL filter on the event header."""
    text = repr(spec.get("interceptors", ""))
    out: list[Trigger] = []
    if re.search(r"push|Push Hook|repo:push", text):
        out.append(Trigger(kind="push", detail=detail, line=line))
    if re.search(r"pull_request|Merge Request Hook|pullrequest|pr:opened", text):
        out.append(Trigger(kind="pull_request", detail=detail, line=line))
    return out or [Trigger(kind="push", detail=detail + " (webhook)", line=line)]


# --------------------------------------------------------------------------------------------------- Drone, Bitbucket, Buildkite

_DRONE_EVENTS = {"push": "push", "pull_request": "pull_request", "tag": "tag", "cron": "schedule",
                 "custom": "manual", "promote": "manual", "rollback": "manual"}


def _drone_event_kinds(cond: Any) -> list[str] | None:
    ev = cond.get("event") if isinstance(cond, dict) else None
    if ev is None:
        return None
    if isinstance(ev, dict):
        inc, exc = as_list(ev.get("include")), set(map(str, as_list(ev.get("exclude"))))
        names = [str(e) for e in inc] if inc else [e for e in _DRONE_EVENTS if e not in exc]
    else:
        names = [str(e) for e in (ev if isinstance(ev, list) else [ev])]
    return [_DRONE_EVENTS.get(n, "other") for n in names]


def _parse_drone(path: str, text: str, diags: list[Diagnostic]) -> list[Job]:
    """Drone pipelines (docs.drone.io/pipeline): ``kind: pipeline`` documents whose steps run ``commands`` (any
    failure fails the pipeline); ``trigger``/``when`` events; ``failure: ignore`` swallows."""
    from mlscore.facts.yamlsafe import load_yaml_docs

    docs, d = load_yaml_docs(path, text)
    diags.extend(d)
    out: list[Job] = []
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "pipeline":
            continue
        kinds = _drone_event_kinds(doc.get("trigger")) or ["push", "pull_request", "tag"]
        triggers = tuple(Trigger(kind=k, line=line_of(doc, "trigger")) for k in dict.fromkeys(kinds))  # type: ignore[arg-type]
        steps: list[Step] = []
        raw = doc.get("steps")
        for k, st in enumerate(raw if isinstance(raw, list) else []):
            if not isinstance(st, dict):
                continue
            cmds = st.get("commands")
            script = text_lines(cmds) if cmds is not None else None
            if not script:
                continue
            line = line_of(raw, k) or 1
            first = (cmds.item_lines[0] if isinstance(cmds, LineList) and cmds.item_lines else line)
            sw = str(st.get("failure", "")) == "ignore"
            detach = st.get("detach") is True
            ev = _drone_event_kinds(st.get("when"))
            steps.append(_script_step(path, line, script, first_line=first, errexit=True, pipefail=False, cwd=None,
                                      name=_str(st.get("name")), swallowed=sw or detach,
                                      swallow_reason="failure: ignore" if sw else ("detach: true" if detach else None),
                                      events=tuple(dict.fromkeys(ev)) if ev is not None else None))
        out.append(Job(file=path, line=line_of(doc) or 1, id=_str(doc.get("name")) or "default", system="drone",
                       triggers=triggers, steps=tuple(steps)))
    return out


_BB_SECTIONS = (("default", "push"), ("branches", "push"), ("bookmarks", "push"), ("tags", "tag"),
                ("pull-requests", "pull_request"), ("custom", "manual"))


def _parse_bitbucket(path: str, text: str, diags: list[Diagnostic]) -> list[Job]:
    """Bitbucket Pipelines (bitbucket-pipelines.yml): pipelines by start condition (default, branches, tags,
    pull-requests, custom); steps, parallel groups and stages; a failing script command fails the step;
    ``after-script`` cannot; a ``trigger: manual`` step and the steps after it wait for a person."""
    doc, d = load_yaml(path, text)
    diags.extend(d)
    pipes = doc.get("pipelines") if isinstance(doc, dict) else None
    if not isinstance(pipes, dict):
        return []
    out: list[Job] = []

    def flatten(items: Any) -> list[tuple[Any, int, dict[str, Any]]]:
        got: list[tuple[Any, int, dict[str, Any]]] = []
        for k, it in enumerate(items if isinstance(items, list) else []):
            if not isinstance(it, dict):
                continue
            if isinstance(it.get("step"), dict):
                got.append((items, k, it["step"]))
            par = it.get("parallel")
            if par is not None:
                got.extend(flatten(par.get("steps") if isinstance(par, dict) else par))
            stage = it.get("stage")
            if isinstance(stage, dict):
                got.extend(flatten(stage.get("steps")))
        return got

    for section, kind in _BB_SECTIONS:
        value = pipes.get(section)
        groups = [(section, value)] if section == "default" else (
            list(value.items()) if isinstance(value, dict) else [])
        for name, items in groups:
            manual = False
            auto_steps: list[Step] = []
            manual_steps: list[Step] = []
            for holder, k, st in flatten(items):
                manual = manual or st.get("trigger") == "manual"
                line = line_of(holder, k) or 1
                for key, soft in (("script", None), ("after-script", "after-script cannot fail the step")):
                    cmds = st.get(key)
                    for j, c in enumerate(cmds if isinstance(cmds, list) else []):
                        script = text_lines(c)
                        if not script:
                            continue
                        cl = line_of(cmds, j) or line
                        step = _script_step(path, cl, script, first_line=cl, errexit=True, pipefail=False, cwd=None,
                                            name=_str(st.get("name")), swallowed=soft is not None,
                                            swallow_reason=soft)
                        (manual_steps if manual else auto_steps).append(step)
            jline = line_of(value, name) if isinstance(value, dict) else (line_of(pipes, section) or 1)
            if auto_steps:
                out.append(Job(file=path, line=jline or 1, id=f"{section}:{name}" if section != "default" else section,
                               system="bitbucket", triggers=(Trigger(kind=kind, detail=str(name)),),  # type: ignore[arg-type]
                               steps=tuple(auto_steps)))
            if manual_steps:
                out.append(Job(file=path, line=jline or 1, id=f"{section}:{name}:manual", system="bitbucket",
                               triggers=(Trigger(kind="manual", detail="trigger: manual step"),),
                               steps=tuple(manual_steps)))
    return out


def _parse_buildkite(path: str, text: str, diags: list[Diagnostic]) -> list[Job]:
    """Buildkite pipelines (buildkite.com/docs/pipelines): command steps (``command``/``commands``: a failing
    command fails the step), ``group`` steps, ``soft_fail`` swallows; builds start on push (webhook)."""
    doc, d = load_yaml(path, text)
    diags.extend(d)
    raw = doc.get("steps") if isinstance(doc, dict) else (doc if isinstance(doc, list) else None)
    steps: list[Step] = []

    def walk(items: Any, depth: int = 0) -> None:
        for k, st in enumerate(items if isinstance(items, list) else []):
            if not isinstance(st, dict) or depth > 3:
                continue
            if isinstance(st.get("steps"), list):
                walk(st["steps"], depth + 1)
                continue
            key = "commands" if "commands" in st else ("command" if "command" in st else None)
            if key is None:
                continue
            script = text_lines(st.get(key))
            if not script:
                continue
            line = line_of(items, k) or 1
            sw = st.get("soft_fail") not in (None, False)
            steps.append(_script_step(path, line, script, first_line=_block_first_line(st, key, script),
                                      errexit=True, pipefail=False, cwd=None, name=_str(st.get("label")),
                                      swallowed=sw, swallow_reason="soft_fail" if sw else None))

    walk(raw)
    if not steps:
        return []
    return [Job(file=path, line=1, id="pipeline", system="buildkite",
                triggers=(Trigger(kind="push", detail="Buildkite webhook (default)"),), steps=tuple(steps))]


# --------------------------------------------------------------------------------------------------- Travis

_TRAVIS_PHASES = ("before_install", "install", "before_script", "script", "after_success", "after_failure",
                  "after_script", "before_deploy", "deploy", "after_deploy")
_TRAVIS_SOFT = {"after_success", "after_failure", "after_script", "after_deploy"}


def _parse_travis(path: str, text: str, diags: list[Diagnostic]) -> list[Job]:
    doc, d = load_yaml(path, text)
    diags.extend(d)
    if not isinstance(doc, dict):
        return []
    triggers = (Trigger(kind="push"), Trigger(kind="pull_request"))

    def steps_of(holder: dict[str, Any]) -> list[Step]:
        out: list[Step] = []
        for phase in _TRAVIS_PHASES:
            value = holder.get(phase)
            items = value if isinstance(value, list) else ([value] if isinstance(value, str) else [])
            for k, item in enumerate(items):
                script = text_lines(item)
                if not script:
                    continue
                line = (value.item_lines[k] if isinstance(value, LineList) and k < len(value.item_lines)
                        else line_of(holder, phase) or 1)
                soft = phase in _TRAVIS_SOFT
                out.append(_script_step(path, line, script, first_line=line, errexit=True, pipefail=False,
                                        cwd=None, name=phase, swallowed=soft,
                                        swallow_reason=f"{phase} cannot fail the build" if soft else None))
        return out

    jobs: list[Job] = []
    base_steps = steps_of(doc)
    if base_steps:
        jobs.append(Job(file=path, line=1, id="build", system="travis", triggers=triggers,
                        steps=tuple(base_steps), surfaces=tuple(dict.fromkeys(s for st in base_steps
                                                                              for s in st.surfaces))))
    for key in ("jobs", "matrix"):
        block = doc.get(key)
        inc = block.get("include") if isinstance(block, dict) else None
        for k, item in enumerate(inc if isinstance(inc, list) else []):
            if isinstance(item, dict):
                st = steps_of(item)
                if st:
                    jobs.append(Job(file=path, line=line_of(inc, k) or 1,
                                    id=_str(item.get("name")) or _str(item.get("stage")) or f"{key}[{k}]",
                                    system="travis", triggers=triggers, steps=tuple(st),
                                    surfaces=tuple(dict.fromkeys(s for x in st for s in x.surfaces))))
    return jobs


# --------------------------------------------------------------------------------------------------- entry point

_YAML_SUFFIXES = (".yml", ".yaml", ".json", ".template")
def _top_key(text: str, *keys: str) -> bool:
    """Whether one of ``keys`` is a top-level YAML key (``key:`` at the start of a line) or a JSON key: substring
    tests only, so a megabyte file costs one scan per key."""
    for key in keys:
        if text.startswith(key + ":") or ("\n" + key + ":") in text or ('"' + key + '"') in text:
            return True
    return False


def _classify(path: str, text: str, cdk_roots: set[str],
              diags: list[Diagnostic] | None = None) -> tuple[str, Any] | None:
    """What a file that no name identifies is, by its content: (system, parsed documents) or None. Every check
    starts with substring tests, so the thousands of YAML files of a big repository are not parsed."""
    from mlscore.facts.yamlsafe import load_yaml_docs

    if path.endswith(".tf"):
        if "aws_codebuild_project" in text or "google_cloudbuild_trigger" in text or "aws_codepipeline" in text:
            return "terraform", None
        return None
    if path.endswith((".py", ".ts", ".js")):
        under_cdk = any(r == "" or path.startswith(r + "/") for r in cdk_roots)
        if (under_cdk or (path.endswith(".py") and "aws_cdk" in text)) and (
                "codebuild" in text or "CodePipelineSource" in text or "ShellStep" in text):
            return "cdk", None
        return None
    if path.endswith((".groovy", ".jenkinsfile", ".Jenkinsfile")):
        if re.search(r"\bpipeline\s*\{", text) and re.search(r"\b(stages|steps)\s*\{", text) or (
                re.search(r"\bnode\s*[({]", text) and re.search(r"\bstage\s*\(", text)):
            return "jenkins", None
        return None
    if not path.endswith(_YAML_SUFFIXES) or len(text) > 2_000_000:
        return None
    checks = {
        "tekton": "tekton.dev" in text,
        "cfn": "AWS::CodeBuild::Project" in text or "AWS::CodePipeline::Pipeline" in text,
        "codebuild": "phases" in text and "version" in text and "commands" in text and _top_key(text, "phases"),
        "cloudbuild": "steps" in text and "name" in text and ("args" in text or "entrypoint" in text
                                                              or "script" in text) and _top_key(text, "steps"),
        "cloudbuild_trigger": ("filename" in text or "build" in text) and any(k in text for k in _CB_TRIGGER_SOURCES)
        and _top_key(text, *_CB_TRIGGER_SOURCES) and _top_key(text, "filename", "build", "gitFileSource", "autodetect"),
        "drone": "pipeline" in text and "steps" in text and bool(re.search(r"(?m)^kind:[ \t]*[\"']?pipeline\b", text)),
        "azure": any(k in text for k in ("trigger", "pr:", "schedules", "pool:")) and any(
            k in text for k in ("steps", "jobs", "stages", "extends")) and any(
            k in text for k in ("task:", "script:", "bash:", "template:", "pwsh:", "powershell:", "checkout:"))
        and _top_key(text, "trigger", "pr", "schedules", "pool"),
    }
    if not any(checks.values()):
        return None
    if "{{" in text and not checks["azure"] and not checks["tekton"]:
        from mlscore.facts.yamlsafe import strip_templates

        text = strip_templates(text)
    docs, d = load_yaml_docs(path, text)
    if d and diags is not None and (checks["tekton"] or checks["cfn"]):
        diags.extend(d)  # unmistakably CI by its text, yet not readable: say so (other YAML is other extractors')
    if not docs:
        return None
    first = docs[0]
    if checks["tekton"] and any(isinstance(d, dict) and "tekton.dev" in str(d.get("apiVersion", ""))
                                and d.get("kind") in _TEKTON_KINDS for d in docs):
        return "tekton", docs
    if checks["cfn"] and any(isinstance(d, dict) and isinstance(d.get("Resources"), dict) for d in docs):
        return "cfn", docs
    if checks["codebuild"] and buildspec_like(first):
        return "codebuild", first
    if checks["cloudbuild"] and cloudbuild_like(first):
        return "cloudbuild", first
    if checks["cloudbuild_trigger"] and any(cloudbuild_trigger_like(d) for d in docs):
        return "cloudbuild_trigger", docs
    if checks["drone"] and any(isinstance(d, dict) and d.get("kind") == "pipeline" for d in docs):
        return "drone", None
    if checks["azure"] and azure_pipeline_like(first):
        return "azure", None
    return None


def extract_ci(files: Iterable[str], read: Reader) -> CiFacts:
    """Parse every CI definition among ``files``; see the module docstring."""
    file_list = sorted({f for f in files if wanted(f)})
    file_set = set(file_list)
    cdk_roots = {posixpath.dirname(f) for f in file_list if posixpath.basename(f) == "cdk.json"}
    diags: list[Diagnostic] = []
    jobs: list[Job] = []
    commented: list[CommentedStep] = []
    parsed: list[str] = []
    decls: list[_Decl] = []
    tf_modules: dict[str, list[dict[str, Any]]] = {}
    tekton = _Tekton()
    azure_roots: list[tuple[str, list[Job], bool]] = []
    azure_templates: set[str] = set()
    seeds = _seed_roots(file_list, read)
    for path in file_list:
        system = _system_of(path)
        if system == "github_action":
            continue  # read through the steps that use it
        if system == "gitlab" and path != ".gitlab-ci.yml" and ".gitlab-ci.yml" in file_set:
            continue  # included files are parsed from the root file
        seed = _NESTED_WORKFLOW.match(path)
        if system is None and seed and seed.group(1) in seeds:
            text = read(path)
            if text is not None:
                parsed.append(path)
                try:
                    jobs.extend(_parse_github(path, text, read, file_set, diags, root=seed.group(1)))
                except (RecursionError, ValueError, TypeError, AttributeError, KeyError) as exc:
                    diags.append(Diagnostic(path=path, message=f"CI file not understood: {type(exc).__name__}"))
            continue
        if system is None and not path.endswith((*_YAML_SUFFIXES, ".tf", ".py", ".ts", ".js", ".groovy",
                                                 ".jenkinsfile", ".Jenkinsfile")):
            continue
        if system is None and path.endswith((".ts", ".js")) and not any(
                r == "" or path.startswith(r + "/") for r in cdk_roots):
            continue  # TypeScript and JavaScript are read only in CDK apps (a cdk.json above them)
        if _DISABLED_NAME.search(path) and system != "github":
            continue  # renamed out of the CI system's sight (C6)
        text = read(path)
        if text is None:
            continue
        try:
            payload: Any = None
            if system is None:
                got = _classify(path, text, cdk_roots, diags)
                if got is None:
                    continue
                system, payload = got
            parsed.append(path)
            if system == "github":
                jobs.extend(_parse_github(path, text, read, file_set, diags))
                commented.extend(_commented_steps(path, text))
            elif system == "gitlab":
                jobs.extend(_parse_gitlab(path, read, file_set, diags))
                commented.extend(_commented_steps(path, text))
            elif system == "azure":
                az, has_trigger = _parse_azure(path, text, read, file_set, diags, azure_templates)
                azure_roots.append((path, az, has_trigger))
                commented.extend(_commented_steps(path, text))
            elif system == "circleci":
                jobs.extend(_parse_circleci(path, text, diags))
                commented.extend(_commented_steps(path, text))
            elif system == "jenkins":
                js, cs = _parse_jenkins(path, text)
                jobs.extend(js)
                commented.extend(cs)
            elif system == "cloudbuild":
                jobs.extend(_cloudbuild_jobs(path, payload) if payload is not None else
                            _parse_cloudbuild(path, text, diags))
            elif system == "codebuild":
                jobs.extend(_codebuild_jobs(path, payload) if payload is not None else
                            _parse_codebuild(path, text, diags))
            elif system == "travis":
                jobs.extend(_parse_travis(path, text, diags))
                commented.extend(_commented_steps(path, text))
            elif system == "drone":
                jobs.extend(_parse_drone(path, text, diags))
            elif system == "bitbucket":
                jobs.extend(_parse_bitbucket(path, text, diags))
            elif system == "buildkite":
                jobs.extend(_parse_buildkite(path, text, diags))
            elif system == "tekton":
                for doc in payload or []:
                    tekton.add(path, doc)
            elif system == "cfn":
                decls.extend(_cfn_decls(path, payload or []))
            elif system == "terraform":
                got_decls, links = _tf_decls(path, text)
                decls.extend(got_decls)
                tf_modules.setdefault(posixpath.dirname(path), []).append(links)
            elif system == "cdk":
                decls.extend(_cdk_decls(path, text))
            elif system == "cloudbuild_trigger":
                for doc in payload or []:
                    if not cloudbuild_trigger_like(doc):
                        continue
                    line = line_of(doc) or 1
                    name = _str(doc.get("name")) or "trigger"
                    trig = _cb_trigger_kinds(doc, line)
                    detail = f"Cloud Build trigger {name} ({path}:{line})"
                    trig = [t.model_copy(update={"detail": (t.detail + "; " if t.detail else "") + detail})
                            for t in trig]
                    spec = _str(doc.get("filename")) or _str(_dig_get(doc, "gitFileSource", "path"))
                    if isinstance(doc.get("build"), dict):
                        jobs.extend(j.model_copy(update={"disabled": doc.get("disabled") is True})
                                    for j in _cloudbuild_jobs(path, doc["build"], tuple(trig) or (_CB_MANUAL,),
                                                              job_id=name))
                    elif spec:
                        decls.append(_Decl("cloudbuild", path, line, name, spec_path=spec, triggers=trig,
                                           disabled=doc.get("disabled") is True))
        except (RecursionError, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            diags.append(Diagnostic(path=path, message=f"CI file not understood: {type(exc).__name__}: {exc}"[:300]))
    # Azure: a file another pipeline includes as a template is not a pipeline of its own unless it says so
    for path, az, has_trigger in azure_roots:
        if path in azure_templates and not has_trigger:
            continue
        jobs.extend(az)
    try:
        jobs.extend(tekton.jobs())
    except (RecursionError, ValueError, TypeError, AttributeError, KeyError) as exc:
        diags.append(Diagnostic(path="", message=f"Tekton resources not understood: {type(exc).__name__}"))
    _tf_link(tf_modules)
    jobs = _apply_decls(jobs, decls, file_set, read, diags, parsed)
    jobs = _link_reusable(jobs)
    jobs = _link_workflow_run(jobs)
    return CiFacts(jobs=tuple(jobs), commented=tuple(commented), files=tuple(parsed), diagnostics=tuple(diags))


def _seed_roots(files: list[str], read: Reader) -> set[str]:
    """Folders holding a template's seed workflows (``seedcode/.github/workflows/*.yml``) that a README tells
    users to copy into place: GitHub reads only the root's workflows, but these are the template's CI (C6)."""
    dirs = {m.group(1) for m in map(_NESTED_WORKFLOW.match, files) if m}
    if not dirs:
        return set()
    readmes = [t for t in (read(f) for f in files if _README.match(posixpath.basename(f))
                           and f.count("/") <= 3) if t][:50]
    out: set[str] = set()
    for d in dirs:
        name = re.escape(posixpath.basename(d))
        near = re.compile(r"\bcop(?:y|ies|ied|ying)\b[^\n]{0,200}\b" + name + r"\b|\b" + name +
                          r"\b[^\n]{0,200}\bcop(?:y|ies|ied|ying)\b", re.IGNORECASE)
        if any(near.search(t[:200_000]) for t in readmes):
            out.add(d)
    return out


def _apply_decls(jobs: list[Job], decls: list[_Decl], files: set[str], read: Reader, diags: list[Diagnostic],
                 parsed: list[str]) -> list[Job]:
    """Give each build spec the triggers of the declarations that run it (a Cloud Build trigger, a CodeBuild
    project started by a webhook or a CodePipeline); declared inline specs and commands become jobs of their own.
    A spec nothing declares keeps its manual trigger (a build submitted by a person still counts, G5a)."""
    by_file: dict[str, list[_Decl]] = {}
    roots: dict[str, str] = {}
    extra: list[Job] = []
    for d in decls:
        triggers = tuple(dict.fromkeys(d.triggers)) or ((_CB_MANUAL,) if d.system == "cloudbuild"
                                                        else (_CODEBUILD_MANUAL,))
        if d.commands:
            steps = tuple(_script_step(d.file, line, cmd, first_line=line, errexit=True, pipefail=False, cwd=None,
                                       name=d.name) for line, cmd in d.commands)
            extra.append(Job(file=d.file, line=d.line, id=d.name, system="codebuild", triggers=triggers, steps=steps,
                             disabled=d.disabled))
            continue
        if isinstance(d.inline, str):
            doc, dg = load_yaml(d.file, d.inline)
            if dg:
                diags.append(Diagnostic(path=d.file, message=f"inline build spec of {d.name} not understood"))
            offset = max(d.inline_line - 1, 0)
            maker = _codebuild_jobs if d.system == "codebuild" else _cloudbuild_jobs
            extra.extend(j.model_copy(update={"disabled": d.disabled})
                         for j in maker(d.file, doc, triggers, job_id=d.name, line_offset=offset))
            continue
        got = _resolve_spec(d, files)
        if got is None:
            if d.spec_path and d.triggers:
                diags.append(Diagnostic(path=d.file, message=f"{d.name} (line {d.line}) runs {d.spec_path}, which "
                                                             "is not in the tree"))
            continue
        by_file.setdefault(got[0], []).append(d)
        roots[got[0]] = got[1]
    have = {j.file for j in jobs}
    for target, ds in by_file.items():
        root = roots.get(target) or None
        if target in have and root is None:
            continue
        text = read(target)  # a spec named by a declaration, whatever its name or content
        if text is None:
            continue
        if target in have:  # run from its own source root: parse again with that working directory
            jobs = [j for j in jobs if j.file != target]
        doc, dg = load_yaml(target, text)
        diags.extend(dg)
        system = ds[0].system
        jobs.extend(_codebuild_jobs(target, doc, cwd=root) if system == "codebuild"
                    else _cloudbuild_jobs(target, doc, cwd=root))
        if target not in parsed:
            parsed.append(target)
    out: list[Job] = []
    for j in jobs:
        ds = by_file.get(j.file)
        if ds and j.system in ("codebuild", "cloudbuild"):
            trig = [t for d in ds if not d.disabled for t in d.triggers]
            update: dict[str, Any] = {"called_from": tuple(f"{d.file}:{d.line}" for d in ds)}
            if trig:
                update["triggers"] = tuple(dict.fromkeys(trig))
            if all(d.disabled for d in ds):
                update["disabled"] = True
            j = j.model_copy(update=update)
        out.append(j)
    return out + extra


def matches_any(path: str, globs: Iterable[str]) -> bool:
    """fnmatch helper shared by the extractors' ``wanted`` functions."""
    return any(fnmatch.fnmatchcase(path, g) for g in globs)
