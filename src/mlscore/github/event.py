"""Read the GitHub Actions context (GITHUB_* variables, the event payload) and the action's inputs (MLSCORE_*)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlscore.errors import ConfigError, InputError

MAX_EVENT_BYTES = 32 * 1024 * 1024
_ZERO_SHA = "0" * 40
_BOTS_WITHOUT_WRITE = ("dependabot[bot]", "dependabot-preview[bot]")


@dataclass(frozen=True)
class PullRequest:
    number: int
    base_sha: str | None
    head_sha: str | None
    base_ref: str | None
    head_ref: str | None
    head_repo: str | None
    author: str | None


@dataclass(frozen=True)
class GitHubContext:
    """What the runner tells a step about the run; every field comes from a documented GITHUB_* variable."""

    event_name: str
    repository: str
    actor: str
    api_url: str
    server_url: str
    workspace: Path
    run_id: str | None = None
    sha: str | None = None
    output_file: Path | None = None
    summary_file: Path | None = None
    pull_request: PullRequest | None = None
    push_before: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_pull_request(self) -> bool:
        return self.pull_request is not None

    @property
    def is_fork(self) -> bool:
        """A pull request from another repository: its GITHUB_TOKEN is read-only."""
        pr = self.pull_request
        return pr is not None and (
            pr.head_repo is None or pr.head_repo.lower() != self.repository.lower()
        )

    @property
    def is_dependabot(self) -> bool:
        """Dependabot runs get a read-only token too."""
        pr_author = self.pull_request.author if self.pull_request else None
        return self.actor in _BOTS_WITHOUT_WRITE or pr_author in _BOTS_WITHOUT_WRITE

    @property
    def can_write(self) -> bool:
        """Whether the token may comment or upload SARIF (false on fork and Dependabot pull requests)."""
        return not (self.is_fork or self.is_dependabot)

    @property
    def run_url(self) -> str | None:
        if not self.run_id or not self.repository:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def baseline_sha(self) -> str | None:
        """The commit to compare with: the PR's base, or the previous head of a push."""
        if self.pull_request is not None:
            return self.pull_request.base_sha
        if self.push_before and self.push_before != _ZERO_SHA:
            return self.push_before
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_event(path: Path) -> dict[str, Any]:
    """Parse the event payload file; a missing path is an empty event."""
    try:
        size = path.stat().st_size
        if size > MAX_EVENT_BYTES:
            raise InputError(f"{path}: event payload is {size} bytes, more than {MAX_EVENT_BYTES}")
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise InputError(f"GITHUB_EVENT_PATH {path}: no such file") from None
    except OSError as exc:
        raise InputError(f"GITHUB_EVENT_PATH {path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"GITHUB_EVENT_PATH {path}: not a JSON event payload: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"GITHUB_EVENT_PATH {path}: not a JSON object")
    return data


def _obj(parent: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _pull_request(payload: Mapping[str, Any]) -> PullRequest | None:
    pr = payload.get("pull_request")
    if not isinstance(pr, dict):
        return None
    number = pr.get("number", payload.get("number"))
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise InputError("event payload: pull_request.number is missing or not a positive integer")
    base, head, user = _obj(pr, "base"), _obj(pr, "head"), _obj(pr, "user")
    head_repo = _obj(head, "repo")
    return PullRequest(
        number=number,
        base_sha=_str(base.get("sha")),
        head_sha=_str(head.get("sha")),
        base_ref=_str(base.get("ref")),
        head_ref=_str(head.get("ref")),
        head_repo=_str(head_repo.get("full_name")),
        author=_str(user.get("login")),
    )


def read_context(env: Mapping[str, str]) -> GitHubContext:
    """Build the context from the environment the runner sets for every step."""
    event_name = env.get("GITHUB_EVENT_NAME", "")
    event_path = env.get("GITHUB_EVENT_PATH")
    payload = read_event(Path(event_path)) if event_path else {}
    pull_request = _pull_request(payload) if event_name.startswith("pull_request") else None
    output, summary = env.get("GITHUB_OUTPUT"), env.get("GITHUB_STEP_SUMMARY")
    return GitHubContext(
        event_name=event_name,
        repository=env.get("GITHUB_REPOSITORY", ""),
        actor=env.get("GITHUB_ACTOR", ""),
        api_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        server_url=env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
        workspace=Path(env.get("GITHUB_WORKSPACE") or "."),
        run_id=env.get("GITHUB_RUN_ID") or None,
        sha=env.get("GITHUB_SHA") or None,
        output_file=Path(output) if output else None,
        summary_file=Path(summary) if summary else None,
        pull_request=pull_request,
        push_before=_str(payload.get("before")) if event_name == "push" else None,
        payload=payload,
    )


@dataclass(frozen=True)
class ActionInputs:
    """The action's inputs, passed by action.yml as MLSCORE_<INPUT> variables (never interpolated into shell)."""

    path: str = "."
    config: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_under: float | None = None
    fail_on_drop: bool = False
    baseline: str = "auto"
    comment: bool = True
    summary: bool = True
    annotations: bool = True
    #: "changed": annotate findings only on lines the pull request (or push) changed; "all": every finding.
    annotations_scope: str = "changed"
    sarif_file: str = "mlscore.sarif"
    report_dir: str = "mlscore-report"
    github_token: str | None = field(default=None, repr=False)
    report_file: str | None = None
    baseline_report_file: str | None = None


def _bool(env: Mapping[str, str], name: str, input_name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"input {input_name} ({name}): expected true or false, got {raw!r}")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    return tuple(p.strip() for p in raw.replace("\n", ",").split(",") if p.strip())


def read_inputs(env: Mapping[str, str]) -> ActionInputs:
    """Parse the MLSCORE_* inputs; a malformed value is a ConfigError naming the input."""
    fail_under: float | None = None
    raw_fail = env.get("MLSCORE_FAIL_UNDER", "").strip()
    if raw_fail:
        try:
            fail_under = float(raw_fail)
        except ValueError:
            raise ConfigError(
                f"input fail-under (MLSCORE_FAIL_UNDER): not a number: {raw_fail!r}"
            ) from None
        if not 0 <= fail_under <= 14:
            raise ConfigError(f"input fail-under (MLSCORE_FAIL_UNDER): {raw_fail} is outside 0..14")
    fail_on_drop = _bool(env, "MLSCORE_FAIL_ON_DROP", "fail-on-drop", False)
    baseline = env.get("MLSCORE_BASELINE", "").strip() or "auto"
    if fail_on_drop and baseline.lower() in ("none", "false", "off"):
        raise ConfigError(f"input fail-on-drop needs a baseline to compare with, but baseline is {baseline!r} "
                          "(use auto or a git ref)")
    scope = env.get("MLSCORE_ANNOTATIONS_SCOPE", "").strip().lower() or "changed"
    if scope not in ("changed", "all"):
        raise ConfigError(
            f"input annotations-scope (MLSCORE_ANNOTATIONS_SCOPE): expected changed or all, got {scope[:40]!r}"
        )
    return ActionInputs(
        path=env.get("MLSCORE_PATH", "").strip() or ".",
        config=env.get("MLSCORE_CONFIG", "").strip() or None,
        select=_list(env, "MLSCORE_SELECT"),
        ignore=_list(env, "MLSCORE_IGNORE"),
        fail_under=fail_under,
        fail_on_drop=fail_on_drop,
        baseline=baseline,
        comment=_bool(env, "MLSCORE_COMMENT", "comment", True),
        summary=_bool(env, "MLSCORE_SUMMARY", "summary", True),
        annotations=_bool(env, "MLSCORE_ANNOTATIONS", "annotations", True),
        annotations_scope=scope,
        sarif_file=env.get("MLSCORE_SARIF_FILE", "").strip() or "mlscore.sarif",
        report_dir=env.get("MLSCORE_REPORT_DIR", "").strip() or "mlscore-report",
        github_token=env.get("MLSCORE_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or None,
        report_file=env.get("MLSCORE_REPORT_FILE", "").strip() or None,
        baseline_report_file=env.get("MLSCORE_BASELINE_REPORT_FILE", "").strip() or None,
    )


def environment() -> dict[str, str]:
    """A snapshot of the process environment (the one place `mlscore github` reads it)."""
    import os

    return dict(os.environ)
