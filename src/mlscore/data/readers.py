"""Chunked readers for CSV, Parquet and JSON Lines (pyarrow) and profiling of files with bounded memory."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlscore.errors import InputError
from mlscore.profile import PROFILE_KIND, DatasetProfile

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}
BATCH_ROWS = 1 << 17
CSV_BLOCK = 2 << 20  # text per batch: short rows make many rows per block (16 MiB blocks peaked at 400 MiB)
JSON_BLOCK = 4 << 20  # a JSON line must fit in one block
PARALLEL_ROWS = 32_768  # batches at least this long are profiled column-parallel
WIDE = 500
MIXED_SHARE = 0.95  # a text column whose values are at least this share numbers mixes types
MAX_RATIO = 100  # a compressed file may expand this much (past CHECK_AFTER bytes) before it is refused
CHECK_AFTER = 16 << 20
_COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"  # above this many columns, profiles use fewer histogram bins


def detect_format(path: Path) -> str:
    """"csv", "tsv", "parquet", "jsonl" or "profile" (a saved mlscore profile), from name and content."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a CSV, Parquet or JSON Lines file")
    suffixes = [s.lower() for s in path.suffixes]
    head = _head(path, 256)
    if head.startswith(b"PAR1"):
        return "parquet"
    if suffixes and suffixes[-1] == ".json" and PROFILE_KIND.encode() in head:
        return "profile"
    for suffix in reversed(suffixes):
        if suffix in FORMATS:
            return FORMATS[suffix]
        if suffix in (".gz", ".bz2", ".zst"):
            continue
    raise InputError(f"{path}: unknown file type {path.suffix!r} (use .csv, .tsv, .parquet, .jsonl)")


def _head(path: Path, n: int) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an error, printable and short (errors may quote hostile bytes)."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    line = "".join(ch if ch.isprintable() and ord(ch) != 0xFFFD else "?" for ch in line)
    return line if len(line) <= limit else line[: limit - 3] + "..."


class _Counted:
    """A raw file that counts the bytes read from it."""

    def __init__(self, path: Path) -> None:
        self.fh = path.open("rb")
        self.count = 0
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.count += len(data)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True
        self.fh.close()


class _Bounded:
    """A decompressing read stream that refuses to expand more than MAX_RATIO times the compressed bytes read
    so far (once past CHECK_AFTER): a small file that decompresses to gigabytes is refused after a few MiB."""

    def __init__(self, path: Path, compression: str) -> None:
        import pyarrow as pa

        self.path = path
        self.raw = _Counted(path)
        self.stream = pa.CompressedInputStream(self.raw, compression)
        self.total = 0
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(None if n is None or n < 0 else n)
        self.total += len(data)
        if self.total > CHECK_AFTER and self.total > MAX_RATIO * max(1, self.raw.count):
            raise InputError(
                f"{self.path}: expands more than {MAX_RATIO} times when decompressed "
                f"({self.total >> 20} MiB from {max(1, self.raw.count >> 10)} KiB): refused as a possible "
                "decompression bomb (decompress it yourself if it is genuine)"
            )
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
        self.stream.close()
        self.raw.close()


def open_source(path: Path) -> Any:
    """The file's path (plain files: pyarrow reads them itself) or a bounded decompressing stream."""
    comp = _COMPRESSED.get(path.suffix.lower())
    return _Bounded(path, comp) if comp else str(path)


def first_bad_json_line(path: Path, max_lines: int = 10_000_000) -> str | None:
    """Where a JSON Lines file first stops being valid JSON: "line N: reason", or None."""
    import io
    import json

    src = open_source(path)
    raw = src if not isinstance(src, str) else open(src, "rb")  # noqa: SIM115 - closed below
    try:
        buffered = io.BufferedReader(raw) if not isinstance(src, str) else raw  # type: ignore[arg-type]
        for i, line in enumerate(buffered, 1):
            if i > max_lines:
                return None
            if not line.strip():
                continue
            try:
                json.loads(line)
            except ValueError as exc:
                msg = getattr(exc, "msg", None) or _one_line(exc)
                return f"line {i}: not valid JSON ({msg})"
    finally:
        raw.close()
    return None


class TableReader:
    """Iterates record batches of one file, turning pyarrow errors into one-line InputErrors."""

    def __init__(
        self, path: str | Path, *, columns: Sequence[str] | None = None, encoding: str = "utf-8",
        batch_rows: int = BATCH_ROWS, block_size: int = CSV_BLOCK,
    ) -> None:
        self.path = Path(path)
        self.format = detect_format(self.path)
        if self.format == "profile":
            raise InputError(f"{self.path}: is a saved profile; raw rows are needed here")
        self.columns = list(columns) if columns is not None else None
        self.encoding = encoding
        self.batch_rows = batch_rows
        self.block_size = block_size
        self.names: list[str] = []

    def batches(self) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        try:
            reader = self._open()
            self.names = list(reader.schema.names)
            self._check_schema(reader.schema)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                self._check_schema(batch.schema)
                yield batch
        except InputError:
            raise
        except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError) as exc:
            raise InputError(self._explain(exc)) from None

    def read_all(self) -> pa.Table:
        import pyarrow as pa

        batches = list(self.batches())
        if not batches:
            return pa.table({n: pa.array([], pa.null()) for n in self.names})
        return pa.Table.from_batches(batches)

    def parquet_file(self) -> Any:
        """The open ParquetFile (streamed, not pre-buffered: 745 -> 335 MiB peak on 1M-row groups)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError(self._explain(exc)) from None
        if self.columns is not None:
            self._require(self.columns, pf.schema_arrow.names)
        return pf

    def _open(self) -> Any:
        fmt = self.format
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
            if self.columns is not None:
                self._require(self.columns, pf.schema_arrow.names)
            return _BatchIter(pf.schema_arrow, pf.iter_batches(batch_size=self.batch_rows, columns=self.columns))
        if fmt in ("csv", "tsv"):
            import pyarrow.csv as pcsv

            if not any(s.lower() in _COMPRESSED for s in self.path.suffixes) and "16" not in self.encoding \
                    and "32" not in self.encoding and b"\x00" in _head(self.path, 8192):
                raise InputError(f"{self.path}: contains NUL bytes, so it is not {fmt.upper()} text (binary data, or "
                                 "UTF-16 text: pass --encoding utf-16)")

            parse = pcsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
            read = pcsv.ReadOptions(block_size=self.block_size, encoding=self.encoding)
            convert = pcsv.ConvertOptions(include_columns=self.columns) if self.columns else None
            if self.columns:
                header = pcsv.open_csv(open_source(self.path), read_options=read, parse_options=parse).schema.names
                self._require(self.columns, header)
            return pcsv.open_csv(open_source(self.path), read_options=read, parse_options=parse,
                                 convert_options=convert)
        import pyarrow.json as pjson

        block = max(self.block_size, JSON_BLOCK)
        reader = pjson.open_json(open_source(self.path), read_options=pjson.ReadOptions(block_size=block))
        if self.columns is not None:
            self._require(self.columns, reader.schema.names)
            return _Select(reader, self.columns)
        return reader

    def _require(self, wanted: Sequence[str], have: Sequence[str]) -> None:
        missing = [c for c in wanted if c not in have]
        if missing:
            raise InputError(f"{self.path}: no column {missing[0]!r} (columns: {_preview(have)})")

    def _check_schema(self, schema: pa.Schema) -> None:
        import pyarrow as pa

        for field in schema:
            t = field.type
            if (pa.types.is_binary(t) or pa.types.is_large_binary(t)) and self.format in ("csv", "tsv"):
                raise InputError(
                    f"{self.path}: column {field.name!r} is not valid {self.encoding} text "
                    "(pass --encoding, e.g. latin-1)"
                )
            if pa.types.is_nested(t):
                raise InputError(f"{self.path}: column {field.name!r} has nested values ({t}); flatten it first")

    def _explain(self, exc: BaseException) -> str:
        msg = _one_line(exc)
        if self.format == "jsonl" and "JSON parse error" in msg:
            try:
                where = first_bad_json_line(self.path)
            except (OSError, InputError, ValueError):
                where = None
            if where is not None:
                return f"{self.path}: {where}"
        m = re.search(r"CSV column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'", msg)
        if m:
            idx = int(m.group(1))
            name = self.names[idx] if idx < len(self.names) else f"#{idx}"
            return (f"{self.path}: column {name!r} mixes types: {m.group(3)!r} in a column of {m.group(2)} "
                    "values")
        m = re.search(r"Column\(/(.*?)\) changed from (\w+) to (\w+)", msg)
        if m:
            return f"{self.path}: column {m.group(1)!r} mixes types: {m.group(2)} and {m.group(3)} values"
        if "Empty CSV file" in msg:
            return f"{self.path}: empty file"
        if self.format == "parquet" and ("magic" in msg.lower() or "footer" in msg.lower() or "size" in msg.lower()):
            return f"{self.path}: not a readable Parquet file (truncated or corrupt: {msg})"
        if "UTF8" in msg or "utf-8" in msg.lower() or "codec" in msg.lower():
            return f"{self.path}: not valid {self.encoding} text (pass --encoding): {msg}"
        return f"{self.path}: cannot read {self.format}: {msg}"


class _BatchIter:
    def __init__(self, schema: Any, it: Iterator[Any]) -> None:
        self.schema = schema
        self._it = it

    def read_next_batch(self) -> Any:
        return next(self._it)


class _Select:
    def __init__(self, reader: Any, columns: list[str]) -> None:
        self._reader = reader
        self._columns = columns
        self.schema = reader.schema

    def read_next_batch(self) -> Any:
        return self._reader.read_next_batch().select(self._columns)


def _preview(names: Sequence[str], n: int = 8) -> str:
    shown = ", ".join(repr(x) for x in list(names)[:n])
    return shown + (f", ... ({len(names)} in all)" if len(names) > n else "")


def load_profile(path: Path) -> DatasetProfile:
    try:
        return DatasetProfile.load(path)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a usable mlscore profile: {_one_line(exc)}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def profile_file(
    path: str | Path,
    *,
    reference: DatasetProfile | None = None,
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
    progress: Callable[[int], None] | None = None,
    allow_profile: bool = True,
) -> DatasetProfile:
    """Profile a CSV/Parquet/JSONL file chunk by chunk (or load a saved profile).

    With ``reference``, columns use the reference's frozen bins, so the result compares cheaply.
    """
    p = Path(path)
    if detect_format(p) == "profile":
        if not allow_profile:
            raise InputError(f"{p}: is a saved profile; raw rows are needed here")
        prof = load_profile(p)
        prof.source = str(p)
        return prof
    reader = TableReader(p, columns=columns, encoding=encoding)
    mixed: dict[str, list[Any]] | None = {} if reader.format in ("csv", "tsv", "jsonl") else None
    prof: DatasetProfile | None = DatasetProfile.empty_like(reference) if reference is not None else None
    if reader.format == "parquet":
        if prof is None:
            ncols = len(reader.columns) if reader.columns is not None else None
            if ncols is None:
                ncols = len(reader.parquet_file().schema_arrow.names)
            prof = _new_profile(ncols)
        _profile_parquet(prof, reader, p, progress)
    for batch in reader.batches() if reader.format != "parquet" else ():
        if prof is None:
            prof = _new_profile(batch.num_columns)
        profile_batch(prof, batch, p, mixed)
        if progress is not None:
            progress(prof.row_count)
    if prof is None or prof.row_count == 0:
        raise InputError(f"{p}: no rows")
    for name, (numeric_rows, text_rows, example) in (mixed or {}).items():
        if text_rows and numeric_rows >= MIXED_SHARE * (numeric_rows + text_rows):
            raise InputError(
                f"{p}: column {name!r} mixes types: {numeric_rows} numbers and {text_rows} text values "
                f"such as {example!r}"
            )
    if reference is not None:
        # keep the reference's columns that the file lacks out of the profile (reported as missing)
        prof.columns = {n: c for n, c in prof.columns.items() if n in reader.names}
    prof.source = str(p)
    return prof


def _new_profile(ncols: int) -> DatasetProfile:
    wide = ncols > WIDE
    return DatasetProfile(nbins=256 if wide else 2048, exact_cap=1000 if wide else 10_000,
                          topk=100 if wide else 1000, distinct_cap=16 if wide else 64)


def profile_batch(
    prof: DatasetProfile, batch: pa.RecordBatch, path: Path, mixed: dict[str, list[Any]] | None = None
) -> None:
    """Add one Arrow record batch to ``prof`` using columnar fast paths."""

    n = batch.num_rows
    seen = set()
    tasks: list[tuple[Any, tuple[Any, ...]]] = []
    for name, arr in zip(batch.schema.names, batch.columns):
        if name in seen:
            raise InputError(f"{path}: column name {name!r} appears twice")
        seen.add(name)
        task = column_task(prof, name, arr, n, path, mixed)
        if task is not None:
            tasks.append(task)
    if len(tasks) > 1 and n >= PARALLEL_ROWS and _workers() > 1:
        for fut in [_pool().submit(fn, *args) for fn, args in tasks]:
            fut.result()
    else:
        for fn, args in tasks:
            fn(*args)
    for name, col in prof.columns.items():
        if name not in seen:
            col.add_nulls(n)
    prof.row_count += n


def column_task(
    prof: DatasetProfile, name: str, arr: Any, n: int, path: Path, mixed: dict[str, list[Any]] | None
) -> tuple[Any, tuple[Any, ...]] | None:
    """Resolve one column's kind and casts (cheap, in the caller's thread); return the heavy work."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = prof.column(name)
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    numeric_type = (
        pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_temporal(t)
    )
    if pa.types.is_null(t):
        col.add_nulls(n)
        return None
    if col.kind is None:
        col.kind = "numeric" if numeric_type else "categorical"
    if col.dtype is None:
        col.dtype = str(t)
    if col.kind == "numeric":
        if pa.types.is_decimal(t):
            arr = arr.cast(pa.float64())
        elif pa.types.is_boolean(t):
            arr = arr.cast(pa.int8())
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            try:
                arr = pc.cast(arr, pa.float64())
            except pa.ArrowInvalid:
                # Numeric in the reference, text here: a serving-data problem to report (MON2), not an input
                # error. Numbers count as usual; the text values are type errors (nulls for the statistics).
                arr, errors, example = _numbers_and_text(arr)
                col.type_errors += errors
                if getattr(col, "type_error_example", None) is None:
                    col.type_error_example = example
        elif pa.types.is_time(t) or pa.types.is_duration(t):
            arr = arr.cast(pa.int64())
        elif pa.types.is_date(t):
            arr = arr.cast(pa.timestamp("s"))
        elif pa.types.is_timestamp(t) and t.tz is not None:
            arr = arr.cast(pa.timestamp(t.unit))
        return (_update_numeric, (col, arr))
    if not (numeric_type or pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t)):
        arr = arr.cast(pa.string())
    track = mixed is not None and (pa.types.is_string(t) or pa.types.is_large_string(t))
    return (_count_categories, (col, arr, mixed if track else None))


def _profile_parquet(prof: DatasetProfile, reader: TableReader, path: Path,
                     progress: Callable[[int], None] | None) -> None:
    """Parquet, one column of one row group at a time: the peak is about one column chunk per worker."""
    import pyarrow as pa

    pf = reader.parquet_file()
    schema = pf.schema_arrow
    names = reader.columns if reader.columns is not None else list(schema.names)
    if len(set(schema.names)) != len(schema.names):
        dup = next(n for n in schema.names if list(schema.names).count(n) > 1)
        raise InputError(f"{path}: column name {dup!r} appears twice")
    reader.names = list(schema.names)
    reader._check_schema(schema)
    workers = _workers()
    for rg in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(rg).num_rows
        if n == 0:
            continue
        pending: list[Any] = []
        for name in names:
            try:
                arr = pf.read_row_group(rg, columns=[name], use_threads=False).column(0)
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise InputError(reader._explain(exc)) from None
            task = column_task(prof, name, arr, n, path, None)
            if task is None:
                continue
            if workers > 1 and n >= PARALLEL_ROWS:
                pending.append(_pool().submit(task[0], *task[1]))
                if len(pending) >= workers:
                    pending.pop(0).result()
            else:
                task[0](*task[1])
        for fut in pending:
            fut.result()
        for name, col in prof.columns.items():
            if name not in names:
                col.add_nulls(n)
        prof.row_count += n
        if progress is not None:
            progress(prof.row_count)


def _update_numeric(col: Any, arr: Any) -> None:
    col._update_numeric(arrow_floats(arr))


def _count_categories(col: Any, arr: Any, mixed: dict[str, list[Any]] | None) -> None:
    import pyarrow.compute as pc

    vc = pc.value_counts(arr)
    if mixed is not None:
        _track_mixed(mixed, col.name, vc)
    col.update_counts(vc.field("values").to_pylist(), vc.field("counts").to_pylist())


_POOL: Any = None


def _workers() -> int:
    env = os.environ.get("MLSCORE_THREADS")
    if env and env.isdigit():
        return max(1, int(env))
    return max(1, min(4, os.cpu_count() or 1))


def _pool() -> Any:
    """One lazily created thread pool: numpy and Arrow kernels release the GIL on large arrays."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="mlscore-profile")
    return _POOL


def arrow_floats(arr: Any) -> Any:
    """An Arrow array as float64 numpy with NaN for nulls, without pyarrow's pandas-backed to_numpy."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_timestamp(arr.type):
        unit = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[arr.type.unit]
        out = arrow_floats(pc.cast(arr, pa.int64()))
        return out / unit
    if arr.type != pa.float64():
        arr = pc.cast(arr, pa.float64())
    if arr.null_count:
        arr = pc.fill_null(arr, float("nan"))
    if len(arr) == 0:
        return np.empty(0, dtype=np.float64)
    buf = arr.buffers()[1]
    return np.frombuffer(buf, dtype=np.float64, count=len(arr) + arr.offset)[arr.offset :]


def arrow_bools(arr: Any) -> Any:
    """A boolean Arrow array (nulls as False) as a numpy bool array, without pandas."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if arr.null_count:
        arr = pc.fill_null(arr, False)
    if len(arr) == 0:
        return np.zeros(0, dtype=bool)
    bits = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[arr.offset : arr.offset + len(arr)].astype(bool)


def _track_mixed(mixed: dict[str, list[Any]], name: str, vc: Any) -> None:
    import pyarrow.compute as pc

    values, counts = vc.field("values"), vc.field("counts")
    is_num = pc.fill_null(pc.match_substring_regex(values, _NUMBER), False)
    state = mixed.setdefault(name, [0, 0, None])
    num = pc.sum(pc.if_else(is_num, counts, 0)).as_py() or 0
    valid = pc.sum(pc.if_else(pc.is_valid(values), counts, 0)).as_py() or 0
    state[0] += num
    state[1] += valid - num
    if state[2] is None and valid > num:
        for v, ok in zip(values.to_pylist(), is_num.to_pylist()):
            if v is not None and not ok:
                state[2] = str(v)[:40]
                break


def _numbers_and_text(arr: Any) -> tuple[Any, int, str | None]:
    """A text array as float64 (non-numbers become nulls), the number of non-numbers and the first one."""
    import pyarrow as pa

    out: list[float | None] = []
    errors = 0
    example = None
    for v in arr.to_pylist():
        if v is None:
            out.append(None)
            continue
        try:
            out.append(float(v))
        except ValueError:
            out.append(None)
            errors += 1
            if example is None:
                example = str(v)[:40]
    return pa.array(out, pa.float64()), errors, example


def _first_non_number(arr: Any) -> str:
    for v in arr.to_pylist():
        if v is None:
            continue
        try:
            float(v)
        except ValueError:
            return str(v)[:40]
    return "?"
