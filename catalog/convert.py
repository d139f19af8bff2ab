"""Converting a staged upload to Parquet with bounded memory.

A CSV is read twice with pyarrow's streaming reader (``pyarrow.csv.open_csv``), a block at a time, every
column as text: the first pass decides each column's type (a type survives only if every non-null value
in every block converts losslessly, see ``catalog.ingest``), the second converts each block and writes it
to Parquet batch by batch. A Parquet upload is read row group by row group. Peak memory is a few blocks
plus a fixed-size sample for profiling, whatever the file's size; GBK is transcoded on the fly.

The result is a Parquet file in the staging directory, its schema, row count, digest, a uniform random
sample of rows (Algorithm R) for the profiler, and each numeric column's observed range.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from catalog import ingest, profile
from common.errors import InvalidInput
from common.types import ColumnInfo

# pyarrow reads up to 32 blocks ahead in the background, so this bounds the reader at about 32 MiB. A
# CSV row may not be longer than one block.
BLOCK_BYTES = 1 << 20

# Lossless conversions. Leading zeros ('0023', '007') and values of 16 digits or more stay text: they are
# codes/identifiers, and doubles cannot hold 16+ significant digits exactly.
_INT_RE = r"^[+-]?(?:0|[1-9][0-9]{0,14})$"
_FLOAT_RE = (
    r"^[+-]?(?:0|[1-9][0-9]{0,14})\.[0-9]{1,15}$"
    r"|^[+-]?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?[eE][+-]?[0-9]{1,3}$"
)
_MOBILE_RE = r"^1[3-9][0-9]{9}$"
_BOOL_RE = r"^(?i:true|false)$"
_DATE_RE = r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
_TS_RE = (
    r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r":[0-5][0-9](?:\.[0-9]{1,6})?$"
)
# Candidate text-column types in the order they are preferred; "mobile" only vetoes "int".
_KINDS = ("int", "mobile", "float", "bool", "date", "ts")


@dataclass
class Converted:
    """A staged upload converted to Parquet (``path`` lives in the staging directory until placed)."""

    path: Path
    columns: list[ColumnInfo]
    rows: int
    sha256: str
    bytes: int
    sample: pa.Table
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ type pass


def _all_match(values: pa.Array, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(values, pattern)).as_py())


def _converts(values: pa.Array, kind: str) -> bool:
    """Does every (non-null) value of this block convert losslessly to ``kind``?"""
    try:
        if kind == "int":
            return _all_match(values, _INT_RE)
        if kind == "mobile":
            return _all_match(values, _MOBILE_RE)
        if kind == "float":
            if not _all_match(values, _INT_RE + "|" + _FLOAT_RE):
                return False
            return bool(pc.all(pc.is_finite(pc.cast(values, pa.float64()))).as_py())
        if kind == "bool":
            return _all_match(values, _BOOL_RE)
        pattern = _DATE_RE if kind == "date" else _TS_RE
        if not _all_match(values, pattern):
            return False
        _convert(values, kind)  # invalid days (02-30) raise: the column stays text
        return True
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False


def _narrow(candidates: set[str], column: pa.Array) -> None:
    values = column.drop_null()
    if len(values) == 0:
        return
    for kind in list(candidates):
        if not _converts(values, kind):
            candidates.discard(kind)


def _decide(candidates: set[str], seen_values: bool) -> str:
    if not seen_values:
        return "text"
    if "int" in candidates:
        return "text" if "mobile" in candidates else "int"  # mobile numbers are identifiers
    for kind in ("float", "bool", "date", "ts"):
        if kind in candidates:
            return kind
    return "text"


def _convert(column: pa.Array, kind: str) -> pa.Array:
    if kind == "int":
        return pc.cast(pc.replace_substring_regex(column, r"^\+", ""), pa.int64())
    if kind == "float":
        return pc.cast(column, pa.float64())
    if kind == "bool":
        return pc.equal(pc.utf8_lower(column), "true")
    if kind == "date":
        return pc.cast(column, pa.date32())
    if kind == "ts":
        return pc.cast(pc.replace_substring(column, "T", " "), pa.timestamp("us"))
    return column


# ------------------------------------------------------------------------------------------ CSV reading


def _csv_batches(path: Path, encoding: str) -> Iterator[pa.RecordBatch]:
    """Every row (header included, as row 0) as text batches; CSV errors become ``InvalidInput``."""
    first_bad: list[int | None] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        first_bad.append(row.number)
        return "error"

    stream = pa.input_stream(str(path))
    if encoding != "utf-8":
        stream = pa.transcoding_input_stream(stream, encoding, "utf-8")
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                autogenerate_column_names=True, use_threads=False, block_size=BLOCK_BYTES
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(ingest.MAX_COLUMNS + 1)},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
        yield from reader
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        raise _csv_error(first_bad) from None
    finally:
        stream.close()


def _csv_error(first_bad: list[int | None]) -> InvalidInput:
    if first_bad and first_bad[0] is not None:
        row = first_bad[0]
        return InvalidInput(
            f"row {row} (the header is row 1) has a different number of fields than the header",
            field="file",
            row=row,
        )
    if first_bad:
        return InvalidInput("a row has a different number of fields than the header", field="file")
    return InvalidInput("malformed CSV (unbalanced quotes or unreadable row)", field="file")


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[list[str], pa.RecordBatch]]:
    """(raw header, data batch) pairs; the header row is split off the first batch."""
    header: list[str] | None = None
    for batch in _csv_batches(path, encoding):
        if header is None:
            if batch.num_rows == 0:
                continue
            header = [v or "" for v in batch.slice(0, 1).to_pylist()[0].values()]
            batch = batch.slice(1)
        if batch.num_rows:
            yield header, batch
    if header is None:
        raise InvalidInput("the file is empty; the first line must hold column names", field="file")


def _csv_kinds(path: Path, encoding: str) -> tuple[list[str], list[str]]:
    """First pass: normalised names and each column's kind."""
    names: list[str] | None = None
    candidates: list[set[str]] = []
    seen: list[bool] = []
    for header, batch in _csv_rows(path, encoding):
        if names is None:
            names = ingest._normalise_names(header, source="header")
            candidates = [set(_KINDS) for _ in names]
            seen = [False] * len(names)
        for i, column in enumerate(batch.columns):
            seen[i] = seen[i] or column.null_count < len(column)
            _narrow(candidates[i], column)
    if names is None:
        _raise_empty_or_header_only(path, encoding)
    return names, [_decide(c, s) for c, s in zip(candidates, seen, strict=True)]


def _raise_empty_or_header_only(path: Path, encoding: str) -> None:
    for batch in _csv_batches(path, encoding):
        if batch.num_rows:
            header = [v or "" for v in batch.slice(0, 1).to_pylist()[0].values()]
            ingest._normalise_names(header, source="header")
            raise InvalidInput("no rows: the file holds a header but no data", field="file")
    raise InvalidInput("the file is empty; the first line must hold column names", field="file")


def _csv_tables(path: Path, encoding: str) -> Iterator[pa.Table]:
    names, kinds = _csv_kinds(path, encoding)
    for _, batch in _csv_rows(path, encoding):
        yield pa.table({n: _convert(c, k) for n, c, k in zip(names, batch.columns, kinds, strict=True)})


# -------------------------------------------------------------------------------------- Parquet reading


def _parquet_tables(path: Path) -> Iterator[pa.Table]:
    try:
        source = pq.ParquetFile(path)
        raw_names = [str(n) for n in source.schema_arrow.names]
    except (pa.ArrowException, OSError, ValueError):
        raise InvalidInput("unreadable Parquet file", field="file") from None
    names = ingest._normalise_names(raw_names, source="Parquet schema")
    rows = 0
    try:
        for batch in source.iter_batches(batch_size=64 * 1024):
            columns = {
                name: _parquet_column(pa.chunked_array([batch.column(i)]), i + 1)
                for i, name in enumerate(names)
            }
            rows += batch.num_rows
            yield pa.table(columns)
    except (pa.ArrowException, OSError, ValueError):
        raise InvalidInput("unreadable Parquet file", field="file") from None
    if rows == 0:
        raise InvalidInput("no rows: the Parquet file holds a schema but no data", field="file")


def _parquet_column(col: pa.ChunkedArray, position: int) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.cast(pa.string())
    if pa.types.is_decimal(t):
        return col.cast(pa.float64())
    if pa.types.is_date64(t):
        return col.cast(pa.date32())
    if pa.types.is_float16(t):
        return col.cast(pa.float32())
    ingest._duckdb_type(t, position)  # refuses what we cannot store
    return col


# ---------------------------------------------------------------------------------------------- writing


class _Reservoir:
    """A uniform random sample of at most ``size`` rows over a stream of tables (Algorithm R)."""

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seen, self.rng = size, 0, np.random.default_rng(seed)
        self.table: pa.Table | None = None

    def add(self, table: pa.Table) -> None:
        if self.table is None:
            self.table = table.slice(0, 0)
        current = self.table.num_rows
        take = np.arange(current)
        fill = min(self.size - current, table.num_rows)
        take = np.concatenate([take, current + np.arange(fill)])
        # Row number n (0-based, across the stream) replaces slot j when j = randint(0, n] falls inside.
        numbers = self.seen + np.arange(fill, table.num_rows)
        slots = (self.rng.random(len(numbers)) * (numbers + 1)).astype(np.int64)
        for offset, slot in zip(range(fill, table.num_rows), slots, strict=True):
            if slot < self.size:
                take[slot] = current + offset
        self.seen += table.num_rows
        self.table = pa.concat_tables([self.table, table]).take(pa.array(take, pa.int64()))


def _write(tables: Iterator[pa.Table], staging_dir: Path, sample_rows: int, seed: int) -> Converted:
    fd, tmp = ingest._new_staging_file(staging_dir, suffix=".parquet.tmp")
    os.close(fd)
    writer = None
    reservoir = _Reservoir(sample_rows, seed)
    ranges: dict[str, tuple[float, float]] = {}
    rows = 0
    try:
        for table in tables:
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
            rows += table.num_rows
            reservoir.add(table)
            _widen(ranges, table)
        if writer is None:
            raise InvalidInput("no rows: the file holds a header but no data", field="file")
        writer.close()
        digest = hashlib.sha256()
        with open(tmp, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
            os.fsync(f.fileno())
        sample = reservoir.table
        columns = ingest.infer_columns(sample)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return Converted(tmp, columns, rows, digest.hexdigest(), tmp.stat().st_size, sample, ranges)


def _widen(ranges: dict[str, tuple[float, float]], table: pa.Table) -> None:
    for name in table.column_names:
        column = table.column(name)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            continue
        values = column.cast(pa.float64())
        stats = pc.min_max(values.filter(pc.is_finite(values)))
        lo, hi = stats["min"].as_py(), stats["max"].as_py()
        if lo is None:
            continue
        old = ranges.get(name)
        ranges[name] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))


def convert_upload(
    path: Path,
    filename: str,
    content_type: str | None,
    staging_dir: Path,
    *,
    sample_rows: int = 500,
    seed: int = 0,
) -> Converted:
    """Validate a staged upload (see ``ingest.sniff``) and convert it to Parquet in ``staging_dir``."""
    kind, encoding = ingest.sniff(Path(path), filename, content_type)
    tables = _parquet_tables(Path(path)) if kind == "parquet" else _csv_tables(Path(path), encoding)
    return _write(tables, Path(staging_dir), sample_rows, seed)


def place(converted: Converted, dest: Path) -> ingest.WrittenFile:
    """Move the converted file onto ``dest`` (same filesystem) atomically."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(converted.path, dest)
    return ingest.WrittenFile(path=dest, sha256=converted.sha256, bytes=converted.bytes, rows=converted.rows)


def suggest(converted: Converted, *, sample_rows: int = 500) -> dict[str, profile.Suggestion]:
    """Profiling suggestions from the sample, with numeric bounds from the whole column's range."""
    out = profile.suggest(converted.sample, sample_rows=sample_rows)
    for name, (lo, hi) in converted.ranges.items():
        if name in out and out[name].lower is not None:
            lower, upper = profile.outward_bounds(lo, hi)
            out[name] = dataclasses.replace(out[name], lower=lower, upper=upper)
    return out
