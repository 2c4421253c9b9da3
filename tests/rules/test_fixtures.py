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
    ("DATA1", "manual"): "a hand-run script (scripts/check_data.py, nothing runs or imports it) counts as a guard in "
    "the standard data path because its file name matches GUARD_PATH_RX ('data'); says automated, G5 says manual "
    "(detectors/data.py data1: `or GUARD_PATH_RX.search(py.path)`)",
    ("DATA1", "none-config-model"): "a pydantic model of training hyperparameters (epochs, learning_rate with "
    "Field(ge=..)) is taken for a feature schema: data1's _constrained_models accepts any constrained model, "
    "whatever it describes; says manual",
    ("DATA3", "automated"): "per-feature timing run by a scheduled CI job is only grepped as text: manual, with "
    "the workflow's `name: feature-cost` line as evidence; the scheduled run of scripts/feature_cost.py is never "
    "consulted (detectors/data.py data3)",
    ("DATA3", "none-todo"): "a roadmap TODO ('measure the per-feature cost ... before adding more features') is "
    "credited as a recorded per-feature cost: data3 greps the phrase in any doc; plans and TODOs are not evidence (G2)",
    ("DATA4", "manual"): "a documented review of the actual columns against a data-use policy (DATASHEET.md) is "
    "not read: data4 greps only .py/.yaml/.toml/.json for deny-list names, so it says none",
    ("DATA5", "manual"): "a documented privacy procedure (docs/privacy.md: hashing ids, deletion after 30 days) "
    "is not read: data5 looks only at IaC and anonymiser calls, so it says none",
    ("DATA6", "manual"): "evidence line is off by one (CONTRIBUTING.md:2, the blank line above the heading): the "
    "heading regex `^\\s{0,3}#` lets \\s match the preceding newline (detectors/data.py data6 `heading`)",
    ("DATA6", "automated"): "a feature registry (features.yaml) read by the transformation and the training code, "
    "driven by a CI-run `dvc repro`, is not recognised (only Feast feature_store.yaml is): says none",
    ("DATA7", "none"): "an import-only test (`assert features`, the module object) counts as a test of the "
    "feature code: tests_using treats a bare Name use of the imported module as a call and `assert <name>` as a "
    "meaningful assertion (detectors/code.py tests_using `used = {c for c in fn.calls ...}`)",
    ("MODEL3", "automated"): "a tuning DVC stage whose output params/best.json is a declared dep of the train "
    "stage (which reads it) stays manual by design (detectors/model.py model3: 'not provable statically'); "
    "dvc.yaml deps/outs prove the flow (decision 19)",
    ("MODEL4", "automated"): "a scheduled CI job running a backtest of a model frozen 3 months ago against a "
    "retrained one (fails on a large gap) is not recognised: model4 only reads docs, says none",
    ("MODEL6", "none-segmentation"): "a k-means customer segmentation scored by silhouette_score in a DVC "
    "stage is credited automated: model6 accepts any function whose name contains 'segment' and that calls a "
    "'score' function; it is not the shipped model's quality per slice",
    ("MODEL7", "manual"): "evidence line is off by one (MODEL_CARD.md:6, the blank line above '## Fairness "
    "evaluation'): same `^\\s{0,3}#` heading regex as data6 (detectors/model.py model7 `heading`)",
    ("MODEL7", "none-attribution-commentary"): "a '## Bias' section that only comments on a sensitive "
    "feature's correlation and SHAP share is credited manual: model7 needs a heading, a group word ('gender', "
    "'age') and a number, which attribution commentary also has; no per-group quality is evaluated",
    ("INFRA2", "none"): "a test that only loads an artefact, checks its type and asserts a module constant "
    "(`assert train.FEATURES`) counts: infra2 accepts a test by its function name alone "
    "(`re.search(r'(?i)model|train|...', use.function.name)`) without a build/fit/predict call",
    ("INFRA3", "none-cli-help"): "CI running `python main.py --help` is credited as running the pipeline end to "
    "end: infra3's TRAIN_CMD_RX matches any `python ...main...` command; an import/CLI smoke check is not evidence",
    ("INFRA4", "manual"): "the threshold check `if auc < MIN_AUC:` followed by `return 1` (main's code passed to "
    "sys.exit) is not seen as acting: infra4 requires raise/sys.exit/exit(/return False/abort in the next 4 "
    "lines (detectors/infra.py infra4); says none",
    ("INFRA4", "automated"): "same gate not recognised (`return 1` from main), so the deploy job that `needs` the "
    "validate job never makes it automated; says none",
    ("INFRA4", "none-hardcoded-gate"): "a placeholder gate comparing two constants (`ACCURACY = 0.93` copied "
    "from a notebook vs 0.90) before a deploy job is credited automated: infra4 matches `if <metric word> < ...:` "
    "+ sys.exit without checking that a model is evaluated (G2: gates that compare hard-coded numbers)",
    ("INFRA6", "manual"): "a documented manual canary procedure (docs/release.md '## Canary release') is not "
    "read: infra6 has no doc check; says none",
    ("INFRA7", "none-registry-latest"): "serving `mlflow.pyfunc.load_model(\"models:/churn/latest\")` is credited "
    "as an explicit registry version: infra7 accepts any `models:/` URI, including the mutable `latest`",
    ("INFRA7", "manual"): "the level is right (the pinned image tag is found) but the runbook heading "
    "'## Rolling back the model' is missed: infra7's regex `roll ?back` does not match 'Rolling back' "
    "(detectors/infra.py infra7 docs loop)",
    ("MON2", "manual"): "a drift report of exported serving inputs against the training data run by hand "
    "(evidently DataDriftPreset in scripts/serving_drift.py) is not recognised; only scheduled commands count; "
    "says none",
    ("MON2", "manual-ci-on-push"): "a check of production inputs run by CI on push (`mlscore data check` on a "
    "copy of the serving inputs) is not recognised: mon2 only looks at scheduled commands (_scheduled_data_check), "
    "so push-only runs, which LABELING G6 makes 0.5, give none",
    ("MON3", "manual"): "a test asserting that the online and the training feature paths give equal values is not "
    "recognised (mon3 knows only skew APIs and mlscore commands); says none",
    ("MON5", "manual-startup-check"): "a one-off `if not np.isfinite(probe)` at module import (start-up) is "
    "taken as a live guard: mon5 greps `if ... isfinite(` followed by raise anywhere in non-test code without "
    "checking that it runs per prediction or per step; decision 3 makes a start-up check 0.5",
    ("MON3", "none-train-vs-test"): "a scheduled `mlscore data check --reference data/train.parquet --current "
    "data/test.parquet` (test split against training split) is credited as skew detection: mon3 does not look "
    "at what --current is; LABELING MON3 excludes train-vs-test reports",
    ("MON4", "none-scheduled-report"): "a scheduled job running `python scripts/training_data_report.py` "
    "(profiles data, no training) is credited as scheduled retraining: mon4's train_rx matches 'train' anywhere "
    "in the script name",
    ("MON5", "none-input-cleaning"): "isfinite cleaning of input data in the loader (`if not "
    "np.isfinite(values).all(): warnings.warn(...); nan_to_num`) is credited as an automated guard: mon5 accepts "
    "`warn` after the check and does not ask whether outputs or training values are checked; LABELING MON5 lists "
    "'isfinite cleaning of input data' as not evidence",
    ("MON6", "none-readme-throughput"): "a README throughput claim is credited manual: mon6 greps "
    "`throughput` in .md files; README claims and hard-coded values are not evidence",
    ("MON6", "manual-ci-benchmark"): "a pytest-benchmark latency benchmark run by CI on push (no threshold) is "
    "not recognised: mon6 knows Prometheus histograms, instrumentators, a few log keywords and locust/k6 files; "
    "says none, LABELING MON6 lists 'benchmarks in CI with no threshold' as 0.5",
    ("MON7", "manual"): "the latency histogram is credited as the prediction distribution because its help text "
    "'Time to answer /predict' matches `predict`; evidence should be the churn_prediction_score histogram "
    "(churn/serve.py:17), not :16 (detectors/monitoring.py mon7)",
    ("MON7", "automated"): "the level is right but the evidence is the latency alert "
    "(alerts.yml:4 ChurnLatencyP99High, whose summary mentions /predict) and the latency histogram (serve.py:16); "
    "the prediction-distribution evidence is alerts.yml:11 ChurnPredictionShift and the churn_prediction_score "
    "histogram at serve.py:17",
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
