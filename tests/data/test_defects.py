"""Regression tests for the `mlscore data` defects of issue 13 (each failed on the code before the fix)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")

from mlscore.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["data", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _csv(path: Path, header: list[str], n: int = 60, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    rows = [",".join(f'"{h}"' if "," in h else h for h in header)]
    rows += [",".join(f"{rng.normal():.4f}" for _ in header) for _ in range(n)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_text_in_a_numeric_column_is_a_failing_check_with_a_report(tmp_path: Path, capsys) -> None:
    ref = _csv(tmp_path / "ref.csv", ["x", "y"])
    lines = (tmp_path / "ref.csv").read_text().splitlines()
    lines[5] = "oops," + lines[5].split(",")[1]
    cur = tmp_path / "cur.csv"
    cur.write_text("\n".join(lines) + "\n")
    out_file = tmp_path / "report.json"
    code, _, err = run(capsys, "check", "--reference", str(ref), "--current", str(cur), "-q", "-o", str(out_file))
    assert code == 1 and "Traceback" not in err, err
    report = json.loads(out_file.read_text())
    schema = next(c for c in report["checks"] if c["id"] == "schema.columns")
    assert schema["status"] == "failing" and "'oops'" in schema["message"]
    val = next(c for c in report["checks"] if c["id"] == "validation")
    between = next(r for r in val["details"]["results"]
                   if r["type"] == "expect_column_values_to_be_between" and r["kwargs"]["column"] == "x")
    assert between["unexpected_count"] >= 1 and "oops" in between["partial_unexpected_list"]


def test_markdown_puts_hostile_column_names_in_code_spans(tmp_path: Path, capsys) -> None:
    hostile = "<script>alert(`x`)</script>"
    ref = _csv(tmp_path / "ref.csv", [hostile, "b"])
    cur = _csv(tmp_path / "cur.csv", [hostile, "b"], seed=1)
    code, out, _ = run(capsys, "check", "--reference", str(ref), "--current", str(cur), "-q", "--format", "markdown")
    assert code in (0, 1)
    assert "``<script>alert(`x`)</script>``" in out  # a fence longer than the backtick run inside
    outside = out.replace("``<script>alert(`x`)</script>``", "")
    assert "<script>" not in outside  # free text (messages, warnings) is escaped
    for line in out.splitlines():
        if "script" in line and line.startswith("|"):
            assert "<script>" not in line.replace("``<script>alert(`x`)</script>``", "")


@pytest.mark.parametrize("validator", ["auto", "native"])
def test_unknown_expectation_type_is_a_named_failed_expectation(tmp_path: Path, capsys, validator: str) -> None:
    ref = _csv(tmp_path / "ref.csv", ["x"])
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps({"expectations": [
        {"type": "expect_column_values_to_be_frobnicated", "kwargs": {"column": "x"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}},
    ]}))
    code, out, err = run(capsys, "check", "--reference", str(ref), "--current", str(ref), "--suite", str(suite),
                         "--validator", validator, "-q", "--format", "json")
    assert code == 1, err
    val = next(c for c in json.loads(out)["checks"] if c["id"] == "validation")
    assert val["status"] == "failing" and "expect_column_values_to_be_frobnicated" in val["message"]
    first, second = val["details"]["results"]
    assert not first["success"] and "expect_column_values_to_be_frobnicated" in first["exception"]
    assert second["success"]


def test_decompression_bomb_is_refused_quickly(tmp_path: Path, capsys) -> None:
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(b"a,b\n")
        block = b"1,2\n" * (1 << 18)
        for _ in range(1024):  # 1 GiB of text from about 1 MB
            fh.write(block)
    t0 = time.monotonic()
    code, _, err = run(capsys, "profile", str(bomb), "-q")
    assert code == 2 and "decompression bomb" in err and "bomb.csv.gz" in err and "Traceback" not in err
    assert time.monotonic() - t0 < 30


def test_compressed_csv_still_reads(tmp_path: Path, capsys) -> None:
    plain = _csv(tmp_path / "d.csv", ["x", "y"], n=500)
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    code, out, err = run(capsys, "profile", str(gz), "-q", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["row_count"] == 500


@pytest.mark.slow
def test_short_rows_are_read_with_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "short.csv"
    with big.open("w") as fh:
        fh.write("a,b\n")
        chunk = "".join(f"{i % 1000},{i % 7}\n" for i in range(100_000))
        for _ in range(60):  # about 35 MB, 6M rows
            fh.write(chunk)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (large) parent across fork and exec
    code = ("import re, sys; from mlscore.data.readers import profile_file; p = profile_file(sys.argv[1]); "
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
            "print(p.row_count, int(hwm) // 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(big)], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    rows, peak_mib = map(int, out.stdout.split()[-2:])
    assert rows == 6_000_000
    assert peak_mib < 260, peak_mib  # 16 MiB blocks peaked at ~400 MiB on such a file


def test_one_row_reference_is_unknown(tmp_path: Path, capsys) -> None:
    ref = tmp_path / "ref.csv"
    ref.write_text("x\n1.5\n")
    cur = _csv(tmp_path / "cur.csv", ["x"])
    code, out, _ = run(capsys, "check", "--reference", str(ref), "--current", str(cur), "-q", "--format", "json",
                       "--validator", "none")
    report = json.loads(out)
    row = report["columns"][0]["drift"]
    assert row["drifted"] is None and "too few values" in row["note"]
    assert next(c for c in report["checks"] if c["id"] == "drift.features")["status"] == "unknown"


def test_bad_suite_is_reported_before_profiling(tmp_path: Path, capsys) -> None:
    ref = tmp_path / "ref.parquet"
    ref.write_bytes(b"PAR1 not really parquet")  # profiling it would fail with a different message
    suite = tmp_path / "suite.json"
    suite.write_text("{not json")
    code, _, err = run(capsys, "check", "--reference", str(ref), "--current", str(ref), "--suite", str(suite))
    assert code == 2 and "suite.json" in err and "not valid JSON" in err
    assert "profiling" not in err


def test_truncated_jsonl_line_is_named(tmp_path: Path, capsys) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text('{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n{"a": 3, "b"\n{"a": 4, "b": "z"}\n')
    code, _, err = run(capsys, "profile", str(p), "-q")
    assert code == 2 and "d.jsonl: line 3: not valid JSON" in err and "mixes types" not in err
