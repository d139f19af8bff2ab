"""Benchmark: DuckDB in-process vs Shuyu end to end (submit → checked → sandboxed → gated → released result).

Not a test. Builds a demo data directory at ``--scale`` persons (default 1,000,000), then runs each query
``--repeat`` times both ways in the same process and prints per-query medians, the median ratio and the
fixed overhead per job (median of Shuyu minus DuckDB). The DuckDB side reads the raw domain Parquet files
directly, with the same SQL the analyst wrote: the physical floor.

    python bench/bench_jobs.py --scale 1000000 --repeat 7
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

QUERIES = {
    "district_avg": "SELECT district, count(*) AS persons, avg(income) AS avg_income FROM persons "
    "GROUP BY district",
    "street_age_gender": "SELECT street, age, gender, count(*) AS n FROM persons "
    "GROUP BY street, age, gender",
    "join_contributions": "SELECT p.district, count(DISTINCT p.person_id) AS payers, "
    "sum(c.base_amount) AS total "
    "FROM persons p JOIN contributions c ON p.person_id = c.person_id GROUP BY p.district",
    "age_buckets": "SELECT CASE WHEN age < 18 THEN 'minor' WHEN age < 60 THEN 'adult' ELSE 'senior' END "
    "AS band, count(*) AS n, avg(income) AS avg_income FROM persons GROUP BY band",
    "industry": "SELECT industry, count(*) AS firms, sum(employees) AS employees FROM enterprises "
    "GROUP BY industry",
}


def duckdb_reference(settings, sql: str) -> float:
    from catalog import service as catalog_service
    from gateway.context import AppContext

    ctx = AppContext.build(settings)
    con = duckdb.connect()
    with ctx.uow() as session:
        for dataset in catalog_service.list_datasets(session):
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset.name}"')
            for table, (_, path) in catalog_service.raw_sources(
                session, settings.domain_store_dir, dataset.name
            ).items():
                con.execute(
                    f'CREATE VIEW "{dataset.name}"."{table}" AS SELECT * FROM read_parquet(\'{path}\')'
                )
    ctx.close()
    schemas = {"persons": "population", "contributions": "social_insurance", "enterprises": "enterprises"}
    con.execute("SET search_path = '" + ",".join(sorted(set(schemas.values()))) + "'")
    started = time.perf_counter()
    con.execute(sql).to_arrow_table()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from common.settings import Settings
    from gateway.app import create_app
    from gateway.context import AppContext
    from gateway.demo import seed
    from migrations import upgrade

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="shuyu-bench-"))
    settings = Settings(data_dir=data_dir)
    settings.sandbox.per_org_queue_cap = 1000
    settings.ensure_dirs()
    upgrade(settings.database_url)
    ctx = AppContext.build(settings)
    started = time.perf_counter()
    tokens = seed(ctx, scale=args.scale)
    ctx.close()
    print(f"seeded {args.scale:,} persons in {time.perf_counter() - started:.1f}s at {data_dir}")
    headers = {"Authorization": f"Bearer {tokens['operator']}"}

    app = create_app(settings)
    rows = []
    with TestClient(app) as client:
        for name, sql in QUERIES.items():
            shuyu, reference = [], []
            for _ in range(args.repeat):
                reference.append(duckdb_reference(settings, sql))
                t0 = time.perf_counter()
                job = client.post(
                    "/api/v1/jobs", params={"wait": 60}, json={"sql": sql}, headers=headers
                ).json()
                assert job["state"] == "succeeded", job
                client.get(f"/api/v1/jobs/{job['id']}/result", headers=headers).raise_for_status()
                shuyu.append(time.perf_counter() - t0)
            rows.append((name, statistics.median(reference), statistics.median(shuyu)))
    print(f"{'query':22s} {'duckdb ms':>10s} {'shuyu ms':>10s} {'ratio':>7s} {'overhead ms':>12s}")
    for name, ref, ours in rows:
        print(
            f"{name:22s} {ref * 1000:10.1f} {ours * 1000:10.1f} {ours / ref:7.2f} {(ours - ref) * 1000:12.1f}"
        )
    print(
        f"median ratio {statistics.median(o / r for _, r, o in rows):.2f}; "
        f"fixed overhead per job (median) {statistics.median((o - r) * 1000 for _, r, o in rows):.0f} ms"
    )


if __name__ == "__main__":
    main()
