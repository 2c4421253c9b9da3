"""Git history facts via gitpython: recent commits, bot authors, when a path last changed; read-only, bounded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from mlscore.facts.files import GIT_SAFE_ENV

MAX_COMMITS = 500
BOTS = ("dependabot", "renovate", "pre-commit-ci", "github-actions", "snyk-bot", "pyup-bot")


@dataclass
class GitHistory:
    """What the history says; LABELING.md G1: history is context for a rationale, never evidence by itself."""

    commits: int = 0
    last_commit: dt.datetime | None = None
    bot_commits: dict[str, int] = field(default_factory=dict)
    _repo: object | None = None
    _head: str | None = None

    def last_change(self, path: str) -> dt.datetime | None:
        """When ``path`` last changed at or before the audited commit (None if unknown)."""
        if self._repo is None:
            return None
        try:
            out = self._repo.git.log("-1", "--format=%ct", self._head or "HEAD", "--", path)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - history is optional context
            return None
        return dt.datetime.fromtimestamp(int(out), dt.timezone.utc) if out.strip().isdigit() else None


def read_history(root: Path, commit: str | None) -> GitHistory:
    """Summarise up to MAX_COMMITS commits before ``commit``; an unreadable or absent history gives an empty one."""
    try:
        import git  # gitpython

        repo = git.Repo(root, search_parent_directories=False)
        repo.git.update_environment(**GIT_SAFE_ENV)
        out = repo.git.log(f"-{MAX_COMMITS}", "--format=%ct%x00%an%x00%ae", commit or "HEAD")
    except Exception:  # noqa: BLE001 - not a repository, no commits yet, or git missing
        return GitHistory()
    history = GitHistory(_repo=repo, _head=commit)
    for line in out.splitlines():
        parts = line.split("\x00")
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        history.commits += 1
        when = dt.datetime.fromtimestamp(int(parts[0]), dt.timezone.utc)
        if history.last_commit is None or when > history.last_commit:
            history.last_commit = when
        who = f"{parts[1]} {parts[2]}".lower()
        for bot in BOTS:
            if bot in who:
                history.bot_commits[bot] = history.bot_commits.get(bot, 0) + 1
    return history
