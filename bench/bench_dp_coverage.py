"""Benchmark: do the DP intervals cover what they claim? Repeated releases on the demo's synthetic data.

    python3 bench/bench_dp_coverage.py [--scale 20000] [--reps 300] [--epsilon 0.5 1.0] [--markdown]

For each query the planner's trusted SQL runs once on DuckDB (contribution bounding is deterministic, so the
exact bounded measurements are the same on every run), then ``sandbox.dp_noise.release`` adds fresh noise
``--reps`` times. Coverage = the share of (run, released cell) whose interval contains the **bounded** value
the result's ``covers`` names (at most ``max_contributions`` rows per person, values clamped to the bounds,
NULLs absent), compared with the level the release claims (its ``confidence``). For the multi-row table the
share covering the *unbounded* exact value is shown too: that is what an interval that ignored bounding
would have claimed.

Tables: ``population.persons`` (one row per person; income with 20% of the values set to NULL for the AVG
rows, so NULL handling is measured too) grouped by the 38 districts, and ``social_insurance.contributions``
(up to 12 rows per person, 3 kept) grouped by the 12 months.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.synthetic import DISTRICTS, generate  # noqa: E402
from common.types import (  # noqa: E402
    CatalogSnapshot,
    ColumnInfo,
    ColumnRule,
    DPMode,
    DPSettings,
    Grant,
    TableInfo,
)
from policies import dp  # noqa: E402
from policies.checker import check  # noqa: E402
from sandbox import dp_noise  # noqa: E402

MONTHS = tuple(f"2024-{m:02d}" for m in range(1, 13))
TABLES = {
    "persons": dict(
        dataset="population",
        unit="person_id",
        key="district",
        domain=tuple(d[0] for d in DISTRICTS),
        value="income",
        bounds=(0.0, 2_000_000.0),
        mc=1,
    ),
    "contributions": dict(
        dataset="social_insurance",
        unit="person_id",
        key="month",
        domain=MONTHS,
        value="base_amount",
        bounds=(0.0, 20_000.0),
        mc=3,
    ),
}


def setup(scale: int) -> duckdb.DuckDBPyConnection:
    paths = generate(Path(tempfile.mkdtemp(prefix="bench-cov-")), scale=scale, seed=7)
    con = duckdb.connect()
    for dataset, tables in paths.items():
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {dataset}")
        for table, path in tables.items():
            source = f"read_parquet('{path}')"
            if table == "persons":  # 20% of incomes absent, chosen by person_id: NULL handling is measured
                source = (
                    "(SELECT * REPLACE (CASE WHEN hash(person_id) % 5 = 0 THEN NULL ELSE income END "
                    f"AS income) FROM {source})"
                )
            con.execute(f"CREATE TABLE {dataset}.{table} AS SELECT * FROM {source}")
    return con


def grant_and_catalog(name: str, spec: dict, con) -> tuple[Grant, CatalogSnapshot]:
    columns = con.execute(f"DESCRIBE {spec['dataset']}.{name}").fetchall()
    rules = {spec["unit"]: "join", spec["key"]: "group", spec["value"]: "aggregate"}
    grant = Grant(
        "bench",
        1,
        "org",
        spec["dataset"],
        "coverage bench",
        date(2024, 1, 1),
        date(2030, 1, 1),
        {name: {c: ColumnRule.parse(r) for c, r in rules.items()}},
        spec["unit"],
        dp=DPSettings(mode=DPMode.required, epsilon_budget=1e9, max_contributions=spec["mc"]),
    )
    lo, hi = spec["bounds"]
    info = tuple(
        ColumnInfo(c, t, lower=lo if c == spec["value"] else None, upper=hi if c == spec["value"] else None)
        for c, t, *_ in columns
    )
    return grant, CatalogSnapshot({(spec["dataset"], name): TableInfo(spec["dataset"], name, info)})


def unbounded_truth(con, name: str, spec: dict) -> dict[str, dict[str, float]]:
    """The exact answers without contribution bounding (values clamped, NULLs absent)."""
    lo, hi = spec["bounds"]
    value = spec["value"]
    v = f"CASE WHEN {value} IS NULL THEN NULL ELSE LEAST(GREATEST({value}, {lo}), {hi}) END"
    rows = con.execute(
        f"SELECT CAST({spec['key']} AS VARCHAR), COUNT(*), SUM({v}), AVG({v}) "
        f"FROM {spec['dataset']}.{name} GROUP BY 1"
    ).fetchall()
    return {k: {"count": n, "sum": s or 0.0, "avg": a} for k, n, s, a in rows}


def measure(con, name: str, spec: dict, epsilon: float, reps: int) -> list[dict]:
    grant, catalog = grant_and_catalog(name, spec, con)
    domains = {f"{spec['dataset']}.{name}.{spec['key']}": spec["domain"]}
    sql = (
        f"SELECT {spec['key']}, COUNT(*) AS n, SUM({spec['value']}) AS s, AVG({spec['value']}) AS a "
        f"FROM {name} GROUP BY {spec['key']}"
    )
    p = dp.plan(check(sql, [grant], catalog), grant, catalog, epsilon=epsilon, public_domains=domains)
    exact_table = con.sql(p.sql).to_arrow_table()
    plan = p.to_dict()
    exact = {r[spec["key"]]: r for r in exact_table.to_pylist()}
    lo, hi = spec["bounds"]
    mid = (lo + hi) / 2

    columns = {a.kind: a.measurements for a in p.aggregates}

    def bounded(cell: str, kind: str) -> float:
        """The value the interval claims to cover, from the exact bounded measurements."""
        row = exact.get(cell, {})
        if kind != "avg":
            return row.get(columns[kind][0]) or 0.0
        centred, count = (row.get(c) for c in columns["avg"])
        return mid + centred / count if count else float("nan")

    full = unbounded_truth(con, name, spec)
    hits = {
        k: [0, 0, 0, []] for k in ("count", "sum", "avg")
    }  # covered bounded, covered unbounded, n, claims
    for _ in range(reps):
        released, report = dp_noise.release(exact_table, plan)
        claims = {a["output"]: a["confidence"] for a in report["aggregates"]}
        for row in released.to_pylist():
            cell = row[spec["key"]]
            for kind, out in (("count", "n"), ("sum", "s"), ("avg", "a")):
                truth = bounded(cell, kind)
                if truth != truth:  # no non-NULL value: AVG is undefined, nothing to cover
                    continue
                low, high = row[f"{out}_ci_low"], row[f"{out}_ci_high"]
                entry = hits[kind]
                entry[0] += low <= truth <= high
                unbounded = full.get(cell, {}).get(kind, 0.0)
                entry[1] += unbounded is not None and low <= unbounded <= high
                entry[2] += 1
                entry[3].append(claims[out])
    return [
        {
            "table": name,
            "rows_per_person": "1" if spec["mc"] == 1 else f"up to 12, {spec['mc']} kept",
            "aggregate": kind.upper(),
            "epsilon": epsilon,
            "claimed": float(np.mean(claims)),
            "covered": covered / n,
            "covered_unbounded": covered_full / n,
            "cells": n,
        }
        for kind, (covered, covered_full, n, claims) in hits.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--epsilon", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    con = setup(args.scale)
    results = [
        r
        for eps in args.epsilon
        for name, spec in TABLES.items()
        for r in measure(con, name, spec, eps, args.reps)
    ]
    print(
        "| table | rows per person | aggregate | ε (query) | claimed | covered (bounded value) "
        "| covered (unbounded value) | cells × runs |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        flag = "" if abs(r["covered"] - r["claimed"]) <= 0.02 else " ⚠"
        print(
            f"| {r['table']} | {r['rows_per_person']} | {r['aggregate']} | {r['epsilon']:g} | "
            f"{r['claimed']:.1%} | {r['covered']:.1%}{flag} | {r['covered_unbounded']:.1%} | {r['cells']} |"
        )
    print(f"\nscale {args.scale} persons, {args.reps} runs per query, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
