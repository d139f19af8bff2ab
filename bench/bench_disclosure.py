"""Benchmark: the disclosure auditor's added cost at 1M persons, as a ratio of job time, and its storage per
released value. Run: ``python bench/bench_disclosure.py [persons]``.

Job time is the engine running the checked query (DuckDB, in process, threads=2 like the sandbox default)
and Arrow out. The auditor's cost is (a) the extra ``ARRAY_AGG(DISTINCT unit)`` hidden columns in the same
query and (b) the trusted host's review: bitmaps per released value, comparison with the stored history
(pre-filled with one earlier release of every query) and storage, in an in-memory SQLite ledger.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from common.db import Base  # noqa: E402
from common.job_plan import JobPlan  # noqa: E402
from sandbox import disclosure  # noqa: E402
from sandbox.gate import GatePolicy, gate  # noqa: E402
from sandbox.store import DisclosureLockRow, DisclosurePopulationRow  # noqa: E402

QUERIES = {
    "city total": ("", ""),
    "by district (38)": ("district, ", " GROUP BY district"),
    "by district x gender (76)": ("district, gender, ", " GROUP BY district, gender"),
}


def make_persons(path: Path, n: int) -> None:
    rng = np.random.default_rng(7)
    pq.write_table(
        pa.table(
            {
                "person_id": np.arange(1, n + 1, dtype=np.int64),
                "district": pa.array(rng.integers(0, 38, n)).cast(pa.string()),
                "gender": pa.array(np.where(rng.random(n) < 0.5, "男", "女")),
                "income": rng.lognormal(11, 0.75, n),
            }
        ),
        path,
    )


def sql(path: Path, keys: str, group: str, audited: bool) -> str:
    pop = ", ARRAY_AGG(DISTINCT p.person_id) AS __shuyu_pop_0" if audited else ""
    return (
        f"SELECT {keys}SUM(p.income) AS s, COUNT(DISTINCT p.person_id) AS __shuyu_units_0{pop} "
        f"FROM read_parquet('{path}') AS p{group}"
    )


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main(n: int = 1_000_000, repeats: int = 5) -> None:
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "persons.parquet"
    make_persons(path, n)
    con = duckdb.connect(config={"threads": 2})
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=[DisclosurePopulationRow.__table__, DisclosureLockRow.__table__])
    print(f"persons: {n:,}; median of {repeats} runs")
    print(f"{'query':28} {'job s':>7} {'+pop col s':>10} {'+review s':>9} {'ratio':>6} {'bytes/value':>11}")
    for name, (keys, group) in QUERIES.items():
        base, _ = timed(lambda k=keys, g=group: con.execute(sql(path, k, g, False)).to_arrow_table(), repeats)
        audited, table = timed(
            lambda k=keys, g=group: con.execute(sql(path, k, g, True)).to_arrow_table(), repeats
        )
        plan = JobPlan(
            grants=(("g", 1),),
            tables=(("population", "persons"),),
            output_columns=tuple(c for c in table.column_names if not c.startswith("__")),
            unit_columns=("__shuyu_units_0",),
            is_aggregate=True,
            k=10,
            row_cap=10_000,
            population_columns=("__shuyu_pop_0",),
            unit_space="person_id",
        )
        _, report = gate(table, GatePolicy.for_plan(plan, max_bytes=1 << 30))
        reviews = []

        def review(plan=plan, table=table, report=report, reviews=reviews):
            with Session(engine) as session:
                result = disclosure.review(
                    session,
                    job_id=f"j{len(reviews)}",
                    organization_id="org",
                    plan=plan,
                    table=table,
                    report=report,
                    now=datetime(2026, 1, 1, tzinfo=UTC),
                )
                session.commit()
            reviews.append(result)
            return result

        review_s, _ = timed(review, repeats)
        first = reviews[0]
        per_value = first.stored_bytes / max(first.stored, 1)
        ratio = (audited - base + review_s) / base
        print(f"{name:28} {base:7.3f} {audited - base:10.3f} {review_s:9.3f} {ratio:6.1%} {per_value:11,.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
