"""Every allowed case of tests/cases/ asserts its rewrite, not only that it passed (issue 19 item 4).

* ``tests/cases/golden.json`` holds, per allowed case, the regenerated SQL, the output columns and the
  hidden unit columns. A change to the rewrite shows up as a diff that a reviewer reads; regenerate with
  ``python tests/policies/test_checker_golden.py --update`` only after checking the diff.
* Every rewritten query runs on DuckDB over a small copy of the fixture schema: a rewrite that produces
  invalid SQL, loses a unit column or counts the wrong unit fails here.
* Structural properties hold for every aggregate case: one unit column per table reference (plus the two
  cell counts of a conditional aggregate), each a COUNT(DISTINCT <privacy unit>), and never a CAST that
  can fail.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])]
from checker_cases import CASES_DIR, load_cases  # noqa: E402
from checker_fixtures import GRANTS, SOCIAL_TABLES, TABLES  # noqa: E402

from policies.checker import check  # noqa: E402

GOLDEN = CASES_DIR / "golden.json"
ALLOWED = [c for c in load_cases() if c.expect == "allow"]


def _result(case) -> dict:
    grants, catalog = (f() for f in GRANTS[case.grant])
    q = check(case.sql, grants, catalog)
    return {
        "sql": q.sql,
        "output_columns": list(q.output_columns),
        "unit_columns": list(q.unit_columns),
        "population_columns": list(q.population_columns),
    }


def _value(type_: str, name: str, i: int):
    if type_ == "DATE":
        return f"DATE '{1950 + i % 60}-0{1 + i % 9}-1{i % 9}'"
    if type_ in ("BIGINT", "INTEGER"):
        return str(i % 7 + 1) if name in ("size", "employees") else str(i if "id" in name else 18 + i % 70)
    if type_ == "DOUBLE":
        return str(1000.0 + 37.5 * i)
    if name in ("uscc", "employer_uscc"):
        return f"'U{i % 5}'"
    if name == "month":
        return f"'2024-0{1 + i % 6}'"
    return f"'{name}{i % 4}'"


@pytest.fixture(scope="module")
def db():
    con = duckdb.connect()
    for (dataset, table), cols in {**TABLES, **SOCIAL_TABLES}.items():
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {dataset}")
        con.execute(f"CREATE TABLE {dataset}.{table} ({', '.join(f'{n} {t}' for n, t, _ in cols)})")
        rows = [f"({', '.join(_value(t, n, i) for n, t, _ in cols)})" for i in range(1, 41)]
        con.execute(f"INSERT INTO {dataset}.{table} VALUES {', '.join(rows)}")
    yield con
    con.close()


def test_golden_covers_every_allowed_case():
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(golden) == sorted(c.id for c in ALLOWED), "regenerate tests/cases/golden.json (--update)"


@pytest.mark.parametrize("case", ALLOWED, ids=[c.id for c in ALLOWED])
def test_rewrite_matches_golden_and_runs(case, db):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = _result(case)
    assert got == golden[case.id]
    cursor = db.execute(got["sql"])
    names = [d[0] for d in cursor.description]
    assert names == got["output_columns"] + got["unit_columns"] + got["population_columns"]
    rows = cursor.fetchall()
    if got["unit_columns"]:
        for row in rows:
            start = len(got["output_columns"])
            units = row[start : start + len(got["unit_columns"])]
            assert all(isinstance(u, int) and u >= 0 for u in units)
        assert " CAST(" not in got["sql"], "every cast is a TRY_CAST"


def main() -> None:
    if "--update" not in sys.argv:
        raise SystemExit("usage: python tests/policies/test_checker_golden.py --update")
    golden = {c.id: _result(c) for c in ALLOWED}
    GOLDEN.write_text(
        json.dumps(golden, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(golden)} cases to {GOLDEN}")


if __name__ == "__main__":
    main()
