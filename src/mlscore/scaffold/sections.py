"""`mlscore init --section data|infrastructure`: the files that raise those sections (see mlscore.scaffold)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlscore.models import Level
from mlscore.scaffold import templates

if TYPE_CHECKING:
    from mlscore.models import Report
    from mlscore.scaffold import Plan, Profile

SUITE_DIRS = ("great_expectations/expectations", "gx/expectations", "expectations")
GATE_THRESHOLD = 0.8
NO_SERVING = "nothing in the tree registers, deploys or serves a model"


def _push_job(prof: Profile, slug: str, title: str, steps: list[tuple[str, str]], env: dict[str, str],
              purpose: str) -> tuple[str, str]:
    """(path, text) of a job that runs on every push and pull request, for the repository's CI system."""
    if prof.ci == "gitlab":
        return f".gitlab/mlscore-{slug}.yml", templates.gitlab_push(f"mlscore-{slug}", prof.python, prof.install,
                                                                    steps, env, purpose)
    if prof.ci == "azure":
        return f"azure-pipelines.mlscore-{slug}.yml", templates.azure_push(prof.python, prof.install, steps, env,
                                                                           purpose)
    return f".github/workflows/mlscore-{slug}.yml", templates.github_push(title, slug, prof.python, prof.install,
                                                                          steps, env, purpose)


def _suite(root: Path, train_data: str) -> dict[str, Any]:
    """The suite `mlscore data schema TRAIN` writes, built in-process by the same functions."""
    from mlscore.data.readers import profile_file
    from mlscore.data.suite import build_suite

    name = Path(train_data).name.split(".")[0] or "mlscore"
    suite = build_suite(profile_file(root / train_data), name)
    suite.setdefault("meta", {})["source"] = train_data  # the path in the repository, not on this machine
    return suite


def data(root: Path, prof: Profile, out: Plan, below: Callable[[str], bool], paths: set[str]) -> None:
    from mlscore.scaffold import Claim, Planned

    if not below("DATA1"):
        return
    if not prof.train_data:
        out.skipped.append("DATA1: no committed training data (a CSV, Parquet or JSONL file under data/) to infer "
                           "expectations from; run `mlscore data schema TRAIN -o expectations/NAME.json` on it and "
                           "test the data against the suite")
        return
    try:
        suite = _suite(root, prof.train_data)
    except ImportError:
        out.skipped.append("DATA1: inferring the expectations needs mlscore-audit[data] (pip install "
                           "'mlscore-audit[data]'); install it and run init again")
        return
    except Exception as exc:  # noqa: BLE001  (an unreadable data file is the user's to fix; say why)
        out.skipped.append(f"DATA1: could not infer expectations from {prof.train_data}: {exc}")
        return
    where = next((d for d in SUITE_DIRS if any(p.startswith(d + "/") for p in paths)), "expectations")
    stem = Path(prof.train_data).name.split(".")[0] or "train"
    suite_path = f"{where}/{stem}.json"
    test_path = "tests/test_data_expectations.py"
    out.files.append(Planned(suite_path, json.dumps(suite, indent=2) + "\n", [],
                             f"expectations inferred from {prof.train_data} (`mlscore data schema`)"))
    job = None
    if prof.ci_found:
        path, text = _push_job(prof, "data-tests", "mlscore data tests",
                               [("Check the training data against its expectations",
                                 f"pip install 'mlscore-audit[data]' pytest && python -m pytest {test_path}")], {},
                               f"check {prof.train_data} against {suite_path} on every push and pull request "
                               "(ML Test Score DATA1)")
        job = Planned(path, text, [], "a CI job that checks the training data")
    # the test is automated when CI runs it: the job written here (once active) or a CI job already running tests/
    runs = prof.tests_in_ci or (job is not None and prof.ci != "gitlab")
    claim = Claim("DATA1", Level.AUTOMATED if runs else Level.MANUAL,
                  f"{test_path} validates {prof.train_data} against {len(suite['expectations'])} expectations "
                  + ("and CI runs it on every push (LABELING.md DATA1: a schema with constraints, checked on the "
                     "real data automatically)" if runs else "when a person runs it (LABELING.md DATA1, G4: manual)"))
    out.files.append(Planned(test_path, templates.data_test(prof.train_data, suite_path, test_path.count("/")),
                             [claim], "a test of the training data (@pytest.mark.mlscore(\"DATA1\"))"))
    if job is not None:
        out.files.append(job)
    elif not runs:
        out.skipped.append(f"DATA1: no CI found to run {test_path}; add it to your CI for the automated level")


def infrastructure(root: Path, prof: Profile, out: Plan, report: Report, below: Callable[[str], bool],
                   paths: set[str]) -> None:
    from mlscore.scaffold import Claim, Planned

    steps: list[tuple[str, str]] = []
    claims: list[Claim] = []
    if not prof.tests_in_ci and any(re.search(r"(^|/)(test_[^/]*|[^/]*_test)\.py$", p) for p in paths):
        steps.append(("Run the tests", "pip install pytest && python -m pytest"))
        infra2 = report.result("INFRA2")
        if below("INFRA2") and infra2 is not None and infra2.level is Level.MANUAL:
            claims.append(Claim("INFRA2", Level.AUTOMATED, "the tests that exercise the model code run on every push "
                                                           "(LABELING.md INFRA2: unit tests CI runs)"))
    gate = None
    if prof.train_command:
        metrics = _metrics_path(root, prof)
        gate = Planned("scripts/quality_gate.py", templates.quality_gate(metrics or "metrics.json", "accuracy",
                                                                         GATE_THRESHOLD), [],
                       "a quality gate: fail when the candidate's metric is below the threshold")
        steps += [("Train the candidate model", prof.train_command),
                  ("Quality gate: stop a candidate below the threshold", "python scripts/quality_gate.py")]
        if metrics is None:
            out.skipped.append("INFRA4: the training code names no metrics JSON; make it write metrics.json "
                               f'(e.g. {{"accuracy": 0.87}}) or pass --metrics to scripts/quality_gate.py, and set '
                               f"its --threshold (default {GATE_THRESHOLD})")
        infra4 = report.result("INFRA4")
        if infra4 is not None and infra4.rationale.startswith(NO_SERVING):
            out.skipped.append("INFRA4: nothing in the tree registers, deploys or serves a model, so the audit "
                               "credits no gate before serving (LABELING.md I4); the gate still stops a bad "
                               "candidate in CI")
        elif below("INFRA4") and infra4 is not None and infra4.level is Level.NONE:
            gate.claims.append(Claim("INFRA4", Level.MANUAL, "scripts/quality_gate.py fails a candidate below the "
                                                        "threshold in CI (LABELING.md INFRA4: manual until a "
                                                        "deployment in the same pipeline depends on it)"))
    else:
        out.skipped.append("INFRA4: no training entry point (train.py with a __main__ block) to gate")
    if not steps:
        out.skipped.append("INFRA2: CI already runs the tests; init writes nothing more for the section")
        return
    if gate is not None:
        out.files.append(gate)
    path, text = _push_job(prof, "ci", "mlscore ci", steps, prof.train_env,
                           "install the project, run its tests"
                           + (", train and gate the candidate" if gate is not None else "")
                           + " on every push and pull request (ML Test Score INFRA2, INFRA4)")
    out.files.append(Planned(path, text, claims, "CI on every push and pull request"))


def _metrics_path(root: Path, prof: Profile) -> str | None:
    """A metrics JSON the training code names (``metrics.json``, ``reports/metrics.json``...), if any."""
    command = prof.train_command or ""
    m = re.search(r"python (?:-m (\S+)|(\S+\.py))", command)
    if m is None:
        return None
    path = m.group(2) or "src/" + m.group(1).replace(".", "/") + ".py"
    try:
        text = (root / path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = re.search(r"[\"']([\w./-]*metrics[\w.-]*\.json)[\"']", text)
    return found.group(1) if found else None
