"""End to end: `mlscore github` run the way action.yml runs it, against a local GitHub API on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlscore.models import Level, Report

HERE = Path(__file__).parent
REPO = "acme/churn-model"
TOKEN = "ghs_test_token"  # the fake API (conftest.py) accepts only this token
FakeGitHub = Any
DATE = "2026-01-15T12:00:00+0000"  # fixed commit dates: the same commit ids on every run (links in goldens)


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


canonical = _load("mlscore_tests_canonical_gh", HERE.parent / "report" / "canonical.py")
sarif_checks = _load("mlscore_tests_sarif_checks_gh", HERE.parent / "report" / "sarif_checks.py")


def make_repo(root: Path) -> tuple[str, str]:
    """A real git repository with a base commit (training code) and a head commit (tests + CI)."""
    import git

    root.mkdir(parents=True)
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "Test")
        cw.set_value("user", "email", "test@example.org")
    (root / "src" / "churn").mkdir(parents=True)
    (root / "src" / "churn" / "__init__.py").write_text("")
    (root / "src" / "churn" / "train.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n\n\n"
        "def train(X, y):\n    model = LogisticRegression(random_state=42)\n    return model.fit(X, y)\n"
    )
    (root / "pyproject.toml").write_text('[project]\nname = "churn"\nversion = "0.1"\n')
    (root / "README.md").write_text("# churn\n")
    repo.index.add(["src/churn/__init__.py", "src/churn/train.py", "pyproject.toml", "README.md"])
    base = repo.index.commit("base: training code", author_date=DATE, commit_date=DATE).hexsha
    (root / "tests").mkdir()
    (root / "tests" / "test_train.py").write_text(
        "import numpy as np\nfrom churn.train import train\n\n\n"
        "def test_train_fits():\n    X = np.random.RandomState(0).rand(20, 2)\n    y = (X[:, 0] > 0.5).astype(int)\n"
        "    model = train(X, y)\n    assert model.score(X, y) > 0.7\n"
    )
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(
        "name: ci\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: pip install -e . pytest\n      - run: pytest tests/\n"
    )
    repo.index.add(["tests/test_train.py", ".github/workflows/ci.yml"])
    head = repo.index.commit("head: unit tests run by CI", author_date=DATE, commit_date=DATE).hexsha
    return base, head


def pr_event(
    path: Path, *, number: int, base: str, head: str, head_repo: str = REPO, author: str = "ana"
) -> Path:
    path.write_text(
        json.dumps(
            {
                "action": "synchronize",
                "number": number,
                "pull_request": {
                    "number": number,
                    "user": {"login": author, "type": "User"},
                    "base": {"sha": base, "ref": "main", "repo": {"full_name": REPO}},
                    "head": {"sha": head, "ref": "feature", "repo": {"full_name": head_repo}},
                },
                "repository": {"full_name": REPO},
            }
        )
    )
    return path


def parse_outputs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            name, delim = line.split("<<", 1)
            value = []
            for inner in lines:
                if inner == delim:
                    break
                value.append(inner)
            out[name] = "\n".join(value)
        else:
            name, _, value = line.partition("=")
            out[name] = value
    return out


class ActionRun:
    def __init__(
        self, proc: subprocess.CompletedProcess[str], outputs: dict[str, str], summary: str
    ) -> None:
        self.proc = proc
        self.outputs = outputs
        self.summary = summary
        self.commands = [
            line
            for line in proc.stdout.splitlines()
            if line.startswith("::") and not line.startswith(("::group", "::endgroup"))
        ]


def run_action(
    tmp_path: Path,
    ws: Path,
    api: str,
    event: Path,
    *,
    actor: str = "ana",
    event_name: str = "pull_request",
    **inputs: str,
) -> ActionRun:
    """Run `mlscore github` as action.yml's run step does: inputs in MLSCORE_*, context in GITHUB_*."""
    runner = tmp_path / "runner"
    runner.mkdir(exist_ok=True)
    output, summary = runner / "output", runner / "summary"
    output.write_text("")
    summary.write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(runner),
        "LANG": "C.UTF-8",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_ACTOR": actor,
        "GITHUB_API_URL": api,
        "GITHUB_SERVER_URL": "https://github.test",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_WORKSPACE": str(ws),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "MLSCORE_PATH": ".",
        "MLSCORE_COMMENT": "true",
        "MLSCORE_SUMMARY": "true",
        "MLSCORE_ANNOTATIONS": "true",
        "MLSCORE_SARIF_FILE": "mlscore.sarif",
        "MLSCORE_GITHUB_TOKEN": TOKEN,
    }
    env.update({f"MLSCORE_{k.upper()}": v for k, v in inputs.items()})
    proc = subprocess.run(
        [sys.executable, "-m", "mlscore", "github"],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return ActionRun(proc, parse_outputs(output.read_text()), summary.read_text())


def _saved_reports(tmp_path: Path, head: Report | None = None) -> dict[str, str]:
    reports = tmp_path / "saved"
    reports.mkdir(exist_ok=True)
    head = head or canonical.canonical_report(head=True)
    (reports / "head.json").write_text(head.model_dump_json())
    (reports / "base.json").write_text(canonical.canonical_report(head=False).model_dump_json())
    return {
        "report_file": str(reports / "head.json"),
        "baseline_report_file": str(reports / "base.json"),
    }


def test_same_repo_pull_request_comment_created_once_then_updated(
    tmp_path: Path, fake_github: FakeGitHub, golden
) -> None:  # type: ignore[no-untyped-def]
    ws = tmp_path / "ws"
    base, head = make_repo(ws)
    event = pr_event(tmp_path / "event.json", number=7, base=base, head=head)
    # Other people's comments, on two pages; one quotes our marker and must never be edited.
    fake_github.add(7, "LGTM", "bob", "User")
    quoted = fake_github.add(7, "> <!-- mlscore:report -->\n> quoting the bot", "carol", "User")
    fake_github.add(7, "ship it", "dave", "User")

    # Every finding annotated (the saved reports' files are not in this repository's diff): the caps are checked.
    first = run_action(tmp_path, ws, fake_github.url, event, annotations_scope="all", **_saved_reports(tmp_path))
    assert first.proc.returncode == 0, first.proc.stderr
    (bot,) = fake_github.bot_comments(7)
    assert fake_github.writes() == [("POST", "/repos/acme/churn-model/issues/7/comments")]
    assert first.outputs == {
        "score": "2",
        "previous-score": "1.5",
        "delta": "+0.5",
        "band": "(1, 2]",
        "failed": "false",
        "failure-reason": "",
        "report-json": "mlscore-report/report.json",
        "markdown-file": "mlscore-report/report.md",
        "sarif-file": "mlscore.sarif",
        "comment-url": bot["html_url"],
        "can-write": "true",
    }
    assert bot["body"].startswith("<!-- mlscore:report -->\n## ML Test Score: 2 of 7")
    assert "ML Test Score 1.5 → 2 (+0.5)" in bot["body"]
    assert (
        "INFRA3 became automated because `.github/workflows/ci.yml` now runs `tests/test_pipeline.py`"
        in bot["body"]
    )
    assert "self-declared" in bot["body"]
    golden("summary.md", first.summary)
    golden("annotations.txt", "\n".join(first.commands) + "\n")
    assert sum(c.startswith("::warning") for c in first.commands) <= 10
    assert sum(c.startswith("::notice") for c in first.commands) <= 10
    sarif = json.loads((ws / "mlscore.sarif").read_text())
    assert (
        sarif_checks.schema_errors(sarif) == [] and sarif_checks.github_profile_errors(sarif) == []
    )
    assert (
        Report.model_validate_json((ws / "mlscore-report" / "report.json").read_text()).score.value
        == 2.0
    )
    # Every API call carried the token and the API version headers.
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for _, _, h, _ in fake_github.requests)

    # Same commit again: the comment is found (across pages) and left alone.
    second = run_action(tmp_path, ws, fake_github.url, event, annotations_scope="all", **_saved_reports(tmp_path))
    assert second.proc.returncode == 0, second.proc.stderr
    assert len(fake_github.writes()) == 1
    assert second.outputs["comment-url"] == bot["html_url"]

    # A new push lowers MON6 and crosses fail-under: the same comment is edited, the run still exits 0.
    head_report = canonical.canonical_report(head=True)
    mon6 = head_report.result("MON6")
    assert mon6 is not None
    lowered = head_report.model_copy(
        update={
            "results": tuple(
                r.model_copy(update={"level": Level.NONE, "points": 0.0, "evidence": ()})
                if r.rule_id == "MON6"
                else r
                for r in head_report.results
            ),
            "score": canonical.score_of(
                [
                    r.model_copy(update={"level": Level.NONE, "points": 0.0, "evidence": ()})
                    if r.rule_id == "MON6"
                    else r
                    for r in head_report.results
                ]
            ),
        }
    )
    third = run_action(
        tmp_path,
        ws,
        fake_github.url,
        event,
        fail_under="2",
        fail_on_drop="true",
        **_saved_reports(tmp_path, lowered),
    )
    assert third.proc.returncode == 0, third.proc.stderr
    assert fake_github.writes() == [
        ("POST", "/repos/acme/churn-model/issues/7/comments"),
        ("PATCH", f"/repos/acme/churn-model/issues/comments/{bot['id']}"),
    ]
    assert len(fake_github.bot_comments(7)) == 1
    assert "1.5 → 1.5 (0)" in fake_github.bot_comments(7)[0]["body"]
    assert quoted["body"] == "> <!-- mlscore:report -->\n> quoting the bot"
    assert third.outputs["failed"] == "true"
    assert third.outputs["failure-reason"] == "score 1.5 is below fail-under 2"
    assert third.outputs["score"] == "1.5" and third.outputs["delta"] == "0"


@pytest.mark.parametrize("kind", ["fork", "dependabot"])
def test_read_only_pull_requests_post_nothing(
    tmp_path: Path, fake_github: FakeGitHub, kind: str
) -> None:
    ws = tmp_path / "ws"
    base, head = make_repo(ws)
    if kind == "fork":
        event = pr_event(
            tmp_path / "event.json", number=8, base=base, head=head, head_repo="mallory/churn-model"
        )
        actor = "mallory"
    else:
        event = pr_event(
            tmp_path / "event.json", number=8, base=base, head=head, author="dependabot[bot]"
        )
        actor = "dependabot[bot]"
    run = run_action(tmp_path, ws, fake_github.url, event, actor=actor, **_saved_reports(tmp_path))
    assert run.proc.returncode == 0, run.proc.stderr
    assert fake_github.requests == []  # not even a read: nothing is sent with a read-only token
    assert run.outputs["can-write"] == "false"
    assert run.outputs["comment-url"] == ""
    assert run.outputs["score"] == "2"
    who = "a fork" if kind == "fork" else "Dependabot"
    assert (
        f"::notice title=mlscore::Not commenting: this pull request comes from {who}"
        in run.proc.stdout
    )
    # The summary and annotations still work with a read-only token.
    assert "ML Test Score 1.5 → 2 (+0.5)" in run.summary
    assert any(c.startswith("::warning") for c in run.commands)


def test_forbidden_comment_is_a_warning_not_a_failure(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    ws = tmp_path / "ws"
    base, head = make_repo(ws)
    fake_github.fail_writes_with = 403
    event = pr_event(tmp_path / "event.json", number=9, base=base, head=head)
    run = run_action(tmp_path, ws, fake_github.url, event, **_saved_reports(tmp_path))
    assert run.proc.returncode == 0, run.proc.stderr
    assert (
        "::warning title=mlscore::Could not write the pull request comment: POST" in run.proc.stdout
    )
    assert "HTTP 403 Resource not accessible by integration" in run.proc.stdout
    assert run.outputs["comment-url"] == ""


def test_bad_input_exits_2_with_one_line(tmp_path: Path, fake_github: FakeGitHub) -> None:
    ws = tmp_path / "ws"
    base, head = make_repo(ws)
    event = pr_event(tmp_path / "event.json", number=7, base=base, head=head)
    run = run_action(
        tmp_path, ws, fake_github.url, event, fail_under="lots", **_saved_reports(tmp_path)
    )
    assert run.proc.returncode == 2
    assert (
        run.proc.stderr
        == "mlscore: error: input fail-under (MLSCORE_FAIL_UNDER): not a number: 'lots'\n"
    )
    assert fake_github.requests == []


def test_real_audit_of_base_and_head_commits(tmp_path: Path, fake_github: FakeGitHub) -> None:
    if importlib.util.find_spec("mlscore.engine") is None:
        pytest.skip("mlscore.engine is not written yet")
    import mlscore.engine as engine

    if not hasattr(engine, "run_audit"):
        pytest.skip("mlscore.engine.run_audit is not written yet")
    run_audit = engine.run_audit

    ws = tmp_path / "ws"
    base, head = make_repo(ws)
    event = pr_event(tmp_path / "event.json", number=11, base=base, head=head)
    run = run_action(tmp_path, ws, fake_github.url, event)
    assert run.proc.returncode == 0, run.proc.stderr
    head_report, base_report = run_audit(ws), run_audit(ws, ref=base)
    from mlscore.report.common import fmt_points

    assert run.outputs["score"] == fmt_points(head_report.score.value)
    assert run.outputs["previous-score"] == fmt_points(base_report.score.value)
    assert run.outputs["can-write"] == "true"
    (bot,) = fake_github.bot_comments(11)
    assert run.outputs["comment-url"] == bot["html_url"]
    rerun = run_action(tmp_path, ws, fake_github.url, event)
    assert rerun.proc.returncode == 0, rerun.proc.stderr
    assert len(fake_github.bot_comments(11)) == 1
    assert [w for w in fake_github.writes() if w[0] == "POST"] == [
        ("POST", "/repos/acme/churn-model/issues/11/comments")
    ]
    written = Report.model_validate_json((ws / "mlscore-report" / "report.json").read_text())
    assert written.target.commit == head


def test_attestation_only_pull_request_is_flagged_self_declared(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    """A PR that only adds an attestation: the comment must say the credit is self-declared."""
    if importlib.util.find_spec("mlscore.engine") is None:
        pytest.skip("mlscore.engine is not written yet")
    import git

    ws = tmp_path / "ws"
    make_repo(ws)
    repo = git.Repo(ws)
    base = repo.head.commit.hexsha
    with (ws / "pyproject.toml").open("a") as handle:
        handle.write(
            '\n[[tool.mlscore.attest]]\nrule = "MODEL2"\nowner = "ana@example.org"\ndate = "2026-01-20"\n'
            'link = "https://wiki.example.org/ab-test"\n'
        )
    repo.index.add(["pyproject.toml"])
    head = repo.index.commit("attest MODEL2").hexsha
    event = pr_event(tmp_path / "event.json", number=12, base=base, head=head)
    run = run_action(tmp_path, ws, fake_github.url, event)
    assert run.proc.returncode == 0, run.proc.stderr
    (bot,) = fake_github.bot_comments(12)
    assert "MODEL2 became manual because an attestation by ana@&#8203;example.org" in bot["body"]
    assert "(self-declared: attestation or waiver)" in bot["body"]


def test_push_event_writes_summary_and_outputs_without_api_calls(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    ws = tmp_path / "ws"
    base, head = make_repo(ws)
    event = tmp_path / "push.json"
    event.write_text(json.dumps({"before": base, "after": head, "ref": "refs/heads/main"}))
    saved = _saved_reports(tmp_path)
    run = run_action(
        tmp_path,
        ws,
        fake_github.url,
        event,
        event_name="push",
        sarif_file="out/scan.sarif",
        **saved,
    )
    assert run.proc.returncode == 0, run.proc.stderr
    assert fake_github.requests == []
    assert run.outputs["sarif-file"] == "out/scan.sarif" and (ws / "out" / "scan.sarif").is_file()
    assert run.outputs["previous-score"] == "1.5"
    assert run.summary.startswith("## ML Test Score: 2 of 7")


def test_missing_baseline_commit_is_a_warning(tmp_path: Path, fake_github: FakeGitHub) -> None:
    """A shallow checkout lacks the base commit: the run goes on without a comparison and says why."""
    ws = tmp_path / "ws"
    base, head = make_repo(ws)
    event = pr_event(tmp_path / "event.json", number=13, base="f" * 40, head=head)
    run = run_action(tmp_path, ws, fake_github.url, event, comment="false")
    assert run.proc.returncode == 0, run.proc.stderr
    assert f"::warning title=mlscore::Could not audit the baseline {'f' * 12}" in run.proc.stdout
    assert "fetch-depth: 0" in run.proc.stdout
    assert run.outputs["previous-score"] == "" and run.outputs["delta"] == ""
    # Nothing is written; the changed lines are asked of the API (git lacks the base), which does not know them.
    assert [(m, p) for m, p, _, _ in fake_github.requests] == [("GET", "/repos/acme/churn-model/pulls/13/files")]
    assert "::notice title=mlscore::" in run.proc.stdout and "annotations-scope: all" in run.proc.stdout
    assert not any(c.startswith("::warning file=") or c.startswith("::notice file=") for c in run.commands)
