"""Upload pipeline: staging limits, readers, type inference, schema checks, atomic writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.ingest import (
    astream_to_staging,
    check_compatible,
    infer_columns,
    read_upload,
    stream_to_staging,
    write_parquet_atomically,
)
from common.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from common.types import ColumnInfo


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    d = tmp_path / "staging"
    d.mkdir()
    return d


def stage(data: bytes, staging: Path, max_bytes: int = 10_000_000) -> Path:
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)] or [b""]
    return stream_to_staging(chunks, staging, max_bytes)


def load(data: bytes, staging: Path, filename: str = "upload.csv", content_type: str | None = "text/csv"):
    path = stage(data, staging)
    try:
        return read_upload(path, filename, content_type)
    finally:
        path.unlink(missing_ok=True)


def types(table: pa.Table) -> dict[str, str]:
    return {c.name: c.type for c in infer_columns(table)}


CSV_TEXT = (
    "Person ID,Name,id_card,phone,code,Income,joined,active,seen_at\n"
    "1,张三,11010519491231002X,13800138000,0023,12345.5,2024-01-05,true,2024-01-05 08:00:00\n"
    "2,李四,500103199001011234,13912345678,0100,-7,2023-12-31,FALSE,2024-01-06T09:30:00\n"
    "3,,500103199001011235,,1234,,,,\n"
)


# ------------------------------------------------------------------------------------------- happy paths


def test_csv_utf8_types_and_names(staging):
    t = load(CSV_TEXT.encode("utf-8"), staging)
    assert t.column_names == [
        "person_id",
        "name",
        "id_card",
        "phone",
        "code",
        "income",
        "joined",
        "active",
        "seen_at",
    ]
    assert types(t) == {
        "person_id": "BIGINT",
        "name": "VARCHAR",
        "id_card": "VARCHAR",
        "phone": "VARCHAR",
        "code": "VARCHAR",
        "income": "DOUBLE",
        "joined": "DATE",
        "active": "BOOLEAN",
        "seen_at": "TIMESTAMP",
    }
    assert t.num_rows == 3
    assert t.column("code").to_pylist() == ["0023", "0100", "1234"]
    assert t.column("id_card").to_pylist()[0] == "11010519491231002X"
    assert t.column("name").to_pylist() == ["张三", "李四", None]
    assert t.column("joined").to_pylist()[0] == dt.date(2024, 1, 5)
    assert t.column("active").to_pylist() == [True, False, None]


def test_csv_utf8_bom(staging):
    t = load(b"\xef\xbb\xbf" + CSV_TEXT.encode("utf-8"), staging)
    assert t.column_names[0] == "person_id"
    assert t.column("name").to_pylist()[0] == "张三"


def test_csv_gbk_chinese(staging):
    data = "district,name,n\n渝中区,解放碑街道,10\n江北区,观音桥街道,20\n".encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    t = load(data, staging)
    assert t.column("district").to_pylist() == ["渝中区", "江北区"]
    assert types(t)["n"] == "BIGINT"


def test_parquet(staging):
    buf = io.BytesIO()
    pq.write_table(
        pa.table(
            {
                "ID": pa.array([1, 2], pa.int32()),
                "amount": pa.array([1.5, None]),
                "label": pa.array(["a", "b"]).dictionary_encode(),
            }
        ),
        buf,
    )
    t = load(buf.getvalue(), staging, "data.parquet", "application/octet-stream")
    assert types(t) == {"id": "INTEGER", "amount": "DOUBLE", "label": "VARCHAR"}


def test_leading_zero_and_long_digits_stay_text(staging):
    data = b"a,b,c,d,e\n0023,500103199001011234,1234567890123456,007,1.5\n42,500103199001011235,42,7,0.25\n"
    t = load(data, staging)
    assert types(t) == {"a": "VARCHAR", "b": "VARCHAR", "c": "VARCHAR", "d": "VARCHAR", "e": "DOUBLE"}
    assert t.column("b").to_pylist()[0] == "500103199001011234"


def test_quoted_values_and_newlines(staging):
    t = load(b'"First Name","note"\n"A","x,y"\n"B","line1\nline2"\n', staging)
    assert t.column_names == ["first_name", "note"]
    assert t.column("note").to_pylist() == ["x,y", "line1\nline2"]


# --------------------------------------------------------------------------------------------- bad cases

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    "data,filename,content_type,error,needle",
    [
        (PNG, "x.csv", "text/csv", UnsupportedMedia, "PNG"),
        (PNG, "x.csv", None, UnsupportedMedia, "PNG"),
        (_xlsx(), "x.csv", "text/csv", UnsupportedMedia, "zip"),
        (_xlsx(), "x.xlsx", None, UnsupportedMedia, "extension"),
        (b"a,b\n1,2\n", "x.txt", None, UnsupportedMedia, "extension"),
        (b"a,b\n1,2\n", "noext", None, UnsupportedMedia, "extension"),
        (b"a,b\n1,2\n", "x.csv", "image/png", UnsupportedMedia, "content type"),
        (b"a,b\n1,2\n", "x.parquet", None, UnsupportedMedia, "Parquet"),
        ("a,b\n张,1\n".encode("utf-16"), "x.csv", None, UnsupportedMedia, "UTF-16"),
        ("a,b\n张,1\n".encode("utf-16-le"), "x.csv", None, UnsupportedMedia, "GBK"),
        (b"a,b\ncaf\xe9\xff,1\n", "x.csv", None, UnsupportedMedia, "GBK"),
        (b"a,b,c\n1,2,3\n4,5\n", "x.csv", None, InvalidInput, "row 3"),
        (b"a,b\n1,2,3\n", "x.csv", None, InvalidInput, "row 2"),
        (b"", "x.csv", None, InvalidInput, "empty"),
        (b"\n\n", "x.csv", None, InvalidInput, "empty"),
        (b"a,b,c\n", "x.csv", None, InvalidInput, "no rows"),
        (b"a,A,c\n1,2,3\n", "x.csv", None, InvalidInput, "columns 1 and 2"),
        (b"a,,c\n1,2,3\n", "x.csv", None, InvalidInput, "column 2"),
        ("a,姓名\n1,2\n".encode(), "x.csv", None, InvalidInput, "column 2"),
        (b"1001,13800138000\n1002,13912345678\n", "x.csv", None, InvalidInput, "column 1"),
        (b"a,b\n\x01\x02\x03,1\n", "x.csv", None, InvalidInput, "line 2"),
        (b'a,b\n"unterminated,1\n', "x.csv", None, InvalidInput, "row 2"),
    ],
)
def test_bad_uploads(staging, data, filename, content_type, error, needle):
    with pytest.raises(error) as info:
        load(data, staging, filename, content_type)
    assert needle in info.value.message
    assert list(staging.iterdir()) == []


def test_error_messages_never_carry_values(staging):
    with pytest.raises(InvalidInput) as info:
        load("name,id\n张三,500103199001011234\n李四\n".encode(), staging)
    assert "张三" not in str(info.value.to_dict()) and "李四" not in str(info.value.to_dict())


def test_corrupt_parquet(staging):
    with pytest.raises(InvalidInput, match="Parquet"):
        load(b"PAR1" + bytes(100) + b"PAR1", staging, "x.parquet")
    assert list(staging.iterdir()) == []


def test_oversize_stream_leaves_nothing(staging):
    with pytest.raises(PayloadTooLarge) as info:
        stream_to_staging(iter([b"x" * 600, b"y" * 600]), staging, 1000)
    assert "1000" in info.value.message and info.value.details["limit"] == 1000
    assert list(staging.iterdir()) == []


def test_stream_error_midway_leaves_nothing(staging):
    def chunks():
        yield b"abc"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        stream_to_staging(chunks(), staging, 1000)
    assert list(staging.iterdir()) == []


def test_async_staging(staging):
    async def agen(parts):
        for p in parts:
            yield p

    class FakeUpload:
        def __init__(self, data: bytes) -> None:
            self._buf = io.BytesIO(data)

        async def read(self, n: int = -1) -> bytes:
            return self._buf.read(n)

    path = asyncio.run(astream_to_staging(agen([b"a,b\n", b"1,2\n"]), staging, 100))
    assert path.read_bytes() == b"a,b\n1,2\n"
    path2 = asyncio.run(astream_to_staging(FakeUpload(b"x" * 50), staging, 100))
    assert path2.stat().st_size == 50
    with pytest.raises(PayloadTooLarge):
        asyncio.run(astream_to_staging(FakeUpload(b"x" * 5000), staging, 100))
    with pytest.raises(PayloadTooLarge):
        asyncio.run(astream_to_staging(agen([b"x" * 60, b"x" * 60]), staging, 100))
    assert sorted(staging.iterdir()) == sorted([path, path2])


# ------------------------------------------------------------------------------------- schema and write


def test_check_compatible():
    old = [ColumnInfo("a", "BIGINT"), ColumnInfo("b", "VARCHAR"), ColumnInfo("c", "DATE")]
    check_compatible(old, list(reversed(old)))
    with pytest.raises(InvalidInput) as info:
        check_compatible(
            old, [ColumnInfo("a", "DOUBLE"), ColumnInfo("b", "VARCHAR"), ColumnInfo("d", "DATE")]
        )
    msg = info.value.message
    assert "added d" in msg and "removed c" in msg and "a (BIGINT -> DOUBLE)" in msg


def test_schema_mismatch_between_uploads(staging):
    v1 = infer_columns(load(b"a,b\n1,x\n", staging))
    v2 = infer_columns(load(b"a,b\n1.5,x\n", staging))
    with pytest.raises(InvalidInput, match="changed type a"):
        check_compatible(v1, v2)


def test_write_parquet_atomically(tmp_path, staging):
    table = pa.table({"a": [1, 2, 3]})
    dest = tmp_path / "domain" / "ds" / "t" / "v1.parquet"
    written = write_parquet_atomically(table, dest, staging)
    assert written.path == dest and written.rows == 3 and written.bytes == dest.stat().st_size
    import hashlib

    assert written.sha256 == hashlib.sha256(dest.read_bytes()).hexdigest()
    assert pq.read_table(dest).equals(table)
    assert list(staging.iterdir()) == []


def test_write_parquet_failure_cleans_up(tmp_path, staging):
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    with pytest.raises(OSError):
        write_parquet_atomically(pa.table({"a": [1]}), blocker / "sub" / "x.parquet", staging)
    assert list(staging.iterdir()) == []
