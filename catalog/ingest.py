"""Upload pipeline pieces: stage the byte stream, read it into Arrow, infer and compare schemas, and move the
Parquet into the domain store atomically. Pure functions over files; no database.

Every error names the problem (limit, encoding, line number, column position) and never a cell value.
Nothing half-written survives an error: staged and temporary files are removed before raising.

Decisions where the brief was silent:

* Accepted files: ``.csv`` (UTF-8 with/without BOM, or GBK) and ``.parquet``/``.pq``. The extension and the
  content must agree (a Parquet file named ``.csv`` is refused, as is a PNG named ``.csv``). The declared
  content type is advisory (browsers send ``application/vnd.ms-excel`` for CSV) but an obviously foreign
  one (image/audio/video/PDF/zip/Office) is refused.
* CSV: empty cells are NULL; a header-only file is ``InvalidInput`` ("no rows"). Column names are normalised
  (NFKC, lower case, runs of spaces/punctuation -> ``_``) and must then match ``[a-z_][a-z0-9_]*`` and be at
  most 63 characters: Chinese or digit-leading headers are refused with their position (put the Chinese
  label in the column description instead).
* CSV types: every column is read as text, then converted only if every non-null value parses losslessly:
  BIGINT (no leading zero, fewer than 16 digits; a column of only 11-digit mobile numbers stays text), DOUBLE (same digit rules), BOOLEAN (true/false), DATE
  (``YYYY-MM-DD``), TIMESTAMP (``YYYY-MM-DD[ T]HH:MM:SS[.ffffff]``). No surrounding spaces are tolerated
  for conversion, so ``' 12'`` stays text.
* Parquet keeps its declared types; decimals become DOUBLE, large strings/dictionaries become VARCHAR,
  nested and binary columns are refused.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from common.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from common.types import ColumnInfo

__all__ = [
    "ALLOWED_ENCODINGS",
    "MAX_COLUMNS",
    "WrittenFile",
    "astream_to_staging",
    "check_compatible",
    "infer_columns",
    "normalise_column_name",
    "read_upload",
    "stream_to_staging",
    "write_parquet_atomically",
]

ALLOWED_ENCODINGS = ("UTF-8", "UTF-8 with BOM", "GBK")
MAX_COLUMNS = 1000
MAX_NAME_CHARS = 63
_CHUNK = 1 << 20

# --------------------------------------------------------------------------------------------- staging


def _new_staging_file(staging_dir: Path, suffix: str = ".upload") -> tuple[int, Path]:
    staging_dir = Path(staging_dir)
    staging_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="stage-", suffix=suffix, dir=staging_dir)
    return fd, Path(name)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"upload exceeds the limit of {max_bytes} bytes", limit=max_bytes)


def stream_to_staging(chunks: Iterable[bytes], staging_dir: Path, max_bytes: int) -> Path:
    """Write ``chunks`` to a new unique file under ``staging_dir`` and return its path.

    More than ``max_bytes`` in total: the partial file is deleted and ``PayloadTooLarge`` raised.

    >>> import tempfile; tmp = tempfile.TemporaryDirectory(); d = Path(tmp.name)
    >>> p = stream_to_staging([b"a,b\\n", b"1,2\\n"], d, 100); p.read_bytes()
    b'a,b\\n1,2\\n'
    >>> stream_to_staging([b"x" * 10], d, 5)
    Traceback (most recent call last):
    common.errors.PayloadTooLarge: upload exceeds the limit of 5 bytes
    >>> sorted(x.name for x in d.iterdir()) == [p.name]
    True
    >>> tmp.cleanup()
    """
    fd, path = _new_staging_file(staging_dir)
    total = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                total += len(chunk)
                if total > max_bytes:
                    raise _too_large(max_bytes)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def astream_to_staging(source: object, staging_dir: Path, max_bytes: int) -> Path:
    """Async variant of :func:`stream_to_staging`.

    ``source`` is an async iterable of bytes (``request.stream()``) or an object with an async
    ``read(n)`` (FastAPI/Starlette ``UploadFile``). Disk writes run in a worker thread.
    """
    fd, path = _new_staging_file(staging_dir)
    total = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in _aiter_chunks(source):
                if not chunk:
                    continue
                total += len(chunk)
                if total > max_bytes:
                    raise _too_large(max_bytes)
                await asyncio.to_thread(out.write, chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _aiter_chunks(source: object):
    read = getattr(source, "read", None)
    if read is not None and not hasattr(source, "__aiter__"):
        while True:
            chunk = read(_CHUNK)
            if asyncio.iscoroutine(chunk) or isinstance(chunk, asyncio.Future):
                chunk = await chunk
            if not chunk:
                return
            yield bytes(chunk)
    else:
        async for chunk in source:  # type: ignore[union-attr]
            yield bytes(chunk)


# ------------------------------------------------------------------------------------------ file types

_PARQUET_EXT = {".parquet", ".pq"}
_CSV_EXT = {".csv"}
_FOREIGN_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"%PDF", "PDF document"),
    (b"PK\x03\x04", "zip archive (xlsx/docx are zip archives)"),
    (b"PK\x05\x06", "zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office document (xls/doc)"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"Rar!", "rar archive"),
    (b"\x7fELF", "executable"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\x00\x00\xfe\xff", "UTF-32 text"),
    (b"\xff\xfe\x00\x00", "UTF-32 text"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)
_FOREIGN_CONTENT_TYPES = (
    "image/",
    "audio/",
    "video/",
    "application/pdf",
    "application/zip",
    "application/x-zip",
    "application/gzip",
    "application/x-gzip",
    "application/vnd.openxmlformats",
    "application/msword",
    "application/x-7z",
    "application/x-rar",
    "application/x-tar",
)


def _allowed() -> str:
    return "CSV (.csv, encodings " + ", ".join(ALLOWED_ENCODINGS) + ") or Parquet (.parquet)"


def read_upload(path: Path, filename: str, content_type: str | None) -> pa.Table:
    """Read a staged upload into an Arrow table with normalised column names and inferred types.

    Raises ``UnsupportedMedia`` for a foreign file type, extension or encoding, ``InvalidInput`` for a
    malformed CSV/Parquet (naming the line or column position, never a value).
    """
    path = Path(path)
    ext = Path(filename or "").suffix.lower()
    if content_type:
        ctype = content_type.split(";")[0].strip().lower()
        if ctype.startswith(_FOREIGN_CONTENT_TYPES):
            raise UnsupportedMedia(
                f"content type {ctype} is not accepted; upload {_allowed()}", field="content_type"
            )
    if ext not in _PARQUET_EXT | _CSV_EXT:
        raise UnsupportedMedia(
            f"file extension {ext or '(none)'!s} is not accepted; upload {_allowed()}", field="filename"
        )
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(16)
        if size >= 8:
            f.seek(-4, os.SEEK_END)
            tail = f.read(4)
        else:
            tail = b""
    is_parquet = head.startswith(b"PAR1")
    if ext in _PARQUET_EXT:
        if not (is_parquet and tail == b"PAR1"):
            raise UnsupportedMedia(
                "file named .parquet is not a Parquet file (magic bytes PAR1 missing)", field="file"
            )
        return _read_parquet(path)
    if is_parquet:
        raise UnsupportedMedia("file named .csv is a Parquet file; name it .parquet", field="file")
    for sig, what in _FOREIGN_SIGNATURES:
        if head.startswith(sig):
            if "text" in what:
                raise UnsupportedMedia(
                    f"{what} is not accepted; allowed encodings: {', '.join(ALLOWED_ENCODINGS)}",
                    field="file",
                    encoding=what,
                )
            raise UnsupportedMedia(f"file named .csv is a {what}; upload {_allowed()}", field="file")
    return _read_csv(path, size)


# ------------------------------------------------------------------------------------------------- CSV

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_text(path: Path, encoding: str) -> bool:
    """Stream-decode the file; False if it is not valid ``encoding``. Control characters (binary junk that
    happens to decode) raise ``InvalidInput`` with the line number. Never holds the whole text in memory."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    blank = True
    with open(path, "rb") as f:
        while True:
            block = f.read(_CHUNK)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError:
                return False
            bad = _CONTROL.search(text)
            if bad:
                line += text.count("\n", 0, bad.start())
                raise InvalidInput(
                    f"binary content (control character) at line {line}; not a CSV text file",
                    field="file",
                    line=line,
                )
            line += text.count("\n")
            blank = blank and not text.strip()
            if not block:
                if blank:
                    raise InvalidInput(
                        "the file is empty; the first line must hold column names", field="file"
                    )
                return True


def _detect_encoding(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(3)
    if head == codecs.BOM_UTF8:
        if _check_text(path, "utf-8-sig"):
            return "utf-8"
    elif _check_text(path, "utf-8"):
        return "utf-8"
    elif _check_text(path, "gbk"):
        return "gbk"
    raise UnsupportedMedia(
        f"file is neither valid UTF-8 nor GBK text; allowed encodings: {', '.join(ALLOWED_ENCODINGS)}",
        field="file",
    )


def _read_csv(path: Path, size: int) -> pa.Table:
    if size == 0:
        raise InvalidInput("the file is empty; the first line must hold column names", field="file")
    with open(path, "rb") as f:
        if b"\x00" in f.read(_CHUNK):
            raise UnsupportedMedia(
                "file contains NUL bytes (UTF-16 or binary content); allowed encodings: "
                f"{', '.join(ALLOWED_ENCODINGS)}",
                field="file",
            )
    encoding = _detect_encoding(path)

    first_bad: list[int | None] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        first_bad.append(row.number)
        return "error"

    stream = pa.input_stream(str(path))
    if encoding != "utf-8":
        stream = pa.transcoding_input_stream(stream, encoding, "utf-8")
    try:
        # The header is read as the first data row (autogenerated names f0, f1, ...) so that pyarrow's own
        # parser handles quoting in it too; every column is text at this stage.
        table = pacsv.read_csv(
            stream,
            read_options=pacsv.ReadOptions(
                autogenerate_column_names=True, use_threads=False, block_size=16 << 20
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(MAX_COLUMNS + 1)},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        if first_bad and first_bad[0] is not None:
            row = first_bad[0]
            raise InvalidInput(
                f"row {row} (the header is row 1) has a different number of fields than the header",
                field="file",
                row=row,
            ) from None
        if first_bad:
            raise InvalidInput(
                "a row has a different number of fields than the header", field="file"
            ) from None
        raise InvalidInput("malformed CSV (unbalanced quotes or unreadable row)", field="file") from None
    finally:
        stream.close()
    if table.num_rows == 0 or table.num_columns == 0:
        raise InvalidInput("the file is empty; the first line must hold column names", field="file")
    header = [v or "" for v in table.slice(0, 1).to_pylist()[0].values()]
    names = _normalise_names(header, source="header")
    table = table.slice(1)
    if table.num_rows == 0:
        raise InvalidInput("no rows: the file holds a header but no data", field="file")
    return pa.table({name: _convert_text_column(table.column(i)) for i, name in enumerate(names)})


# Lossless conversions. Leading zeros ('0023', '007') and values of 16 digits or more stay text: they are
# codes/identifiers, and doubles cannot hold 16+ significant digits exactly.
_INT_RE = r"^[+-]?(?:0|[1-9][0-9]{0,14})$"
_FLOAT_RE = r"^[+-]?(?:0|[1-9][0-9]{0,14})\.[0-9]{1,15}$|^[+-]?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?[eE][+-]?[0-9]{1,3}$"
_MOBILE_RE = r"^1[3-9][0-9]{9}$"
_BOOL_RE = r"^(?i:true|false)$"
_DATE_RE = r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
_TS_RE = (
    r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r":[0-5][0-9](?:\.[0-9]{1,6})?$"
)


def _all_match(values: pa.ChunkedArray, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(values, pattern)).as_py())


def _convert_text_column(col: pa.ChunkedArray) -> pa.ChunkedArray:
    values = col.drop_null()
    if len(values) == 0:
        return col
    try:
        if _all_match(values, _INT_RE):
            if _all_match(values, _MOBILE_RE):
                return col  # mobile numbers are identifiers, not quantities
            return pc.cast(pc.replace_substring_regex(col, r"^\+", ""), pa.int64())
        if _all_match(values, _INT_RE + "|" + _FLOAT_RE):
            converted = pc.cast(col, pa.float64())
            if bool(pc.all(pc.is_finite(converted.drop_null())).as_py()):
                return converted
            return col
        if _all_match(values, _BOOL_RE):
            return pc.equal(pc.utf8_lower(col), "true")
        if _all_match(values, _DATE_RE):
            return pc.cast(col, pa.date32())  # invalid days (02-30) raise -> stays text
        if _all_match(values, _TS_RE):
            return pc.cast(pc.replace_substring(col, "T", " "), pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return col
    return col


# ------------------------------------------------------------------------------------------ col names

_NAME_OK = re.compile(r"^[a-z_][a-z0-9_]*$")


def normalise_column_name(raw: str) -> str | None:
    """Lower-case snake identifier for a header cell, or ``None`` when it cannot be one.

    >>> normalise_column_name(" Person ID "), normalise_column_name("Income (CNY)"), normalise_column_name("a-b.c")
    ('person_id', 'income_cny', 'a_b_c')
    >>> normalise_column_name("姓名") is None, normalise_column_name("2020") is None, normalise_column_name("") is None
    (True, True, True)
    """
    name = unicodedata.normalize("NFKC", raw or "").strip().lower()
    name = re.sub(r"[\s\-./:()\[\]{}#%&+,;'\"|\\]+", "_", name).strip("_")
    if not name or len(name) > MAX_NAME_CHARS or not _NAME_OK.match(name):
        return None
    return name


def _normalise_names(raw_names: Sequence[str], *, source: str) -> list[str]:
    if len(raw_names) > MAX_COLUMNS:
        raise InvalidInput(f"too many columns ({len(raw_names)}; at most {MAX_COLUMNS})", field="file")
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(raw_names, start=1):
        if not (raw or "").strip():
            raise InvalidInput(
                f"column {position} has a blank name in the {source}", field="file", column_position=position
            )
        name = normalise_column_name(raw)
        if name is None:
            raise InvalidInput(
                f"column {position} has a name that cannot be normalised to an identifier [a-z_][a-z0-9_]* "
                f"(use ASCII letters, digits and underscores, at most {MAX_NAME_CHARS} characters, not "
                "starting with a digit; a header that looks like data means the header line is missing)",
                field="file",
                column_position=position,
            )
        if name in seen:
            raise InvalidInput(
                f"columns {seen[name]} and {position} have the same name after normalisation ({name})",
                field="file",
                column_position=position,
            )
        seen[name] = position
        names.append(name)
    return names


# --------------------------------------------------------------------------------------------- Parquet


def _read_parquet(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError):
        raise InvalidInput("unreadable Parquet file", field="file") from None
    names = _normalise_names([str(n) for n in table.column_names], source="Parquet schema")
    table = table.rename_columns(names)
    if table.num_rows == 0:
        raise InvalidInput("no rows: the Parquet file holds a schema but no data", field="file")
    columns = {}
    for position, name in enumerate(names, start=1):
        columns[name] = _normalise_arrow_column(table.column(name), position)
    return pa.table(columns)


def _normalise_arrow_column(col: pa.ChunkedArray, position: int) -> pa.ChunkedArray:
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
    _duckdb_type(t, position)  # refuses what we cannot store
    return col


# ---------------------------------------------------------------------------------------------- schema


def _duckdb_type(t: pa.DataType, position: int | None = None) -> str:
    simple = {
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.uint8(): "UTINYINT",
        pa.uint16(): "USMALLINT",
        pa.uint32(): "UINTEGER",
        pa.uint64(): "UBIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.string(): "VARCHAR",
        pa.large_string(): "VARCHAR",
        pa.date32(): "DATE",
        pa.date64(): "DATE",
        pa.null(): "VARCHAR",
    }
    if t in simple:
        return simple[t]
    if pa.types.is_timestamp(t):
        return "TIMESTAMP WITH TIME ZONE" if t.tz else "TIMESTAMP"
    if pa.types.is_time(t):
        return "TIME"
    where = f"column {position}" if position else "a column"
    raise InvalidInput(
        f"{where} has an unsupported type {t}; use numbers, text, booleans, dates or timestamps",
        field="file",
        column_position=position,
    )


def infer_columns(table: pa.Table) -> list[ColumnInfo]:
    """Column names and DuckDB type names of ``table``.

    >>> [(c.name, c.type) for c in infer_columns(pa.table({"a": [1], "b": ["x"], "c": [1.5]}))]
    [('a', 'BIGINT'), ('b', 'VARCHAR'), ('c', 'DOUBLE')]
    """
    return [
        ColumnInfo(name=field.name, type=_duckdb_type(field.type, i))
        for i, field in enumerate(table.schema, start=1)
    ]


def check_compatible(previous: Sequence[ColumnInfo], new: Sequence[ColumnInfo]) -> None:
    """A new version must have the same column names and types (order-insensitive).

    >>> a, b = ColumnInfo("x", "BIGINT"), ColumnInfo("y", "VARCHAR")
    >>> check_compatible([a, b], [b, a])
    >>> check_compatible([a, b], [ColumnInfo("x", "DOUBLE"), ColumnInfo("z", "DATE")])
    Traceback (most recent call last):
    common.errors.InvalidInput: schema differs from the previous version: added z; removed y; changed type x (BIGINT -> DOUBLE)
    """
    old = {c.name.lower(): c.type.upper() for c in previous}
    cur = {c.name.lower(): c.type.upper() for c in new}
    added = sorted(cur.keys() - old.keys())
    removed = sorted(old.keys() - cur.keys())
    changed = sorted(n for n in old.keys() & cur.keys() if old[n] != cur[n])
    if not (added or removed or changed):
        return
    parts = []
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    if changed:
        parts.append("changed type " + ", ".join(f"{n} ({old[n]} -> {cur[n]})" for n in changed))
    raise InvalidInput(
        "schema differs from the previous version: " + "; ".join(parts),
        field="file",
        added=added,
        removed=removed,
        changed=changed,
    )


# ---------------------------------------------------------------------------------------------- write


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    sha256: str
    bytes: int
    rows: int


def write_parquet_atomically(table: pa.Table, dest: Path, staging_dir: Path) -> WrittenFile:
    """Write ``table`` as Parquet under ``staging_dir``, fsync, then ``os.replace`` it onto ``dest``.

    ``staging_dir`` and ``dest`` must be on the same filesystem (both live under the data directory).
    On any failure the temporary file is removed and ``dest`` is untouched.
    """
    dest = Path(dest)
    fd, tmp = _new_staging_file(staging_dir, suffix=".parquet.tmp")
    try:
        os.close(fd)
        pq.write_table(table, tmp, compression="zstd")
        digest = hashlib.sha256()
        with open(tmp, "rb") as f:
            for block in iter(lambda: f.read(_CHUNK), b""):
                digest.update(block)
            os.fsync(f.fileno())
        size = tmp.stat().st_size
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return WrittenFile(path=dest, sha256=digest.hexdigest(), bytes=size, rows=table.num_rows)
