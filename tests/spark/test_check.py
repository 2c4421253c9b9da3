"""`mlscore data check --engine spark` and check_spark(): the local engine's report, verdict for verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlscore.cli import main
from mlscore.data.report import DataReport
from tests.spark.data import frame, pair

pytestmark = pytest.mark.xdist_group("spark")  # one worker runs them all: one JVM (scripts/test: --dist loadgroup)

CHECK_ARGS = ["--target", "y", "--prediction", "score", "--slice", "country", "--sensitive", "group"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, DataReport, str]:
    code = main(["data", "check", "-q", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "at org.apache" not in err
    return code, DataReport.model_validate_json(out), err


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return pair(tmp_path_factory.mktemp("spark-check"), n_ref=6_000, n_cur=4_000, row_group=1_000, date=False)


@pytest.fixture(scope="module")
def local_report(files: tuple[Path, Path]) -> DataReport:
    from mlscore.data.check import CheckOptions, run_check

    ref, cur = files
    return run_check(CheckOptions(reference=ref, current=cur, target="y", prediction="score", slices=["country"],
                                  sensitive=["group"]))


def assert_same_verdicts(local: DataReport, spark: DataReport, *, exact_stats: bool) -> None:
    assert [c.id for c in spark.checks] == [c.id for c in local.checks]
    for a, b in zip(local.checks, spark.checks):
        assert b.status == a.status, (a.id, a.message, b.message)
    assert spark.status == local.status
    assert (spark.reference_rows, spark.current_rows) == (local.reference_rows, local.current_rows)
    assert spark.dataset_drift["drifted_columns"] == local.dataset_drift["drifted_columns"]
    for a, b in zip(local.columns, spark.columns):
        assert (b.name, b.kind, b.role) == (a.name, a.kind, a.role)
        for side in ("reference", "current"):
            sa, sb = getattr(a, side), getattr(b, side)
            assert (sa is None) == (sb is None)
            if sa is not None:
                assert (sb.count, sb.null_count, sb.n_unique, sb.min, sb.max, sb.top) == (
                    sa.count, sa.null_count, sa.n_unique, sa.min, sa.max, sa.top), (a.name, side)
        if a.drift is not None:
            assert b.drift is not None
            assert (b.drift.method, b.drift.drifted, b.drift.reference_n, b.drift.current_n) == (
                a.drift.method, a.drift.drifted, a.drift.reference_n, a.drift.current_n), a.name
            if a.drift.statistic is not None:
                tol = 1e-9 if exact_stats or not a.drift.approximate else 0.003
                assert abs(b.drift.statistic - a.drift.statistic) <= tol * max(1.0, abs(a.drift.statistic)), a.name
    va, vb = local.check("validation"), spark.check("validation")
    if va is not None:
        ra, rb = va.details["results"], vb.details["results"]  # type: ignore[union-attr]
        assert [(r["type"], r["success"], r.get("unexpected_count")) for r in rb] == [
            (r["type"], r["success"], r.get("unexpected_count")) for r in ra]


def test_cli_spark_engine_gives_the_local_report(spark: Any, files: tuple[Path, Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ref, cur = files
    args = ["--reference", str(ref), "--current", str(cur), *CHECK_ARGS]
    code_l, local, _ = _run(capsys, *args)
    code_s, report, _ = _run(capsys, *args, "--engine", "spark", "--spark-master", "local[2]")
    assert code_s == code_l
    assert report.inputs.get("engine") == "spark" and report.inputs["reference"] == str(ref)
    assert_same_verdicts(local, report, exact_stats=False)
    slices = report.check("slices")
    assert slices is not None and "mlscore-spark-" not in json.dumps(slices.details)  # names, not temp files
    assert {"schema.columns", "drift.features", "validation", "predictions.drift", "quality.current", "slices",
            "fairness", "baseline"} <= {c.id for c in report.checks}


@pytest.mark.parametrize("partitions", [1, 7, 64])
def test_check_spark_api_partition_count_never_changes_a_verdict(spark: Any, files: tuple[Path, Path], partitions: int,
                                                                local_report: DataReport) -> None:
    from mlscore.data import check_spark

    ref, cur = files
    rdf = spark.read.parquet(str(ref)).repartition(partitions)
    cdf = spark.read.parquet(str(cur)).repartition(partitions)
    report = check_spark(rdf, cdf, target="y", prediction="score", slices=["country"], sensitive=["group"])
    assert isinstance(report, DataReport)
    assert_same_verdicts(local_report, report, exact_stats=False)


def test_profile_and_schema_commands(spark: Any, files: tuple[Path, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    ref, _ = files
    out = tmp_path / "ref.profile.json"
    assert main(["data", "profile", "-q", str(ref), "--engine", "spark", "-o", str(out)]) == 0
    local = tmp_path / "local.profile.json"
    assert main(["data", "profile", "-q", str(ref), "-o", str(local)]) == 0
    a, b = json.loads(local.read_text()), json.loads(out.read_text())
    assert a["row_count"] == b["row_count"] and a["settings"] == b["settings"]
    for ca, cb in zip(a["columns"], b["columns"]):  # a single Parquet file: the same profile, bin for bin
        for key in ca:
            if key in ("mean", "m2"):  # summed in another order
                assert cb[key] == pytest.approx(ca[key], rel=1e-9, abs=1e-12), (ca["name"], key)
            elif not (key == "hist" and ca["name"] == "z"):  # z: infinities in the first row group
                assert cb[key] == ca[key], (ca["name"], key)
    assert main(["data", "schema", "-q", str(ref), "--engine", "spark"]) == 0
    spark_suite = json.loads(capsys.readouterr().out)
    assert main(["data", "schema", "-q", str(ref)]) == 0
    local_suite = json.loads(capsys.readouterr().out)
    assert [e["type"] for e in spark_suite["expectations"]] == [e["type"] for e in local_suite["expectations"]]
    # the saved Spark profile works as the reference of a local check, and of a Spark check
    _, report, _ = _run(capsys, "--reference", str(out), "--current", str(files[1]), "--engine", "spark")
    assert report.check("drift.features") is not None


# ---------------------------------------------------------------- bad input: one line, exit 2


def _bad(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["data", "check", "-q", *args])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = [ln for ln in err.splitlines() if ln.startswith("mlscore")]
    assert len(lines) == 1 and lines[0].startswith("mlscore: error: "), err
    assert "Traceback" not in err and "\tat " not in err and "org.apache" not in err, err
    return lines[0]


def test_bad_inputs_are_one_line_and_exit_2(spark: Any, tmp_path: Path, files: tuple[Path, Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    ref = str(files[0])
    spark_args = ["--engine", "spark"]
    assert "no such file" in _bad(capsys, "--reference", str(tmp_path / "nope.parquet"), "--current", ref, *spark_args)
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1" + b"x" * 100)
    line = _bad(capsys, "--reference", ref, "--current", str(corrupt), *spark_args)
    assert "corrupt.parquet" in line
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"a": [[1, 2], [3]], "x": [1.0, 2.0]}), nested)
    line = _bad(capsys, "--reference", str(nested), "--current", ref, *spark_args)
    assert "column 'a' has type array<bigint>" in line
    empty = tmp_path / "empty.parquet"
    pq.write_table(frame(10, seed=3).slice(0, 0), empty)
    assert "no rows" in _bad(capsys, "--reference", ref, "--current", str(empty), *spark_args)
    assert "no such table" in _bad(capsys, "--reference", "nodb.nope", "--current", "nodb.nope", "--table", *spark_args)
    code = main(["data", "check", "-q", "--reference", ref, "--current", ref, "--table"])
    assert code == 2 and "--table needs --engine spark" in capsys.readouterr().err
    line = _bad(capsys, "--reference", ref, "--current", ref, *spark_args, "--spark-conf", "novalue")
    assert "expected key=value" in line


def test_all_null_table_and_empty_partitions_as_the_local_engine(spark: Any, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    nulls = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"a": pa.nulls(50, pa.float64()), "b": pa.nulls(50, pa.string())}), nulls)
    args = ["--reference", str(nulls), "--current", str(nulls)]
    code_l, local, _ = _run(capsys, *args)
    code_s, report, _ = _run(capsys, *args, "--engine", "spark")
    assert code_s == code_l
    assert [(c.id, c.status) for c in report.checks] == [(c.id, c.status) for c in local.checks]
    assert [d.message for d in report.diagnostics] == [d.message for d in local.diagnostics]
    # 64 partitions for 50 rows: most are empty, nothing changes
    from mlscore.data import check_spark

    df = spark.read.parquet(str(nulls)).repartition(64)
    again = check_spark(df, df)
    assert [(c.id, c.status) for c in again.checks] == [(c.id, c.status) for c in local.checks]


def test_without_pyspark_the_engine_says_how_to_install_it(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['pyspark'] = None\n"
            "from mlscore.cli import main\n"
            "sys.exit(main(['data', 'check', '--reference', 'a.parquet', '--current', 'b.parquet', '--engine', 'spark']))")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("mlscore: error: the Spark engine needs pyspark: pip install 'mlscore-audit[spark]'")


def test_tables_and_csv_inputs(spark: Any, files: tuple[Path, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    ref, cur = files
    spark.read.parquet(str(ref)).createOrReplaceTempView("mlscore_train")
    spark.read.parquet(str(cur)).createOrReplaceTempView("mlscore_serving")
    _, local, _ = _run(capsys, "--reference", str(ref), "--current", str(cur))
    _, by_table, _ = _run(capsys, "--engine", "spark", "--table", "--reference", "mlscore_train",
                          "--current", "mlscore_serving")
    assert by_table.inputs["reference"] == "mlscore_train"
    assert_same_verdicts(local, by_table, exact_stats=False)  # a table: bins from the global range
    # CSV: Spark's reader (header, type inference) on a file without null markers gives the local verdicts
    table = pq.read_table(ref).select(["x", "ints", "few", "group"])
    import pyarrow.csv as pcsv

    pcsv.write_csv(table, tmp_path / "ref.csv")
    pcsv.write_csv(pq.read_table(cur).select(["x", "ints", "few", "group"]), tmp_path / "cur.csv")
    args = ["--reference", str(tmp_path / "ref.csv"), "--current", str(tmp_path / "cur.csv")]
    _, local_csv, _ = _run(capsys, *args)
    _, spark_csv, _ = _run(capsys, *args, "--engine", "spark")
    assert_same_verdicts(local_csv, spark_csv, exact_stats=False)
