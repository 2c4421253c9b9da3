"""Evidence with provenance (issue 13, point 3): a saved data or probe report counts in `mlscore audit` only when
it is about the audited project, at the audited commit or an ancestor, with the same datasets, and fresh; otherwise
the audit says why it ignored it, and the score is unchanged."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlscore.engine import run_audit
from mlscore.models import Level
from mlscore.provenance import dataset, endpoint, fingerprint, locate, normalize_remote, stamp

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "income-model"
NOW = dt.datetime.now(dt.timezone.utc)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(root: Path, remote: str | None = "git@github.com:Acme/churn-model.git") -> str:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.org")
    git(root, "config", "user.name", "Test")
    (root / "pyproject.toml").write_text('[project]\nname = "churn"\nversion = "0.1"\n')
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("age,income\n30,100\n40,200\n")
    (root / "src").mkdir()
    (root / "src" / "train.py").write_text("def train():\n    return 1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    if remote:
        git(root, "remote", "add", "origin", remote)
    return git(root, "rev-parse", "HEAD")


def write_report(path: Path, prov: object | None, *, kind: str = "data", rule: str = "MON2") -> Path:
    doc = {
        "kind": kind,
        "schema_version": "1",
        "tool": "mlscore",
        "version": "0.1.0",
        "generated_at": NOW.isoformat(),
        "checks": [{"id": "drift.features", "rules": [rule], "title": "Feature drift", "status": "passing",
                    "message": "no feature drifted"}],
    }
    if prov is not None:
        doc["provenance"] = prov.model_dump() if hasattr(prov, "model_dump") else prov  # type: ignore[union-attr]
    path.write_text(json.dumps(doc))
    return path


def audit(root: Path, report: Path, *, now: dt.datetime = NOW, **overrides: object):  # type: ignore[no-untyped-def]
    key = "probe_reports" if json.loads(report.read_text())["kind"] == "probe" else "data_reports"
    return run_audit(root, now=now, overrides={key: (str(report),), "select": ("MON2", "INFRA6"), **overrides})


def ignored(report, path: Path) -> list[str]:  # type: ignore[no-untyped-def]
    return [d.message for d in report.diagnostics if d.path == str(path)]


def good_provenance(repo: Path, **kw: object):  # type: ignore[no-untyped-def]
    project, root = locate(repo, find_root=True)
    return stamp(project, datasets=[dataset("reference", repo / "data" / "train.csv", root)], **kw)  # type: ignore[arg-type]


# -- the fingerprint itself ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "expected"), [
    ("https://x-access-token:ghs_secret@github.com/Acme/Churn-Model.git", "github.com/acme/churn-model"),
    ("git@github.com:acme/churn-model.git", "github.com/acme/churn-model"),
    ("ssh://git@github.com:22/acme/churn-model/", "github.com/acme/churn-model"),
    ("https://gitlab.example.com/group/sub/churn", "gitlab.example.com/group/sub/churn"),
    ("/srv/git/churn.git", "/srv/git/churn"),
    ("", None),
])
def test_remotes_are_normalised_without_credentials(url: str, expected: str | None) -> None:
    assert normalize_remote(url) == expected


def test_the_provenance_names_project_commit_datasets_and_dates(tmp_path: Path) -> None:
    repo = tmp_path / "churn-model"
    head = make_repo(repo)
    (repo / "src" / "deep").mkdir()
    project, root = locate(repo / "src" / "deep", find_root=True)  # run from a subdirectory: the project is found
    assert root == repo.resolve()
    assert project.remotes == ("github.com/acme/churn-model",) and project.path == "" and project.commit == head
    prov = good_provenance(repo, valid_days=7)
    (ds,) = prov.datasets
    assert ds.path == "data/train.csv" and ds.bytes == len("age,income\n30,100\n40,200\n") and len(ds.sha256) == 64
    made = dt.datetime.fromisoformat(prov.created_at.replace("Z", "+00:00"))
    expires = dt.datetime.fromisoformat(prov.expires_at.replace("Z", "+00:00"))
    assert expires - made == dt.timedelta(days=7)
    assert prov.fingerprint == fingerprint(prov.datasets, None) == good_provenance(repo).fingerprint
    (repo / "data" / "train.csv").write_text("age,income\n30,100\n")
    assert good_provenance(repo).fingerprint != prov.fingerprint
    secret = endpoint("https://user:pw@Model.example.com:8443/v2/models/m/infer?token=abc#x", "m")
    assert secret.url == "https://model.example.com:8443/v2/models/m/infer"


# -- the audit: counted only when it is about this project ------------------------------------------------

def test_a_report_about_this_project_counts(tmp_path: Path) -> None:
    repo = tmp_path / "churn-model"
    make_repo(repo)
    report = write_report(tmp_path / "data.json", good_provenance(repo))
    result = audit(repo, report)
    mon2 = result.result("MON2")
    assert mon2 is not None and mon2.level is Level.MANUAL
    assert any(e.location and e.location.path == str(report) for e in mon2.evidence)
    assert result.inputs == (str(report),) and ignored(result, report) == []


def test_a_fork_clone_with_an_upstream_remote_is_the_same_project(tmp_path: Path) -> None:
    repo = tmp_path / "churn-model"
    make_repo(repo, remote="https://github.com/ana/churn-model.git")
    git(repo, "remote", "add", "upstream", "https://github.com/acme/churn-model")
    report = write_report(tmp_path / "data.json", good_provenance(repo))
    git(repo, "remote", "remove", "upstream")
    git(repo, "remote", "set-url", "origin", "https://github.com/acme/churn-model.git")  # the CI checkout
    assert audit(repo, report).result("MON2").level is Level.MANUAL


def _mismatch(tmp_path: Path, case: str) -> tuple[Path, Path, str]:
    repo = tmp_path / "churn-model"
    head = make_repo(repo)
    prov = good_provenance(repo)
    project = prov.project
    expect = ""
    if case == "other remote":
        prov = prov.model_copy(update={"project": project.model_copy(update={"remotes": ("github.com/acme/iris",)})})
        expect = "it describes project github.com/acme/iris, not github.com/acme/churn-model"
    elif case == "other name, no git":
        other = tmp_path / "iris"
        other.mkdir()
        (other / "ref.csv").write_text("a\n1\n")
        prov = stamp(locate(other, find_root=True)[0], datasets=[dataset("reference", other / "ref.csv", other)])
        expect = "it describes project 'iris', not github.com/acme/churn-model"
    elif case == "other directory":
        prov = prov.model_copy(update={"project": project.model_copy(update={"path": "services/fraud"})})
        expect = "it describes directory services/fraud of the repository, not (the repository root)"
    elif case == "expired":
        prov = good_provenance(repo, valid_days=1, now=NOW - dt.timedelta(days=3))
        expect = "it expired on"
    elif case == "too old":
        prov = good_provenance(repo, valid_days=90, now=NOW - dt.timedelta(days=40))
        expect = "it was made 40 days ago"
    elif case == "future":
        prov = good_provenance(repo, now=NOW + dt.timedelta(days=2))
        expect = "in the future"
    elif case == "other branch":
        git(repo, "checkout", "-q", "-b", "experiment")
        (repo / "src" / "train.py").write_text("def train():\n    return 2\n")
        git(repo, "commit", "-q", "-am", "experiment")
        prov = good_provenance(repo)
        git(repo, "checkout", "-q", "main")
        expect = f"which is not in the history of the audited commit {head[:12]}"
    elif case == "unknown commit":
        prov = prov.model_copy(update={"project": project.model_copy(update={"commit": "ab" * 20})})
        expect = "it was made at commit abababababab, which this repository does not have"
    elif case == "dataset changed":
        (repo / "data" / "train.csv").write_text("age,income\n31,100\n40,200\n")  # same size, other bytes
        expect = "its reference dataset data/train.csv has changed since the report was made (its SHA-256 differs)"
    elif case == "no provenance":
        prov = None
        expect = "it has no provenance (made by an older mlscore, or by hand)"
    report = write_report(tmp_path / "data.json", prov)
    return repo, report, expect


CASES = ["other remote", "other name, no git", "other directory", "expired", "too old", "future", "other branch",
         "unknown commit", "dataset changed", "no provenance"]


@pytest.mark.parametrize("case", CASES)
def test_a_report_about_something_else_is_ignored_and_said_so(tmp_path: Path, case: str) -> None:
    repo, report, expect = _mismatch(tmp_path, case)
    extra = {"report_max_age_days": 30.0} if case == "too old" else {}
    result = audit(repo, report, **extra)
    mon2 = result.result("MON2")
    assert mon2 is not None and mon2.level is Level.NONE
    assert not any(e.location and e.location.path == str(report) for e in mon2.evidence)
    assert result.inputs == ()
    (message,) = ignored(result, report)
    assert message.startswith("data report ignored as evidence: ") and expect in message, message


def test_a_probe_report_is_checked_the_same_way(tmp_path: Path) -> None:
    repo = tmp_path / "churn-model"
    make_repo(repo)
    project, _ = locate(repo)
    ok = stamp(project, ep=endpoint("http://127.0.0.1:8080", "churn"))
    report = write_report(tmp_path / "probe.json", ok, kind="probe", rule="INFRA6")
    assert audit(repo, report).result("INFRA6").level is Level.MANUAL
    other = stamp(project.model_copy(update={"remotes": ("github.com/acme/iris",)}), ep=ok.endpoint)
    report = write_report(tmp_path / "probe.json", other, kind="probe", rule="INFRA6")
    result = audit(repo, report)
    assert result.result("INFRA6").level is Level.NONE
    assert ignored(result, report) == [
        "probe report ignored as evidence: it describes project github.com/acme/iris, not github.com/acme/churn-model"
    ]


def test_a_shallow_clone_without_the_report_commit_counts_it_with_a_note(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    make_repo(origin)
    first = git(origin, "rev-parse", "HEAD")
    (origin / "src" / "train.py").write_text("def train():\n    return 3\n")
    git(origin, "commit", "-q", "-am", "second")
    clone = tmp_path / "churn-model"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    project, root = locate(clone)
    prov = stamp(project.model_copy(update={"commit": first}),
                 datasets=[dataset("reference", clone / "data" / "train.csv", root)])
    report = write_report(tmp_path / "data.json", prov)
    result = audit(clone, report)
    assert result.result("MON2").level is Level.MANUAL
    assert ignored(result, report) == [
        (f"data report used as evidence, but its commit {first[:12]} is not in this shallow clone, so only the "
         "project and the dates were checked")
    ]


# -- the command line -----------------------------------------------------------------------------------------

def mlscore(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlscore", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def test_malformed_provenance_is_one_line_and_exit_2(tmp_path: Path) -> None:
    repo = tmp_path / "churn-model"
    make_repo(repo)
    prov = good_provenance(repo).model_dump()
    prov["created_at"] = "yesterday"
    report = write_report(tmp_path / "data.json", prov)
    proc = mlscore("audit", str(repo), "-q", "--data-report", str(report))
    assert proc.returncode == 2
    assert proc.stderr == f"mlscore: error: {report}: provenance.created_at: not a date and time: 'yesterday'\n"
    prov["created_at"], prov["project"] = good_provenance(repo).created_at, "acme"
    write_report(report, prov)
    proc = mlscore("audit", str(repo), "-q", "--data-report", str(report))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "provenance.project" in proc.stderr


def test_report_max_age_option(tmp_path: Path) -> None:
    repo = tmp_path / "churn-model"
    make_repo(repo)
    report = write_report(tmp_path / "data.json", good_provenance(repo, now=NOW - dt.timedelta(days=5)))
    fresh = mlscore("audit", str(repo), "-q", "--select", "MON2", "--format", "json", "--data-report", str(report))
    assert fresh.returncode == 0 and json.loads(fresh.stdout)["inputs"] == [str(report)] and fresh.stderr == ""
    stale = mlscore("audit", str(repo), "-q", "--select", "MON2", "--format", "json", "--data-report", str(report),
                    "--report-max-age", "2")
    assert stale.returncode == 0 and json.loads(stale.stdout)["inputs"] == []
    assert stale.stderr.startswith(f"mlscore: warning: {report}: data report ignored as evidence: it was made 5 days")
    assert "more than report_max_age_days = 2" in stale.stderr


def _data_check(tmp_path: Path, cwd: Path, name: str, *extra: str) -> Path:
    """A real `mlscore data check` over two small CSV files."""
    import random

    rng = random.Random(0)
    files = []
    for part in ("reference", "current"):
        path = tmp_path / f"{name}-{part}.csv"
        rows = [f"{rng.gauss(0, 1):.4f},{rng.randint(0, 2)},{rng.randint(0, 1)}" for _ in range(300)]
        path.write_text("sepal,species,y\n" + "\n".join(rows) + "\n")
        files.append(path)
    out = tmp_path / f"{name}.json"
    proc = mlscore("data", "check", "--reference", str(files[0]), "--current", str(files[1]), "-o", str(out),
                   "-q", "--no-fail", *extra, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return out


def _score(*args: str) -> tuple[float, list[str], str]:
    proc = mlscore("audit", str(EXAMPLE), "-q", "--format", "json", *args)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    return doc["score"]["value"], doc["inputs"], proc.stderr


def test_issue_13_an_unrelated_dataset_report_does_not_raise_the_example_score(tmp_path: Path) -> None:
    """`mlscore audit examples/income-model --data-report <report of an unrelated dataset>` raised the score from 0.5
    to 2. Made elsewhere, the report is now ignored with a line naming the mismatch; made for the example (with
    --project), the same checks still count, so the test can tell the two apart."""
    elsewhere = tmp_path / "iris-project"
    elsewhere.mkdir()
    unrelated = _data_check(tmp_path, elsewhere, "unrelated")
    before, _, _ = _score()
    after, inputs, stderr = _score("--data-report", str(unrelated))
    assert after == before and inputs == []
    # the audited project is named by its remote when the checkout has one (a CI clone's origin), else by its name
    audited = locate(EXAMPLE)[0].label()
    assert audited.endswith("(directory examples/income-model)")
    assert stderr == (f"mlscore: warning: {unrelated}: data report ignored as evidence: it describes project "
                      f"'iris-project', not {audited}\n")
    bound = _data_check(tmp_path, elsewhere, "bound", "--project", str(EXAMPLE))
    raised, inputs, stderr = _score("--data-report", str(bound))
    assert raised > before and inputs == [str(bound)] and stderr == ""


def test_issue_13_the_people_views_say_what_a_data_report_is_evidence_for(tmp_path: Path) -> None:
    """Text, Markdown and HTML views carry one line naming the project, the fingerprint and the expiry, the same
    facts the audit checks in the JSON report."""
    from mlscore.data.render import render
    from mlscore.data.report import DataReport

    project = tmp_path / "churn"
    project.mkdir()
    report = DataReport.model_validate_json(_data_check(tmp_path, project, "views").read_text())
    assert report.provenance is not None
    expected = (f"evidence for 'churn'; 2 datasets fingerprinted ({report.provenance.fingerprint[:12]}); "
                f"valid until {report.provenance.expires_at}")
    assert f"\n  {expected}\n" in render(report, "text")
    assert f"- provenance: {expected}" in render(report, "markdown")
    assert f'<p class="muted">{expected.replace(chr(39), "&#39;")}</p>' in render(report, "html")
