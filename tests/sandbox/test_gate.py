from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import asdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sandbox.gate import (
    GatePolicy,
    canonical_ipc_bytes,
    gate,
    to_csv_bytes,
    to_json_rows,
    to_parquet_bytes,
)

VALID_ID = "11010519491231002X"
BAD_CHECKSUM_ID = "110105194912310021"
U1, U2 = "__shuyu_units_0", "__shuyu_units_1"


def policy(**kw):
    base = {
        "k": 10,
        "unit_columns": (U1,),
        "is_aggregate": True,
        "max_rows": 10_000,
        "max_bytes": 64 * 1024 * 1024,
    }
    return GatePolicy(**(base | kw))


def agg(units, units2=None, district=None):
    district = district or [f"d{i}" for i in range(len(units))]
    cols = {
        "district": pa.array(district, pa.string()),
        "n": pa.array([100 + i for i in range(len(units))], pa.int64()),
        U1: pa.array(units, pa.int64()),
    }
    if units2 is not None:
        cols[U2] = pa.array(units2, pa.int64())
    return pa.table(cols)


def test_k_threshold_drops_rows_below_k_and_keeps_rows_at_k():
    out, report = gate(agg([9, 10, 11, None, 0]), policy())
    assert out.column("district").to_pylist() == ["d1", "d2"]
    assert (report.decision, report.rows_in, report.rows_out, report.rows_suppressed) == ("released", 5, 2, 3)
    assert report.released_rows == (1, 2)
    assert any("fewer than k=10" in r and "not reported" in r for r in report.reasons)
    assert not any("d0" in r or "d3" in r or "3" in r.replace("k=10", "") for r in report.reasons)
    assert "rows_suppressed" not in report.operator_view() and report.audit_details()["rows_suppressed"] == 3


def test_withholding_is_no_membership_oracle():
    """Issue 10: a small cell beside a big one must not reveal whether the small cell is occupied."""
    occupied_out, occupied_report = gate(agg([50, 3], district=["big", "small"]), policy())
    empty_report = gate(agg([50], district=["big"]), policy())[1]
    assert occupied_report.operator_view() == empty_report.operator_view()
    assert occupied_out.column("district").to_pylist() == ["big"]
    assert occupied_report.rows_suppressed == 1 and empty_report.rows_suppressed == 0


def test_minimum_over_all_unit_columns():
    out, _report = gate(agg([50, 50, 5], units2=[50, 3, 50]), policy(unit_columns=(U1, U2)))
    assert out.column("district").to_pylist() == ["d0"]
    # a unit column the policy forgot is still applied: stricter, never looser
    out, _ = gate(agg([50, 50, 5], units2=[50, 3, 50]), policy(unit_columns=(U1,)))
    assert out.column("district").to_pylist() == ["d0"]


def test_hidden_columns_never_leave():
    table = agg([10, 20]).append_column("__shuyu_other", pa.array([1, 2]))
    out, report = gate(table, policy())
    assert out.column_names == ["district", "n"] and report.decision == "released"
    out, report = gate(table, policy(is_aggregate=False, unit_columns=()))
    assert out.column_names == ["district", "n"] and out.num_rows == 2


@pytest.mark.parametrize(
    "table, pol",
    [
        (pa.table({"district": ["a"], "n": [100]}), policy()),
        (agg([10]), policy(unit_columns=(U1, U2))),
        (agg([10]), policy(unit_columns=())),
        (pa.table({"district": ["a"], U1: ["10"]}), policy()),
    ],
)
def test_missing_or_malformed_unit_columns_are_rejected(table, pol):
    out, report = gate(table, pol)
    assert report.decision == "rejected" and not report.releasable
    assert out.num_rows == 0 and report.rows_out == 0 and report.sha256 is None
    assert not any(c.startswith("__shuyu_") for c in out.column_names)


def test_empty_and_all_suppressed_look_the_same():
    empty_out, empty_report = gate(agg([]), policy())
    supp_out, supp_report = gate(agg([1, 2, 9, None]), policy())
    assert empty_out.schema == supp_out.schema and empty_out.num_rows == supp_out.num_rows == 0
    assert canonical_ipc_bytes(empty_out) == canonical_ipc_bytes(supp_out)
    assert empty_report.operator_view() == supp_report.operator_view()
    assert empty_report.decision == supp_report.decision == "released"
    assert supp_report.rows_suppressed == 4
    assert any("fewer than k=10" in r for r in supp_report.reasons)
    # every field except the supervisor-only counts is identical
    diff = {k for k, v in asdict(empty_report).items() if asdict(supp_report)[k] != v}
    assert diff == {"rows_in", "rows_suppressed"} and supp_report.rows_in == 4
    assert to_csv_bytes(empty_out) == to_csv_bytes(supp_out)
    assert to_json_rows(empty_out) == to_json_rows(supp_out) == []


def test_row_cap_truncates():
    out, report = gate(agg([10] * 7), policy(max_rows=3))
    assert out.num_rows == 3 and report.truncated and report.decision == "partially_suppressed"
    assert report.rows_suppressed == 0
    assert any("row cap of 3" in r for r in report.reasons)


def test_byte_cap_truncates_to_the_longest_fitting_prefix():
    table = agg([10] * 1000, district=["x" * 100 + str(i) for i in range(1000)])
    full, _ = gate(table, policy())
    cap = len(canonical_ipc_bytes(full)) // 2
    out, report = gate(table, policy(max_bytes=cap))
    assert report.truncated and 0 < out.num_rows < 1000
    assert len(canonical_ipc_bytes(out)) <= cap < len(canonical_ipc_bytes(full.slice(0, out.num_rows + 1)))
    assert any("size cap" in r for r in report.reasons)


def test_release_fingerprint_is_sha256_of_canonical_ipc():
    table = pa.concat_tables([agg([10, 20]), agg([30], district=["z"])]).replace_schema_metadata({"x": "y"})
    out, report = gate(table, policy())
    assert report.decision == "released" and report.rows_out == 3
    assert report.sha256 == hashlib.sha256(canonical_ipc_bytes(out)).hexdigest()
    assert out.schema.metadata is None
    reader = pa.ipc.open_stream(canonical_ipc_bytes(out))
    assert reader.read_all().equals(out)


def test_valid_resident_id_holds_for_review():
    table = agg([10, 10], district=["a", f"备注 {VALID_ID}"])
    out, report = gate(table, policy())
    assert report.decision == "held_for_review" and not report.releasable
    assert report.pii_entities == {"CN_RESIDENT_ID": 1}
    assert out.num_rows == 2  # kept for the supervisor
    text = json.dumps(report.operator_view(), ensure_ascii=False) + json.dumps(report.audit_details())
    assert VALID_ID not in text and "1101" not in text


def test_row_level_mobile_and_numeric_ids_hold():
    rows = pa.table({"contact": ["13812345678", None, "x"], "id_num": pa.array([1, 2, 3], pa.int64())})
    _, report = gate(rows, policy(is_aggregate=False, unit_columns=()))
    assert report.decision == "held_for_review" and report.pii_entities == {"CN_MOBILE": 1}
    numeric = pa.table({"phone": pa.array([13812345678, 5], pa.int64())})
    _, report = gate(numeric, policy(is_aggregate=False, unit_columns=()))
    assert report.pii_entities == {"CN_MOBILE": 1}


def test_invalid_checksum_id_does_not_hold():
    _out, report = gate(agg([10], district=[BAD_CHECKSUM_ID]), policy())
    assert report.decision == "released" and report.pii_entities == {}


def test_pii_in_suppressed_rows_is_never_scanned_or_reported():
    _, report = gate(agg([10, 2], district=["a", VALID_ID]), policy())
    assert report.decision == "released" and report.pii_entities == {}


def test_integer_sums_stay_numbers_in_json_and_exact_elsewhere():
    """Issue 10: DuckDB's integer SUM is HUGEINT (Arrow decimal(38,0)); it came back as the string "489"."""
    from decimal import Decimal

    big = Decimal("123456789012345678901234567890")
    table = pa.table({"s": pa.array([Decimal(489), big, None], pa.decimal128(38, 0))})
    rows = to_json_rows(table)
    assert rows == [{"s": 489}, {"s": int(big)}, {"s": None}] and isinstance(rows[0]["s"], int)
    assert to_csv_bytes(table).decode("utf-8-sig").split("\r\n")[1:3] == ["489", str(big)]
    assert to_json_rows(pa.table({"d": pa.array([Decimal("1.25")], pa.decimal128(10, 2))})) == [{"d": 1.25}]
    exact = Decimal("12345678901234567.25")  # more digits than a double holds: exact text, never rounded
    assert to_json_rows(pa.table({"d": pa.array([exact], pa.decimal128(38, 2))})) == [{"d": str(exact)}]


def test_csv_formula_escaping():
    table = pa.table(
        {
            "s": ["=cmd|'/c calc'!A1", "+1", "-1", "@SUM(1)", "\tx", "\ry", "plain", None],
            "i": pa.array([-1, 1, -2, 0, 3, 4, 5, None], pa.int64()),
            "f": pa.array([-1.5, 1.0, 2.0, 0.0, 3.0, 4.0, 5.0, None]),
        }
    )
    data = to_csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    assert rows[0] == ["s", "i", "f"]
    assert [r[0] for r in rows[1:]] == [
        "'=cmd|'/c calc'!A1",
        "'+1",
        "'-1",
        "'@SUM(1)",
        "'\tx",
        "'\ry",
        "plain",
        "",
    ]
    assert [r[1] for r in rows[1:]] == ["-1", "1", "-2", "0", "3", "4", "5", ""]
    assert rows[1][2] == "-1.5"


def test_csv_escapes_headers_and_utf8():
    data = to_csv_bytes(pa.table({"=HYPERLINK(1)": ["数据"]}))
    assert data.decode("utf-8-sig").splitlines() == ["'=HYPERLINK(1)", "数据"]


def test_writers_refuse_hidden_columns():
    for writer in (to_csv_bytes, to_parquet_bytes, to_json_rows):
        with pytest.raises(ValueError):
            writer(agg([10]))


def test_parquet_and_json_round_trip():
    from datetime import date
    from decimal import Decimal

    table = pa.table(
        {
            "d": [date(2025, 1, 2)],
            "x": pa.array([Decimal("1.50")], pa.decimal128(5, 2)),
            "f": [float("nan")],
            "s": ["=1"],
        }
    )
    back = pq.read_table(io.BytesIO(to_parquet_bytes(table)))
    assert back.schema == table.schema and back.drop_columns(["f"]).equals(table.drop_columns(["f"]))
    rows = to_json_rows(table)
    assert rows == [{"d": "2025-01-02", "x": 1.5, "f": None, "s": "=1"}]
    json.dumps(rows)


def test_policy_validation():
    with pytest.raises(ValueError):
        policy(k=0)
    with pytest.raises(ValueError):
        policy(unit_columns=("count",))


def test_duplicate_output_names_and_huge_unit_counts():
    table = pa.table(
        [pa.array(["a", "b"]), pa.array(["c", "d"]), pa.array([10, 1], pa.int64())], names=["x", "x", U1]
    )
    out, report = gate(table, policy())
    assert out.column_names == ["x", "x"] and out.num_rows == 1
    huge = pa.table({"x": ["a"], U1: pa.array([2**64 - 1], pa.uint64())})
    out, report = gate(huge, policy())
    assert report.decision == "rejected" and out.num_rows == 0
