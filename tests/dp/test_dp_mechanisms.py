"""The DP planner, the rewritten SQL on DuckDB (contribution bounding, clamping, key domains), the noise
(geometric counts, snapped sums), the intervals, the gate's DP path and the differencing pair."""

import dataclasses
import math
import statistics
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from common.errors import PolicyViolation
from common.types import CatalogSnapshot, ColumnInfo, ColumnRule, DPMode, DPSettings, Grant, TableInfo
from policies import dp
from policies.checker import check
from sandbox import dp_noise
from sandbox.gate import GatePolicy, gate

RULES = {
    "person_id": "join",
    "district": "group",
    "gender": "group",
    "age": "group",
    "income": "aggregate",
    "score": "aggregate",
}
CATALOG = CatalogSnapshot(
    {
        ("population", "persons"): TableInfo(
            "population",
            "persons",
            (
                ColumnInfo("person_id", "BIGINT"),
                ColumnInfo("district", "VARCHAR"),
                ColumnInfo("gender", "VARCHAR"),
                ColumnInfo("age", "INTEGER"),
                ColumnInfo("income", "DOUBLE", lower=0, upper=100_000),
                ColumnInfo("score", "DOUBLE"),
            ),
        )
    }
)
DOMAIN = {"population.persons.district": ("A", "B", "C")}


def grant(mode=DPMode.required, mc=1, max_rows=10_000, **dp_fields) -> Grant:
    return Grant(
        "g1",
        1,
        "org",
        "population",
        "test",
        date(2024, 1, 1),
        date(2030, 1, 1),
        {"persons": {c: ColumnRule.parse(r) for c, r in RULES.items()}},
        "person_id",
        max_rows=max_rows,
        dp=DPSettings(mode=mode, epsilon_budget=10, max_contributions=mc, **dp_fields),
    )


def plan(sql, g=None, epsilon=1.0, domains=DOMAIN):
    g = g or grant()
    return dp.plan(check(sql, [g], CATALOG), g, CATALOG, epsilon=epsilon, public_domains=domains)


def run(p: dp.DPPlan, rows: list[tuple]) -> pa.Table:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA population")
    con.execute(
        "CREATE TABLE population.persons (person_id BIGINT, district VARCHAR, gender VARCHAR, age INTEGER, "
        "income DOUBLE, score DOUBLE)"
    )
    if rows:
        con.executemany("INSERT INTO population.persons VALUES (?, ?, ?, ?, ?, ?)", rows)
    return con.sql(p.sql).to_arrow_table()


def exact(table: pa.Table, key: str, column: str) -> float:
    for row in table.to_pylist():
        if row.get("district", key) == key:
            return row[column]
    return 0.0


def people(n, district="A", income=50_000.0):
    return [(i, district, "女", 30, income, 1.0) for i in range(1, n + 1)]


# ------------------------------------------------------------------------------------------------ planner


def test_plan_splits_the_budget_evenly_and_reports_it():
    p = plan(
        "SELECT district, count(*) AS n, avg(income) AS a, count(DISTINCT person_id) AS u FROM persons "
        "GROUP BY district",
        epsilon=1.0,
    )
    assert [m.epsilon for m in p.measurements] == [0.25] * 4
    assert [(a.output, a.epsilon) for a in p.aggregates] == [("n", 0.25), ("a", 0.5), ("u", 0.25)]
    assert [m.sensitivity for m in p.measurements] == [1.0, 50_000.0, 1.0, 1.0]  # avg: centred sum, (hi-lo)/2
    assert [m.kind for m in p.measurements] == ["count", "centered_sum", "count", "count_distinct"]
    assert p.to_dict()["released_columns"] == [
        "district",
        "n",
        "n_ci_low",
        "n_ci_high",
        "a",
        "a_ci_low",
        "a_ci_high",
        "u",
        "u_ci_low",
        "u_ci_high",
    ]


def test_sensitivity_scales_with_max_contributions():
    p = plan(
        "SELECT district, count(*) AS n, sum(income) AS s, count(DISTINCT person_id) AS u FROM persons "
        "GROUP BY district",
        g=grant(mc=3),
    )
    assert [m.sensitivity for m in p.measurements] == [3.0, 300_000.0, 3.0]
    ungrouped = plan("SELECT count(DISTINCT person_id) AS u FROM persons", g=grant(mc=3))
    assert ungrouped.measurements[0].sensitivity == 1.0


@pytest.mark.parametrize(
    "sql, rule",
    [
        ("SELECT district, sum(score) FROM persons GROUP BY district", "dp_missing_bounds"),
        ("SELECT age, count(*) FROM persons GROUP BY age", "dp_no_key_domain"),
        ("SELECT district, count(*) FROM persons GROUP BY district ORDER BY count(*) DESC", "dp_clause"),
        ("SELECT district, count(*) FROM persons GROUP BY district HAVING count(*) > 1", "dp_clause"),
        ("SELECT district, count(*) FROM (SELECT district FROM persons) t GROUP BY district", "dp_shape"),
        (
            "WITH t AS (SELECT district FROM persons) SELECT district, count(*) FROM t GROUP BY district",
            "dp_shape",
        ),
        (
            (
                "SELECT district, count(*) FROM persons GROUP BY district UNION ALL "
                "SELECT district, count(*) FROM persons GROUP BY district"
            ),
            "dp_shape",
        ),
        ("SELECT district, stddev(income) FROM persons GROUP BY district", "dp_unsupported_aggregate"),
        ("SELECT district, count(age) FROM persons GROUP BY district", "dp_unsupported_aggregate"),
    ],
)
def test_plan_refuses_what_it_cannot_bound(sql, rule):
    checked = check(sql, [grant()], CATALOG)  # the checker accepts these; the DP planner must not
    with pytest.raises(PolicyViolation) as refused:
        dp.plan(checked, grant(), CATALOG, epsilon=1.0, public_domains=DOMAIN)
    assert refused.value.rule == rule


def test_sum_without_bounds_names_the_column_and_the_fix():
    with pytest.raises(PolicyViolation) as refused:
        plan("SELECT district, avg(score) FROM persons GROUP BY district")
    error = refused.value
    assert error.column == "population.persons.score" and "data department" in error.hint
    assert "declare lower and upper bounds" in error.hint


def test_grant_declared_domain_wins_and_keys_are_quoted():
    g = grant(key_domains={"persons.age": ["30", "40"], "persons.district": ["O'Hara"]})
    p = plan("SELECT district, age, count(*) AS n FROM persons GROUP BY district, age", g=g)
    assert p.domains == (("O'Hara",), ("30", "40")) and "'O''Hara'" in p.sql


def test_wants_dp_by_mode():
    assert dp.wants_dp(grant(DPMode.required), False)
    assert not dp.wants_dp(grant(DPMode.optional), False) and dp.wants_dp(grant(DPMode.optional), True)
    assert not dp.wants_dp(grant(DPMode.off), False)
    with pytest.raises(PolicyViolation, match="not enabled"):
        dp.wants_dp(grant(DPMode.off), True)


def test_row_level_queries_are_refused_under_dp():
    g = dataclasses.replace(
        grant(),
        allow_row_level=True,
        columns={"persons": {"person_id": ColumnRule.parse("join"), "district": ColumnRule.parse("plain")}},
    )
    with pytest.raises(PolicyViolation) as refused:
        dp.plan(check("SELECT district FROM persons", [g], CATALOG), g, CATALOG, public_domains=DOMAIN)
    assert refused.value.rule == "dp_row_level"


# ---------------------------------------------------------------------------------------------- rewritten SQL


def test_contribution_bounding_caps_each_unit_at_max_contributions():
    rows = people(10) + [(999, "A", "女", 30, 50_000.0, 1.0)] * 100  # one unit with 100 rows
    for mc in (1, 3):
        p = plan("SELECT district, count(*) AS n FROM persons GROUP BY district", g=grant(mc=mc))
        assert exact(run(p, rows), "A", "__shuyu_dp_0") == 10 + mc


def test_clamping_keeps_an_outlier_within_the_bound_driven_sensitivity():
    base = people(50)
    outlier = base + [(999, "A", "女", 30, 1e12, 1.0)]
    for mc in (1, 2):
        p = plan("SELECT district, sum(income) AS s FROM persons GROUP BY district", g=grant(mc=mc))
        delta = p.measurements[0].sensitivity
        assert delta == mc * 100_000
        moved = exact(run(p, outlier), "A", "__shuyu_dp_0") - exact(run(p, base), "A", "__shuyu_dp_0")
        assert 0 < moved <= delta  # 1e12 moves the exact sum by the upper bound only
        # and the noisy sum: over many releases the outlier shifts the mean by at most delta (plus noise)
        table, reference = run(p, outlier), exact(run(p, base), "A", "__shuyu_dp_0")
        shifts = [
            dp_noise.release(table, p.to_dict(), random_state=seed)[0].column("s")[0].as_py() - reference
            for seed in range(300)
        ]
        noise_sd = math.sqrt(2) * delta / 1.0  # Laplace(delta / epsilon), epsilon 1
        assert abs(statistics.mean(shifts)) <= delta + 4 * noise_sd / math.sqrt(len(shifts))
        assert max(abs(s) for s in shifts) < 1e9  # nowhere near the outlier's 1e12


def test_keys_outside_the_domain_never_leave_and_absent_keys_are_released():
    rows = people(20, "A") + people(5, "Atlantis")
    p = plan("SELECT district, count(*) AS n FROM persons GROUP BY district")
    sandbox_result = run(p, rows)
    assert sorted(sandbox_result.column("district").to_pylist()) == ["A"]  # filtered in the SQL already
    released, _ = dp_noise.release(sandbox_result, p.to_dict(), random_state=1)
    assert released.column("district").to_pylist() == ["A", "B", "C"]  # B and C: exact 0 plus noise
    b_values = {
        dp_noise.release(sandbox_result, p.to_dict(), random_state=s)[0].column("n")[1].as_py()
        for s in range(20)
    }
    assert len(b_values) > 3  # noise, not a constant that would mark the key as absent


def test_where_is_kept_and_nulls_are_not_keys():
    rows = people(10, "A") + [(50, None, "女", 30, 1.0, 1.0), (51, "B", "女", 80, 1.0, 1.0)]
    p = plan("SELECT district, count(*) AS n FROM persons WHERE age < 60 GROUP BY district")
    table = run(p, rows)
    assert {r["district"]: r["__shuyu_dp_0"] for r in table.to_pylist()} == {"A": 10}


# ------------------------------------------------------------------------------------------------ noise


def _domain_plan(n_keys, sql, epsilon, mc=1):
    keys = tuple(f"k{i}" for i in range(n_keys))
    return plan(
        sql, g=grant(mc=mc, max_rows=100_000), epsilon=epsilon, domains={"population.persons.district": keys}
    ), keys


@pytest.mark.parametrize("epsilon, mc", [(0.5, 1), (1.0, 3), (0.1, 1)])
def test_count_noise_is_two_sided_geometric(epsilon, mc):
    p, keys = _domain_plan(
        20_000, "SELECT district, count(*) AS n FROM persons GROUP BY district", epsilon, mc
    )
    table = pa.table({"district": pa.array(keys), "__shuyu_dp_0": pa.array([100] * len(keys), pa.int64())})
    noisy = np.array(dp_noise.release(table, p.to_dict(), random_state=7)[0].column("n").to_pylist())
    alpha = math.exp(-epsilon / mc)
    expected = 2 * alpha / (1 - alpha) ** 2  # variance of the two-sided geometric distribution
    assert abs(noisy.var() / expected - 1) < 0.06
    assert abs(noisy.mean() - 100) < 5 * math.sqrt(expected / len(keys))  # unbiased
    assert np.all(noisy == np.round(noisy))  # integers: no low-order bits at all


def test_sum_noise_is_snapped_laplace_with_the_bound_sensitivity():
    p, keys = _domain_plan(20_000, "SELECT district, sum(income) AS s FROM persons GROUP BY district", 0.5, 2)
    table = pa.table({"district": pa.array(keys), "__shuyu_dp_0": pa.array([1e6] * len(keys))})
    noisy = np.array(dp_noise.release(table, p.to_dict(), random_state=11)[0].column("s").to_pylist())
    scale, grid = dp_noise.snapping_grid(200_000.0, 0.5)
    assert scale == pytest.approx(200_000 / 0.5, rel=1e-5) and grid == 800_000.0  # Λ = 4 > 1/ε_eff
    # Laplace(scale) plus the rounding to the grid (about uniform on +-grid/2 at this noise scale).
    assert abs(noisy.var() / (2 * scale**2 + grid**2 / 12) - 1) < 0.06
    assert abs(noisy.mean() - 1e6) < 5 * math.sqrt(2 * scale**2 / len(keys))


def test_released_values_carry_no_low_order_bits():
    """Mironov (2012): floating-point Laplace leaks through the low bits of its output. Released counts are
    integers and released sums are exact multiples of the snapping grid, so every digit below the grid is 0
    whatever the data; the old continuous Laplace released 15-17 significant digits."""
    sql = "SELECT district, count(*) AS n, sum(income) AS s FROM persons GROUP BY district"
    p, keys = _domain_plan(2_000, sql, 0.7, 3)
    exact = np.random.default_rng(5).uniform(0, 3e6, len(keys))  # arbitrary real-valued exact sums
    table = pa.table(
        {
            "district": pa.array(keys),
            "__shuyu_dp_0": pa.array(range(len(keys)), pa.int64()),
            "__shuyu_dp_1": pa.array(exact),
        }
    )
    released, report = dp_noise.release(table, p.to_dict(), random_state=13)
    counts, sums = (np.array(released.column(c).to_pylist()) for c in ("n", "s"))
    grid = report["aggregates"][1]["grid"]
    assert grid == dp_noise.snapping_grid(300_000.0, 0.35)[1] and math.log2(grid / 300_000.0).is_integer()
    assert np.all(counts == np.round(counts))
    steps = sums / grid
    assert np.all(steps == np.round(steps))  # exactly on the grid, bit for bit
    assert np.all(np.round(steps) * grid == sums)
    assert len(set(np.round(sums % grid, 6))) == 1  # the residue below the grid is always 0
    assert [a["mechanism"] for a in report["aggregates"]] == [["geometric"], ["snapping"]]


def test_intervals_cover_what_they_claim():
    p, keys = _domain_plan(
        10_000, "SELECT district, count(*) AS n, avg(income) AS a FROM persons GROUP BY district", 1.0
    )
    table = pa.table(
        {
            "district": pa.array(keys),
            "__shuyu_dp_0": pa.array([500] * len(keys), pa.int64()),
            "__shuyu_dp_1": pa.array([500 * (40_000.0 - 50_000.0)] * len(keys)),  # centred
            "__shuyu_dp_2": pa.array([500] * len(keys), pa.int64()),
        }
    )
    released, report = dp_noise.release(table, p.to_dict(), random_state=3)
    out = released.to_pylist()
    claimed = report["aggregates"][0]["confidence"]
    assert 0.95 <= claimed < 0.97
    covered = sum(r["n_ci_low"] <= 500 <= r["n_ci_high"] for r in out) / len(out)
    assert abs(covered - claimed) < 0.01
    assert 0.935 < sum(r["a_ci_low"] <= 40_000 <= r["a_ci_high"] for r in out) / len(out) < 0.965
    assert all(0 <= r["a_ci_low"] <= r["a"] <= r["a_ci_high"] <= 100_000 for r in out)


def test_differencing_pair_difference_is_laplace_noise_not_one():
    """count(district) = n and count(district minus one person) = n - 1, each released at epsilon 1: the
    released difference is 1 + (L1 - L2), spread with variance 2 * 2 (1/epsilon)^2 = 4, not a spike at 1."""
    p, keys = _domain_plan(5_000, "SELECT district, count(*) AS n FROM persons GROUP BY district", 1.0)
    whole = pa.table({"district": pa.array(keys), "__shuyu_dp_0": pa.array([120] * len(keys), pa.int64())})
    minus = pa.table({"district": pa.array(keys), "__shuyu_dp_0": pa.array([119] * len(keys), pa.int64())})
    a = np.array(dp_noise.release(whole, p.to_dict(), random_state=21)[0].column("n").to_pylist())
    b = np.array(dp_noise.release(minus, p.to_dict(), random_state=22)[0].column("n").to_pylist())
    diff = a - b
    alpha = math.exp(-1.0)
    assert abs(diff.var() / (4 * alpha / (1 - alpha) ** 2) - 1) < 0.1
    # integer noise: the difference is exactly 1 when Z1 = Z2, probability sum_k P(Z = k)^2 ≈ 0.28 at
    # epsilon 1 (an attack that worked would give 1 every time)
    assert 0.24 < np.mean(diff == 1) < 0.32
    # a single pair says almost nothing: P(diff > 0.5) is close to P(diff < 0.5) + ...
    assert 0.5 < np.mean(diff > 0) < 0.75


# ------------------------------------------------------------------------------------------------ gate


def test_gate_dp_path_applies_no_k_threshold_and_drops_hidden_columns():
    p = plan("SELECT district, count(*) AS n FROM persons GROUP BY district")
    table = run(p, people(2, "A"))  # 2 persons: far below any k
    policy = GatePolicy(
        k=10, unit_columns=(), is_aggregate=True, max_rows=100, max_bytes=1 << 20, dp=p.to_dict()
    )
    released, report = gate(table, policy)
    assert released.column_names == ["district", "n", "n_ci_low", "n_ci_high"] and released.num_rows == 3
    assert report.decision == "released" and report.rows_suppressed == 0
    assert report.operator_view()["dp"]["epsilon"] == 1.0


def test_gate_dp_path_fails_closed_on_a_malformed_result():
    p = plan("SELECT district, count(*) AS n FROM persons GROUP BY district")
    policy = GatePolicy(
        k=10, unit_columns=(), is_aggregate=True, max_rows=100, max_bytes=1 << 20, dp=p.to_dict()
    )
    released, report = gate(pa.table({"district": ["A"]}), policy)
    assert report.decision == "rejected" and released.num_rows == 0
    doubled = pa.table({"district": ["A", "A"], "__shuyu_dp_0": [1, 2]})
    assert gate(doubled, policy)[1].decision == "rejected"
