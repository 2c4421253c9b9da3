"""Bounded audits: every real repository finishes fast, small, and without a crash (issue 10).

For each checkout under ``--corpus-dir`` (repeatable; one directory per repository, named ``owner+name``),
run ``python -m mlscore audit PATH --format json`` in a fresh process under a timeout and record its wall
time, CPU time, peak RSS, exit code, whether stderr holds a traceback or an internal error, and what the
JSON report says (score, diagnostics, incomplete tests). Print a table and the targets:

- every audit under ``--max-seconds`` (10) wall seconds and ``--max-rss-mb`` (300) MB peak RSS,
- exit code 0 or 1 (never 2, 3, or killed by the timeout),
- no traceback and no "internal error" on stderr.

    .venv/bin/python benchmarks/bounded.py --corpus-dir /tmp/bounded/repos --corpus-dir /tmp/devcorpus/repos \\
        --repos benchmarks/bounded-repos.txt --json /tmp/bounded.json --check

``--repos FILE`` (``owner/name commit`` per line) checks that each listed checkout is at its commit and
reports the listed ones that are missing; without it every subdirectory is audited. ``--check`` exits 1 when
a target is missed. Peak RSS is the child's own ``ru_maxrss`` from ``os.wait4``; CPU is its user + system time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TARGETS = {"max_seconds": 10.0, "max_rss_mb": 300.0}
OK_EXIT = (0, 1)
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "internal error")


@dataclass
class Run:
    repo: str
    path: str
    files: int | None = None
    commit: str | None = None
    expected_commit: str | None = None
    seconds: float | None = None
    cpu_seconds: float | None = None
    max_rss_mb: float | None = None
    exit_code: int | None = None
    timed_out: bool = False
    traceback: bool = False
    stderr_tail: str = ""
    score: float | None = None
    diagnostics: int | None = None
    incomplete: list[str] = field(default_factory=list)
    error: str | None = None

    def misses(self, max_seconds: float, max_rss_mb: float) -> list[str]:
        out = []
        if self.error:
            out.append(self.error)
        if self.timed_out:
            out.append(f"killed after the timeout ({self.seconds:.0f} s)")
        elif self.seconds is not None and self.seconds >= max_seconds:
            out.append(f"{self.seconds:.1f} s >= {max_seconds:g} s")
        if self.max_rss_mb is not None and self.max_rss_mb >= max_rss_mb:
            out.append(f"{self.max_rss_mb:.0f} MB >= {max_rss_mb:g} MB")
        if not self.timed_out and self.exit_code is not None and self.exit_code not in OK_EXIT:
            out.append(f"exit {self.exit_code}")
        if self.traceback:
            out.append("traceback on stderr")
        return out


def run_audit(python: str, path: Path, *, timeout: float, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """One fresh ``mlscore audit PATH --format json`` process: wall and CPU seconds, peak RSS, exit code,
    stderr and the parsed report (None when it did not print one)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [python, "-m", "mlscore", "audit", str(path), "--format", "json", "-q"],
            cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
        )
        deadline = started + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                timed_out = True
                os.killpg(proc.pid, 9)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        report = None
        if not timed_out:
            out.seek(0)
            try:
                report = json.loads(out.read())
            except ValueError:
                report = None
    return {
        "seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
        "exit": proc.returncode, "timed_out": timed_out, "stderr": stderr, "report": report,
    }


def git_head(path: Path) -> str | None:
    done = subprocess.run(["git", "-C", str(path), "-c", "core.fsmonitor=false", "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def count_files(path: Path) -> int:
    """Regular files of the work tree (the .git directory left out)."""
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d != ".git"]
        total += len(files)
    return total


def read_list(path: Path) -> dict[str, str]:
    """``owner/name commit`` lines (``#`` comments) -> {owner+name: commit}."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        repo, _, commit = line.partition(" ")
        out[repo.replace("/", "+")] = commit.strip()
    return out


def checkouts(corpus_dirs: list[Path], only: list[str]) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for corpus in corpus_dirs:
        for child in sorted(corpus.iterdir(), key=lambda p: p.name.lower()):
            if not child.is_dir() or child.name.startswith("."):
                continue
            name = child.name
            if only and not any(o.replace("/", "+").lower() in name.lower() for o in only):
                continue
            found.append((name, child))
    return found


def measure(name: str, path: Path, args: argparse.Namespace, env: dict[str, str], cwd: Path,
            expected: dict[str, str]) -> Run:
    run = Run(repo=name.replace("+", "/", 1), path=str(path), files=count_files(path), commit=git_head(path),
              expected_commit=expected.get(name))
    if run.expected_commit and run.commit != run.expected_commit:
        run.error = f"checkout is at {str(run.commit)[:12]}, not {run.expected_commit[:12]}"
    got = run_audit(args.python, path, timeout=args.timeout, env=env, cwd=cwd)
    run.seconds, run.cpu_seconds, run.max_rss_mb = got["seconds"], got["cpu"], got["rss_mb"]
    run.exit_code, run.timed_out = got["exit"], got["timed_out"]
    stderr = got["stderr"]
    run.traceback = any(marker in stderr for marker in TRACEBACK_MARKERS)
    run.stderr_tail = "\n".join(stderr.strip().splitlines()[-6:])
    report = got["report"]
    if isinstance(report, dict):
        run.score = (report.get("score") or {}).get("value")
        run.diagnostics = len(report.get("diagnostics") or ())
        run.incomplete = [r.get("rule_id") for r in report.get("results") or ()
                          if r.get("incomplete") or r.get("error")]
    return run


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(runs: list[Run], args: argparse.Namespace) -> str:
    head = ["repository", "files", "seconds", "cpu s", "peak MB", "exit", "traceback", "diags", "incomplete",
            "score", "target"]
    rows = []
    for r in runs:
        misses = r.misses(args.max_seconds, args.max_rss_mb)
        seconds = f"> {args.timeout:.0f}" if r.timed_out else fmt(r.seconds, ".2f")
        rows.append([r.repo, str(r.files or "-"), seconds, fmt(r.cpu_seconds, ".2f"), fmt(r.max_rss_mb, ".0f"),
                     "killed" if r.timed_out else str(r.exit_code), "yes" if r.traceback else "no",
                     fmt(r.diagnostics, "d"), ",".join(r.incomplete) or "-", fmt(r.score, "g"),
                     "ok" if not misses else "MISS: " + "; ".join(misses)])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    return "\n".join(lines)


def summary(runs: list[Run], args: argparse.Namespace, missing: list[str]) -> tuple[list[str], bool]:
    finished = [r for r in runs if not r.timed_out and r.seconds is not None]
    lines = []
    ok = True
    slow = [r for r in runs if r.timed_out or (r.seconds or 0) >= args.max_seconds]
    big = [r for r in runs if (r.max_rss_mb or 0) >= args.max_rss_mb]
    bad_exit = [r for r in runs if r.timed_out or r.exit_code not in OK_EXIT]
    traced = [r for r in runs if r.traceback]
    errors = [r for r in runs if r.error]

    def line(label: str, bad: list[Run], detail: str) -> None:
        nonlocal ok
        ok = ok and not bad
        names = ", ".join(r.repo for r in bad[:8]) + (" ..." if len(bad) > 8 else "")
        lines.append(f"  {'ok  ' if not bad else 'MISS'}  {label}: {detail}" + (f"  ({names})" if bad else ""))

    worst_s = max(finished, key=lambda r: r.seconds or 0, default=None)
    worst_m = max(runs, key=lambda r: r.max_rss_mb or 0, default=None)
    line(f"every audit under {args.max_seconds:g} s", slow,
         f"{len(runs) - len(slow)}/{len(runs)}" + (f", slowest finished {worst_s.repo} {worst_s.seconds:.2f} s"
                                                   if worst_s else ""))
    line(f"every audit under {args.max_rss_mb:g} MB peak RSS", big,
         f"{len(runs) - len(big)}/{len(runs)}" + (f", largest {worst_m.repo} {worst_m.max_rss_mb:.0f} MB"
                                                  if worst_m and worst_m.max_rss_mb else ""))
    line("exit 0 or 1", bad_exit, f"{len(runs) - len(bad_exit)}/{len(runs)}")
    line("no traceback or internal error on stderr", traced, f"{len(runs) - len(traced)}/{len(runs)}")
    if errors:
        line("checkouts at their listed commits", errors, f"{len(runs) - len(errors)}/{len(runs)}")
    if missing:
        ok = False
        lines.append(f"  MISS  listed repositories without a checkout: {', '.join(missing)}")
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus-dir", type=Path, action="append", default=[],
                        help="A directory of checkouts named owner+name (repeatable).")
    parser.add_argument("--repos", type=Path, help="owner/name commit list: check commits, report missing ones.")
    parser.add_argument("--only", action="append", default=[], help="Only checkouts whose name contains this.")
    parser.add_argument("--timeout", type=float, default=120.0, help="Seconds before an audit is killed (120).")
    parser.add_argument("--max-seconds", type=float, default=TARGETS["max_seconds"])
    parser.add_argument("--max-rss-mb", type=float, default=TARGETS["max_rss_mb"])
    parser.add_argument("--python", default=sys.executable, help="Interpreter with mlscore installed.")
    parser.add_argument("--debug", action="store_true", help="Set MLSCORE_DEBUG=1 (tracebacks of internal errors).")
    parser.add_argument("--json", type=Path, help="Write every measurement to this JSON file.")
    parser.add_argument("--check", action="store_true", help="Exit 1 when a target is missed.")
    args = parser.parse_args(argv)
    if not args.corpus_dir:
        parser.error("give at least one --corpus-dir")
    for corpus in args.corpus_dir:
        if not corpus.is_dir():
            parser.error(f"--corpus-dir {corpus}: not a directory")

    expected = read_list(args.repos) if args.repos else {}
    found = checkouts(args.corpus_dir, args.only)
    if args.repos:
        listed = set(expected)
        found = [(n, p) for n, p in found if n in listed] + [(n, p) for n, p in found if n not in listed]
    missing = sorted(n.replace("+", "/", 1) for n in expected
                     if n not in {name for name, _ in found}
                     and (not args.only or any(o.replace("/", "+").lower() in n.lower() for o in args.only)))

    env = dict(os.environ)
    env.pop("MLSCORE_DEBUG", None)
    if args.debug:
        env["MLSCORE_DEBUG"] = "1"
    env.setdefault("NO_COLOR", "1")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="mlscore-bounded-") as neutral:
        for number, (name, path) in enumerate(found, 1):
            run = measure(name, path, args, env, Path(neutral), expected)
            runs.append(run)
            status = "killed" if run.timed_out else f"exit {run.exit_code}"
            print(f"[{number}/{len(found)}] {run.repo}: {fmt(run.seconds, '.2f')} s, {fmt(run.max_rss_mb, '.0f')} MB,"
                  f" {status}" + (", traceback" if run.traceback else ""), file=sys.stderr, flush=True)

    print(table(runs, args))
    print()
    print("Targets:")
    lines, ok = summary(runs, args, missing)
    print("\n".join(lines))
    for r in runs:
        if r.traceback or (r.exit_code not in OK_EXIT and not r.timed_out):
            print(f"\n{r.repo} stderr (last lines):\n{r.stderr_tail}")
    if args.json:
        args.json.write_text(json.dumps({
            "targets": {"max_seconds": args.max_seconds, "max_rss_mb": args.max_rss_mb, "exit": list(OK_EXIT)},
            "timeout": args.timeout, "python": args.python, "all_targets_met": ok, "missing": missing,
            "runs": [asdict(r) for r in runs],
        }, indent=2) + "\n")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
