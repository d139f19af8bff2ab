"""Physical scope: only granted columns, masks applied with the salt, row filter applied, cached by
version."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.errors import SandboxError
from common.types import ColumnInfo, ColumnRule, Grant, TableInfo
from sandbox.scope import ScopedData, materialize

SALT = "pepper-42"


def _persons() -> pa.Table:
    return pa.table(
        {
            "person_id": pa.array([1, 2, 3, 4, 5], pa.int64()),
            "age": pa.array([17, 30, 39, 45, None], pa.int64()),
            "name": ["Zhang Wei", "Li Na", "Wang Fang", "Al", None],
            "phone": ["13800001111", "13900002222", "13700003333", "12", "13600004444"],
            "birth": pa.array(
                [date(1990, 3, 5), date(1985, 12, 31), None, date(2001, 1, 1), date(1970, 7, 7)]
            ),
            "id_card": ["110101199003051234", "x2", "x3", "x4", "x5"],
            "income": pa.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0]),
            "region": ["north", "south", "north", "east", "south"],
            "secret_note": ["s1", "s2", "s3", "s4", "s5"],
        }
    )


def _info() -> TableInfo:
    types = {
        "person_id": "BIGINT",
        "age": "BIGINT",
        "name": "VARCHAR",
        "phone": "VARCHAR",
        "birth": "DATE",
        "id_card": "VARCHAR",
        "income": "DOUBLE",
        "region": "VARCHAR",
        "secret_note": "VARCHAR",
    }
    return TableInfo("population", "persons", tuple(ColumnInfo(n, t) for n, t in types.items()), version=1)


def _grant(**changes) -> Grant:
    rules = {
        "person_id": "group",
        "age": "masked:age_band",
        "name": "masked:keep_first:2",
        "phone": "masked:keep_last:4",
        "birth": "masked:year",
        "id_card": "masked:hash",
        "income": "aggregate",
        "region": "group",
        "secret_note": "deny",
    }
    base = Grant(
        id="g-1",
        version=1,
        organization_id="org",
        dataset="population",
        purpose="research",
        valid_from=date(2024, 1, 1),
        valid_to=date(2030, 1, 1),
        columns={"persons": {k: ColumnRule.parse(v) for k, v in rules.items()}},
        privacy_unit="person_id",
        salt=SALT,
        dataset_version=3,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def raw(tmp_path) -> Path:
    path = tmp_path / "domain" / "population" / "persons" / "v1.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(_persons(), path)
    return path


def _scoped(grant, raw, root) -> tuple[ScopedData, pa.Table]:
    scoped = materialize(grant, {"persons": (_info(), raw)}, root)
    return scoped, pq.read_table(scoped.tables[("population", "persons")])


def test_layout_and_denied_columns_absent(raw, tmp_path):
    scoped, table = _scoped(_grant(), raw, tmp_path / "scoped")
    assert scoped.root == tmp_path / "scoped" / "g-1-v1-d3"
    assert scoped.tables == {("population", "persons"): scoped.root / "population" / "persons.parquet"}
    assert "secret_note" not in table.schema.names
    assert table.schema.names == ["person_id", "age", "name", "phone", "birth", "id_card", "income", "region"]
    # Unlisted columns are denied too.
    grant = _grant(id="g-2", columns={"persons": {"person_id": ColumnRule.parse("group")}})
    _, only = _scoped(grant, raw, tmp_path / "scoped")
    assert only.schema.names == ["person_id"]


def test_masks_applied(raw, tmp_path):
    _, table = _scoped(_grant(), raw, tmp_path / "scoped")
    rows = {r["person_id"]: r for r in table.to_pylist()}
    assert [rows[i]["age"] for i in range(1, 6)] == ["10-19", "30-39", "30-39", "40-49", None]
    assert rows[1]["name"] == "Zh*******" and rows[4]["name"] == "Al" and rows[5]["name"] is None
    assert rows[1]["phone"] == "*******1111" and rows[4]["phone"] == "12"
    assert rows[1]["birth"] == 1990 and rows[3]["birth"] is None
    assert table.schema.field("birth").type == pa.int32()
    expected = hashlib.sha256((SALT + "110101199003051234").encode()).hexdigest()[:16]
    assert rows[1]["id_card"] == expected
    assert rows[1]["income"] == 1000.0 and rows[2]["region"] == "south"


def test_month_and_null_masks(raw, tmp_path):
    cols = {
        "person_id": ColumnRule.parse("group"),
        "birth": ColumnRule.parse("masked:month"),
        "income": ColumnRule.parse("masked:null"),
    }
    _, table = _scoped(_grant(id="g-m", columns={"persons": cols}), raw, tmp_path / "s")
    rows = {r["person_id"]: r for r in table.to_pylist()}
    assert rows[1]["birth"] == "1990-03" and rows[2]["birth"] == "1985-12"
    assert all(r["income"] is None for r in rows.values())
    assert table.schema.field("income").type == pa.float64()  # NULL of the column's own type


def test_hash_depends_on_salt(raw, tmp_path):
    _, a = _scoped(_grant(), raw, tmp_path / "a")
    _, b = _scoped(_grant(salt="other"), raw, tmp_path / "b")
    assert a.column("id_card").to_pylist() != b.column("id_card").to_pylist()


def test_row_filter_applied_even_on_denied_column(raw, tmp_path):
    grant = _grant(row_filters={"persons": "secret_note <> 's2' AND region = 'south' OR person_id = 1"})
    _, table = _scoped(grant, raw, tmp_path / "scoped")
    assert sorted(table.column("person_id").to_pylist()) == [1, 5]


def test_cache_reused_and_new_version_new_directory(raw, tmp_path):
    root = tmp_path / "scoped"
    first, _ = _scoped(_grant(), raw, root)
    path = first.tables[("population", "persons")]
    mtime = path.stat().st_mtime_ns
    again, _ = _scoped(_grant(), raw, root)
    assert again == first and path.stat().st_mtime_ns == mtime
    newer, table = _scoped(
        _grant(version=2, columns={"persons": {"person_id": ColumnRule.parse("group")}}), raw, root
    )
    assert newer.root == root / "g-1-v2-d3" and table.schema.names == ["person_id"]
    new_data, _ = _scoped(_grant(dataset_version=4), raw, root)
    assert new_data.root == root / "g-1-v1-d4"
    assert path.stat().st_mtime_ns == mtime
    # No temp directories left behind.
    assert sorted(p.name for p in root.iterdir()) == ["g-1-v1-d3", "g-1-v1-d4", "g-1-v2-d3"]


def test_raw_paths_never_in_scoped_output(raw, tmp_path):
    scoped, _ = _scoped(_grant(), raw, tmp_path / "scoped")
    for f in scoped.root.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert str(raw).encode() not in data and b"domain" not in data and b"secret_note" not in data


def test_ungranted_tables_skipped_and_unsafe_names_refused(raw, tmp_path):
    other = TableInfo("population", "households", (ColumnInfo("hh_id", "BIGINT"),), version=1)
    scoped = materialize(_grant(), {"persons": (_info(), raw), "households": (other, raw)}, tmp_path / "s")
    assert set(scoped.tables) == {("population", "persons")}
    with pytest.raises(SandboxError):
        materialize(_grant(id="../escape"), {"persons": (_info(), raw)}, tmp_path / "s")


def test_engine_errors_do_not_leak_values(raw, tmp_path):
    grant = _grant(id="g-bad", row_filters={"persons": "CAST(name AS INTEGER) > 0"})
    with pytest.raises(SandboxError) as err:
        materialize(grant, {"persons": (_info(), raw)}, tmp_path / "s")
    assert "Zhang" not in str(err.value) and str(raw) not in str(err.value)
    assert not any((tmp_path / "s").iterdir())
