"""The file index of an audited tree, read from disk or from a git commit, never following links out."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mlscore.models import Diagnostic

#: Files larger than this are indexed but not read (a 200 MB "data.py" is not code).
MAX_READ_BYTES = 2 * 1024 * 1024
#: Notebooks carry outputs (images); they get a larger budget.
MAX_NOTEBOOK_BYTES = 24 * 1024 * 1024
MAX_FILES = 250_000
MAX_DEPTH = 80

#: Directories never worth indexing in a walk (a git listing already leaves ignored files out).
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".nox",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints", "site-packages",
        ".eggs", "build", "dist", ".dvc/cache",
    }
)

#: Git must not run anything the audited repository configures (fsmonitor hooks, pagers...).
GIT_SAFE_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_PARAMETERS": "'core.fsmonitor'='false' 'core.hookspath'='/dev/null' "
    "'core.pager'='cat' 'core.untrackedcache'='false'",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
}


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_SAFE_ENV)
    return env


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # repo-relative POSIX path
    size: int
    symlink: bool = False

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        name = self.name
        dot = name.rfind(".")
        return name[dot:].lower() if dot > 0 else ""


@dataclass
class FileIndex:
    """Every file of the tree (paths sorted), plus how to read one safely."""

    root: str
    entries: dict[str, FileEntry]
    reader: _Reader
    from_git: bool
    commit: str | None = None
    ref: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __contains__(self, path: str) -> bool:
        return path in self.entries

    def __iter__(self) -> Iterator[FileEntry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def paths(self) -> list[str]:
        return list(self.entries)

    def read_bytes(self, path: str, limit: int = MAX_READ_BYTES) -> bytes | None:
        """Return the file's bytes, or None if it is missing, a link, or larger than ``limit``."""
        entry = self.entries.get(path)
        if entry is None or entry.symlink:
            return None
        if entry.size > limit:
            self.diagnostics.append(
                Diagnostic(path=path, message=f"skipped: {entry.size} bytes is over the {limit}-byte limit")
            )
            return None
        try:
            return self.reader.read(path, limit)
        except (OSError, ValueError) as exc:
            self.diagnostics.append(Diagnostic(path=path, message=f"unreadable: {exc}"))
            return None

    def read_text(self, path: str, limit: int = MAX_READ_BYTES) -> str | None:
        """Return the file as text (UTF-8, undecodable bytes replaced), or None if unreadable or binary."""
        data = self.read_bytes(path, limit)
        if data is None:
            return None
        if b"\x00" in data[:8192]:
            self.diagnostics.append(Diagnostic(path=path, message="skipped: binary content"))
            return None
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.diagnostics.append(Diagnostic(path=path, message="not valid UTF-8; undecodable bytes replaced"))
            return data.decode("utf-8", errors="replace")


class _Reader:
    def read(self, path: str, limit: int) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError


class _DiskReader(_Reader):
    FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

    def __init__(self, root: Path) -> None:
        self.root = str(root)

    def read(self, path: str, limit: int) -> bytes:
        # O_NOFOLLOW: a file swapped for a symlink after indexing is still not followed.
        fd = os.open(os.path.join(self.root, path), self.FLAGS)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError("not a regular file")
            chunks = []
            remaining = limit + 1
            while remaining > 0:
                chunk = os.read(fd, min(remaining, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)


class _GitReader(_Reader):
    def __init__(self, repo: object, shas: dict[str, str]) -> None:
        self.repo = repo
        self.shas = shas

    def read(self, path: str, limit: int) -> bytes:
        from binascii import unhexlify

        stream = self.repo.odb.stream(unhexlify(self.shas[path]))  # type: ignore[attr-defined]
        return stream.read(limit + 1)


def _git(root: Path, *args: str) -> bytes | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, env=git_env(), capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def is_git_worktree(root: Path) -> bool:
    """Whether ``root`` is in a git work tree (its top level or a subdirectory, not inside .git)."""
    out = _git(root, "rev-parse", "--is-inside-work-tree")
    return out is not None and out.strip() == b"true"


def index_path(root: Path) -> FileIndex:
    """Index a directory: tracked and untracked-but-not-ignored files when it is a git work tree, else a walk."""
    root = root.resolve()
    diagnostics: list[Diagnostic] = []
    listing = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard") if is_git_worktree(
        root
    ) else None
    entries: dict[str, FileEntry] = {}
    if listing is not None:
        names = sorted({n for n in listing.decode("utf-8", "surrogateescape").split("\0") if n})
        for name in names[:MAX_FILES]:
            entry = _lstat_entry(root, name)
            if entry is not None:
                entries[name] = entry
        if len(names) > MAX_FILES:
            diagnostics.append(Diagnostic(message=f"only the first {MAX_FILES} of {len(names)} files indexed"))
        commit = _git(root, "rev-parse", "HEAD")
        head = commit.decode().strip() if commit else None
        return FileIndex(str(root), entries, _DiskReader(root), True, head, None, diagnostics)
    for name in _walk(root, diagnostics):
        entry = _lstat_entry(root, name)
        if entry is not None:
            entries[name] = entry
        if len(entries) >= MAX_FILES:
            diagnostics.append(Diagnostic(message=f"stopped indexing at {MAX_FILES} files"))
            break
    return FileIndex(str(root), dict(sorted(entries.items())), _DiskReader(root), False, None, None, diagnostics)


def _lstat_entry(root: Path, name: str) -> FileEntry | None:
    try:
        st = os.lstat(os.path.join(root, name))
    except (OSError, ValueError):
        return None
    if stat.S_ISLNK(st.st_mode):
        return FileEntry(name, 0, symlink=True)
    if not stat.S_ISREG(st.st_mode):
        return None
    return FileEntry(name, st.st_size)


def _walk(root: Path, diagnostics: list[Diagnostic]) -> Iterator[str]:
    """Yield regular files and links under root, depth-first, never descending into links."""
    stack: list[tuple[Path, str, int]] = [(root, "", 0)]
    ignore = _root_gitignore(root)
    while stack:
        directory, prefix, depth = stack.pop()
        if depth > MAX_DEPTH:
            diagnostics.append(Diagnostic(path=prefix or ".", message=f"not indexed: deeper than {MAX_DEPTH} levels"))
            continue
        try:
            with os.scandir(directory) as it:
                children = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            diagnostics.append(Diagnostic(path=prefix or ".", message=f"unreadable directory: {exc.strerror}"))
            continue
        subdirs = []
        for child in children:
            rel = f"{prefix}{child.name}"
            if _ignored(rel, child.name, ignore):
                continue
            try:
                if child.is_dir(follow_symlinks=False):
                    if child.name not in SKIP_DIRS:
                        subdirs.append((Path(child.path), rel + "/", depth + 1))
                else:
                    yield rel
            except OSError:
                continue
        stack.extend(reversed(subdirs))


def _root_gitignore(root: Path) -> list[str]:
    try:
        with open(root / ".gitignore", "rb") as handle:
            text = handle.read(256 * 1024).decode("utf-8", "replace")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(("#", "!"))]


def _ignored(rel: str, name: str, patterns: list[str]) -> bool:
    from fnmatch import fnmatch

    for pattern in patterns:
        pat = pattern.rstrip("/")
        if "/" in pat.lstrip("/"):
            if fnmatch(rel, pat.lstrip("/")) or rel.startswith(pat.lstrip("/") + "/"):
                return True
        elif fnmatch(name, pat):
            return True
    return False


def index_git_ref(root: Path, ref: str) -> FileIndex:
    """Index the tree of ``ref`` straight from the object store; the work tree is never touched.

    ``root`` may be a subdirectory of the repository: then only that part of the commit's tree is indexed,
    with paths relative to ``root``, as for the work tree.
    """
    import git  # gitpython, imported only for history and refs

    from mlscore.errors import InputError

    try:
        repo = git.Repo(root, search_parent_directories=True)
        repo.git.update_environment(**GIT_SAFE_ENV)
        top = Path(repo.working_tree_dir or root).resolve()
        prefix = root.resolve().relative_to(top).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        commit = repo.commit(ref)
    except Exception as exc:  # noqa: BLE001 - gitpython and gitdb raise many kinds (BadName, BadObject...)
        if type(exc).__name__ in ("BadName", "BadObject"):
            reason = "no such branch, tag or commit (with actions/checkout, fetch-depth: 0 fetches the history)"
        else:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputError(f"{root}: cannot read git ref {ref!r}: {reason}") from None
    args = ["-r", "-l", "-z", "--full-tree", commit.hexsha] + (["--", prefix] if prefix else [])
    out = repo.git.ls_tree(*args)
    entries: dict[str, FileEntry] = {}
    shas: dict[str, str] = {}
    for record in out.split("\0"):
        if not record:
            continue
        meta, _, name = record.partition("\t")
        mode, kind, sha, size = meta.split()
        if kind != "blob":
            continue
        link = mode == "120000"
        if prefix:
            if not name.startswith(prefix):
                continue
            name = name[len(prefix):]
        entries[name] = FileEntry(name, 0 if size == "-" else int(size), symlink=link)
        shas[name] = sha
    return FileIndex(str(root), dict(sorted(entries.items())), _GitReader(repo, shas), True, commit.hexsha, ref)


def posix(path: str) -> str:
    return str(PurePosixPath(path))
