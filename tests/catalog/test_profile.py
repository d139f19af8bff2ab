"""Upload suggestions: PII tags on planted valid values only, personal flag, level rule, bounds."""

from __future__ import annotations

import random

import pyarrow as pa

from catalog.profile import PII_SHARE, outward_bounds, suggest
from common.pii import luhn_ok, resident_id_check_char, uscc_check_char
from common.types import Level


def _rid(rng: random.Random, valid: bool = True) -> str:
    body = f"500103{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    check = resident_id_check_char(body)
    return body + (check if valid else next(c for c in "0123456789X" if c != check))


def _uscc(rng: random.Random, valid: bool = True) -> str:
    body = (
        "915001"
        + "".join(rng.choice("0123456789") for _ in range(2))
        + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    )
    check = uscc_check_char(body)
    return body + (check if valid else next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != check))


def _card(rng: random.Random, valid: bool = True) -> str:
    body = "622202" + "".join(rng.choice("0123456789") for _ in range(12))
    good = next(body + d for d in "0123456789" if luhn_ok(body + d))
    return good if valid else good[:-1] + str((int(good[-1]) + 1) % 10)


def make_table(n: int = 800) -> pa.Table:
    rng = random.Random(7)
    return pa.table(
        {
            "id_card": [_rid(rng) for _ in range(n)],
            "bad_id": [_rid(rng, valid=False) for _ in range(n)],
            "uscc": [_uscc(rng) for _ in range(n)],
            "bad_uscc": [_uscc(rng, valid=False) for _ in range(n)],
            "card": [_card(rng) for _ in range(n)],
            "bad_card": [_card(rng, valid=False) for _ in range(n)],
            "phone": [
                f"1{rng.choice('3589')}{rng.randint(0, 10**9 - 1):09d}" if i % 2 else None for i in range(n)
            ],
            "email": [f"u{i}@example.cn" if i % 5 == 0 else "无" for i in range(n)],  # 20% < 30%
            "note": [f"编号{rng.randint(1, 10**6)}，金额{rng.randint(1, 10**6)}.5元" for _ in range(n)],
            "name": ["张三"] * n,
            "income": [rng.uniform(3.2, 1_873_400.0) for _ in range(n)],
            "age": [rng.randint(0, 104) for _ in range(n)],
        }
    )


def test_suggestions_on_planted_values():
    table = make_table()
    s = suggest(table, sample_rows=300, seed=1)
    assert set(s) == set(table.column_names)
    assert s["id_card"].pii_tags == ("CN_RESIDENT_ID",)
    assert s["id_card"].personal and s["id_card"].level is Level.important
    assert s["uscc"].pii_tags == ("CN_USCC",) and not s["uscc"].personal and s["uscc"].level is Level.general
    assert s["card"].pii_tags == ("BANK_CARD",) and s["card"].level is Level.important
    assert s["phone"].pii_tags == ("CN_MOBILE",) and s["phone"].personal  # share over non-null cells
    assert s["phone"].level is Level.general
    for col in ("bad_id", "bad_uscc", "bad_card", "note", "email", "income", "age"):
        assert s[col].pii_tags == (), col
        assert not s[col].personal and s[col].level is Level.general, col
    assert s["name"].pii_tags == ("PERSON_NAME",) and s["name"].personal
    assert all(v.level is not Level.core for v in s.values())


def test_reasons_never_carry_values():
    table = make_table(200)
    s = suggest(table)
    cells = {str(v) for col in table.columns for v in col.to_pylist() if v is not None}
    for sug in s.values():
        assert not any(cell in sug.reason for cell in cells if len(cell) >= 4)
    assert "CN_RESIDENT_ID" in s["id_card"].reason


def test_bounds_rounded_outward():
    s = suggest(make_table(400))
    incomes = make_table(400).column("income").to_pylist()
    assert s["income"].lower < min(incomes) or s["income"].lower > min(incomes)  # never the raw minimum
    assert s["income"].upper not in (max(incomes), min(incomes))
    assert (s["age"].lower, s["age"].upper) == (-10.0, 110.0)  # 0 is observed: one step further out
    assert s["id_card"].lower is None and s["id_card"].upper is None
    assert outward_bounds(-17.5, 12.25) == (-100.0, 100.0)


def test_deterministic_sample_and_threshold():
    table = make_table(1000)
    assert suggest(table, sample_rows=50, seed=3) == suggest(table, sample_rows=50, seed=3)
    n = 100
    hits = int(n * PII_SHARE)
    col = ["13800138000"] * hits + ["无"] * (n - hits)
    assert suggest(pa.table({"c": col}))["c"].pii_tags == ("CN_MOBILE",)
    col = ["13800138000"] * (hits - 1) + ["无"] * (n - hits + 1)
    assert suggest(pa.table({"c": col}))["c"].pii_tags == ()


def test_empty_and_null_columns():
    t = pa.table({"a": pa.array([None, None], pa.string()), "b": pa.array([None, None], pa.float64())})
    s = suggest(t)
    assert s["a"].pii_tags == () and s["b"].lower is None
