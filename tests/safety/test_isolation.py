"""Fault isolation: an extractor or detector that raises costs its own file or test, never the audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlscore.cli import main
from mlscore.config import Config
from mlscore.engine import build_context, run_audit
from mlscore.facts import manifests, views
from mlscore.facts.files import index_path
from mlscore.facts.repo import collect
from mlscore.models import Level

pytestmark = pytest.mark.timeout(120)

#: A Helm chart's Istio VirtualService whose route weights are filled in at deploy time. Parsed with the
#: templates blanked, the weights are the string "TEMPLATE": comparing them with 0 raised TypeError in
#: facts/views.py and lost the whole audit (exit 3).
HELM_VIRTUAL_SERVICE = """\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: {{ .Release.Name }}-model
spec:
  hosts:
    - {{ .Values.host }}
  http:
    - route:
        - destination:
            host: model-green
            subset: green
          weight: {{ .Values.weight.green }}
        - destination:
            host: model-blue
            subset: blue
          weight: {{ .Values.weight.blue }}
"""

PROJECT = {
    "src/model/train.py": "from sklearn.linear_model import LogisticRegression\n\n"
                          "def train(X, y):\n    return LogisticRegression().fit(X, y)\n",
    "tests/test_train.py": "from src.model.train import train\n\ndef test_train():\n    assert train\n",
    ".github/workflows/ci.yml": "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                                "      - uses: actions/checkout@v4\n      - run: pytest tests\n",
    "deploy/Dockerfile": "FROM python:3.11\nCMD uvicorn app:app\n",
    "deploy/serve.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: model\nspec:\n  template:\n"
                         "    spec:\n      containers:\n        - name: model\n          image: org/model:1.2.3\n",
    "requirements.txt": "scikit-learn==1.4.2\n",
    "README.md": "# model\n",
}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _same_results(a: Any, b: Any, skip: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    for r in a.results:
        if r.rule_id in skip:
            continue
        other = b.result(r.rule_id)
        assert other is not None and (r.level, r.evidence, r.incomplete) == (other.level, other.evidence,
                                                                             other.incomplete), r.rule_id


# -- the known crash -----------------------------------------------------------------------------------------------


def test_helm_templated_istio_weights_are_a_traffic_split_not_a_crash(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo", {**PROJECT, "chart/templates/virtualservice.yaml": HELM_VIRTUAL_SERVICE})
    report = run_audit(root, config=Config())
    assert len(report.results) == 28 and not any(r.incomplete for r in report.results)
    assert not [d for d in report.diagnostics if "extractor failed" in d.message], report.diagnostics
    ctx = build_context(collect(index_path(root)))
    split = [m for m in ctx.manifests if m.path == "chart/templates/virtualservice.yaml"]
    assert len(split) == 1 and split[0].canary, ctx.manifests  # two destinations with weights set at deploy time


def test_the_cli_exits_normally_on_the_helm_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path / "repo", {**PROJECT, "chart/templates/virtualservice.yaml": HELM_VIRTUAL_SERVICE})
    code = main(["audit", str(root), "--format", "json", "-q"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert len(json.loads(out.out)["results"]) == 28


@pytest.mark.parametrize(("weights", "canary"), [
    ([80, 20], True),
    ([100, 0], False),
    (["80", "20%"], True),  # numbers written as strings
    (["TEMPLATE", "TEMPLATE"], True),  # Helm placeholders after stripping
    (["${GREEN}", 20], True),
    ([None, 100], False),
    ([[1], {"a": 1}], False),  # lists and maps where a number belongs
    ([True, True], False),  # YAML booleans are not weights
    ([10 ** 30, float("nan")], False),  # only one usable weight; NaN is not one
    (["-5", "abc"], False),
])
def test_virtual_service_weights_of_any_type(weights: list[Any], canary: bool) -> None:
    resource = manifests.K8sResource(
        file="vs.yaml", line=1, api_version="networking.istio.io/v1", kind="VirtualService", name="m",
        features={"weights": [{"host": f"h{i}", "subset": None, "weight": w} for i, w in enumerate(weights)]})
    view = views._resource_view(resource)
    assert (view is not None and view.canary) is canary


@pytest.mark.parametrize("features", [
    {"canary_steps": "setWeight:20"},  # a string where a list belongs
    {"canary_steps": None, "blue_green": "yes", "pre_promotion_analysis": ["x"]},
    {"weights": {"host": "a"}},  # a map where a list belongs
    {"weights": ["a", None, 3]},
    {"traffic": 5},
    {"candidates": "a,b"},
    {"storageUri": ["gs://bucket/v1"]},
    {"canaryTrafficPercent": "{{ .Values.pct }}", "explainer": {"x": 1}},
])
@pytest.mark.parametrize("kind", ["Rollout", "VirtualService", "SeldonDeployment", "Experiment", "InferenceService"])
def test_manifest_views_take_values_of_the_wrong_type(kind: str, features: dict[str, Any]) -> None:
    resource = manifests.K8sResource(file="x.yaml", line=1, api_version="v1", kind=kind, name="m", features=features)
    views._resource_view(resource)  # no exception; whatever it concludes is based on values of the right type


# -- an extractor that raises ----------------------------------------------------------------------------------------


def test_an_extractor_that_raises_on_one_file_costs_only_that_file(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path / "repo", {**PROJECT, "deploy/vs.yaml": "apiVersion: v1\nkind: Service\n"})
    before = run_audit(root, config=Config())
    real = manifests.extract_manifests

    def broken_on_one(files: list[str], read: Any) -> Any:
        if "deploy/vs.yaml" in files:
            raise TypeError("'>' not supported between instances of 'str' and 'int'")
        return real(files, read)

    monkeypatch.setattr(manifests, "extract_manifests", broken_on_one)
    after = run_audit(root, config=Config())
    assert [(d.path, d.message) for d in after.diagnostics if "extractor failed" in d.message] == [
        ("deploy/vs.yaml", "facts: manifests extractor failed on deploy/vs.yaml: TypeError")]
    _same_results(before, after)  # the Dockerfile and the Deployment still count, so nothing changed


def test_an_extractor_that_raises_on_everything_leaves_its_tests_incomplete(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from mlscore.facts import deps

    root = _tree(tmp_path / "repo", {**PROJECT, "requirements-dev.txt": "pytest==8.0.0\n"})
    before = run_audit(root, config=Config())

    def broken(files: list[str], read: Any) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(deps, "extract_deps", broken)
    after = run_audit(root, config=Config())
    assert ("facts: deps extractor failed: KeyError", "error") in {(d.message, d.severity) for d in after.diagnostics}
    incomplete = {r.rule_id: r.incomplete for r in after.results if r.incomplete}
    assert incomplete and set(incomplete.values()) == {"the deps extractor failed: KeyError"}
    _same_results(before, after, skip=set(incomplete))  # the tests that do not read dependencies stand


def test_a_detector_that_raises_is_an_incomplete_test_and_a_diagnostic(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from mlscore import detectors

    def broken(ctx: object, params: dict[str, object]) -> None:
        raise AttributeError("'NoneType' object has no attribute 'get'")

    root = _tree(tmp_path / "repo", PROJECT)
    before = run_audit(root, config=Config())
    monkeypatch.setitem(detectors.DETECTORS, "infra3", broken)
    after = run_audit(root, config=Config())
    infra3 = after.result("INFRA3")
    assert infra3 is not None and infra3.level is Level.NONE
    assert infra3.incomplete == "detector infra3 failed: AttributeError"
    assert infra3.rationale == "not decided: detector infra3 failed: AttributeError"
    assert ("INFRA3: detector infra3 failed: AttributeError; the test is incomplete", "error") in {
        (d.message, d.severity) for d in after.diagnostics}
    _same_results(before, after, skip={"INFRA3"})


def test_the_cli_exit_code_stays_normal_when_parts_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from mlscore import detectors
    from mlscore.facts import monitoring

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(detectors.DETECTORS, "data7", broken)
    monkeypatch.setattr(monitoring, "extract_monitoring", broken)
    root = _tree(tmp_path / "repo", PROJECT)
    assert main(["audit", str(root), "-q", "--color", "never"]) == 0
    text = capsys.readouterr().out
    assert "incomplete: detector data7 failed: RuntimeError" in text
    assert "1 test is incomplete (DATA7)" in text and "lower bounds" in text
    assert main(["audit", str(root), "-q", "--fail-under", "14"]) == 1  # a threshold still works as usual
