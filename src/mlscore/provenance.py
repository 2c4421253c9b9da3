"""Provenance of saved evidence: what a `mlscore data` or `mlscore probe` report describes, and whether an
audit may count it.

A report records the project it was made for (the git remote, the project's directory in the repository, its
name), the commit checked out, a fingerprint of the datasets (SHA-256 of each file) or of the endpoint, when it
was made and when it expires. `mlscore audit` counts a report only when that project is the audited one, the
commit is the audited commit or one of its ancestors, no dataset the audited tree holds has changed since, and
the report has neither expired nor passed ``report_max_age_days``; otherwise it says why it ignored it.

Standard library and pydantic only: `mlscore audit` imports this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from mlscore.facts.files import FileIndex

#: Days a report counts as evidence unless its maker says otherwise (``--valid-for``).
DEFAULT_VALID_DAYS = 30.0
MAX_VALID_DAYS = 3650.0
#: Files that mark a project's directory inside a repository (the nearest one above the working directory).
PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".mlscore.toml")
#: Clocks of the machine that made a report and of the one auditing may disagree a little.
CLOCK_SKEW = dt.timedelta(minutes=10)
#: A dataset in the audited tree larger than this is compared by size only (hashing it would slow the audit).
MAX_HASH_BYTES = 256 * 1024 * 1024
_COMMIT_RE = re.compile(r"[0-9a-f]{7,64}")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Project(_Record):
    """The project a report describes, or the one an audit is of."""

    name: str = Field(description="The project directory's name.")
    remotes: tuple[str, ...] = Field(
        default=(), description="The repository's remotes (origin first), normalised: host/owner/name, no scheme "
        "or credentials. Two projects are the same when they share one (a fork's clone with an upstream remote).")
    path: str = Field(default="", description="The project directory relative to the repository root ('' at it).")
    commit: str | None = Field(default=None, description="The commit checked out when the report was made.")
    in_git: bool = Field(default=False, description="Whether the directory was inside a git work tree.")

    def label(self) -> str:
        where = self.remotes[0] if self.remotes else f"'{self.name}'"
        if self.path:
            where += f" (directory {self.path})"
        return where


class Dataset(_Record):
    role: str = Field(description="reference, current, suite, sample, expected-predictions...")
    name: str = Field(description="The file name.")
    path: str | None = Field(default=None, description="Relative to the project directory, when inside it.")
    bytes: int = Field(ge=0)
    sha256: str


class Endpoint(_Record):
    url: str = Field(description="The probed URL, without credentials, query or fragment.")
    model: str | None = None


class Provenance(_Record):
    project: Project
    datasets: tuple[Dataset, ...] = ()
    endpoint: Endpoint | None = None
    fingerprint: str = Field(description="SHA-256 over the datasets' digests (or the endpoint): what was looked at.")
    created_at: str = Field(description="When the report was made (ISO 8601, UTC).")
    expires_at: str = Field(description="After this instant the report no longer counts as evidence.")


def describe(prov: Provenance | None) -> str | None:
    """One line for people: what the report is evidence for and until when (the text, Markdown and HTML views)."""
    if prov is None:
        return None
    p = prov.project
    where = p.label() + (f" @ {p.commit[:12]}" if p.commit else "")
    what = (f"{len(prov.datasets)} dataset{'s' if len(prov.datasets) != 1 else ''} fingerprinted"
            if prov.datasets else (f"endpoint {prov.endpoint.url}" if prov.endpoint is not None else "no inputs"))
    return f"evidence for {where}; {what} ({prov.fingerprint[:12]}); valid until {prov.expires_at}"


# -- making ---------------------------------------------------------------------------------------------------

def _git(cwd: Path, *args: str) -> tuple[int, str]:
    """Run git with the repository's hooks, fsmonitor and pager disabled; (-1, '') when git is missing."""
    from mlscore.facts.files import git_env

    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=git_env(), capture_output=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return -1, ""
    return proc.returncode, proc.stdout.decode("utf-8", "replace").strip()


def normalize_remote(url: str | None) -> str | None:
    """``https://tok@github.com/Acme/Repo.git``, ``git@github.com:acme/repo`` -> ``github.com/acme/repo``."""
    if not url:
        return None
    url = url.strip()
    m = re.match(r"^(?:[\w.+-]+@)?([\w.-]+):(?!//)(.+)$", url)  # scp-like: git@host:owner/name
    if m and "/" not in m.group(1):
        host, path = m.group(1), m.group(2)
    else:
        parts = urlsplit(url)
        if parts.scheme in ("", "file"):
            host, path = "", parts.path
        else:
            host, path = parts.hostname or "", parts.path
    path = re.sub(r"\.git/?$", "", path.strip("/")).strip("/")
    out = f"{host.lower()}/{path}" if host else "/" + path
    return out.lower() if host else out


def _remotes(top: Path) -> tuple[str, ...]:
    """Every remote's URL, normalised, origin first (at most 10)."""
    code, out = _git(top, "config", "--local", "--get-regexp", r"^remote\..*\.url$")
    if code != 0:
        return ()
    found: list[tuple[bool, str]] = []
    for line in out.splitlines()[:50]:
        key, _, url = line.partition(" ")
        norm = normalize_remote(url)
        if norm and all(norm != f for _, f in found):
            found.append((key != "remote.origin.url", norm))
    return tuple(url for _, url in sorted(found, key=lambda item: item[0]))[:10]


def git_toplevel(directory: Path) -> Path | None:
    code, out = _git(directory, "rev-parse", "--show-toplevel")
    return Path(out).resolve() if code == 0 and out else None


def identify(directory: Path, *, find_root: bool = False, commit: str | None = None) -> Project:
    """The project at ``directory`` (see :func:`locate`)."""
    return locate(directory, find_root=find_root, commit=commit)[0]


def locate(directory: Path, *, find_root: bool = False, commit: str | None = None) -> tuple[Project, Path]:
    """The project at ``directory`` and its directory. With ``find_root``, the project is the nearest directory at
    or above it (not past the repository root) holding a pyproject.toml, setup.py, setup.cfg or .mlscore.toml,
    else the repository root: what `mlscore data check` run anywhere in a checkout describes. ``commit`` overrides
    HEAD (an audit of a git ref)."""
    directory = directory.resolve()
    top = git_toplevel(directory)
    if find_root and top is not None:
        here = directory
        while True:
            if any((here / m).is_file() for m in PROJECT_MARKERS):
                break
            if here == top or here.parent == here:
                here = top
                break
            here = here.parent
        directory = here
    if top is None:
        return Project(name=directory.name, commit=None), directory
    try:
        rel = directory.relative_to(top).as_posix()
    except ValueError:
        rel = ""
    if commit is None:
        code, head = _git(top, "rev-parse", "--verify", "--quiet", "HEAD")
        commit = head if code == 0 and _COMMIT_RE.fullmatch(head) else None
    project = Project(name=directory.name, remotes=_remotes(top), path="" if rel == "." else rel, commit=commit,
                      in_git=True)
    return project, directory


def hash_file(path: Path) -> tuple[int, str]:
    """(size, SHA-256 hex) of a regular file, read in 1 MiB blocks."""
    from mlscore.errors import InputError

    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
                size += len(block)
    except OSError as exc:
        raise InputError(f"{path}: cannot read to fingerprint it: {exc.strerror or exc}") from None
    return size, digest.hexdigest()


def dataset(role: str, path: Path | str, project_dir: Path) -> Dataset:
    """A dataset file's fingerprint; its path is kept relative to the project when the file is inside it."""
    file = Path(path)
    size, sha = hash_file(file)
    rel: str | None
    try:
        rel = file.resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        rel = None
    return Dataset(role=role, name=file.name, path=rel, bytes=size, sha256=sha)


def endpoint(url: str, model: str | None = None) -> Endpoint:
    """The endpoint with credentials, query and fragment removed (they may hold secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port else "")
    return Endpoint(url=urlunsplit((parts.scheme.lower(), netloc.lower(), parts.path, "", "")), model=model)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def fingerprint(datasets: Sequence[Dataset], ep: Endpoint | None) -> str:
    doc = {"datasets": sorted([d.role, d.sha256] for d in datasets),
           "endpoint": [ep.url, ep.model] if ep else None}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def stamp(project: Project, *, datasets: Iterable[Dataset] = (), ep: Endpoint | None = None,
          valid_days: float = DEFAULT_VALID_DAYS, now: dt.datetime | None = None) -> Provenance:
    """The provenance of a report made now about ``datasets`` (or ``ep``) for ``project``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    items = tuple(datasets)
    return Provenance(project=project, datasets=items, endpoint=ep, fingerprint=fingerprint(items, ep),
                      created_at=_iso(now), expires_at=_iso(now + dt.timedelta(days=valid_days)))


def project_option(value: Path | None) -> tuple[Project, Path]:
    """The project a `mlscore data`/`mlscore probe` report is for, and its directory: ``--project DIR``, else
    found from the working directory."""
    from mlscore.errors import InputError

    if value is None:
        return locate(Path.cwd(), find_root=True)
    if not value.is_dir():
        raise InputError(f"--project {value}: not a directory (give the project's checkout)")
    return locate(value)


# -- checking -------------------------------------------------------------------------------------------------

def parse(raw: Any) -> Provenance | None:
    """The ``provenance`` of a report document: None when it has none (an old report); ValueError when it is
    malformed, with the first bad field named."""
    if raw is None:
        return None
    try:
        return Provenance.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ValueError(f"provenance.{where}: {err['msg']}" if where else f"provenance: {err['msg']}") from None


def _when(text: str, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"provenance.{name}: not a date and time: {text[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _days(delta: dt.timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:.0f} days" if days >= 2 else f"{delta.total_seconds() / 3600:.0f} hours"


def audited_project(root: Path, commit: str | None) -> Project:
    return identify(root, commit=commit)


def _is_ancestor(repo: Path, old: str, new: str) -> bool | None:
    """Whether ``old`` is ``new`` or one of its ancestors; None when this repository does not have ``old``."""
    if old == new or new.startswith(old) or old.startswith(new):
        return True
    code, _ = _git(repo, "merge-base", "--is-ancestor", old, new)
    if code == 0:
        return True
    if code == 1:
        return False
    return None


def _shallow(repo: Path) -> bool:
    code, out = _git(repo, "rev-parse", "--is-shallow-repository")
    return code == 0 and out == "true"


def vet(prov: Provenance | None, audited: Project, *, now: dt.datetime, root: Path,
        max_age_days: float | None = None, tree: FileIndex | None = None, kind: str = "data") -> tuple[str | None, str | None]:
    """Whether a report may count as evidence in this audit: (reason it is ignored, or None; a note when it counts
    but something could not be verified)."""
    command = "mlscore data check" if kind == "data" else "mlscore probe"
    if prov is None:
        return (f"it has no provenance (made by an older mlscore, or by hand), so it cannot be tied to this "
                f"project; make it again with `{command}` run in the project's checkout"), None
    made, expires = _when(prov.created_at, "created_at"), _when(prov.expires_at, "expires_at")
    mine = prov.project
    # 1. the project: the remote when both know it, else the name; the directory inside the repository
    if mine.remotes and audited.remotes:
        if not set(mine.remotes) & set(audited.remotes):
            return f"it describes project {mine.label()}, not {audited.label()}", None
    elif mine.name != audited.name:
        return f"it describes project {mine.label()}, not {audited.label()}", None
    if mine.in_git and audited.in_git and mine.path != audited.path:
        return (f"it describes directory {mine.path or '(the repository root)'} of the repository, not "
                f"{audited.path or '(the repository root)'}"), None
    # 2. freshness
    if made > now + CLOCK_SKEW:
        return f"it is dated {prov.created_at}, in the future", None
    if expires < now:
        return f"it expired on {prov.expires_at} (made {prov.created_at})", None
    if max_age_days is not None and now - made > dt.timedelta(days=max_age_days):
        return (f"it was made {_days(now - made)} ago ({prov.created_at}), more than report_max_age_days = "
                f"{max_age_days:g}"), None
    # 3. the commit: the audited one or an ancestor (evidence about a later or another branch's state does not count)
    note = None
    if mine.commit and audited.commit:
        if not _COMMIT_RE.fullmatch(mine.commit):
            return f"its commit {mine.commit[:40]!r} is not a commit id", None
        known = _is_ancestor(root, mine.commit, audited.commit)
        if known is False:
            return (f"it was made at commit {mine.commit[:12]}, which is not in the history of the audited commit "
                    f"{audited.commit[:12]}"), None
        if known is None:
            if not _shallow(root):
                return f"it was made at commit {mine.commit[:12]}, which this repository does not have", None
            note = (f"its commit {mine.commit[:12]} is not in this shallow clone, so only the project and the dates "
                    "were checked")
    # 4. datasets the audited tree holds must be the ones the report looked at
    if tree is not None:
        for ds in prov.datasets:
            changed = _dataset_changed(ds, tree, root)
            if changed:
                return changed, None
    return None, note


def _dataset_changed(ds: Dataset, tree: FileIndex, root: Path) -> str | None:
    if not ds.path or ds.path.startswith("../"):
        return None
    entry = tree.entries.get(ds.path)
    if entry is None or entry.symlink:
        return None
    what = f"its {ds.role} dataset {ds.path}"
    if entry.size != ds.bytes:
        return f"{what} has changed since the report was made ({ds.bytes} bytes then, {entry.size} now)"
    if entry.size > MAX_HASH_BYTES:
        return None
    digest = hashlib.sha256()
    if tree.ref is not None:  # a git commit: read the blob
        try:
            digest.update(tree.reader.read(ds.path, MAX_HASH_BYTES))
        except (OSError, ValueError):
            return None
    else:
        try:
            with open(os.path.join(root, ds.path), "rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
        except OSError:
            return None
    if digest.hexdigest() != ds.sha256:
        return f"{what} has changed since the report was made (its SHA-256 differs)"
    return None
