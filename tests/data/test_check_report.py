"""`mlscore data check` end to end: the DataReport contract, model checks, renderers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq

from mlscore.cli import main
from mlscore.data.report import DataReport
from mlscore.models import Check


def _write(path: Path, n: int, *, shift: float = 0.0, bad_slice: bool = False, seed: int = 0,
           constant_pred: bool = False, proba_out_of_range: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    country = rng.choice(["us", "fr", "de"], n)
    group = rng.choice(["a", "b"], n)
    y = (x + rng.normal(0, 0.7, n) > shift).astype(np.int64)
    score = 1 / (1 + np.exp(-3 * (x - shift)))
    if bad_slice:  # the model is wrong on most of 'de'
        flip = (country == "de") & (rng.random(n) < 0.7)
        score = np.where(flip, 1 - score, score)
    if constant_pred:
        score = np.full(n, 0.5)
    if proba_out_of_range:
        score = score.copy()
        score[:10] = 1.7
        score[10:12] = np.nan
    pq.write_table(pa.table({"x": x, "z": rng.normal(0, 1, n), "country": country, "group": group,
                             "y": y, "score": score}), path)
    return path


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, DataReport]:
    code = main(["data", "check", "-q", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, DataReport.model_validate_json(out)


def test_report_contract_for_the_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _write(tmp_path / "ref.parquet", 4000)
    cur = _write(tmp_path / "cur.parquet", 3000, shift=0.8, seed=1)
    code, report = _check(capsys, "--reference", str(ref), "--current", str(cur), "--target", "y",
                          "--prediction", "score", "--slice", "country", "--sensitive", "group")
    raw = report.model_dump(mode="json")
    assert raw["kind"] == "data" and raw["schema_version"] == "1" and raw["generated_at"].endswith("Z")
    for c in raw["checks"]:
        Check.model_validate(c)
        assert c["rules"] and c["status"] in ("passing", "warning", "failing", "unknown", "skipped", "error")
    ids = {c.id: c for c in report.checks}
    assert set(ids) >= {"schema.columns", "schema.suite", "validation", "drift.features", "predictions.finite",
                        "predictions.constant", "predictions.drift", "quality.current", "slices", "fairness",
                        "baseline"}
    rules = {r for c in report.checks for r in c.rules}
    assert rules >= {"DATA1", "MON2", "MON3", "MON5", "MON7", "MODEL5", "MODEL6", "MODEL7"}
    drift = {c.name: c.drift for c in report.columns if c.drift is not None}
    assert drift["x"].drifted is True and drift["z"].drifted is False
    assert drift["x"].method == "wasserstein" and drift["x"].reference_n == 4000 and drift["x"].current_n == 3000
    assert ids["drift.features"].details["drifted_columns"] == ["x"]
    assert code == 1  # validation fails on the shifted mean


def test_prediction_problems_are_failing_mon5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _write(tmp_path / "ref.parquet", 2000)
    cur = _write(tmp_path / "cur.parquet", 2000, seed=2, proba_out_of_range=True)
    _, report = _check(capsys, "--reference", str(ref), "--current", str(cur), "--prediction", "score",
                       "--validator", "none")
    assert report.check("predictions.finite").status == "failing"  # type: ignore[union-attr]
    rng_check = report.check("predictions.range")
    assert rng_check is not None and rng_check.status == "failing" and rng_check.details["outside"] == 10
    const = _write(tmp_path / "const.parquet", 2000, seed=3, constant_pred=True)
    _, report = _check(capsys, "--reference", str(ref), "--current", str(const), "--prediction", "score",
                       "--validator", "none")
    assert report.check("predictions.constant").status == "failing"  # type: ignore[union-attr]


def test_bad_slice_found_worst_first_and_fairness_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _write(tmp_path / "ref.parquet", 3000)
    cur = _write(tmp_path / "cur.parquet", 3000, seed=4, bad_slice=True)
    _, report = _check(capsys, "--reference", str(ref), "--current", str(cur), "--target", "y",
                       "--prediction", "score", "--slice", "country", "--sensitive", "country",
                       "--validator", "none")
    sl = report.check("slices")
    assert sl is not None and sl.status == "failing"
    assert sl.details["slices"][0]["slice"] == "country = de" and sl.details["slices"][0]["worse"]
    # demographic parity by hand on the same file
    t = pq.read_table(cur).to_pandas()
    pred = t["score"] >= 0.5
    rates = pred.groupby(t["country"]).mean()
    fair = report.check("fairness")
    assert fair is not None
    (attr,) = fair.details["attributes"]
    assert attr["demographic_parity_difference"] == pytest.approx(rates.max() - rates.min(), abs=1e-12)
    assert report.check("quality.current").status == "failing"  # type: ignore[union-attr]


def test_baseline_fails_when_model_is_no_better_than_majority(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _write(tmp_path / "ref.parquet", 2000)
    cur = _write(tmp_path / "cur.parquet", 2000, seed=5, constant_pred=True)
    _, report = _check(capsys, "--reference", str(ref), "--current", str(cur), "--target", "y",
                       "--prediction", "score", "--validator", "none")
    base = report.check("baseline")
    assert base is not None and base.status == "failing"
    assert base.details["baselines"]["linear"] > base.details["model"]


def test_saved_profile_as_reference_and_renderers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _write(tmp_path / "ref.parquet", 3000)
    cur = _write(tmp_path / "cur.parquet", 3000, shift=0.5, seed=6)
    prof = tmp_path / "ref.profile.json"
    assert main(["data", "profile", str(ref), "-o", str(prof), "-q"]) == 0
    suite = tmp_path / "suite.json"
    assert main(["data", "schema", str(ref), "-o", str(suite), "-q"]) == 0
    assert json.loads(suite.read_text())["expectations"]
    capsys.readouterr()
    _, from_profile = _check(capsys, "--reference", str(prof), "--current", str(cur), "--suite", str(suite))
    _, from_rows = _check(capsys, "--reference", str(ref), "--current", str(cur), "--suite", str(suite))
    a = {c.name: c.drift.statistic for c in from_profile.columns if c.drift}
    b = {c.name: c.drift.statistic for c in from_rows.columns if c.drift}
    assert a == pytest.approx(b)
    assert from_profile.check("schema.suite").status == "passing"  # type: ignore[union-attr]
    for fmt, needle in (("markdown", "| column | kind | method"), ("html", "<svg class=\"dist\""), ("text", "drift.features")):
        out = tmp_path / f"r.{fmt}"
        main(["data", "check", "-q", "--reference", str(prof), "--current", str(cur), "--format", fmt, "-o", str(out)])
        assert needle in out.read_text()


def test_csv_parquet_and_jsonl_give_the_same_profile(tmp_path: Path) -> None:
    import pyarrow.csv as pcsv

    from mlscore.data.readers import profile_file

    rng = np.random.default_rng(9)
    n = 5000
    x = rng.normal(size=n).round(6)
    c = rng.choice(["a", "b", "c"], n)
    t = pa.table({"x": x, "c": c})
    pq.write_table(t, tmp_path / "d.parquet")
    pcsv.write_csv(t, tmp_path / "d.csv")
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"x": float(a), "c": str(b)}) + "\n" for a, b in zip(x, c)))
    profs = [profile_file(tmp_path / f"d.{ext}") for ext in ("parquet", "csv", "jsonl")]
    for p in profs[1:]:
        assert p.row_count == n
        assert p.columns["x"].mean == pytest.approx(profs[0].columns["x"].mean, rel=1e-12)
        assert p.columns["x"].exact_values().tolist() == profs[0].columns["x"].exact_values().tolist()
        assert p.columns["c"].categories == profs[0].columns["c"].categories


def test_baseline_on_half_splits_when_the_reference_has_no_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _write(tmp_path / "ref.parquet", 2000)
    prof = tmp_path / "ref.profile.json"
    assert main(["data", "profile", str(ref), "-o", str(prof), "-q"]) == 0
    cur = _write(tmp_path / "cur.parquet", 2000, seed=8)
    _, report = _check(capsys, "--reference", str(prof), "--current", str(cur), "--target", "y",
                       "--prediction", "score", "--validator", "none")
    base = report.check("baseline")
    assert base is not None and "one half" in base.details["note"]
    assert set(base.details["model_on_baseline_rows"]) == {"linear"}
    # the "model" here is a threshold on x, which a linear model matches: as good, not better (issue 13)
    assert base.status == "passing" and "linear" in base.message and "within noise" in base.message
