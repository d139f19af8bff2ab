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
    "sniff",
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


def sniff(path: Path, filename: str, content_type: str | None) -> tuple[str, str]:
    """Check a staged upload's type and return ``("parquet", "")`` or ``("csv", encoding)``.

    Raises ``UnsupportedMedia`` for a foreign file type, extension or encoding, ``InvalidInput`` for an empty
    or binary CSV. Reads only the head and tail of the file, and streams it once to check the encoding.
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
        return "parquet", ""
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
    return "csv", _csv_encoding(path, size)


def read_upload(path: Path, filename: str, content_type: str | None) -> pa.Table:
    """The whole upload as an Arrow table (small files: tests, demo seeding). The service streams instead,
    with ``catalog.convert.convert_upload``; this reads its output back so both share one conversion."""
    from catalog import convert

    converted = convert.convert_upload(path, filename, content_type, Path(path).parent)
    try:
        return pq.read_table(converted.path)
    finally:
        converted.path.unlink(missing_ok=True)


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


def _csv_encoding(path: Path, size: int) -> str:
    if size == 0:
        raise InvalidInput("the file is empty; the first line must hold column names", field="file")
    with open(path, "rb") as f:
        if b"\x00" in f.read(_CHUNK):
            raise UnsupportedMedia(
                "file contains NUL bytes (UTF-16 or binary content); allowed encodings: "
                f"{', '.join(ALLOWED_ENCODINGS)}",
                field="file",
            )
    return _detect_encoding(path)


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


# Reading Parquet uploads (batch by batch) lives in catalog.convert.


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
