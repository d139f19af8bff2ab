"""Honest intervals (issue 21.2, 21.5): deterministic contribution bounding, NULLs absent as in SQL, and a
result that states what its interval covers. The planner's SQL runs on DuckDB as the sandbox runs it."""

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from policies import dp
from policies.checker import check
from policies.dp.examples import CATALOG, DOMAINS, example_grant
from sandbox import dp_noise

COLUMNS = "person_id BIGINT, district VARCHAR, age INTEGER, income DOUBLE, score DOUBLE"


def plan(sql, mc=1, epsilon=1.0):
    g = example_grant(max_contributions=mc)
    return dp.plan(check(sql, [g], CATALOG), g, CATALOG, epsilon=epsilon, public_domains=DOMAINS)


def run(p, rows):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA population")
    con.execute(f"CREATE TABLE population.persons ({COLUMNS})")
    con.executemany("INSERT INTO population.persons VALUES (?, ?, ?, ?, ?)", rows)
    return {r["district"]: r for r in con.sql(p.sql).to_arrow_table().to_pylist()}


def contributions(seed):
    """40 people with 1-12 rows each, different incomes per row (the 'contributions' table shape)."""
    rng = np.random.default_rng(seed)
    return [
        (person, "A", 30, float(rng.integers(1, 100_000)), 1.0)
        for person in range(40)
        for _ in range(int(rng.integers(1, 13)))
    ]


def test_bounding_keeps_the_same_rows_whatever_the_row_order():
    """The old rewrite kept rows by random(): the same data gave a different bounded sum on every run."""
    p = plan("SELECT district, count(*) AS n, sum(income) AS s FROM persons GROUP BY district", mc=3)
    rows = contributions(1)
    first = run(p, rows)["A"]
    for seed in range(5):
        shuffled = [rows[i] for i in np.random.default_rng(seed).permutation(len(rows))]
        assert run(p, shuffled)["A"] == first
    kept = sum(min(3, n) for n in np.unique([r[0] for r in rows], return_counts=True)[1])
    assert first["__shuyu_dp_0"] == kept < len(rows)  # at most 3 rows per person counted


def test_nulls_are_absent_not_the_lower_bound():
    """GREATEST(NULL, lo) is lo in DuckDB: the old clamp turned a NULL income into 0 and counted it in AVG."""
    p = plan(
        "SELECT district, count(*) AS n, avg(income) AS a, sum(income) AS s FROM persons GROUP BY district"
    )
    rows = [(i, "A", 30, 80_000.0, 1.0) for i in range(10)]
    rows += [(100 + i, "A", 30, None, 1.0) for i in range(30)]
    exact = run(p, rows)["A"]
    measures = [m.kind for m in p.measurements]
    assert measures == ["count", "centered_sum", "count", "sum"]
    assert exact["__shuyu_dp_0"] == 40  # COUNT(*) counts rows, NULL income or not
    assert exact["__shuyu_dp_2"] == 10  # AVG's denominator: the 10 non-NULL values only
    assert exact["__shuyu_dp_1"] == 10 * (80_000.0 - 50_000.0)  # centred on mid = 50,000
    assert exact["__shuyu_dp_3"] == 800_000.0
    table = pa.table({"district": ["A"], **{k: [v] for k, v in exact.items() if k != "district"}})
    averages = [
        dp_noise.release(table, p.to_dict(), random_state=s)[0].column("a")[0].as_py() for s in range(200)
    ]
    assert abs(np.median(averages) - 80_000) < 5_000  # the old denominator 40 gave about 20,000


def test_the_result_says_what_its_interval_covers():
    p = plan(
        "SELECT district, count(*) AS n, sum(income) AS s, avg(income) AS a FROM persons GROUP BY district",
        mc=3,
    )
    table = pa.table(
        {
            "district": ["A"],
            "__shuyu_dp_0": [30],
            "__shuyu_dp_1": [1e6],
            "__shuyu_dp_2": [0.0],
            "__shuyu_dp_3": [30],
        }
    )
    _, report = dp_noise.release(table, p.to_dict(), random_state=1)
    covers = {a["output"]: a["covers"] for a in report["aggregates"]}
    assert (
        covers["n"]
        == "COUNT(*) of the kept rows (at most 3 rows per person_id, chosen by a hash of each row)"
    )
    assert "each value clamped to [0, 100000]" in covers["s"] and "NULLs count as absent" in covers["s"]
    assert covers["a"].startswith("AVG(income) over the non-NULL values of the kept rows (at most 3")
    assert "not released" in report["rows_dropped_by_bounding"]
    assert [a["covers"] for a in p.split()] == list(covers.values())  # the analyst sees it before submitting


@pytest.mark.parametrize("epsilon", [0.3, 1.0, 3.0])
def test_count_interval_claims_its_exact_level(epsilon):
    t, level = dp_noise.geometric_interval(1, epsilon)
    alpha = np.exp(-epsilon)
    exact = sum((1 - alpha) / (1 + alpha) * alpha ** abs(k) for k in range(-t, t + 1))
    assert level == pytest.approx(exact) and level >= 0.95
    t_smaller = t - 1
    assert sum((1 - alpha) / (1 + alpha) * alpha ** abs(k) for k in range(-t_smaller, t_smaller + 1)) < 0.95
