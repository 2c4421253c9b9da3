"""The remediation examples work: validated by the real tools, and the Python ones run on a toy project.

Each example is what `mlscore explain` tells a user to copy, so it must be correct. Config examples go
through the validators their platforms use (GitHub workflow and Dependabot schemas, zizmor,
promtool); self-contained Python examples run against a small synthetic churn project built in
``tmp_path`` (training data, a holdout, a shipped scikit-learn pipeline), and must pass there and
fail when the problem they guard against is introduced.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

np = pytest.importorskip("numpy", reason="the example tests need the [data] extra")
pd = pytest.importorskip("pandas", reason="the example tests need the [data] extra")
pytest.importorskip("sklearn", reason="the example tests need scikit-learn (the [test] extra)")

from mlscore.catalog import RuleSpec, load_catalog

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
RULES = {rule.id: rule for rule in load_catalog()}
COUNTRIES = ["DE", "FR", "IT", "US"]
COUNTRY_EFFECT = {"DE": 0.8, "FR": -0.6, "IT": 0.3, "US": -0.5}


def _example(rule_id: str) -> str:
    return RULES[rule_id].remediation.example.text


def _examples_where(predicate: Any) -> list[RuleSpec]:
    return [rule for rule in RULES.values() if predicate(rule.remediation.example)]


def _tool(name: str) -> str | None:
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else shutil.which(name)


def _require(name: str) -> str:
    path = _tool(name)
    if path is None:
        if os.environ.get("MLSCORE_REQUIRE_INTEGRATION") == "1":
            pytest.fail(f"{name} is required (MLSCORE_REQUIRE_INTEGRATION=1) but not installed")
        pytest.skip(f"{name} is not installed")
    return path


WORKFLOWS = _examples_where(lambda ex: ex.language == "yaml" and "runs-on:" in ex.text)
PROMETHEUS = _examples_where(lambda ex: ex.language == "yaml" and ex.text.startswith("groups:"))


def test_the_examples_cover_the_platform_kinds() -> None:
    assert {r.id for r in WORKFLOWS} == {"MODEL1", "INFRA3", "INFRA7", "MON3"}
    assert {r.id for r in PROMETHEUS} == {"MON4", "MON6"}


@pytest.mark.parametrize("rule", WORKFLOWS, ids=lambda r: r.id)
def test_workflow_examples_pass_the_github_schema_and_zizmor(rule: RuleSpec, tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    path = workflows / f"{rule.id.lower()}.yml"
    path.write_text(_example(rule.id), encoding="utf-8")
    check = subprocess.run(
        [_require("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        check=False, capture_output=True, text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    audit = subprocess.run(
        [_require("zizmor"), "--offline", "--format", "json", str(workflows)], check=False, capture_output=True, text=True
    )
    findings = [f["ident"] for f in json.loads(audit.stdout or "[]")]
    # Version tags, not commit hashes, keep the examples readable; every other audit must be clean.
    assert [f for f in findings if f != "unpinned-uses"] == [], audit.stdout


def test_dependabot_example_passes_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "dependabot.yml"
    path.write_text(_example("MON1"), encoding="utf-8")
    check = subprocess.run(
        [_require("check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(path)],
        check=False, capture_output=True, text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("rule", PROMETHEUS, ids=lambda r: r.id)
def test_prometheus_rule_examples_pass_promtool(rule: RuleSpec, tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(_example(rule.id), encoding="utf-8")
    check = subprocess.run([_require("promtool"), "check", "rules", str(path)], check=False, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 2 rules found" in check.stdout


def test_argo_rollouts_example_references_its_analysis_template() -> None:
    rollout, template = yaml.safe_load_all(_example("INFRA6"))
    assert (rollout["kind"], template["kind"]) == ("Rollout", "AnalysisTemplate")
    steps = rollout["spec"]["strategy"]["canary"]["steps"]
    assert steps[0] == {"setWeight": 10}
    assert steps[1]["analysis"]["templates"][0]["templateName"] == template["metadata"]["name"]
    assert rollout["spec"]["selector"]["matchLabels"] == rollout["spec"]["template"]["metadata"]["labels"]


# --- a toy churn project on which the Python examples run ----------------------------------------


def _frame(rng: np.random.Generator, n: int, week: int | None = None, truth: bool = False) -> pd.DataFrame:
    age = rng.integers(18, 90, n)
    height = np.clip(rng.normal(172, 10, n), 121, 229).round(1)
    country = rng.choice(COUNTRIES, n)
    views = rng.poisson(20, n) + 1
    clicks = rng.binomial(views, 0.2)
    z = (
        1.8 * np.sin(age / 9.0)
        + 0.09 * (height - 172)
        + np.vectorize(COUNTRY_EFFECT.get)(country)
        + 6.0 * (clicks / views - 0.2)
        + 1.2 * ((age > 50) & (country == "US"))
    )
    if week is not None and week >= 12:
        z = z + 4.0 * (country == "FR")  # the world changes at week 12: French users churn far more
    probability = 1 / (1 + np.exp(-z))
    label = (rng.random(n) < probability).astype(int)
    frame = pd.DataFrame(
        {"age": age, "height_cm": height, "country": country, "clicks": clicks, "views": views, "label": label}
    )
    if truth:
        frame["score"] = probability
    if week is not None:
        frame["week"] = week
    return frame


def _pipeline() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    prep = ColumnTransformer(
        [("country", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["country"])],
        remainder="passthrough",
    )
    return Pipeline([("prep", prep), ("model", HistGradientBoostingClassifier(max_iter=60, random_state=0))])


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Any:
    """OpenMP in scikit-learn slows down 40x on a busy shared machine; one thread is plenty here."""
    import sklearn.ensemble  # noqa: F401 - load the OpenMP runtime first, so the limit below reaches it
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import joblib
    from sklearn.metrics import roc_auc_score

    root = tmp_path_factory.mktemp("churn")
    for folder in ("data", "models", "metrics", "reports", "params"):
        (root / folder).mkdir()
    rng = np.random.default_rng(7)
    train, holdout = _frame(rng, 4000), _frame(rng, 2800)
    train.to_parquet(root / "data" / "train.parquet")
    holdout.to_parquet(root / "data" / "holdout.parquet")
    pd.concat([_frame(rng, 300, week) for week in range(16)]).to_parquet(root / "data" / "labelled_events.parquet")
    model = _pipeline().fit(train.drop(columns=["label"]), train["label"])
    joblib.dump(model, root / "models" / "model.joblib")
    scores = model.predict_proba(holdout.drop(columns=["label"]))[:, 1]
    auc = roc_auc_score(holdout["label"], scores)
    (root / "metrics" / "production.json").write_text(json.dumps({"auc": round(auc - 0.002, 4)}))
    slices = {c: 0.6 for c in COUNTRIES}
    (root / "metrics" / "slices_production.json").write_text(json.dumps(slices))
    # a calibrated model's served scores: the true probabilities, so the bias is sampling noise only
    _frame(rng, 16000, truth=True)[["score", "label", "country"]].to_parquet(root / "served.parquet")
    return root


def _run_tests_in(code: str, project: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Execute an example in the project directory and call each of its test_* functions."""
    monkeypatch.chdir(project)
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(code, "example.py", "exec"), namespace)  # noqa: S102 - our own example code
    tests = [fn for name, fn in namespace.items() if name.startswith("test_") and callable(fn)]
    assert tests
    for test in tests:
        test()
    return namespace


def _run_script(code: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an example script as ``python script.py ARGS`` would, in this process (imports are slow)."""
    out, err = io.StringIO(), io.StringIO()
    previous_dir, previous_argv = Path.cwd(), sys.argv
    sys.argv = ["example_script.py", *args]
    returncode = 0
    try:
        os.chdir(project)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                exec(compile(code, "example_script.py", "exec"), {"__name__": "__main__"})  # noqa: S102
            except SystemExit as stop:
                if isinstance(stop.code, str):
                    print(stop.code, file=sys.stderr)
                    returncode = 1
                else:
                    returncode = stop.code or 0
    finally:
        os.chdir(previous_dir)
        sys.argv = previous_argv
    return subprocess.CompletedProcess(sys.argv, returncode, out.getvalue(), err.getvalue())


def test_data2_permutation_importance_passes_and_catches_a_useless_feature(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import joblib

    _run_tests_in(_example("DATA2"), project, monkeypatch)
    noisy = project / "noisy"
    shutil.copytree(project, noisy, ignore=shutil.ignore_patterns("noisy"))
    rng = np.random.default_rng(1)
    for name in ("train", "holdout"):
        frame = pd.read_parquet(noisy / "data" / f"{name}.parquet")
        frame.insert(0, "noise", rng.normal(size=len(frame)))
        frame.to_parquet(noisy / "data" / f"{name}.parquet")
    train = pd.read_parquet(noisy / "data" / "train.parquet")
    joblib.dump(_pipeline().fit(train.drop(columns=["label"]), train["label"]), noisy / "models" / "model.joblib")
    with pytest.raises(AssertionError, match=r"features with no measurable benefit: \['noise'\]"):
        _run_tests_in(_example("DATA2"), noisy, monkeypatch)


def test_model5_baseline_comparison_passes_and_fails_for_a_linear_problem(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import joblib

    _run_tests_in(_example("MODEL5"), project, monkeypatch)
    linear_world = project / "linear"
    shutil.copytree(project, linear_world, ignore=shutil.ignore_patterns("linear", "noisy"))
    rng = np.random.default_rng(3)
    for name, n in (("train", 3000), ("holdout", 2000)):
        frame = _frame(rng, n)
        z = 0.05 * (frame["age"] - 50) + 0.3 * (frame["clicks"] - 4)
        frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
        frame.to_parquet(linear_world / "data" / f"{name}.parquet")
    train = pd.read_parquet(linear_world / "data" / "train.parquet")
    # A needlessly complex model on a linear problem does not beat the linear baseline by 0.01.
    model = _pipeline().fit(train.drop(columns=["label"]), train["label"])
    joblib.dump(model, linear_world / "models" / "model.joblib")
    with pytest.raises(AssertionError, match="does not pay for itself"):
        _run_tests_in(_example("MODEL5"), linear_world, monkeypatch)


def test_model6_slice_check_passes_and_catches_a_slice_regression(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run_tests_in(_example("MODEL6"), project, monkeypatch)
    slices = project / "metrics" / "slices_production.json"
    original = slices.read_text()
    try:
        slices.write_text(json.dumps({**json.loads(original), "FR": 0.99}))
        with pytest.raises(AssertionError, match=r"slices below bounds: FR: AUC"):
            _run_tests_in(_example("MODEL6"), project, monkeypatch)
    finally:
        slices.write_text(original)


def test_infra4_gate_blesses_and_vetoes(project: Path) -> None:
    ok = _run_script(_example("INFRA4"), project, "models/model.joblib")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("candidate AUC 0.")
    production = project / "metrics" / "production.json"
    original = production.read_text()
    try:
        production.write_text(json.dumps({"auc": 0.99}))
        vetoed = _run_script(_example("INFRA4"), project, "models/model.joblib")
        assert vetoed.returncode == 1 and vetoed.stderr.strip() == "gate: candidate rejected"
    finally:
        production.write_text(original)


def test_infra5_trace_reaches_the_prediction(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = _run_tests_in(_example("INFRA5"), project, monkeypatch)
    import joblib

    trace = namespace["trace_one"](
        joblib.load("models/model.joblib"),
        {"age": 30, "height_cm": 170.0, "country": "IT", "clicks": 1, "views": 5},
    )
    assert [name for name, _ in trace] == ["prep", "predict_proba"]
    assert trace[0][1].shape == (1, 8)  # four one-hot countries + four numeric features


def test_model4_backtest_writes_the_staleness_curve(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    exec(compile(_example("MODEL4"), "staleness.py", "exec"), {"__name__": "__main__"})  # noqa: S102
    curve = pd.read_csv(project / "reports" / "staleness.csv")
    assert list(curve.columns) == ["age_weeks", "auc_frozen", "auc_fresh"]
    assert curve["age_weeks"].tolist() == list(range(4))
    # the world drifts every week, so the frozen model falls behind a retrained one as it ages
    gap = curve["auc_fresh"] - curve["auc_frozen"]
    assert gap.iloc[0] == pytest.approx(0.0) and gap.iloc[-1] > 0.0


def test_mon2_serving_validation_rejects_violations(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    monkeypatch.chdir(project)
    path = project / "serving_example.py"
    path.write_text(_example("MON2"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("serving_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "serving_example", module)
    spec.loader.exec_module(module)
    client = TestClient(module.app)
    good = {"age": 40, "height_cm": 175.0, "country": "DE", "clicks": 3, "views": 20}
    response = client.post("/predict", json=good)
    assert response.status_code == 200 and 0.0 <= response.json()["score"] <= 1.0
    for bad in ({"age": 7}, {"country": "XX"}, {"height_cm": 900.0}, {"clicks": -1}, {"referrer": "ad"}):
        assert client.post("/predict", json={**good, **bad}).status_code == 422, bad


def test_mon5_serving_guard_rejects_non_finite_scores() -> None:
    from fastapi import HTTPException
    from prometheus_client import REGISTRY

    namespace: dict[str, Any] = {"__name__": "guards"}
    exec(compile(_example("MON5"), "guards.py", "exec"), namespace)  # noqa: S102

    class Model:
        def __init__(self, scores: list[float]) -> None:
            self.scores = np.array(scores)

        def predict_proba(self, rows: object) -> np.ndarray:
            return np.column_stack([1 - self.scores, self.scores])

    try:
        assert namespace["checked_scores"](Model([0.1, 0.9]), None).tolist() == [0.1, 0.9]
        with pytest.raises(HTTPException):
            namespace["checked_scores"](Model([0.1, float("nan"), float("inf")]), None)
        assert REGISTRY.get_sample_value("model_nonfinite_predictions_total") == 2.0
    finally:
        REGISTRY.unregister(namespace["NON_FINITE"])


def test_mon7_quality_job_passes_and_flags_a_biased_slice(project: Path) -> None:
    ok = _run_script(_example("MON7"), project, "served.parquet")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0].startswith("all: n=16000 bias=")
    served = pd.read_parquet(project / "served.parquet")
    served.loc[served["country"] == "FR", "score"] = (served["score"] + 0.1).clip(upper=1.0)
    served.to_parquet(project / "served_biased.parquet")
    bad = _run_script(_example("MON7"), project, "served_biased.parquet")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "prediction quality regressed on: all, FR"


def test_mon3_workflow_command_passes_on_same_data_and_fails_on_skew(tmp_path: Path) -> None:
    """The `mlscore data check` step of the MON3 workflow, run as the workflow runs it."""
    pytest.importorskip("pyarrow")
    workflow = yaml.safe_load(_example("MON3"))
    steps = workflow["jobs"]["skew"]["steps"]
    script = next(step["run"] for step in steps if "mlscore data check" in step.get("run", ""))
    rng = np.random.default_rng(5)
    features = _frame(rng, 3000).drop(columns=["label"])
    (tmp_path / "data").mkdir()
    features.to_parquet(tmp_path / "data" / "train_features.parquet")
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}
    _frame(rng, 1000).drop(columns=["label"]).to_parquet(tmp_path / "serving.parquet")
    same = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, check=False, capture_output=True, text=True)
    assert same.returncode == 0, same.stderr
    assert json.loads((tmp_path / "reports" / "skew.json").read_text())["status"] == "passing"
    skewed = _frame(rng, 1000).drop(columns=["label"])
    skewed["height_cm"] = skewed["height_cm"] + 8.0  # serving computes height differently
    skewed.to_parquet(tmp_path / "serving.parquet")
    failed = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, check=False, capture_output=True, text=True)
    assert failed.returncode == 1, failed.stderr
    assert json.loads((tmp_path / "reports" / "skew.json").read_text())["status"] == "failing"
