"""Synthetic Chongqing demo data: shape, validity, consistency and reproducibility."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from catalog.synthetic import DISTRICTS, INCOME_MAX, MIN_DISTRICT_SHARE, generate
from common.pii import valid_resident_id, valid_uscc

SCALE = 2000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    paths = generate(out, scale=SCALE, seed=7)
    tables = {(ds, t): pq.read_table(p) for ds, ts in paths.items() for t, p in ts.items()}
    return paths, tables


def _sha(paths) -> dict[str, str]:
    return {
        f"{ds}/{t}": hashlib.sha256(Path(p).read_bytes()).hexdigest()
        for ds, ts in paths.items()
        for t, p in ts.items()
    }


def test_layout_and_schema(data):
    paths, tables = data
    assert {ds: set(ts) for ds, ts in paths.items()} == {
        "population": {"persons", "households"},
        "enterprises": {"enterprises"},
        "social_insurance": {"contributions"},
    }
    persons = tables["population", "persons"]
    assert [(f.name, str(f.type)) for f in persons.schema] == [
        ("person_id", "int64"),
        ("name", "string"),
        ("id_card", "string"),
        ("phone", "string"),
        ("gender", "string"),
        ("birth_date", "date32[day]"),
        ("age", "int32"),
        ("district", "string"),
        ("street", "string"),
        ("income", "double"),
    ]
    assert tables["population", "households"].column_names == ["hh_id", "person_id", "district", "size"]
    assert tables["enterprises", "enterprises"].column_names == [
        "uscc",
        "name",
        "legal_rep_name",
        "legal_rep_id_card",
        "industry",
        "district",
        "registered_capital",
        "employees",
        "founded_date",
    ]
    assert tables["social_insurance", "contributions"].column_names == [
        "person_id",
        "month",
        "employer_uscc",
        "base_amount",
    ]


def test_persons(data):
    _, tables = data
    p = tables["population", "persons"].to_pydict()
    assert len(p["person_id"]) == SCALE and len(set(p["person_id"])) == SCALE
    districts = [d[0] for d in DISTRICTS]
    assert len(districts) == 38 and set(p["district"]) == set(districts)
    counts = {d: p["district"].count(d) for d in districts}
    assert min(counts.values()) >= MIN_DISTRICT_SHARE * SCALE * 0.5  # sampling noise at small scale
    assert counts["渝北区"] > counts["城口县"]
    codes = {d[0]: d[1] for d in DISTRICTS}
    ref = dt.date(2025, 1, 1)
    assert len(set(p["id_card"])) == SCALE and len(set(p["phone"])) == SCALE
    for rid, born, age, gender, district, phone in zip(
        p["id_card"], p["birth_date"], p["age"], p["gender"], p["district"], p["phone"]
    ):
        assert valid_resident_id(rid)
        assert rid[:6] == codes[district]
        assert rid[6:14] == born.strftime("%Y%m%d")
        assert age == ref.year - born.year - ((ref.month, ref.day) < (born.month, born.day))
        assert (int(rid[16]) % 2 == 1) == (gender == "男") and gender in ("男", "女")
        assert len(phone) == 11 and phone[0] == "1" and phone[1] in "3456789"
    assert all(0 <= x <= INCOME_MAX for x in p["income"])
    positive = sorted(x for x in p["income"] if x > 0)
    assert 40_000 < positive[len(positive) // 2] < 90_000
    streets = {}
    for district, street in zip(p["district"], p["street"]):
        streets.setdefault(district, set()).add(street)
    assert all(street.endswith("街道") for s in streets.values() for street in s)
    assert all(len(s) <= 8 for s in streets.values())


def test_households(data):
    _, tables = data
    persons = tables["population", "persons"].to_pydict()
    h = tables["population", "households"].to_pydict()
    assert sorted(h["person_id"]) == persons["person_id"]
    district_of = dict(zip(persons["person_id"], persons["district"]))
    members: dict[int, list[int]] = {}
    for hh, pid, district, size in zip(h["hh_id"], h["person_id"], h["district"], h["size"]):
        assert district == district_of[pid] and 1 <= size <= 6
        members.setdefault(hh, []).append(pid)
    sizes = dict(zip(h["hh_id"], h["size"]))
    assert all(len(m) == sizes[hh] for hh, m in members.items())
    assert len({len(m) for m in members.values()}) > 3


def test_enterprises(data):
    _, tables = data
    e = tables["enterprises", "enterprises"].to_pydict()
    persons = tables["population", "persons"].to_pydict()
    assert len(e["uscc"]) == SCALE // 20 and len(set(e["uscc"])) == len(e["uscc"])
    assert all(valid_uscc(u) for u in e["uscc"])
    assert all(valid_resident_id(r) for r in e["legal_rep_id_card"])
    name_of = dict(zip(persons["id_card"], persons["name"]))
    assert all(name_of[r] == n for r, n in zip(e["legal_rep_id_card"], e["legal_rep_name"]))
    assert set(e["district"]) <= {d[0] for d in DISTRICTS}
    assert all(x > 0 for x in e["registered_capital"]) and all(x >= 1 for x in e["employees"])
    assert all(dt.date(1990, 1, 1) <= d <= dt.date(2024, 12, 31) for d in e["founded_date"])


def test_contributions(data):
    _, tables = data
    c = tables["social_insurance", "contributions"]
    persons = set(tables["population", "persons"].column("person_id").to_pylist())
    usccs = set(tables["enterprises", "enterprises"].column("uscc").to_pylist())
    contributors = set(c.column("person_id").to_pylist())
    assert contributors <= persons and abs(len(contributors) - 0.6 * SCALE) <= 1
    assert set(c.column("employer_uscc").to_pylist()) <= usccs
    assert set(c.column("month").to_pylist()) == {f"2024-{m:02d}" for m in range(1, 13)}
    assert 5 * len(contributors) < c.num_rows <= 12 * len(contributors)
    pairs = list(zip(c.column("person_id").to_pylist(), c.column("month").to_pylist()))
    assert len(set(pairs)) == len(pairs)
    assert pc.min(c.column("base_amount")).as_py() >= 3965


def test_reproducible(tmp_path, data):
    paths, _ = data
    again = generate(tmp_path / "again", scale=SCALE, seed=7)
    assert _sha(again) == _sha(paths)
    other = generate(tmp_path / "other", scale=SCALE, seed=8)
    digests = _sha(other)
    assert all(digests[k] != v for k, v in _sha(paths).items())
