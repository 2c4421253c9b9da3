"""CI definitions as facts: jobs, their normalised triggers and their steps' commands, never executed.

Public API
- ``wanted(path) -> bool``: whether ``extract_ci`` reads this repo-relative path (``CI_GLOBS`` lists the shapes).
- ``extract_ci(files, read) -> CiFacts``: parse every CI file among ``files`` (``read(path) -> str | None``).
  Systems: GitHub Actions (workflows, local composite actions, local reusable workflows), GitLab CI (local
  includes, ``extends``), Azure Pipelines (local step templates), CircleCI, Jenkinsfile (regex), Cloud Build, AWS
  CodeBuild buildspec, Travis. Malformed files give Diagnostics, never exceptions.
- ``Trigger``: ``kind`` in push, pull_request, schedule, manual, release, tag, merge_request, workflow_call,
  workflow_run, external (Cloud Build/CodeBuild: submitted or triggered outside the tree), other; ``detail`` (cron
  string, branches, event name); ``line``.
- ``ActionUse``: a ``uses:`` reference: ``name`` (lower-case ``owner/repo[/path]``), ``version``, ``inputs``
  (``with:`` as text), ``local``.
- ``Step``: ``file``/``line``/``name``; ``run`` text split into ``commands`` (``shell.ShellCommand``, with cwd
  from ``working-directory``/``cd``); ``commented`` command lines; ``uses``; ``swallowed`` + ``swallow_reason``
  (``continue-on-error``, ``allow_failure``, ``after_script``...); ``disabled`` (``if: false``, ``enabled: false``);
  ``surfaces`` (kinds of result surfacing, see ``SURFACE_KINDS``); ``setup_only`` (checkout/setup/install only);
  ``expanded`` (the steps of a local composite action it uses); ``events`` (trigger kinds it runs for when its
  ``if:`` tests ``github.event_name``, else None).
- ``event_filter(condition) -> (allowed kinds | None, excluded kinds)``: reads ``github.event_name ==/!=``
  tests; jobs' triggers are already filtered by their own ``if:``.
- ``Job``: ``file``/``line``/``id``/``name``/``system``, ``triggers``, ``steps``, ``swallowed``, ``disabled``,
  ``needs``, ``calls`` (reusable workflow ref), ``called_from`` (caller locations whose triggers it inherited),
  ``surfaces`` (union over steps and job-level reports), ``matrix``, ``workflow`` (GitHub workflow name). A
  ``workflow_run`` job also carries the triggers of the workflows it follows; a GitLab child pipeline
  (``trigger: include:``) carries its parent job's triggers.
- ``CommentedStep``: a commented-out step in a CI file (``# - run: pytest``): evidence of nothing (G2).
- ``CiFacts``: ``jobs``, ``commented``, ``files``, ``diagnostics``; ``jobs_in(path)``.
- ``SURFACE_KINDS`` / ``STRONG_SURFACES``: surfacing kinds; the strong ones count under G7 (a PR/commit comment,
  SARIF/code scanning, a notification, an issue, a published test report, published pages);
  ``coverage_report``, ``artifact`` and ``step_summary`` do not.
- ``surfaces_of_command(argv, text) -> tuple[str, ...]``: surfacing kinds of one shell command (``cml comment``,
  ``gh pr comment``, Slack webhooks, ``>> $GITHUB_STEP_SUMMARY``...); shared with the automation model.
"""

from __future__ import annotations

import fnmatch
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
    line_of,
    load_yaml,
    text_lines,
    value_line,
)
from mlscore.models import Diagnostic

Reader = Callable[[str], "str | None"]
System = Literal["github", "gitlab", "azure", "circleci", "jenkins", "cloudbuild", "codebuild", "travis"]
TriggerKind = Literal[
    "push", "pull_request", "schedule", "manual", "release", "tag", "merge_request", "workflow_call",
    "workflow_run", "external", "other",
]

_CI_KINDS = ("push", "pull_request", "schedule", "manual", "release", "tag", "merge_request", "workflow_call",
             "workflow_run", "external", "other")
CI_GLOBS: tuple[str, ...] = (
    ".github/workflows/*.yml", ".github/workflows/*.yaml", ".github/actions/*/action.yml",
    ".github/actions/*/action.yaml", "action.yml", "action.yaml", ".gitlab-ci.yml", "*.gitlab-ci.yml",
    ".gitlab/ci/*.yml", "azure-pipelines.yml", "azure-pipelines*.yml", "azure-pipelines*.yaml",
    ".azure-pipelines/*.yml", ".azure-pipelines/*.yaml", ".azure-pipelines/**/*.yml", ".azure/*.yml",
    "**/.azuredevops/**/*.yml", "**/.ado/**/*.yml", "**/devops-pipelines/**/*.yml",
    ".circleci/config.yml", ".circleci/config.yaml", "Jenkinsfile", "**/Jenkinsfile", "Jenkinsfile.*",
    "cloudbuild.yaml", "cloudbuild.yml", "**/cloudbuild.yaml", "**/cloudbuild.yml", "cloudbuild*.yaml",
    "buildspec.yml", "buildspec.yaml", "**/buildspec.yml", "buildspec*.yml", ".travis.yml",
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
_AZURE = re.compile(r"^(.*/)?azure-pipelines[^/]*\.ya?ml$|^\.azure-pipelines/.+\.ya?ml$|^\.azure/[^/]+\.ya?ml$|"
                    r"(^|/)\.(azuredevops|ado)/.+\.ya?ml$|(^|/)(azure-|ado-)?devops-pipelines/.+\.ya?ml$")
_CIRCLE = re.compile(r"^\.circleci/config\.ya?ml$")
_JENKINS = re.compile(r"(^|/)Jenkinsfile([._-][^/]*)?$")
_CLOUDBUILD = re.compile(r"(^|/)cloudbuild[^/]*\.ya?ml$")
_CODEBUILD = re.compile(r"(^|/)buildspec[^/]*\.ya?ml$")
_TRAVIS = re.compile(r"^\.travis\.ya?ml$")


def _system_of(path: str) -> str | None:
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
    return None


def wanted(path: str) -> bool:
    """Whether ``extract_ci`` reads this repo-relative POSIX path."""
    return _system_of(path) is not None


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


_COMMENTED_STEP = re.compile(r"^\s*#\s*-?\s*(run|uses|script|sh|name|task|bash|command)\s*:\s*(\S.*)$")


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
                  read: Reader | None, files: set[str], depth: int, diags: list[Diagnostic]) -> list[Step]:
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
                expanded = tuple(_composite_steps(use.name, read, files, depth + 1, diags))
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
                  diags: list[Diagnostic]) -> list[Job]:
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
                              files=files, depth=0, diags=diags)
        needs = job.get("needs")
        needs_t = tuple(str(n) for n in needs) if isinstance(needs, list) else ((str(needs),) if needs else ())
        swallowed = _truthy(job.get("continue-on-error"))
        calls = _str(job.get("uses"))
        strategy = job.get("strategy")
        surf = tuple(dict.fromkeys(
            s for st in steps for s in (*st.surfaces, *(x for e in st.expanded for x in e.surfaces))))
        only, excluded = event_filter(job.get("if"))
        job_triggers = [t for t in triggers if (only is None or t.kind in only) and t.kind not in excluded]
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


def _gitlab_includes(doc: Any) -> list[str]:
    inc = doc.get("include") if isinstance(doc, dict) else None
    items = inc if isinstance(inc, list) else ([inc] if inc else [])
    out = []
    for it in items:
        if isinstance(it, str) and not it.startswith(("http://", "https://")):
            out.append(it)
        elif isinstance(it, dict) and isinstance(it.get("local"), str):
            out.append(it["local"])
    return [posixpath.normpath(p.lstrip("/")) for p in out if "*" not in p]


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
            queue.extend(_gitlab_includes(doc))
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
            for cp in _gitlab_includes({"include": inc}):
                for cj in _parse_gitlab(cp, read, files, diags, depth + 1):
                    out.append(cj.model_copy(update={"triggers": parent.triggers,
                                                     "called_from": (f"{p}:{jline}",)}))
    return out


# --------------------------------------------------------------------------------------------------- Azure

def _azure_triggers(doc: dict[str, Any]) -> list[Trigger]:
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
    if not out:  # `trigger: none`: the pipeline is queued by hand (still a CI run, G5a)
        out.append(Trigger(kind="manual", detail="queued by hand (trigger: none)", line=line_of(doc, "trigger")))
    return out


_AZURE_SCRIPT_KEYS = ("script", "bash", "pwsh", "powershell")


def _azure_steps(path: str, steps: Any, read: Reader, files: set[str], diags: list[Diagnostic],
                 depth: int = 0) -> list[Step]:
    out: list[Step] = []
    if not isinstance(steps, list):
        return out
    for k, st in enumerate(steps):
        if not isinstance(st, dict):
            continue
        line = line_of(steps, k) or 1
        name = _str(st.get("displayName")) or _str(st.get("name"))
        swallowed = _truthy(st.get("continueOnError"))
        reason = "continueOnError: true" if swallowed else None
        disabled = st.get("enabled") is False or _falsy_condition(st.get("condition"))
        wd = _str(st.get("workingDirectory"))
        if wd:
            wd = re.sub(r"^\$\((Build\.SourcesDirectory|System\.DefaultWorkingDirectory|"
                        r"Pipeline\.Workspace)\)/?", "", wd) or None
        key = next((x for x in _AZURE_SCRIPT_KEYS if x in st), None)
        if key is not None:
            script = text_lines(st.get(key)) or ""
            errexit = key in ("pwsh", "powershell")  # bash/script steps run without -e
            out.append(_script_step(path, line, script, first_line=_block_first_line(st, key, script),
                                    errexit=errexit, pipefail=False, cwd=wd, name=name, swallowed=swallowed,
                                    swallow_reason=reason, disabled=disabled, shell=key))
        elif isinstance(st.get("task"), str):
            task = st["task"]
            inputs = as_dict(st.get("inputs"))
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
            if tname in ("bash", "cmdline", "shellscript", "powershell", "pythonscript"):
                script = text_lines(inputs.get("script")) or None
                fp = _str(inputs.get("filePath")) or _str(inputs.get("scriptPath"))
                if not script and fp:
                    fp = re.sub(r"^\$\([\w.]+\)/?", "", fp)
                    arguments = _str(inputs.get("arguments")) or ""
                    script = (f"python {fp}" if tname == "pythonscript" else f"bash {fp}") + (
                        " " + arguments if arguments else "")
            if script:
                out.append(_script_step(path, line, script, first_line=line, errexit=False, pipefail=False,
                                        cwd=wd, name=name, uses=use, swallowed=swallowed, swallow_reason=reason,
                                        disabled=disabled, surfaces=tuple(surf)))
            else:
                setup = bool(re.match(r"(usepythonversion|checkout|pipauthenticate|cache|downloadpipelineartifact|"
                                      r"condaenvironment|nodetool|docker|azurecli|kubectl)", tname)) and not surf
                out.append(Step(file=path, line=line, name=name, uses=use, swallowed=swallowed,
                                swallow_reason=reason, disabled=disabled, surfaces=tuple(surf), setup_only=setup))
        elif "checkout" in st:
            out.append(Step(file=path, line=line, name="checkout", setup_only=True))
        elif isinstance(st.get("template"), str) and depth < 3:
            tp = posixpath.normpath(posixpath.join(posixpath.dirname(path), st["template"].split("@")[0]))
            text = read(tp)
            if text is None:
                diags.append(Diagnostic(path=path, message=f"Azure template {tp} not found (line {line})"))
                continue
            doc, d = load_yaml(tp, text)
            diags.extend(d)
            if isinstance(doc, dict):
                out.extend(_azure_steps(tp, doc.get("steps"), read, files, diags, depth + 1))
    return out


def _parse_azure(path: str, text: str, read: Reader, files: set[str], diags: list[Diagnostic]) -> list[Job]:
    doc, d = load_yaml(path, text)
    diags.extend(d)
    if not isinstance(doc, dict):
        return []
    if not any(k in doc for k in ("steps", "jobs", "stages", "trigger", "pr", "schedules", "pool")):
        return []  # a template file, parsed where it is used
    triggers = _azure_triggers(doc)
    out: list[Job] = []

    def add_jobs(jobs: Any) -> None:
        if not isinstance(jobs, list):
            return
        for k, job in enumerate(jobs):
            if not isinstance(job, dict):
                continue
            jid = _str(job.get("job")) or _str(job.get("deployment")) or f"job{k}"
            steps_src = job.get("steps")
            strat = job.get("strategy")
            if steps_src is None and isinstance(strat, dict):  # deployment jobs
                for phase in strat.values():
                    if isinstance(phase, dict):
                        for ph in phase.values():
                            if isinstance(ph, dict) and "steps" in ph:
                                steps_src = ph["steps"]
            steps = _azure_steps(path, steps_src, read, files, diags)
            sw = _truthy(job.get("continueOnError"))
            out.append(Job(file=path, line=line_of(jobs, k) or 1, id=jid, name=_str(job.get("displayName")),
                           system="azure", triggers=tuple(triggers), steps=tuple(steps), swallowed=sw,
                           swallow_reason="continueOnError: true" if sw else None,
                           disabled=_falsy_condition(job.get("condition")),
                           surfaces=tuple(dict.fromkeys(s for st in steps for s in st.surfaces)),
                           matrix=isinstance(strat, dict) and "matrix" in strat))

    if isinstance(doc.get("stages"), list):
        for stage in doc["stages"]:
            if isinstance(stage, dict):
                add_jobs(stage.get("jobs"))
    if isinstance(doc.get("jobs"), list):
        add_jobs(doc["jobs"])
    if isinstance(doc.get("steps"), list):
        steps = _azure_steps(path, doc["steps"], read, files, diags)
        out.append(Job(file=path, line=line_of(doc, "steps") or 1, id="steps", system="azure",
                       triggers=tuple(triggers), steps=tuple(steps),
                       surfaces=tuple(dict.fromkeys(s for st in steps for s in st.surfaces))))
    return out


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
    """Blank ``//`` and ``/* */`` comments (outside strings, roughly), keeping line numbers."""
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.DOTALL)
    return re.sub(r"(?m)^(\s*)//.*$", lambda m: m.group(1), text)


def _parse_jenkins(path: str, text: str) -> tuple[list[Job], list[CommentedStep]]:
    text = text[:500_000]
    commented = [CommentedStep(file=path, line=i, text=raw.strip().lstrip("/").strip())
                 for i, raw in enumerate(text.split("\n"), start=1)
                 if re.match(r"^\s*//\s*(sh|bat)\b", raw)]
    clean = _strip_groovy_comments(text)
    triggers: list[Trigger] = []
    for m in _JENKINS_CRON.finditer(clean):
        line = clean.count("\n", 0, m.start()) + 1
        triggers.append(Trigger(kind="schedule" if m.group(1) == "cron" else "push", detail=m.group(3),
                                line=line))
    if not any(t.kind == "push" for t in triggers):
        triggers.insert(0, Trigger(kind="push", detail="multibranch/webhook (default)"))
    stages = [(clean.count("\n", 0, m.start()) + 1, m.group(1)) for m in _JENKINS_STAGE.finditer(clean)]
    steps: list[Step] = []
    for m in _JENKINS_SH.finditer(clean):
        line = clean.count("\n", 0, m.start()) + 1
        body = m.group("body")
        first = line + (1 if m.group("q") in ("'''", '"""') and body.startswith("\n") else 0)
        stage = next((name for sl, name in reversed(stages) if sl <= line), None)
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


# --------------------------------------------------------------------------------------------------- Cloud Build, CodeBuild, Travis

def _parse_cloudbuild(path: str, text: str, diags: list[Diagnostic]) -> list[Job]:
    doc, d = load_yaml(path, text)
    diags.extend(d)
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list):
        return []
    steps: list[Step] = []
    raw = doc["steps"]
    for k, st in enumerate(raw):
        if not isinstance(st, dict):
            continue
        line = line_of(raw, k) or 1
        image = _str(st.get("name")) or ""
        entry = _str(st.get("entrypoint"))
        args = st.get("args")
        args_l = [str(a) for a in args] if isinstance(args, list) else ([str(args)] if args else [])
        script = _str(st.get("script"))
        if script is None and entry in ("bash", "sh", "/bin/bash", "/bin/sh") and len(args_l) >= 2 and \
                args_l[0] == "-c":
            script = args_l[1]
        if script is None:
            head = [entry] if entry else []
            if not entry and image:
                base = image.split("/")[-1].split(":")[0]
                if base in ("docker", "gcloud", "kubectl", "gsutil", "git", "bq", "npm", "mvn", "gradle"):
                    head = [base]
            script = " ".join(_quote(a) for a in head + args_l)
        sw = st.get("allowFailure") is True
        # `bash -c` scripts and `script:` run without -e: only their last command decides the step
        steps.append(_script_step(path, line, script, first_line=line, errexit=False, pipefail=False,
                                  cwd=_str(st.get("dir")), name=_str(st.get("id")) or image,
                                  swallowed=sw, swallow_reason="allowFailure: true" if sw else None))
    return [Job(file=path, line=line_of(doc, "steps") or 1, id="build", system="cloudbuild",
                triggers=(Trigger(kind="external", detail="gcloud builds submit or a trigger outside the tree"),),
                steps=tuple(steps), surfaces=tuple(dict.fromkeys(s for st in steps for s in st.surfaces)))]


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def _parse_codebuild(path: str, text: str, diags: list[Diagnostic]) -> list[Job]:
    doc, d = load_yaml(path, text)
    diags.extend(d)
    if not isinstance(doc, dict) or not isinstance(doc.get("phases"), dict):
        return []
    steps: list[Step] = []
    for phase, body in doc["phases"].items():
        if not isinstance(body, dict):
            continue
        cmds = body.get("commands")
        sw = str(body.get("on-failure", "")).upper() == "CONTINUE"
        for k, c in enumerate(cmds if isinstance(cmds, list) else []):
            script = text_lines(c)
            if not script:
                continue
            line = line_of(cmds, k) or 1
            steps.append(_script_step(path, line, script, first_line=line, errexit=True, pipefail=False, cwd=None,
                                      name=str(phase), swallowed=sw,
                                      swallow_reason="on-failure: CONTINUE" if sw else None))
    surf = ["test_report"] if isinstance(doc.get("reports"), dict) else []
    return [Job(file=path, line=line_of(doc, "phases") or 1, id="build", system="codebuild",
                triggers=(Trigger(kind="external", detail="CodeBuild/CodePipeline trigger outside the tree"),),
                steps=tuple(steps), surfaces=tuple(dict.fromkeys(surf + [s for st in steps for s in st.surfaces])))]


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

def extract_ci(files: Iterable[str], read: Reader) -> CiFacts:
    """Parse every CI definition among ``files``; see the module docstring."""
    file_list = [f for f in files if wanted(f)]
    file_set = set(file_list)
    diags: list[Diagnostic] = []
    jobs: list[Job] = []
    commented: list[CommentedStep] = []
    parsed: list[str] = []
    for path in sorted(file_list):
        system = _system_of(path)
        if system == "github_action":
            continue  # read through the steps that use it
        if system == "gitlab" and path != ".gitlab-ci.yml" and ".gitlab-ci.yml" in file_set:
            continue  # included files are parsed from the root file
        text = read(path)
        if text is None:
            continue
        parsed.append(path)
        try:
            if system == "github":
                jobs.extend(_parse_github(path, text, read, file_set, diags))
                commented.extend(_commented_steps(path, text))
            elif system == "gitlab":
                jobs.extend(_parse_gitlab(path, read, file_set, diags))
                commented.extend(_commented_steps(path, text))
            elif system == "azure":
                jobs.extend(_parse_azure(path, text, read, file_set, diags))
                commented.extend(_commented_steps(path, text))
            elif system == "circleci":
                jobs.extend(_parse_circleci(path, text, diags))
                commented.extend(_commented_steps(path, text))
            elif system == "jenkins":
                js, cs = _parse_jenkins(path, text)
                jobs.extend(js)
                commented.extend(cs)
            elif system == "cloudbuild":
                jobs.extend(_parse_cloudbuild(path, text, diags))
            elif system == "codebuild":
                jobs.extend(_parse_codebuild(path, text, diags))
            elif system == "travis":
                jobs.extend(_parse_travis(path, text, diags))
                commented.extend(_commented_steps(path, text))
        except (RecursionError, ValueError, TypeError, AttributeError, KeyError) as exc:
            diags.append(Diagnostic(path=path, message=f"CI file not understood: {type(exc).__name__}: {exc}"[:300]))
    jobs = _link_reusable(jobs)
    jobs = _link_workflow_run(jobs)
    return CiFacts(jobs=tuple(jobs), commented=tuple(commented), files=tuple(parsed), diagnostics=tuple(diags))


def matches_any(path: str, globs: Iterable[str]) -> bool:
    """fnmatch helper shared by the extractors' ``wanted`` functions."""
    return any(fnmatch.fnmatchcase(path, g) for g in globs)
