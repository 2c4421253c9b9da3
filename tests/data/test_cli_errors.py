"""Bad input to `mlscore data` gives one line naming the file (and column), exit code 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq

from mlscore.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["data", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _good(tmp_path: Path, name: str = "ref.csv", n: int = 200) -> Path:
    rng = np.random.default_rng(0)
    p = tmp_path / name
    rows = ["a,b,c"] + [f"{rng.normal():.5f},{rng.choice(['x', 'y'])},{i % 7}" for i in range(n)]
    p.write_text("\n".join(rows) + "\n")
    return p


def _assert_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("mlscore: profiling") and not ln.startswith("mlscore: validating")]
    assert len(lines) == 1, err
    assert lines[0].startswith("mlscore: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "profile", str(tmp_path / "nope.csv"))
    _assert_error(code, err, "nope.csv", "no such file")


def test_truncated_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": np.arange(1000.0)}), p)
    p.write_bytes(p.read_bytes()[:300])
    code, _, err = run(capsys, "profile", str(p))
    _assert_error(code, err, "t.parquet", "Parquet")


def test_garbage_with_parquet_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "g.parquet"
    p.write_bytes(b"\x00\x01not parquet at all" * 10)
    code, _, err = run(capsys, "profile", str(p))
    _assert_error(code, err, "g.parquet")


def test_empty_file_and_zero_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run(capsys, "profile", str(empty))
    _assert_error(code, err, "empty.csv", "empty")
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    code, _, err = run(capsys, "profile", str(header))
    _assert_error(code, err, "header.csv", "no rows")


def test_binary_bytes_named_csv_are_refused_without_echoing_them(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Random bytes named .csv used to reach pyarrow, whose parse error quoted the bytes back to the terminal."""
    p = tmp_path / "blob.csv"
    p.write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)) + b"\x00")
    code, _, err = run(capsys, "profile", str(p))
    _assert_error(code, err, "blob.csv", "NUL bytes", "--encoding utf-16")
    assert err.isascii()
    u16 = tmp_path / "wide.csv"
    u16.write_text("a,b\n1,2\n3,4\n", encoding="utf-16")
    code, _, err = run(capsys, "profile", str(u16))
    _assert_error(code, err, "wide.csv", "--encoding utf-16")
    code, out, _ = run(capsys, "profile", str(u16), "--encoding", "utf-16", "--format", "json")
    assert code == 0 and json.loads(out)["row_count"] == 2


def test_non_utf8_csv_names_column_and_encoding_option_fixes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "latin.csv"
    p.write_bytes("city,n\nMünchen,1\nZürich,2\n".encode("latin-1"))
    code, _, err = run(capsys, "profile", str(p))
    _assert_error(code, err, "latin.csv", "'city'", "--encoding")
    code, out, _ = run(capsys, "profile", str(p), "--encoding", "latin-1", "--format", "json")
    assert code == 0 and "München" in json.loads(out)["columns"][0]["categories"]


def test_mixed_types_in_csv_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "mixed.csv"
    p.write_text("a,b\n" + "".join(f"{i},x\n" for i in range(2_000)) + "oops,y\n")
    code, _, err = run(capsys, "profile", str(p))
    _assert_error(code, err, "mixed.csv", "'a'", "oops")


def test_mixed_types_after_the_first_csv_block(tmp_path: Path) -> None:
    from mlscore.data.readers import TableReader
    from mlscore.errors import InputError

    p = tmp_path / "late.csv"
    p.write_text("a,b\n" + "".join(f"{i},x\n" for i in range(20_000)) + "oops,y\n")
    reader = TableReader(p, block_size=4096)
    with pytest.raises(InputError, match=r"late.csv: column 'a' mixes types: 'oops'"):
        list(reader.batches())


def test_mixed_types_in_jsonl_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text('{"a": 1, "b": "x"}\n{"a": "two", "b": "y"}\n')
    code, _, err = run(capsys, "profile", str(p))
    _assert_error(code, err, "m.jsonl", "'a'", "mixes types")


def test_current_text_where_reference_is_numeric(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A serving-data problem, reported as a failing MON2 check with a report (issue 13), not as bad usage.
    ref = _good(tmp_path)
    cur = tmp_path / "cur.csv"
    cur.write_text("a,b,c\nhello,x,1\nworld,y,2\n")
    code, out, err = run(capsys, "check", "--reference", str(ref), "--current", str(cur), "-q", "--format", "json")
    assert code == 1 and "Traceback" not in err, err
    schema = next(c for c in json.loads(out)["checks"] if c["id"] == "schema.columns")
    assert schema["status"] == "failing" and "'hello'" in schema["message"] and "a (2 text values" in schema["message"]


def test_no_common_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _good(tmp_path)
    cur = tmp_path / "other.csv"
    cur.write_text("p,q\n1,2\n3,4\n")
    code, _, err = run(capsys, "check", "--reference", str(ref), "--current", str(cur), "-q")
    _assert_error(code, err, "other.csv", "no column in common", "ref.csv")


def test_partly_mismatched_columns_is_a_failing_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _good(tmp_path)
    cur = tmp_path / "cur.csv"
    cur.write_text("a,b,extra\n0.1,x,1\n0.2,y,2\n")
    code, out, err = run(capsys, "check", "--reference", str(ref), "--current", str(cur), "-q", "--format", "json")
    assert code == 1 and "Traceback" not in err
    assert "missing in current: c" in out and "not in reference: extra" in out


def test_unknown_target_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _good(tmp_path)
    code, _, err = run(capsys, "check", "--reference", str(ref), "--current", str(ref), "--target", "label", "-q")
    _assert_error(code, err, "ref.csv", "'label'")


def test_unknown_extension_and_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "data.xlsx"
    p.write_bytes(b"PK\x03\x04")
    code, _, err = run(capsys, "profile", str(p))
    _assert_error(code, err, "data.xlsx", "unknown file type")
    code, _, err = run(capsys, "profile", str(tmp_path))
    _assert_error(code, err, str(tmp_path), "directory")


def test_bad_suite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _good(tmp_path)
    suite = tmp_path / "suite.json"
    suite.write_text("{not json")
    code, _, err = run(capsys, "check", "--reference", str(ref), "--current", str(ref), "--suite", str(suite), "-q")
    _assert_error(code, err, "suite.json", "not valid JSON")
    suite.write_text('{"name": "x"}')
    code, _, err = run(capsys, "check", "--reference", str(ref), "--current", str(ref), "--suite", str(suite), "-q")
    _assert_error(code, err, "suite.json", "expectations")


def test_corrupt_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "ref.profile.json"
    p.write_text('{"kind": "mlscore-profile", "version": 1, "row_count": "x"}')
    cur = _good(tmp_path, "cur.csv")
    code, _, err = run(capsys, "check", "--reference", str(p), "--current", str(cur), "-q")
    _assert_error(code, err, "ref.profile.json", "profile")


def test_all_null_constant_and_odd_names_are_reported_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = 3000
    rng = np.random.default_rng(1)
    cols = {
        "weird name, with \"quotes\" | pipes <b>": rng.normal(size=n),
        "ünïcødé 列": rng.choice(["a", "b"], n),
        "all_null": pa.nulls(n, pa.float64()),
        "constant": np.full(n, 5.0),
    }
    ref = tmp_path / "ref.parquet"
    pq.write_table(pa.table(cols), ref)
    code, out, err = run(capsys, "check", "--reference", str(ref), "--current", str(ref), "-q", "--format", "html")
    assert code == 0, err
    assert "Traceback" not in err
    assert "&lt;b&gt;" in out and "<b>" not in out.replace("<body>", "")
    code, out, err = run(capsys, "check", "--reference", str(ref), "--current", str(ref), "-q")
    assert code == 0
    assert "'all_null' is entirely null" in out and "'constant' is constant" in out


def test_ten_thousand_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(2)
    data = rng.normal(size=(20, 10_000))
    table = pa.table({f"f{i}": data[:, i] for i in range(10_000)})
    p = tmp_path / "wide.parquet"
    pq.write_table(table, p)
    code, out, err = run(capsys, "profile", str(p), "--format", "json")
    assert code == 0, err
    assert out.count('"name"') == 10_000
