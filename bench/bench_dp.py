"""Benchmark: Shuyu's DP path vs SmartNoise SQL on the same DP GROUP BY queries, same data, equal epsilon.

Setup (SmartNoise lives ONLY in a separate benchmark venv, never in Shuyu's dependencies)::

    python3 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install smartnoise-sql pandas duckdb pyarrow
    python bench/bench_dp.py [--scale 100000] [--reps 20] [--epsilon 1.0] [--venv /tmp/bench-venv]

What is timed, per query (median over ``--reps`` runs after one warm-up):

* **Shuyu**: ``policies.checker.check`` -> ``policies.dp.plan`` (bounded, clamped, domain-restricted rewrite)
  -> the rewritten SQL on the sandbox's hardened DuckDB engine (``sandbox.worker.open_engine``, in process;
  a real job also pays the bubblewrap process start) -> ``sandbox.gate.gate`` (geometric/snapping noise,
  intervals, PII scan, fingerprint).
* **SmartNoise SQL** (``snsql.from_df``, its pandas engine: the table is loaded into SQLite once, untimed):
  ``reader.execute_df(query)`` (its parser, rewrite with ``max_ids`` bounding and clamping, SQLite, noise).

Equal epsilon: every query spends the same total epsilon in both. Shuyu splits it evenly across its mechanisms;
SmartNoise charges its per-column epsilon once per measured column, so its per-column epsilon is set to
``epsilon / cost`` where ``cost`` is ``reader.get_privacy_cost(query)`` at per-column epsilon 1 (delta 1e-5 is
only needed by SmartNoise's key thresholding, which is off: ``censor_dims: False``; Shuyu releases the public
domain of keys instead). Both bound contributions to 1 row per person (``max_ids: 1`` / ``max_contributions:
1``) and clamp income to the catalog bounds [0, 2,000,000].

Error: mean absolute error against the exact (non-private) answers over every released cell and run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

QUERIES = {
    "count_by_district": "SELECT district, COUNT(*) AS n FROM persons GROUP BY district",
    "sum_by_district": "SELECT district, SUM(income) AS s FROM persons GROUP BY district",
    "avg_by_district": "SELECT district, AVG(income) AS a FROM persons GROUP BY district",
    "count_avg_by_gender": "SELECT gender, COUNT(*) AS n, AVG(income) AS a FROM persons GROUP BY gender",
    "adults_count_sum_by_district": "SELECT district, COUNT(*) AS n, SUM(income) AS s FROM persons "
    "WHERE age >= 18 GROUP BY district",
}
INCOME_BOUNDS = (0.0, 2_000_000.0)


# ------------------------------------------------------------------------------------------------ SmartNoise side


def smartnoise_worker(parquet: str, epsilon: float, reps: int) -> dict:
    """Runs inside the benchmark venv: returns timings and noisy answers per query."""
    import pandas as pd
    import snsql
    from snsql import Privacy

    df = pd.read_parquet(parquet, columns=["person_id", "district", "gender", "age", "income"])
    metadata = {
        "": {
            "population": {
                "persons": {
                    "row_privacy": False,
                    "max_ids": 1,
                    "censor_dims": False,
                    "sample_max_ids": True,
                    "person_id": {"name": "person_id", "type": "int", "private_id": True},
                    "district": {"name": "district", "type": "string"},
                    "gender": {"name": "gender", "type": "string"},
                    "age": {"name": "age", "type": "int", "lower": 0, "upper": 120},
                    "income": {
                        "name": "income",
                        "type": "float",
                        "lower": INCOME_BOUNDS[0],
                        "upper": INCOME_BOUNDS[1],
                    },
                }
            }
        }
    }
    out = {}
    for name, sql in QUERIES.items():
        query = sql.replace("FROM persons", "FROM population.persons")
        probe = snsql.from_df(df, privacy=Privacy(epsilon=1.0, delta=1e-5), metadata=metadata)
        cost, _ = probe.get_privacy_cost(query)
        reader = snsql.from_df(df, privacy=Privacy(epsilon=epsilon / cost, delta=1e-5), metadata=metadata)
        reader.execute_df(query)  # warm-up
        times, answers = [], []
        for _ in range(reps):
            start = time.perf_counter()
            result = reader.execute_df(query)
            times.append(time.perf_counter() - start)
            answers.append(result.to_dict(orient="records"))
        out[name] = {
            "times": times,
            "answers": answers,
            "cost_at_1": cost,
            "per_column_epsilon": epsilon / cost,
        }
    return out


# ------------------------------------------------------------------------------------------------ Shuyu side


def shuyu_side(persons: Path, epsilon: float, reps: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from datetime import date

    from common.types import CatalogSnapshot, ColumnInfo, ColumnRule, DPMode, DPSettings, Grant, TableInfo
    from gateway.access import PUBLIC_KEY_DOMAINS
    from policies import dp
    from policies.checker import check
    from sandbox.gate import GatePolicy, gate
    from sandbox.worker import open_engine

    rules = {
        "person_id": "join",
        "district": "group",
        "gender": "group",
        "age": "compare",
        "income": "aggregate",
    }
    grant = Grant(
        "bench",
        1,
        "org",
        "population",
        "bench",
        date(2024, 1, 1),
        date(2030, 1, 1),
        {"persons": {c: ColumnRule.parse(r) for c, r in rules.items()}},
        "person_id",
        dp=DPSettings(mode=DPMode.required, epsilon_budget=1e9, max_contributions=1),
    )
    catalog = CatalogSnapshot(
        {
            ("population", "persons"): TableInfo(
                "population",
                "persons",
                (
                    ColumnInfo("person_id", "BIGINT"),
                    ColumnInfo("district", "VARCHAR"),
                    ColumnInfo("gender", "VARCHAR"),
                    ColumnInfo("age", "INTEGER", lower=0, upper=120),
                    ColumnInfo("income", "DOUBLE", lower=INCOME_BOUNDS[0], upper=INCOME_BOUNDS[1]),
                ),
            )
        }
    )
    domains = {f"population.persons.{c}": v for c, v in PUBLIC_KEY_DOMAINS.items()}
    temp = tempfile.mkdtemp(prefix="bench-dp-")
    con = open_engine(
        {
            "data_dir": str(persons.parent),
            "temp_dir": temp,
            "memory_mb": 2048,
            "threads": 4,
            "max_temp_mb": 1024,
            "tables": [("population", "persons", str(persons))],
        }
    )

    def one(sql):
        checked = check(sql, [grant], catalog)
        p = dp.plan(checked, grant, catalog, epsilon=epsilon, public_domains=domains)
        table = con.sql(p.sql).to_arrow_table()
        released, report = gate(
            table,
            GatePolicy(
                k=10, unit_columns=(), is_aggregate=True, max_rows=10_000, max_bytes=1 << 24, dp=p.to_dict()
            ),
        )
        assert report.decision == "released", report
        return released

    out = {}
    for name, sql in QUERIES.items():
        one(sql)  # warm-up
        times, answers = [], []
        for _ in range(reps):
            start = time.perf_counter()
            released = one(sql)
            times.append(time.perf_counter() - start)
            answers.append(released.to_pylist())
        out[name] = {"times": times, "answers": answers}
    return out


def exact_answers(persons: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE VIEW persons AS SELECT * FROM read_parquet('{persons}')")
    return {name: con.sql(sql).to_arrow_table().to_pylist() for name, sql in QUERIES.items()}


def mae(answers: list[list[dict]], truth: list[dict]) -> float:
    key = next(iter(truth[0]))  # the group column comes first
    exact = {row[key]: row for row in truth}
    errors = []
    for run in answers:
        for row in run:
            if row[key] not in exact:
                continue
            for column, value in exact[row[key]].items():
                if column != key and not column.endswith(("_ci_low", "_ci_high")):
                    errors.append(abs(float(row[column]) - float(value)))
    return statistics.fmean(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--venv", default="/tmp/bench-venv")
    parser.add_argument(
        "--smartnoise-worker", nargs=3, metavar=("PARQUET", "EPSILON", "REPS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.smartnoise_worker:
        parquet, epsilon, reps = args.smartnoise_worker
        json.dump(smartnoise_worker(parquet, float(epsilon), int(reps)), sys.stdout)
        return

    sys.path.insert(0, str(ROOT))
    from catalog import synthetic

    data_dir = Path(tempfile.mkdtemp(prefix="bench-dp-data-"))
    persons = synthetic.generate(data_dir, scale=args.scale)["population"]["persons"]
    truth = exact_answers(persons)
    shuyu = shuyu_side(persons, args.epsilon, args.reps)
    python = Path(args.venv) / "bin" / "python"
    if not python.exists():
        sys.exit(
            f"SmartNoise venv not found at {args.venv}: see the module docstring for the two setup lines"
        )
    done = subprocess.run(
        [str(python), __file__, "--smartnoise-worker", str(persons), str(args.epsilon), str(args.reps)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit("SmartNoise side failed:\n" + done.stderr[-4000:])
    smartnoise = json.loads(done.stdout)

    print(
        f"DP GROUP BY benchmark: {args.scale} persons, epsilon {args.epsilon:g} per query, {args.reps} runs, "
        "1 row per person, income clamped to [0, 2e6]"
    )
    print(
        f"{'query':30s} {'shuyu ms':>9s} {'snsql ms':>9s} {'speedup':>8s} {'shuyu MAE':>12s} "
        f"{'snsql MAE':>12s} {'MAE ratio':>9s}"
    )
    speedups, ratios = [], []
    for name in QUERIES:
        s_ms = statistics.median(shuyu[name]["times"]) * 1000
        n_ms = statistics.median(smartnoise[name]["times"]) * 1000
        s_err = mae(shuyu[name]["answers"], truth[name])
        n_err = mae(smartnoise[name]["answers"], truth[name])
        speedups.append(n_ms / s_ms)
        ratios.append(s_err / n_err)
        print(
            f"{name:30s} {s_ms:9.1f} {n_ms:9.1f} {n_ms / s_ms:7.1f}x {s_err:12.1f} {n_err:12.1f} "
            f"{s_err / n_err:9.2f}"
        )
    print(
        f"geometric mean speedup {statistics.geometric_mean(speedups):.1f}x (SmartNoise time / Shuyu time); "
        f"geometric mean MAE ratio {statistics.geometric_mean(ratios):.2f} (Shuyu / SmartNoise, < 1 is better)"
    )
    print(
        "SmartNoise per-column epsilon (total / columns measured): "
        + ", ".join(f"{n}={smartnoise[n]['per_column_epsilon']:.3g}" for n in QUERIES)
    )


if __name__ == "__main__":
    main()
