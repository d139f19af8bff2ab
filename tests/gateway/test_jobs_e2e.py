"""Jobs end to end on the demo: checked, run in the real bubblewrap sandbox, gated, audited.

The demo seeds organizations, synthetic data (small scale here), registration and the operator's grants
through its operating agreement; jobs then run through a real worker pool in the real process backend.
"""

import shutil
import time

import pytest

from gateway.demo import seed
from gateway.workers import WorkerPool
from sandbox import jobs as job_lifecycle

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

DISTRICT_AVG = (
    "SELECT district, count(*) AS persons, avg(income) AS avg_income FROM persons GROUP BY district"
)
VALID_ID = "11010519491231002X"
# The demo grades income as personal information at 重要: the population grant runs under DP (A2, A35).
# Enterprise registrations are public company information: that grant is k-only, so the gate's k threshold
# and PII scan are exercised there.
PLANTED = f"SELECT '{VALID_ID}' AS note, count(*) AS n FROM enterprises"


@pytest.fixture
def demo(harness):
    tokens = seed(harness.ctx, scale=3000)
    pool = WorkerPool(harness.ctx, 1)
    return harness, {role: harness.auth(token) for role, token in tokens.items()}, pool


def submit(harness, headers, sql, **params):
    return harness.client.post("/api/v1/jobs", json={"sql": sql}, headers=headers, params=params)


def run(harness, headers, pool, sql) -> dict:
    response = submit(harness, headers, sql)
    assert response.status_code == 202, response.text
    while pool.run_once("test-worker"):
        pass
    return harness.client.get(f"/api/v1/jobs/{response.json()['id']}", headers=headers).json()


def test_a2_district_query_returns_all_38_districts_as_dp_values_with_intervals(demo):
    harness, tokens, pool = demo
    job = run(harness, tokens["operator"], pool, DISTRICT_AVG)
    assert job["state"] == "succeeded", job
    assert job["gate"]["rows_out"] == 38
    result = harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=tokens["operator"]).json()
    assert len(result["rows"]) == 38
    assert [c for c in result["columns"] if not c.endswith(("_ci_low", "_ci_high"))] == [
        "district",
        "persons",
        "avg_income",
    ]  # hidden measurements never leave
    assert {"persons_ci_low", "persons_ci_high", "avg_income_ci_low", "avg_income_ci_high"} <= set(
        result["columns"]
    )
    # Noisy counts: close to the 3000 persons in total, but not exact (the noise is Laplace at epsilon 0.25).
    assert abs(sum(row["persons"] for row in result["rows"]) - 3000) < 300
    assert all(r["persons_ci_low"] <= r["persons"] <= r["persons_ci_high"] for r in result["rows"])
    csv = harness.client.get(f"/api/v1/jobs/{job['id']}/result?format=csv", headers=tokens["operator"])
    assert csv.status_code == 200 and csv.text.count("\r\n") == 39


def test_small_groups_are_suppressed_and_the_report_says_so(demo):
    harness, tokens, pool = demo
    job = run(
        harness,
        tokens["operator"],
        pool,
        "SELECT industry, count(*) AS n FROM enterprises GROUP BY industry",
    )
    assert job["state"] == "succeeded"
    gate = job["gate"]
    assert gate["decision"] == "released" and "rows_suppressed" not in gate  # no membership oracle
    assert any("k=10" in reason for reason in gate["reasons"])
    rows = harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=tokens["operator"]).json()["rows"]
    assert len(rows) == gate["rows_out"] and all(row["n"] >= 10 for row in rows)


def test_a_planted_id_number_is_held_for_review_then_released(demo):
    harness, tokens, pool = demo
    job = run(harness, tokens["operator"], pool, PLANTED)
    assert job["state"] == "held_for_review" and job["gate"]["pii_entities"] == {"CN_RESIDENT_ID": 1}
    assert (
        harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=tokens["operator"]).status_code == 409
    )
    held = harness.client.get("/api/v1/reviews", headers=tokens["supervisor"]).json()
    assert [j["id"] for j in held] == [job["id"]]
    assert (
        harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=tokens["supervisor"]).status_code
        == 409
    )  # not released: no data
    released = harness.client.post(
        f"/api/v1/reviews/{job['id']}/release",
        json={"reason": "synthetic test ID"},
        headers=tokens["supervisor"],
    )
    assert released.status_code == 200 and released.json()["state"] == "succeeded"
    assert (
        len(harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=tokens["operator"]).json()["rows"])
        == 1
    )
    again = harness.client.post(
        f"/api/v1/reviews/{job['id']}/release", json={"reason": "twice"}, headers=tokens["supervisor"]
    )
    assert again.status_code == 409 and again.json()["error"]["current_state"] == "succeeded"


def test_rejected_review_leaves_a_failed_job_and_no_result(demo):
    harness, tokens, pool = demo
    job = run(
        harness,
        tokens["operator"],
        pool,
        PLANTED,
    )
    rejected = harness.client.post(
        f"/api/v1/reviews/{job['id']}/reject", json={"reason": "identifier"}, headers=tokens["supervisor"]
    )
    assert rejected.json()["state"] == "failed" and "identifier" in rejected.json()["error_message"]
    assert not list((harness.ctx.settings.results_dir / "held").glob("*.parquet"))


def test_policy_violation_is_422_and_no_job_is_created(demo):
    harness, tokens, pool = demo
    response = submit(harness, tokens["operator"], "SELECT id_card, count(*) FROM persons GROUP BY id_card")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["rule"] == "deny_column" and error["column"] == "population.persons.id_card"
    assert harness.client.get("/api/v1/jobs", headers=tokens["operator"]).json() == []


def test_only_the_submitting_organization_sees_a_job(demo):
    harness, tokens, pool = demo
    job = run(harness, tokens["operator"], pool, DISTRICT_AVG)
    stranger = harness.auth(harness.user("operator"))
    assert harness.client.get(f"/api/v1/jobs/{job['id']}", headers=stranger).status_code == 404
    assert harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=stranger).status_code == 404
    assert harness.client.get(f"/api/v1/jobs/{job['id']}", headers=tokens["supervisor"]).status_code == 200
    assert (
        harness.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=tokens["supervisor"]).status_code
        == 403
    )
    assert harness.client.get(f"/api/v1/jobs/{job['id']}", headers=tokens["source"]).status_code == 403
    assert harness.client.get(f"/api/v1/jobs/{job['id']}").status_code == 401


def test_queued_jobs_survive_a_restart(demo, settings, clock):
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    harness, tokens, _ = demo
    job_id = submit(harness, tokens["operator"], DISTRICT_AVG).json()["id"]
    restarted = create_app(settings, clock=clock, start_workers=False)
    with TestClient(restarted) as client:
        pool = WorkerPool(restarted.state.ctx, 1)
        assert pool.run_once("after-restart")
        assert client.get(f"/api/v1/jobs/{job_id}", headers=tokens["operator"]).json()["state"] == "succeeded"


def test_a_job_whose_worker_died_is_failed_never_released(demo, clock):
    harness, tokens, pool = demo
    job_id = submit(harness, tokens["operator"], DISTRICT_AVG).json()["id"]
    with harness.ctx.uow() as session:  # a worker claims it, then vanishes
        job_lifecycle.claim(session, "dead-worker", clock.now(), 2)
    clock.advance(seconds=harness.ctx.settings.sandbox.wall_seconds + 61)
    assert pool.sweep() == [job_id]
    job = harness.client.get(f"/api/v1/jobs/{job_id}", headers=tokens["operator"]).json()
    assert job["state"] == "failed" and job["error_kind"] == "worker_lost"
    assert job["result_sha256"] is None
    assert harness.client.get(f"/api/v1/jobs/{job_id}/result", headers=tokens["operator"]).status_code == 409
    events = harness.client.get(f"/api/v1/audit/events?job={job_id}", headers=tokens["supervisor"]).json()
    assert [e["kind"] for e in events] == ["job.submitted", "job.failed"]


def test_cancel_a_queued_job(demo):
    harness, tokens, pool = demo
    job_id = submit(harness, tokens["operator"], DISTRICT_AVG).json()["id"]
    cancelled = harness.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=tokens["operator"])
    assert cancelled.json()["state"] == "cancelled"
    assert not pool.run_once("w")  # nothing left to run
    again = harness.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=tokens["operator"])
    assert again.status_code == 409


def test_queue_cap_is_a_clear_429(demo):
    harness, tokens, _ = demo
    harness.ctx.settings.sandbox.per_org_queue_cap = 2
    assert submit(harness, tokens["operator"], DISTRICT_AVG).status_code == 202
    assert submit(harness, tokens["operator"], DISTRICT_AVG).status_code == 202
    third = submit(harness, tokens["operator"], DISTRICT_AVG)
    assert third.status_code == 429 and "limit 2" in third.json()["error"]["message"]


def test_per_organization_concurrency_limit(demo, clock):
    harness, tokens, _ = demo
    for _ in range(3):
        submit(harness, tokens["operator"], DISTRICT_AVG)
    with harness.ctx.uow() as session:
        claimed = [job_lifecycle.claim(session, f"w{i}", clock.now(), 2) for i in range(3)]
    assert [c is not None for c in claimed] == [True, True, False]


def test_every_stage_is_audited_and_the_chain_verifies(demo):
    harness, tokens, pool = demo
    job = run(harness, tokens["operator"], pool, DISTRICT_AVG)
    harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=tokens["operator"])
    events = harness.client.get(f"/api/v1/audit/events?job={job['id']}", headers=tokens["supervisor"]).json()
    assert [e["kind"] for e in events] == ["job.submitted", "gate.decision", "job.result.downloaded"]
    assert harness.client.get("/api/v1/audit/verify", headers=tokens["supervisor"]).json()["ok"] is True
    assert harness.client.get("/api/v1/audit/verify", headers=tokens["operator"]).status_code == 403


def test_wait_returns_the_finished_job(demo):
    harness, tokens, _ = demo
    pool = WorkerPool(harness.ctx, 1)
    pool.start()
    try:
        started = time.monotonic()
        response = submit(harness, tokens["operator"], DISTRICT_AVG, wait=30)
        assert response.status_code == 200 and response.json()["state"] == "succeeded"
        assert time.monotonic() - started < 30
    finally:
        pool.stop()


def test_dry_run_shows_columns_per_clause_and_the_rewritten_sql(demo):
    harness, tokens, _ = demo
    allowed = harness.client.post(
        "/api/v1/queries/check", json={"sql": DISTRICT_AVG + " -- hi"}, headers=tokens["operator"]
    ).json()
    assert allowed["verdict"] == "allowed"
    rewritten = allowed["rewritten_sql"].replace('"', "")
    assert "population.persons" in rewritten and "--" not in rewritten, rewritten
    assert "population.persons.income" in allowed["columns_by_clause"]["select"]
    assert allowed["dp"]["epsilon"] == 0.5  # the grant's default: persons' income leaves only under DP
    denied = harness.client.post(
        "/api/v1/queries/check", json={"sql": "SELECT income FROM persons"}, headers=tokens["operator"]
    ).json()
    assert denied["verdict"] == "denied" and denied["violation"]["column"] == "population.persons.income"
    assert "sum" in denied["violation"]["hint"] or "avg" in denied["violation"]["hint"]
    assert harness.client.get("/api/v1/jobs", headers=tokens["operator"]).json() == []
