"""Read the first rows of a CSV, Parquet or JSONL file for the probe (pyarrow imported lazily)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlscore.errors import InputError

MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Table:
    """Columns of the first ``len(rows)`` rows of a file, in file order."""

    path: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def column(self, name: str) -> list[Any]:
        j = self.columns.index(name)
        return [r[j] for r in self.rows]

    def select(self, names: list[str]) -> list[list[Any]]:
        idx = [self.columns.index(n) for n in names]
        return [[r[j] for j in idx] for r in self.rows]


def read_table(path: str | Path, max_rows: int) -> Table:
    """The first ``max_rows`` rows of ``path`` (.csv/.tsv, .parquet/.pq, .jsonl/.ndjson/.json)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{p}: file is larger than {MAX_FILE_BYTES // 2**30} GiB")
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        table = _read_parquet(p, max_rows)
    elif suffix in (".csv", ".tsv", ".txt"):
        table = _read_csv(p, max_rows, "\t" if suffix == ".tsv" else ",")
    elif suffix in (".jsonl", ".ndjson", ".json"):
        table = _read_jsonl(p, max_rows)
    else:
        raise InputError(f"{p}: unsupported file type {suffix or '(none)'} (use .csv, .parquet or .jsonl)")
    if not table.rows:
        raise InputError(f"{p}: no rows")
    return table


def _from_arrow(p: Path, table: Any) -> Table:
    names = [str(n) for n in table.column_names]
    cols = [_clean(table.column(j).to_pylist()) for j in range(table.num_columns)]
    rows = tuple(tuple(c[i] for c in cols) for i in range(table.num_rows))
    return Table(str(p), tuple(names), rows)


def _clean(values: list[Any]) -> list[Any]:
    return [v.item() if hasattr(v, "item") and not isinstance(v, (str, bytes)) else v for v in values]


def _read_parquet(p: Path, max_rows: int) -> Table:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - pyarrow is in the [data] extra
        raise InputError(f"{p}: reading Parquet needs pyarrow: pip install 'mlscore-audit[data]'") from exc
    try:
        parquet = pq.ParquetFile(p)
        batches = []
        seen = 0
        for batch in parquet.iter_batches(batch_size=min(max_rows, 65536)):
            batches.append(batch)
            seen += batch.num_rows
            if seen >= max_rows:
                break
        table = pa.Table.from_batches(batches, schema=parquet.schema_arrow).slice(0, max_rows)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise InputError(f"{p}: not a readable Parquet file ({type(exc).__name__}: {str(exc)[:120]})") from None
    return _from_arrow(p, table)


def _read_csv(p: Path, max_rows: int, delimiter: str) -> Table:
    try:
        import pyarrow.csv as pcsv  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover
        return _read_csv_stdlib(p, max_rows, delimiter)
    try:
        reader = pcsv.open_csv(p, parse_options=pcsv.ParseOptions(delimiter=delimiter))
        import pyarrow as pa

        batches = []
        seen = 0
        for batch in reader:
            batches.append(batch)
            seen += batch.num_rows
            if seen >= max_rows:
                break
        table = pa.Table.from_batches(batches, schema=reader.schema).slice(0, max_rows)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{p}: not a readable CSV file ({type(exc).__name__}: {str(exc)[:120]})") from None
    return _from_arrow(p, table)


def _read_csv_stdlib(p: Path, max_rows: int, delimiter: str) -> Table:  # pragma: no cover - fallback
    import csv

    with open(p, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise InputError(f"{p}: empty CSV file")
        rows: list[tuple[Any, ...]] = []
        for row in reader:
            if len(rows) >= max_rows:
                break
            rows.append(tuple(_number(v) for v in row))
    return Table(str(p), tuple(header), tuple(rows))


def _number(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _read_jsonl(p: Path, max_rows: int) -> Table:
    names: list[str] = []
    records: list[dict[str, Any]] = []
    with open(p, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if len(records) >= max_rows:
                break
            if len(line) > MAX_LINE_BYTES:
                raise InputError(f"{p}:{lineno}: line longer than {MAX_LINE_BYTES} bytes")
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                raise InputError(f"{p}:{lineno}: not a JSON object") from None
            if not isinstance(record, dict):
                raise InputError(f"{p}:{lineno}: not a JSON object")
            for key in record:
                if key not in names:
                    names.append(str(key))
            records.append(record)
    rows = tuple(tuple(r.get(n) for n in names) for r in records)
    return Table(str(p), tuple(names), rows)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)
