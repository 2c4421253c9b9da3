"""Run `mlscore audit` on a hostile repository in a child process with a time and memory bound."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Address-space limit of the audit process (bytes). A Python process with pydantic and
#: gitpython needs a few hundred MB of address space; reading a 200 MB file twice would not fit.
MEMORY_LIMIT = int(os.environ.get("MLSCORE_SAFETY_AS_LIMIT", str(1536 * 1024 * 1024)))
#: Wall-clock bound on one audit (seconds); pytest-timeout is a backstop above it.
TIME_LIMIT = float(os.environ.get("MLSCORE_SAFETY_TIME_LIMIT", "60"))


@dataclass
class AuditRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_kb: int
    report: dict[str, Any] | None = field(default=None)

    @property
    def diagnostics(self) -> list[dict[str, Any]]:
        return list((self.report or {}).get("diagnostics") or [])

    def diagnostic_paths(self) -> set[str]:
        return {d.get("path") or "" for d in self.diagnostics}

    def describe(self) -> str:
        return (
            f"exit {self.returncode} after {self.seconds:.1f}s, maxrss {self.max_rss_kb // 1024} MB\n"
            f"stderr: {self.stderr[-2000:]}\nstdout: {self.stdout[:500]}"
        )


def mlscore_command() -> list[str]:
    """The installed console script (sys.path[0] is its bin dir, never the cwd), else -P -m."""
    script = Path(sys.executable).with_name("mlscore")
    if script.exists():
        return [str(script)]
    found = shutil.which("mlscore")
    return [found] if found else [sys.executable, "-P", "-m", "mlscore"]


def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def audit(path: Path, *, cwd: Path | None = None, fmt: str = "json", extra: tuple[str, ...] = ()) -> AuditRun:
    """`mlscore audit PATH --format FMT`, run from ``cwd`` (default: PATH itself, as a user would)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLSCORE_"))}
    env["HOME"] = str(path.parent / "home")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    Path(env["HOME"]).mkdir(exist_ok=True)
    cmd = [*mlscore_command(), "audit", str(path), "--format", fmt, *extra]
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=str(cwd or path),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        preexec_fn=_limit_memory,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=TIME_LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        stdout, stderr = proc.communicate()
        raise AssertionError(f"mlscore audit {path} did not finish within {TIME_LIMIT:.0f}s") from None
    seconds = time.perf_counter() - started
    max_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    run = AuditRun(proc.returncode, stdout, stderr, seconds, max_rss)
    if stdout.strip():
        try:
            run.report = json.loads(stdout)
        except json.JSONDecodeError:
            run.report = None
    return run


def assert_completed(run: AuditRun) -> dict[str, Any]:
    """Exit 0 or 1, never 2 (input error) or 3 (internal error) or a signal; a full JSON report."""
    assert run.returncode in (0, 1), run.describe()
    assert run.report is not None, "stdout is not a JSON report\n" + run.describe()
    assert run.report.get("kind") == "audit", run.describe()
    ids = [r["rule_id"] for r in run.report["results"]]
    assert len(ids) == 28 and len(set(ids)) == 28, ids
    assert "diagnostics" in run.report
    return run.report


def git_init(path: Path) -> None:
    """Make ``path`` a git repository with one commit of everything in it (hooks are added later)."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(path.parent),
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "init"]):
        subprocess.run(["git", "-C", str(path), *args], check=True, env=env, capture_output=True)
