"""Next steps in the audited repository's own terms (issue 9: no DVC stage for an MLflow project)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from mlscore.catalog import Remediation, load_catalog
from mlscore.detectors.advice import profile
from mlscore.engine import build_context, run_audit
from mlscore.facts.files import index_path
from mlscore.facts.repo import collect
from mlscore.remediation import GENERIC, render


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


PREFECT_PROJECT = {
    ".gitlab-ci.yml": "test:\n  script:\n    - pip install -e .\n    - pytest tests\n",
    "pyproject.toml": '[project]\nname = "bikes"\nversion = "0.1"\ndependencies = ["prefect", "mlflow", "scikit-learn"]\n',
    "flows/train.py": "from prefect import flow, task\nimport mlflow\n\n\n@flow\ndef training():\n    pass\n",
    "data/rides.csv": "season,weekday,temperature,count\n1,3,12.5,310\n",
    "tests/test_x.py": "def test_x():\n    assert 1 == 1\n",
}


def test_profile_uses_what_the_repository_uses(tmp_path: Path) -> None:
    _write(tmp_path, PREFECT_PROJECT)
    values = profile(build_context(collect(index_path(tmp_path))))
    assert values["ci"] == "GitLab CI" and values["ci_job"] == "a GitLab CI job"
    assert "Prefect" in values["pipeline_step"] and "Prefect" in values["schedule"]
    assert values["tracker"].startswith("MLflow")
    assert values["slices"] == "`season` and `weekday`"
    assert values["train_data"] == "data/rides.csv"
    assert values["dependency_bot"] == "Renovate"  # Dependabot is GitHub's


def test_an_audit_phrases_next_steps_in_those_terms(tmp_path: Path) -> None:
    _write(tmp_path, PREFECT_PROJECT)
    report = run_audit(tmp_path, overrides={"select": ("MODEL3", "MODEL6", "MON3", "DATA7")})
    steps = {r.rule_id: r.next_step for r in report.results}
    assert all("{" not in s for s in steps.values())
    assert "DVC" not in " ".join(steps.values())
    assert "`season` and `weekday`" in steps["MODEL6"]
    assert "--reference data/rides.csv" in steps["MON3"]


def test_generic_wording_without_an_audit() -> None:
    for rule in load_catalog():
        for text in (rule.remediation.to_manual, rule.remediation.to_automated):
            rendered = render(text)
            assert not re.search(r"\{[a-z_]+\}", rendered), (rule.id, rendered)
    assert render("{ci_job} and {slices}") == f"{GENERIC['ci_job']} and {GENERIC['slices']}"
    assert render("keep {braces} that are not ours") == "keep {braces} that are not ours"


def test_rules_may_only_name_known_placeholders() -> None:
    example = {"kind": "command", "language": "bash", "title": "t", "text": "x"}
    with pytest.raises(ValidationError, match="unknown placeholder"):
        Remediation(to_manual="Run it in {jenkins_job}.", to_automated="x", example=example)
    with pytest.raises(ValidationError, match="unbalanced"):
        Remediation(to_manual="Run it in {ci_job.", to_automated="x", example=example)
