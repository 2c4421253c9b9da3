"""Unit tests of benchmarks/accuracy.py: kappa, the summary measures and the report plumbing."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("bench_accuracy", ROOT / "benchmarks" / "accuracy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_accuracy"] = module
    spec.loader.exec_module(module)
    return module


acc = _load()


def test_qwk_hand_computed_example():
    # O = [[1,1,0],[0,1,0],[0,0,1]]; sum(W*O) = 0.25; E from marginals (2,1,1) x (1,2,1) / 4 gives
    # sum(W*E) = 0.25*(1+0.25) + 1*(0.5+0.25) + 0.25*(0.25+0.5) = 1.25; kappa = 1 - 0.25/1.25.
    assert acc.quadratic_weighted_kappa([0, 0, 1, 2], [0, 1, 1, 2]) == pytest.approx(0.8)


def test_qwk_perfect_and_reversed():
    assert acc.quadratic_weighted_kappa([0, 1, 2, 2], [0, 1, 2, 2]) == pytest.approx(1.0)
    assert acc.quadratic_weighted_kappa([0, 2], [2, 0]) == pytest.approx(-1.0)


def test_qwk_single_identical_category_is_one():
    assert acc.quadratic_weighted_kappa([0, 0, 0], [0, 0, 0]) == 1.0


def test_qwk_matches_sklearn_on_random_ratings():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(3)
    for _ in range(20):
        a = [rng.choice([0, 0, 0, 1, 2]) for _ in range(224)]
        b = [x if rng.random() < 0.8 else rng.choice([0, 1, 2]) for x in a]
        expected = metrics.cohen_kappa_score(a, b, weights="quadratic", labels=[0, 1, 2])
        assert acc.quadratic_weighted_kappa(a, b) == pytest.approx(expected, abs=1e-12)


def test_label_keys_map_to_rule_ids():
    assert [acc.label_key_to_rule(k) for k in ("D1", "M7", "I3", "MON4")] == ["DATA1", "MODEL7", "INFRA3", "MON4"]
    with pytest.raises(ValueError):
        acc.label_key_to_rule("X1")
    with pytest.raises(ValueError):
        acc.label_key_to_rule("D8")


def _pair(repo, rule, label, ours):
    return acc.Pair(repo=repo, rule_id=rule, label=label, ours=ours)


def test_summary_measures():
    pairs = [
        _pair("a/x", "DATA1", 1.0, 1.0),
        _pair("a/x", "DATA2", 0.5, 0.0),
        _pair("a/x", "MON1", 0.0, 1.0),
        _pair("a/x", "MON2", 0.0, 0.0),
    ]
    s = acc.summarise(pairs)
    assert s["exact_count"] == 2 and s["exact"] == 0.5
    assert s["nonzero_count"] == 2 and s["nonzero_right_count"] == 1
    assert s["automated_where_zero_count"] == 1 and s["automated_where_zero"] == 0.25
    assert s["automated_where_zero_of_zero_labels"] == 0.5
    # sections: DATA label 1.5 ours 1 (0.5), MON label 0 ours 1 (1.0) -> MAE 0.75
    assert s["section_mae"] == pytest.approx(0.75)
    assert s["confusion"] == [[1, 0, 1], [1, 0, 0], [0, 0, 1]]
    assert s["per_test"]["DATA1"] == {"exact": 1, "n": 1}
    assert acc.meets("section_mae", s["section_mae"]) is False
    assert acc.meets("kappa", 0.9) is True and acc.meets("kappa", 0.89) is False


def _label_file(tmp_path: Path, scores: dict[str, float]) -> Path:
    labels_dir = tmp_path / "labels"
    labels_dir.mkdir()
    lines = ["repo: someone/project", "commit: " + "0" * 40, "labels:"]
    keys = [f"{p}{i}" for p in ("D", "M", "I", "MON") for i in range(1, 8)]
    for key in keys:
        score = scores.get(key, 0)
        lines += [f"  {key}:", f"    score: {score}", "    evidence: ['a.py:1 thing']" if score else "    evidence: []",
                  f"    why: because {key}", "    trap: none"]
    (labels_dir / "someone__project.yaml").write_text("\n".join(lines) + "\n")
    return labels_dir


def test_main_end_to_end_with_a_stub_audit(tmp_path, monkeypatch, capsys):
    labels_dir = _label_file(tmp_path, {"D1": 1, "M1": 0.5, "I2": 1})
    corpus = tmp_path / "repos"
    (corpus / "someone+project").mkdir(parents=True)
    report = {
        "results": [
            {"rule_id": rid, "points": 0.0, "level": "none", "evidence": [], "rationale": "nothing"}
            for rid in acc.RULE_IDS
        ]
    }
    report["results"][0] = {
        "rule_id": "DATA1", "points": 1.0, "level": "automated", "rationale": "schema checked in CI",
        "evidence": [{"summary": "validate_frame", "location": {"path": "src/s.py", "line": 3}, "level": "automated",
                      "trigger": ".github/workflows/ci.yml:9 (push)"}],
    }
    report["results"][7] = {"rule_id": "MODEL1", "points": 1.0, "level": "automated", "evidence": [], "rationale": "r"}
    monkeypatch.setattr(acc, "audit_in_process", lambda path: report)
    details = tmp_path / "details.md"
    out_json = tmp_path / "out.json"
    code = acc.main(["--corpus-dir", str(corpus), "--labels-dir", str(labels_dir), "--mode", "inprocess",
                     "--details", str(details), "--json", str(out_json), "--check"])
    text = capsys.readouterr().out
    assert code == 1  # targets missed: I2 not found, M1 over-called
    assert "exact agreement" in text and "26/28" in text
    assert "DATA1" in text and "0.5>1" in text and "1>0" in text
    body = details.read_text()
    assert "## someone/project MODEL1: label 0.5, ours 1 (automated)" in body
    assert "## someone/project INFRA2: label 1, ours 0 (none)" in body
    assert "because I2" in body
    payload = json.loads(out_json.read_text())
    assert payload["summary"]["exact_count"] == 26
    assert payload["met"]["exact"] is True
    assert payload["met"]["nonzero_right_level"] is False


def test_missing_result_counts_as_zero(tmp_path):
    labels_dir = _label_file(tmp_path, {"D1": 1})
    (lf,) = acc.load_labels(labels_dir)
    pairs = acc.pairs_for(lf, {"results": []})
    assert len(pairs) == 28
    assert pairs[0].ours == 0.0 and pairs[0].ours_level == "missing"


def test_real_label_files_load_when_present():
    labels_dir = Path("/work/shared/corpus/dev/labels")
    if not labels_dir.is_dir():
        pytest.skip("dev-corpus labels not on this machine")
    files = acc.load_labels(labels_dir)
    batches = acc.load_batches(acc.DEFAULT_BATCHES)
    assert {f.repo for f in files} == set(batches)  # every labelled repository is in a batch, and only those
    assert all(len(f.labels) == 28 for f in files)
    assert {f.repo: f.commit for f in files} == {
        line.split()[1]: line.split()[2] for line in acc.DEFAULT_BATCHES.read_text().splitlines()
        if line.strip() and not line.startswith("#")}


def test_evidence_paths_of_labels():
    assert acc.evidence_path("'src/train.py:61-72,89-95 RandomForestRegressor spec'") == "src/train.py"
    assert acc.evidence_path("nb/eda.ipynb cells 3-5 outputs") == "nb/eda.ipynb"
    assert acc.evidence_path("a/{{ cookiecutter.repo_name }}/conf/x.yml:4-12 list") == "a/{{ cookiecutter.repo_name }}/conf/x.yml"
    assert acc.evidence_path("README.md the table") == "README.md"
    pair = acc.Pair("o/r", "DATA1", 1.0, 1.0, label_evidence=("src/a.py:3 x", "docs/b.md:1 y"), ours_paths=("./docs/b.md",))
    assert pair.evidence_agrees
    assert not acc.Pair("o/r", "DATA1", 1.0, 1.0, label_evidence=("src/a.py:3 x",), ours_paths=("src/b.py",)).evidence_agrees


def test_batches_are_reported_apart(tmp_path):
    labels = [acc.Pair("a/x", r, 1.0 if r == "DATA1" else 0.0, 1.0 if r == "DATA1" else 0.0) for r in acc.RULE_IDS]
    labels += [acc.Pair("b/y", r, 1.0 if r == "DATA1" else 0.0, 0.0) for r in acc.RULE_IDS]
    tuned, new = acc.summarise(labels[:28]), acc.summarise(labels[28:])
    text = acc.render_text(acc.summarise(labels), labels, [], "t", {"tuned": tuned, "new": new})
    assert tuned["final_exact_count"] == 1 and new["nonzero_right_count"] == 0 and new["precision"] is None
    by_batch = text.split("By batch", 1)[1]
    row = next(line for line in by_batch.splitlines() if line.startswith("nonzero labels found"))
    assert "1/1 = 100.0%" in row and "0/1 = 0.0%" in row
    batches_file = tmp_path / "b.txt"
    batches_file.write_text("# c\ntuned a/x 1\nnew b/y 2\n")
    assert acc.load_batches(batches_file) == {"a/x": "tuned", "b/y": "new"}


def test_label_file_path_key_points_at_the_checkout(tmp_path):
    labels_dir = _label_file(tmp_path, {})
    label = labels_dir / "someone__project.yaml"
    label.write_text(label.read_text().replace("commit:", "path: ../elsewhere\ncommit:", 1))
    (lf,) = acc.load_labels(labels_dir)
    assert lf.checkout == (tmp_path / "elsewhere").resolve()


def test_bundled_example_labels_are_complete():
    (lf,) = acc.load_labels(ROOT / "benchmarks" / "example-labels")
    assert lf.checkout == (ROOT / "examples" / "income-model").resolve()
    sums = {s: sum(float(v["score"]) for r, v in lf.labels.items() if r.rstrip("1234567") == s) for s in acc.SECTIONS}
    assert sums == {"DATA": 4.0, "MODEL": 3.5, "INFRA": 4.0, "MON": 0.5}
