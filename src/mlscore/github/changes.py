"""Which lines a pull request (or a push) changed: from git when the base commit is in the checkout, else from the
REST API's list of pull request files. Annotations are kept to these lines by default (as reviewdog's `added`
filter does), so a pull request is not told about files it never touched."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: ``@@ -a,b +c,d @@``: the new side starts at line c and spans d lines (1 when d is left out; 0 is a deletion).
_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_BINARY = re.compile(r"^Binary files .* and (.+) differ$")
_SHA = re.compile(r"[0-9a-f]{7,64}")
MAX_DIFF_BYTES = 64 * 1024 * 1024


@dataclass
class Changes:
    """Changed lines per file (paths relative to the workspace); a file mapped to None changed as a whole (binary,
    or too large for the API to give its patch)."""

    files: dict[str, set[int] | None] = field(default_factory=dict)
    source: str = ""

    def touches(self, path: str, line: int | None, end_line: int | None = None) -> bool:
        """Whether an annotation at ``path:line[-end_line]`` falls on a changed line (a file-level one: on a changed
        file)."""
        if path not in self.files:
            return False
        lines = self.files[path]
        if lines is None or line is None:
            return True
        last = end_line if end_line and end_line >= line else line
        return any(n in lines for n in range(line, min(last, line + 10_000) + 1))


def _unquote(path: str) -> str:
    """git's C-style quoting of unusual paths (``"a\\tb"``, octal bytes) undone."""
    if not (path.startswith('"') and path.endswith('"')):
        return path
    out = bytearray()
    body = path[1:-1].encode("utf-8", "surrogateescape")
    i = 0
    simple = {ord("n"): 10, ord("t"): 9, ord('"'): 34, ord("\\"): 92, ord("a"): 7, ord("b"): 8, ord("f"): 12,
              ord("r"): 13, ord("v"): 11}
    while i < len(body):
        c = body[i]
        if c == 92 and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in simple:
                out.append(simple[nxt])
                i += 2
                continue
            if i + 4 <= len(body) and all(48 <= d <= 55 for d in body[i + 1:i + 4]):
                out.append(int(body[i + 1:i + 4], 8) & 0xFF)
                i += 4
                continue
        out.append(c)
        i += 1
    return out.decode("utf-8", "replace")


def parse_patch(lines: Iterable[str], path: str | None = None) -> dict[str, set[int]]:
    """Added and modified lines (new side) of a unified diff, context lines left out; ``path`` for a patch of one
    file with no headers (the API's ``patch`` field). Hunk lengths are counted, so an added line that starts with
    ``+++`` is not taken for a file header."""
    files: dict[str, set[int]] = {}
    current = path
    if current is not None:
        files[current] = set()
    old_left = new_left = 0
    line_no = 0
    for line in lines:
        if old_left > 0 or new_left > 0:  # inside a hunk
            tag = line[:1]
            if tag == "+":
                if current is not None:
                    files[current].add(line_no)
                line_no += 1
                new_left -= 1
            elif tag == "-":
                old_left -= 1
            elif tag == "\\":  # "\ No newline at end of file"
                pass
            else:  # context (a blank line in some patches is context with its space stripped)
                line_no += 1
                new_left -= 1
                old_left -= 1
            continue
        if line.startswith("+++ "):
            name = line[4:].rstrip("\n")
            if name == "/dev/null":
                current = None
                continue
            name = _unquote(name)
            current = name.removeprefix("b/")
            files.setdefault(current, set())
            continue
        m = _HUNK.match(line)
        if m:
            old_left = int(m.group(1) if m.group(1) is not None else 1)
            line_no = int(m.group(2))
            new_left = int(m.group(3) if m.group(3) is not None else 1)
    return files


def from_git(workspace: Path, base: str, head: str = "HEAD") -> Changes | None:
    """The lines ``head`` changed since its merge base with ``base`` (``git diff base...head``), relative to the
    workspace; None when git cannot tell (the base commit is not in a shallow checkout, no git)."""
    import subprocess

    from mlscore.facts.files import git_env

    if not _SHA.fullmatch(base) or not (head == "HEAD" or _SHA.fullmatch(head)):
        return None
    args = ["git", "-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff", "--no-textconv", "-U0",
            "--relative", "--diff-filter=ACMRT", "-M", f"{base}...{head}", "--"]
    try:
        proc = subprocess.run(args, cwd=workspace, env=git_env(), capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 or len(proc.stdout) > MAX_DIFF_BYTES:
        return None
    text = proc.stdout.decode("utf-8", "replace").splitlines()
    files: dict[str, set[int] | None] = dict(parse_patch(text))
    for line in text:  # a binary file has no lines to match: it changed as a whole
        m = _BINARY.match(line)
        if m and m.group(1):
            files[_unquote(m.group(1)).removeprefix("b/")] = None
    return Changes(files, source=f"git diff {base[:12]}...{head[:12]}")


def from_api_files(items: Iterable[object]) -> Changes:
    """Changes from ``GET /repos/{o}/{r}/pulls/{n}/files`` items (``filename``, ``status``, ``patch``)."""
    files: dict[str, set[int] | None] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        name, status, patch = item.get("filename"), item.get("status"), item.get("patch")
        if not isinstance(name, str) or status == "removed":
            continue
        files[name] = parse_patch(patch.splitlines(), name)[name] if isinstance(patch, str) else None
    return Changes(files, source="the pull request's files (REST API)")
