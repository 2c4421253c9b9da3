"""Every rubric test against fixture repositories for none / manual / automated, compared exactly.

Each ``fixtures/<RULE>/<case>/`` is a small repository written as real files; ``<case>`` is ``none``,
``manual`` or ``automated``, or a variant ``<level>-<trap>`` for one more tempting trap of LABELING.md (a
swallowed CI step, a start-up-only check, CI on fixtures for an outcome test...). The test copies it into
``tmp_path``, makes it a git repository with gitpython (so the file index comes from git and honours
.gitignore), audits it with only that rule selected, and compares level, points and the evidence
locations (``path:line``, every one, in any order) with ``fixtures/<RULE>/expected.json``.

The expected values follow ``LABELING.md`` (the corpus labeling rules), not what the detectors happen to
output. Where a detector disagrees, the case is listed in ``KNOWN_BUGS`` and marked strict xfail, so the fix
turns it into an XPASS failure that asks for the entry to be removed.

``pytest tests/rules/test_fixtures.py --update-goldens`` rewrites ``level``, ``points`` and ``evidence`` of
the cases that are not known bugs from the current output (``why`` is kept); review the diff against
LABELING.md before committing it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import git
import pytest

from mlscore.config import load_config
from mlscore.engine import run_audit
from mlscore.models import RuleResult

FIXTURES = Path(__file__).parent / "fixtures"
CASES = ("none", "manual", "automated")
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
ALL_RULES = tuple(f"{s}{n}" for s in ("DATA", "MODEL", "INFRA", "MON") for n in range(1, 8))

#: (rule, case) -> what the detector does wrong. Each stays a strict xfail until the detector is fixed.
KNOWN_BUGS: dict[tuple[str, str], str] = {
}


def _cases(rule: str) -> list[str]:
    """The three standard cases, then variants named ``<level>-<trap>`` (e.g. ``manual-swallowed``)."""
    variants = sorted(
        d.name for d in (FIXTURES / rule).glob("*-*") if d.is_dir() and d.name.split("-", 1)[0] in CASES
    ) if (FIXTURES / rule).is_dir() else []
    return [c for c in CASES if (FIXTURES / rule / c).is_dir()] + variants


def _params() -> list[Any]:
    params = []
    for rule in ALL_RULES:
        for case in _cases(rule):
            marks = []
            bug = KNOWN_BUGS.get((rule, case))
            if bug:
                marks.append(pytest.mark.xfail(strict=True, reason=f"detector bug: {bug}"))
            params.append(pytest.param(rule, case, id=f"{rule}-{case}", marks=marks))
    return params


def _expected(rule: str) -> dict[str, Any]:
    return json.loads((FIXTURES / rule / "expected.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def make_git_repo(source: Path, dest: Path) -> Path:
    """Copy a fixture to ``dest`` and commit it with gitpython; ignored files stay untracked."""
    shutil.copytree(source, dest)
    repo = git.Repo.init(dest, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Fixture Author")
        cfg.set_value("user", "email", "fixtures@example.com")
        cfg.set_value("commit", "gpgsign", "false")
    repo.git.add("-A")
    repo.git.commit("-m", "fixture", "--no-verify")
    repo.close()
    return dest


def observed(result: RuleResult) -> dict[str, Any]:
    return {
        "level": result.level.value,
        "points": result.points,
        "evidence": [str(ev.location) if ev.location else ev.summary for ev in result.evidence],
    }


def audit_fixture(rule: str, case: str, tmp_path: Path) -> RuleResult:
    root = make_git_repo(FIXTURES / rule / case, tmp_path / f"{rule.lower()}-{case}")
    # load_config reads the fixture's own .mlscore.toml / [tool.mlscore] (attestations); --select is the override.
    config = load_config(root, overrides={"select": (rule,)}, today=NOW.date())
    report = run_audit(root, config=config, now=NOW)
    assert report.selected == (rule,)
    result = report.result(rule)
    assert result is not None
    assert result.error is None, result.error
    return result


@pytest.mark.parametrize(("rule", "case"), _params())
def test_rule_fixture(rule: str, case: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    result = audit_fixture(rule, case, tmp_path)
    got = observed(result)
    if request.config.getoption("--update-goldens", default=False) and (rule, case) not in KNOWN_BUGS:
        path = FIXTURES / rule / "expected.json"
        doc = _expected(rule)
        entry = doc["cases"].setdefault(case, {})
        entry.update(got)
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return
    want = _expected(rule)["cases"][case]
    # Evidence is compared exactly as a multiset of locations; the order among items is presentation only.
    assert {k: want[k] for k in ("level", "points")} == {k: got[k] for k in ("level", "points")}, want.get("why")
    assert sorted(want["evidence"]) == sorted(got["evidence"]), want.get("why")


def test_every_rule_has_fixtures_for_every_possible_case() -> None:
    """All 28 rules x 3 cases exist, or expected.json says why a case cannot be shown in a repository."""
    missing = []
    for rule in ALL_RULES:
        doc = _expected(rule) if (FIXTURES / rule / "expected.json").is_file() else {"cases": {}}
        assert doc.get("rule", rule) == rule
        for case in CASES:
            entry = doc["cases"].get(case)
            has_dir = (FIXTURES / rule / case).is_dir()
            if has_dir and entry is not None and {"level", "points", "evidence", "why"} <= entry.keys():
                assert entry["level"] == case, f"{rule}/{case} expects {entry['level']}"
                assert entry["points"] == {"none": 0.0, "manual": 0.5, "automated": 1.0}[case]
                continue
            if not has_dir and entry is not None and entry.get("impossible"):
                continue
            missing.append(f"{rule}/{case}")
    assert not missing, f"fixture or expectation missing: {missing}"


def test_variant_cases_expect_the_level_they_are_named_after() -> None:
    for rule in ALL_RULES:
        for case in _cases(rule):
            if case in CASES:
                continue
            entry = _expected(rule)["cases"].get(case)
            assert entry is not None and {"level", "points", "evidence", "why"} <= entry.keys(), f"{rule}/{case}"
            assert entry["level"] == case.split("-", 1)[0], f"{rule}/{case} expects {entry['level']}"


def test_known_bugs_name_existing_cases() -> None:
    for rule, case in KNOWN_BUGS:
        assert (FIXTURES / rule / case).is_dir(), f"KNOWN_BUGS lists {rule}/{case}, which has no fixture"


def test_fixture_files_are_well_formed() -> None:
    """A fixture must fail or pass on its evidence, never because one of its files does not parse."""
    import ast
    import tomllib

    import yaml

    bad = []
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix == ".py":
                ast.parse(text, filename=str(path))
            elif path.suffix in (".yml", ".yaml") or path.name.endswith(".dvc"):
                list(yaml.safe_load_all(text))
            elif path.suffix in (".json", ".ipynb"):
                json.loads(text)
            elif path.suffix == ".toml":
                tomllib.loads(text)
        except (SyntaxError, yaml.YAMLError, ValueError) as exc:
            bad.append(f"{path.relative_to(FIXTURES)}: {exc}")
    assert not bad, bad
