"""Time `mlscore audit` against mllint 0.12.2 on the same repositories, in one run.

Repositories: every dev-corpus checkout (``--corpus-dir``), any large real repositories
(``--large PATH``, a work tree or a bare git directory, which is cloned into the cache), and a
generated 20,000-file monorepo (built deterministically under ``--cache-dir`` on first use).
Each command runs as a fresh process: mlscore gets one warm-up run (fills the OS page cache,
discarded), then ``--runs`` timed runs; the median is reported. mllint takes 2.5-25 s per
repository with its linters, so it runs ``--mllint-runs`` times (default 1) after mlscore has
warmed the page cache for the same files. mllint runs its default ``mllint run PATH`` with
its linters (pylint, mypy, black, isort, bandit) installed in its venv, and a fresh mypy cache
for every run, as in a clean CI checkout.

    python benchmarks/audit_speed.py --corpus-dir /tmp/devcorpus/repos --large /path/to/big/repo

mllint needs Python 3.6-3.10; set it up once with
    /root/.pyenv/versions/3.10.13/bin/python -m venv benchmarks/.cache/mllint-venv
    benchmarks/.cache/mllint-venv/bin/pip install mllint==0.12.2 pylint mypy black isort bandit
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".cache"
DEFAULT_CORPUS = Path("/tmp/devcorpus/repos")
MONOREPO_VERSION = "1"  # bump when the generator changes, so cached copies are rebuilt

TARGETS = {
    "dev_corpus_seconds": 1.0,
    "monorepo_seconds": 5.0,
    "version_seconds": 0.3,
}


# ---------------------------------------------------------------------------- timing


@dataclass
class Timing:
    command: list[str]
    runs: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds of each timed run
    max_rss_mb: float | None = None
    returncodes: list[int] = field(default_factory=list)
    error: str | None = None
    timed_out: bool = False

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu) if self.cpu else None


def run_once(
    cmd: list[str], *, env: dict[str, str], cwd: Path, timeout: float
) -> tuple[float, int, float, float]:
    """Wall seconds, exit code, max RSS (MB) and CPU seconds of one fresh process (its children's
    CPU is not included); output discarded."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(proc.pid, 9)
            os.wait4(proc.pid, 0)
            raise TimeoutError(f"{' '.join(cmd[:3])} ... took over {timeout:.0f}s")
        time.sleep(0.002)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, proc.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def time_command(
    cmd: list[str], *, runs: int, env: dict[str, str], cwd: Path, timeout: float,
    ok_codes: tuple[int, ...] = (0, 1), before_each=None, warmup: bool = True,
) -> Timing:
    timing = Timing(command=cmd)
    try:
        for index in range(runs + 1 if warmup else runs):
            if before_each:
                before_each()
            seconds, code, rss, cpu = run_once(cmd, env=env, cwd=cwd, timeout=timeout)
            if code not in ok_codes:
                timing.error = f"exit {code}"
                timing.returncodes.append(code)
                return timing
            if warmup and index == 0:
                continue  # warm-up: fills the page cache, not counted
            timing.runs.append(seconds)
            timing.cpu.append(cpu)
            timing.returncodes.append(code)
            timing.max_rss_mb = max(timing.max_rss_mb or 0.0, rss)
    except TimeoutError as exc:
        timing.error = str(exc)
        timing.timed_out = True
    except OSError as exc:
        timing.error = str(exc)
    return timing


# ---------------------------------------------------------------------------- repositories


def count_files(path: Path) -> int:
    """Tracked files for a git work tree, otherwise every regular file under ``path``."""
    if (path / ".git").exists():
        done = subprocess.run(
            ["git", "-C", str(path), "-c", "core.fsmonitor=false", "ls-files", "-z"],
            capture_output=True, timeout=120,
        )
        if done.returncode == 0:
            return done.stdout.count(b"\0")
    return sum(len(files) for _, _, files in os.walk(path))


def is_bare(path: Path) -> bool:
    done = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--is-bare-repository"], capture_output=True, text=True
    )
    return done.returncode == 0 and done.stdout.strip() == "true"


def work_tree_for(path: Path, cache: Path) -> Path:
    """``path`` itself, or a checkout of it in the cache when it is a bare git directory."""
    if not is_bare(path):
        return path
    name = path.name if path.name not in {"repo", ".git"} else path.parent.name
    dest = cache / "large" / name.removesuffix(".git")
    if not (dest / ".bench-complete").exists():
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        print(f"audit_speed: cloning bare {path} into {dest}", file=sys.stderr)
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(path), str(dest)], check=True)
        missing = checkout_available(dest)
        if missing:
            print(f"audit_speed: {len(missing)} blobs absent from the snapshot; left out of the tree", file=sys.stderr)
        (dest / ".git" / "info" / "exclude").write_text(".bench-complete\n")
        (dest / ".bench-complete").write_text(f"{len(missing)} missing\n")
    return dest


def checkout_available(dest: Path) -> list[str]:
    """Write every blob of HEAD that the object store has; unstage the absent ones (large files
    of a snapshot may be listed but absent). Returns the paths left out."""
    git = ["git", "-C", str(dest), "-c", "core.fsmonitor=false"]
    listing = subprocess.run([*git, "ls-tree", "-r", "-z", "HEAD"], check=True, capture_output=True).stdout
    entries = []
    for item in listing.split(b"\0"):
        if not item:
            continue
        meta, name = item.split(b"\t", 1)
        mode, kind, sha = meta.split()
        if kind == b"blob":
            entries.append((mode.decode(), sha.decode(), name.decode("utf-8", "surrogateescape")))
    batch = subprocess.Popen([*git, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert batch.stdin and batch.stdout
    missing = []
    for mode, sha, name in entries:
        batch.stdin.write(sha.encode() + b"\n")
        batch.stdin.flush()
        header = batch.stdout.readline().split()
        if len(header) < 3:  # "<sha> missing"
            missing.append(name)
            continue
        data = batch.stdout.read(int(header[2]))
        batch.stdout.read(1)
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            target.symlink_to(data.decode("utf-8", "surrogateescape"))
        else:
            target.write_bytes(data)
            if mode == "100755":
                target.chmod(0o755)
    batch.stdin.close()
    batch.wait()
    subprocess.run([*git, "reset", "-q"], check=True)
    for start in range(0, len(missing), 200):
        subprocess.run([*git, "rm", "-q", "--cached", "--", *missing[start:start + 200]], check=True)
    return missing


# ---------------------------------------------------------------------------- the monorepo

_MODULE = '''"""Feature and model code for {pkg}, module {m}."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

THRESHOLD_{m} = {threshold}


def transform_{m}(values: list[float]) -> np.ndarray:
    """Scale and clip the raw values of feature group {m}."""
    array = np.asarray(values, dtype=float)
    return np.clip((array - array.mean()) / (array.std() + 1e-9), -5, 5)


def train_{m}(x: np.ndarray, y: np.ndarray, seed: int = {seed}) -> LogisticRegression:
    model = LogisticRegression(C={c}, random_state=seed, max_iter=200)
    return model.fit(x, y)


class Scorer{m}:
    def __init__(self, model: LogisticRegression) -> None:
        self.model = model

    def score(self, x: np.ndarray) -> np.ndarray:
        prob = self.model.predict_proba(x)[:, 1]
        if not np.isfinite(prob).all():
            raise ValueError("non-finite score")
        return prob >= THRESHOLD_{m}
'''

_TEST = '''import numpy as np
import pytest

from {pkg}.module_{m:02d} import transform_{m}, train_{m}


def test_transform_{m}_is_standardised():
    out = transform_{m}([1.0, 2.0, 3.0, 4.0])
    assert out.mean() == pytest.approx(0.0)


def test_train_{m}_learns_toy_rule():
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    assert (train_{m}(x, y).predict(x) == y).all()
'''

_WORKFLOW = '''name: {pkg}
on:
  push:
    paths: ["packages/{pkg}/**"]
  pull_request:
    paths: ["packages/{pkg}/**"]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {{python-version: "3.11"}}
      - run: pip install -r packages/{pkg}/requirements.txt
      - run: python -m pytest packages/{pkg}/tests
'''


def _notebook(pkg: str, index: int) -> str:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": [f"# {pkg}: exploration {index}"]},
        {
            "cell_type": "code", "execution_count": 1, "metadata": {},
            "source": ["import pandas as pd\n", f"df = pd.read_csv('data/{pkg}.csv')\n", "df.describe()"],
            "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                         "data": {"text/plain": ["       value\ncount  100.0\nmean   0.51"]}}],
        },
        {
            "cell_type": "code", "execution_count": 2, "metadata": {},
            "source": [f"from {pkg}.module_01 import train_1\n", "model = train_1(x, y)\n", "model.score(x, y)"],
            "outputs": [{"output_type": "execute_result", "execution_count": 2, "metadata": {},
                         "data": {"text/plain": [f"0.{80 + index}"]}}],
        },
    ]
    doc = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
           "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc, indent=1) + "\n"


def _package_files(i: int) -> dict[str, str]:
    """The 40 files of package ``i`` (39 under packages/pkg_i, one workflow)."""
    pkg = f"pkg_{i:04d}"
    base = f"packages/{pkg}"
    files = {
        f"{base}/src/{pkg}/__init__.py": f'"""Package {pkg}."""\n__version__ = "0.{i}.0"\n',
        f"{base}/README.md": f"# {pkg}\n\nModel package {i} of the monorepo. Run `pytest tests`.\n",
        f"{base}/requirements.txt": "numpy==1.26.4\nscikit-learn==1.4.2\npandas==2.2.2\npytest==8.2.0\n",
        f"{base}/pyproject.toml": f'[project]\nname = "{pkg}"\nversion = "0.{i}.0"\n'
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n',
        f"{base}/params.yaml": f"seed: {i}\nmodel:\n  C: {1 + i % 5}\n  max_iter: 200\nthreshold: 0.5\n",
        f"{base}/configs/train.yaml": f"data: data/{pkg}.csv\nsplit: {{test: 0.2, seed: {i}}}\n",
        f"{base}/configs/serve.yaml": f"model_uri: models:/{pkg}/Production\nreplicas: {1 + i % 3}\n",
        f"{base}/configs/features.yaml": "features:\n" + "".join(f"  - name: f{j}\n    type: float\n" for j in range(8)),
        f"{base}/notebooks/explore.ipynb": _notebook(pkg, 0),
        f"{base}/notebooks/evaluate.ipynb": _notebook(pkg, 1),
        f".github/workflows/{pkg}.yml": _WORKFLOW.format(pkg=pkg),
    }
    for m in range(1, 20):
        files[f"{base}/src/{pkg}/module_{m:02d}.py"] = _MODULE.format(
            pkg=pkg, m=m, threshold=round(0.3 + (m % 5) / 10, 1), seed=i * 100 + m, c=1 + m % 4
        )
    for m in range(1, 10):
        files[f"{base}/tests/test_module_{m:02d}.py"] = _TEST.format(pkg=pkg, m=m)
    files[f"{base}/tests/conftest.py"] = "import numpy as np\nimport pytest\n\n\n@pytest.fixture\ndef rng():\n    return np.random.default_rng(0)\n"
    return files


def _git(path: Path, *args: str, date: str = "2024-01-01T00:00:00Z") -> None:
    env = {
        **os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org",
        "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", "-C", str(path), "-c", "core.fsmonitor=false", *args], check=True,
                   env=env, capture_output=True)


def build_monorepo(dest: Path, target_files: int = 20_000) -> Path:
    """Generate (once) a git monorepo with ``target_files`` tracked files and an ignored build dir."""
    stamp = dest / ".bench-stamp"
    want = f"{MONOREPO_VERSION}:{target_files}"
    if stamp.exists() and stamp.read_text() == want:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    print(f"audit_speed: generating a {target_files}-file monorepo in {dest}", file=sys.stderr)
    root_files = {
        "README.md": "# monorepo\n\nMany model packages; each has its own tests and CI workflow.\n",
        ".gitignore": "build/\n__pycache__/\n.bench-stamp\n",
        "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["packages"]\n',
        ".github/workflows/ci.yml": "name: ci\non: [push, pull_request]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n      - run: pip install ruff && ruff check .\n",
    }
    packages = max(1, (target_files - len(root_files)) // 40)
    files = dict(root_files)
    for i in range(packages):
        files.update(_package_files(i))
    extra = target_files - len(files)
    for j in range(max(0, extra)):
        files[f"docs/notes/note_{j:05d}.md"] = f"# Note {j}\n"
    for rel, text in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for j in range(2000):  # ignored build output: must not be indexed
        path = dest / "build" / f"lib{j % 20}" / f"gen_{j:04d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"GENERATED = {j}\n")
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "--no-verify", "-m", "Initial import of all packages")
    for n, date in ((1, "2024-02-01T00:00:00Z"), (2, "2024-03-01T00:00:00Z")):
        for i in range(0, packages, max(1, packages // 10)):
            params = dest / f"packages/pkg_{i:04d}/params.yaml"
            params.write_text(params.read_text() + f"# retuned in round {n}\n")
        _git(dest, "commit", "-q", "--no-verify", "-am", f"Retune params, round {n}", date=date)
    stamp.write_text(want)
    return dest


# ---------------------------------------------------------------------------- main


def mlscore_cmd() -> list[str]:
    script = Path(sys.executable).with_name("mlscore")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mlscore"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--large", type=Path, action="append", default=[], help="a large real repository")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--monorepo-files", type=int, default=20_000, help="0 to skip the monorepo")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of mlscore per repository")
    parser.add_argument("--mllint-runs", type=int, default=1, help="timed runs of mllint per repository")
    parser.add_argument("--mllint-venv", type=Path, default=DEFAULT_CACHE / "mllint-venv")
    parser.add_argument("--no-mllint", action="store_true")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per single run")
    parser.add_argument("--only", action="append", default=[], help="only repositories whose name contains this")
    parser.add_argument("--json", dest="json_out", help="write all timings as JSON here ('-': stdout)")
    args = parser.parse_args(argv)

    args.cache_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSCORE_")}
    mllint = args.mllint_venv / "bin" / "mllint"
    use_mllint = not args.no_mllint and mllint.exists()
    if not args.no_mllint and not use_mllint:
        print(f"audit_speed: {mllint} not found; timing mlscore only (see the module docstring)", file=sys.stderr)
    mllint_env = {**env, "PATH": f"{args.mllint_venv / 'bin'}:{env.get('PATH', '')}"}
    mypy_cache = Path(tempfile.mkdtemp(prefix="mllint-mypy-"))
    mllint_env["MYPY_CACHE_DIR"] = str(mypy_cache)

    def fresh_mypy_cache() -> None:
        shutil.rmtree(mypy_cache, ignore_errors=True)
        mypy_cache.mkdir()

    repos: list[tuple[str, str, Path]] = []  # (kind, name, path)
    if args.corpus_dir.is_dir():
        for path in sorted(p for p in args.corpus_dir.iterdir() if p.is_dir()):
            repos.append(("dev", path.name.replace("+", "/"), path))
    else:
        print(f"audit_speed: no dev corpus at {args.corpus_dir}", file=sys.stderr)
    for large in args.large:
        tree = work_tree_for(large.resolve(), args.cache_dir)
        repos.append(("large", large.name if large.name != "repo" else large.parent.name, tree))
    if args.monorepo_files:
        mono = build_monorepo(args.cache_dir / f"monorepo-{args.monorepo_files}", args.monorepo_files)
        repos.append(("monorepo", f"generated monorepo ({args.monorepo_files})", mono))

    if args.only:
        repos = [r for r in repos if any(part in r[1] for part in args.only)]
    load_before = os.getloadavg()
    neutral = Path(tempfile.mkdtemp(prefix="audit-speed-cwd-"))
    rows: list[dict[str, Any]] = []
    version = time_command([*mlscore_cmd(), "--version"], runs=args.runs * 2, env=env, cwd=neutral,
                           timeout=60, ok_codes=(0,))
    mllint_version = (
        time_command([str(mllint), "version"], runs=args.runs * 2, env=mllint_env, cwd=neutral, timeout=60,
                     ok_codes=(0,))
        if use_mllint else None
    )
    for kind, name, path in repos:
        files = count_files(path)
        print(f"audit_speed: {name} ({files} files): mlscore", file=sys.stderr)
        ours = time_command([*mlscore_cmd(), "audit", str(path), "--format", "json"], runs=args.runs,
                            env=env, cwd=neutral, timeout=args.timeout)
        theirs = None
        if use_mllint:
            print(f"audit_speed: {name}: mllint run", file=sys.stderr)
            # mllint 0.12.2 resolves even an absolute path against its cwd, so run it inside the
            # repository on ".". It exits 0 whatever it finds; anything else is an mllint failure.
            theirs = time_command([str(mllint), "run", "."], runs=args.mllint_runs, env=mllint_env,
                                  cwd=path, timeout=args.timeout, ok_codes=(0,),
                                  before_each=fresh_mypy_cache, warmup=False)
        rows.append({"kind": kind, "repo": name, "path": str(path), "files": files,
                     "mlscore": asdict(ours) | {"median": ours.median, "cpu_median": ours.cpu_median},
                     "mllint": (asdict(theirs) | {"median": theirs.median}) if theirs else None})
    shutil.rmtree(mypy_cache, ignore_errors=True)

    load_after = os.getloadavg()
    print(render(rows, version, mllint_version, args))
    print(f"load average (1 min) before: {load_before[0]:.2f}, after: {load_after[0]:.2f}; timings on a shared "
          "machine are only as quiet as its load.")
    payload = {
        "runs": args.runs, "mllint_runs": args.mllint_runs, "cpu_count": os.cpu_count(),
        "loadavg_before": load_before, "loadavg_after": load_after,
        "targets": TARGETS, "version": asdict(version) | {"median": version.median},
        "mllint_version": (asdict(mllint_version) | {"median": mllint_version.median}) if mllint_version else None,
        "repos": rows,
    }
    if args.json_out:
        text = json.dumps(payload, indent=2) + "\n"
        if args.json_out == "-":
            sys.stdout.write(text)
        else:
            Path(args.json_out).write_text(text)
    return 0


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render(rows: list[dict[str, Any]], version: Timing, mllint_version: Timing | None, args) -> str:
    out = [
        f"Cold-process wall time: median of {args.runs} runs of mlscore after one warm-up, "
        f"median of {args.mllint_runs} run(s) of `mllint run` (default, with linters); {os.cpu_count()} CPUs.",
        "",
        f"{'repo':<42} {'files':>7} {'mlscore s':>10} {'cpu s':>6} {'MB':>5} {'mllint s':>10} {'ratio':>7}  target",
    ]
    checks: list[tuple[str, bool | None]] = []
    for row in rows:
        ours = row["mlscore"]["median"]
        theirs = row["mllint"]["median"] if row["mllint"] else None
        ratio = f"{theirs / ours:.1f}x" if ours and theirs else "-"
        theirs_text = _s(theirs)
        if row["mllint"] and row["mllint"]["timed_out"]:
            theirs_text = f"> {args.timeout:.0f}"
            ratio = f"> {args.timeout / ours:.0f}x" if ours else "-"
        if row["kind"] == "dev":
            target, limit = "< 1 s", TARGETS["dev_corpus_seconds"]
        elif row["kind"] == "monorepo":
            target, limit = "< 5 s", TARGETS["monorepo_seconds"]
        else:
            target, limit = "", None
        met = None if ours is None or limit is None else ours < limit
        if limit is not None:
            checks.append((f"{row['repo']} {target}", met))
        if ours is not None and theirs is not None:
            checks.append((f"{row['repo']} faster than mllint", ours < theirs))
        elif ours is not None and row["mllint"] and row["mllint"]["timed_out"]:
            checks.append((f"{row['repo']} faster than mllint", ours < args.timeout))
        error = row["mlscore"]["error"] or (row["mllint"] or {}).get("error")
        rss = row["mlscore"]["max_rss_mb"]
        out.append(
            f"{row['repo'][:42]:<42} {row['files']:>7} {_s(ours):>10} {_s(row['mlscore']['cpu_median']):>6} "
            f"{(f'{rss:.0f}' if rss else '-'):>5} "
            f"{theirs_text:>10} {ratio:>7}  {target}{' ' + ('ok' if met else 'MISSED') if met is not None else ''}"
            + (f"  [error: {error}]" if error else "")
        )
    out.append("")
    out.append(f"mlscore --version: {_s(version.median)} s (target < 0.3 s)"
               + (f" [error: {version.error}]" if version.error else ""))
    checks.append(("mlscore --version < 0.3 s", None if version.median is None else version.median < 0.3))
    if mllint_version:
        out.append(f"mllint version:    {_s(mllint_version.median)} s (`mllint --version` is not a flag in 0.12.2)")
    missed = [name for name, ok in checks if ok is False]
    unknown = [name for name, ok in checks if ok is None]
    out.append("")
    out.append(f"targets met: {sum(ok is True for _, ok in checks)}/{len(checks)}"
               + (f"; missed: {', '.join(missed)}" if missed else "")
               + (f"; not measured: {', '.join(unknown)}" if unknown else ""))
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
