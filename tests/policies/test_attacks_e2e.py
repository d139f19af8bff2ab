"""Issue 10 end to end: representative attacks of each leak class, submitted as real jobs on the demo,
checked, run in the bubblewrap sandbox and gated. A refused attack creates no job and releases nothing; an
attack the checker rewrites (runtime errors) runs to the same outcome whatever the hidden condition, so
it carries no bit; a conditional aggregate releases a value only where both of its cells meet k."""

import shutil

import pytest
from k_only_grant import k_only_operator

from gateway.demo import seed
from gateway.workers import WorkerPool

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


@pytest.fixture
def demo(harness):
    tokens = {role: harness.auth(token) for role, token in seed(harness.ctx, scale=2000).items()}
    # the demo's population grant runs under DP: these attacks target the weaker k-only path
    households = {
        "households": {"hh_id": "join", "person_id": "join", "district": "group", "size": "aggregate"}
    }
    tokens["operator"] = k_only_operator(harness, tokens, households)
    return harness, tokens, WorkerPool(harness.ctx, 1)


def _run(harness, headers, pool, sql) -> tuple[dict, list[dict]]:
    response = harness.client.post("/api/v1/jobs", json={"sql": sql}, headers=headers)
    assert response.status_code == 202, response.text
    while pool.run_once("attack-worker"):
        pass
    job = harness.client.get(f"/api/v1/jobs/{response.json()['id']}", headers=headers).json()
    result = harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=headers)
    return job, (result.json()["rows"] if result.status_code == 200 else [])


REFUSED = [
    # class 1: conditional aggregates that isolate sub-cells
    (
        "SELECT district, sum(CASE WHEN age = 99 THEN income ELSE 0 END) AS a, "
        "sum(CASE WHEN age = 98 THEN income ELSE 0 END) AS b FROM persons GROUP BY district",
        "conditional_aggregate",
    ),
    (
        "SELECT district, sum(income * (age = 99)::int) AS x FROM persons GROUP BY district",
        "conditional_aggregate",
    ),
    (
        "SELECT district, count(*) AS n FROM persons GROUP BY district "
        "HAVING count(*) FILTER (WHERE age = 99) > 0",
        "conditional_aggregate",
    ),
    # class 2: ranking inside subqueries
    ("SELECT avg(income) AS a FROM (SELECT income FROM persons ORDER BY age LIMIT 11) s", "ranking_subquery"),
    (
        "SELECT avg(income) AS a FROM (SELECT income FROM persons ORDER BY age LIMIT 10 OFFSET 1) s",
        "ranking_subquery",
    ),
    ("SELECT district, count(*) AS n FROM persons GROUP BY district QUALIFY count(*) > 1", "qualify"),
    # class 3: a conversion that fails on data-dependent values
    ("SELECT district, count(*) AS n FROM persons WHERE street = 5 GROUP BY district", "type_mismatch"),
    # class 4: set operations comparing hidden unit counts
    (
        "SELECT district FROM persons GROUP BY district "
        "INTERSECT SELECT district FROM households GROUP BY district",
        "set_operation",
    ),
    (
        "SELECT district FROM persons GROUP BY district EXCEPT "
        "SELECT district FROM persons WHERE age = 99 GROUP BY district",
        "set_operation",
    ),
]


@pytest.mark.parametrize("sql, rule", REFUSED, ids=[r for _, r in REFUSED])
def test_refused_attack_creates_no_job_and_releases_nothing(demo, sql, rule):
    harness, tokens, pool = demo
    response = harness.client.post("/api/v1/jobs", json={"sql": sql}, headers=tokens["operator"])
    assert response.status_code == 422, response.text
    assert response.json()["rule"] == rule
    assert response.json()["hint"]
    assert harness.client.get("/api/v1/jobs", headers=tokens["operator"]).json() == []
    assert not pool.run_once("attack-worker")


def test_runtime_error_probes_succeed_whatever_the_hidden_condition(demo):
    """Before issue 10 each probe failed exactly when someone matched (overflow, division by zero, a bad
    cast); now every probe runs to the gate, so failure carries no bit."""
    harness, tokens, pool = demo
    probes = [
        "SELECT district, count(*) AS n FROM persons WHERE age * 100000000 > 0 GROUP BY district",
        "SELECT district, count(*) AS n FROM persons WHERE 100 // (age - 99) <> 12345 GROUP BY district",
        "SELECT district, count(*) AS n FROM persons WHERE 100 % (age - 30) >= 0 GROUP BY district",
        "SELECT district, count(*) AS n FROM persons WHERE CAST(street AS INTEGER) IS NULL GROUP BY district",
        "SELECT district, sum(income) * sum(income) * sum(income) * sum(income) * sum(income) AS p "
        "FROM persons GROUP BY district",
    ]
    for sql in probes:
        job, _ = _run(harness, tokens["operator"], pool, sql)
        # the engine ran to the end: released, or held by the disclosure auditor (the probes overlap),
        # never failed
        assert job["state"] in ("succeeded", "held_for_review"), (sql, job["state"])
        assert job["error_kind"] is None
        assert job["state"] == "held_for_review" or job["gate"]["rows_out"] > 0, (
            sql,
            job["state"],
            job["gate"],
        )


def test_conditional_aggregate_releases_only_rows_whose_cells_meet_k(demo):
    harness, tokens, pool = demo
    headers = tokens["operator"]
    # the attack: one person's income per district if a district has one 99-year-old
    _, attack = _run(
        harness,
        headers,
        pool,
        "SELECT district, sum(income) FILTER (WHERE age = 99) AS x FROM persons GROUP BY district",
    )
    _, cells = _run(
        harness, headers, pool, "SELECT district, count(*) AS n FROM persons WHERE age = 99 GROUP BY district"
    )
    big_cells = {row["district"] for row in cells}  # the districts whose 99-year-olds meet k
    assert {row["district"] for row in attack} <= big_cells
    # the legitimate use: a share by gender in every district, released where both cells meet k
    job, shares = _run(
        harness,
        headers,
        pool,
        "SELECT district, count(*) FILTER (WHERE gender = '女') AS women, count(*) AS n "
        "FROM persons GROUP BY district",
    )
    assert job["state"] == "succeeded"
    assert shares and all(10 <= row["women"] <= row["n"] - 10 for row in shares)
