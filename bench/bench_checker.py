"""Benchmark: check() vs the sqlglot floor (parse_one + qualify with the same schema) over the allowed
queries of the case corpus. Run: ``python bench/bench_checker.py [repeats]``."""

from __future__ import annotations

import functools
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "policies")]

import sqlglot  # noqa: E402
from checker_cases import load_cases  # noqa: E402
from checker_fixtures import GRANTS  # noqa: E402
from sqlglot.optimizer.qualify import qualify  # noqa: E402

from policies.checker import check  # noqa: E402
from policies.checker.context import Context  # noqa: E402
from policies.checker.parse import parse, statement_type  # noqa: E402
from policies.checker.qualify_columns import schema_for  # noqa: E402
from policies.checker.resolve_tables import resolve_tables  # noqa: E402


def _qualify_floor(prepared: str, schema) -> object:
    """The floor: sqlglot's own parse + qualify of the prepared SQL, no policy work."""
    return qualify(sqlglot.parse_one(prepared, read="duckdb"), schema=schema, dialect="duckdb")


def floor_sql(sql: str, grants, catalog) -> str:
    """The same query with tables written dataset.table, so plain qualify can resolve it (prep, not timed)."""
    ctx = Context(sql, grants, catalog)
    parse(ctx)
    statement_type(ctx)
    resolve_tables(ctx)
    return ctx.tree.sql(dialect="duckdb")


def median_time(fn, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(repeats: int = 30) -> None:
    checker, floor, ratios = [], [], []
    for case in load_cases():
        if case.expect != "allow":
            continue
        grants, catalog = (f() for f in GRANTS[case.grant])
        ctx = Context("", grants, catalog)
        resolve_tables_ctx = Context(case.sql, grants, catalog)
        parse(resolve_tables_ctx)
        ctx.grant_by_dataset = {g.dataset: g for g in grants}
        schema = schema_for(ctx)  # the same (cached) MappingSchema the checker uses
        prepared = floor_sql(case.sql, grants, catalog)
        check(case.sql, grants, catalog)  # warm up
        # partial binds this iteration's values (a lambda would read the loop variables when called).
        c = median_time(functools.partial(check, case.sql, grants, catalog), repeats)
        f = median_time(functools.partial(_qualify_floor, prepared, schema), repeats)
        checker.append(c)
        floor.append(f)
        ratios.append(c / f)
    print(f"queries: {len(checker)} (allowed corpus cases), repeats per query: {repeats}")
    print(f"check() median latency:            {statistics.median(checker) * 1e3:.3f} ms")
    print(f"parse_one+qualify median latency:  {statistics.median(floor) * 1e3:.3f} ms")
    print(
        f"median per-query ratio check/floor: {statistics.median(ratios):.2f}x "
        f"(p90 {sorted(ratios)[int(len(ratios) * 0.9)]:.2f}x, max {max(ratios):.2f}x)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
