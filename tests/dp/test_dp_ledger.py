"""The epsilon ledger on SQLite and PostgreSQL: atomic reservations under 50 concurrent jobs, refunds,
refresh periods with an injected clock, the organization cap, and the same race through the jobs API."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from common.errors import BudgetExceeded
from gateway import demo
from policies import grants, ledger

OPERATOR_ORG = "渝数科技有限公司"


def make_grant(harness, tokens, *, budget=1.0, default=1.0, refresh="none", org_cap=0.0, mode="required"):
    body = {
        "organization_id": OPERATOR_ORG,
        "dataset": "population",
        "purpose": "ledger test",
        "valid_from": "2024-06-01",
        "valid_to": "2026-06-01",
        "privacy_unit": "person_id",
        "columns": {"persons": {"person_id": "join", "district": "group", "income": "aggregate"}},
        "dp": {
            "mode": mode,
            "epsilon_budget": budget,
            "default_epsilon": default,
            "refresh": refresh,
            "org_cap": org_cap,
        },
    }
    response = harness.client.post("/api/v1/grants", json=body, headers=tokens["implementer"])
    assert response.status_code == 201, response.text
    with harness.ctx.uow() as session:
        return grants.load(session, response.json()["id"])


@pytest.fixture
def setup(harness):
    ctx = harness.ctx
    demo._organizations_and_users(ctx)
    demo._publish_datasets(ctx, 300)
    demo._register_datasets(ctx)
    tokens = {role: harness.auth(token) for role, token in demo._tokens(ctx).items()}
    return harness, tokens


def reserve(ctx, grant, epsilon, job_id=None, hold=0.0):
    with ctx.uow() as session:
        entry = ledger.reserve(
            session, grant, epsilon, job_id=job_id, now=ctx.clock.now(), today=ctx.clock.today()
        )
        time.sleep(hold)  # keep the transaction open: widens the race window
        return entry


def state(ctx, grant):
    with ctx.uow() as session:
        return ledger.budget(session, grant, ctx.clock.today())


def test_fifty_concurrent_reservations_with_budget_for_one_exactly_one_succeeds(setup):
    harness, tokens = setup
    grant = make_grant(harness, tokens, budget=1.0)
    barrier = threading.Barrier(50)

    def attempt(i):
        barrier.wait()
        try:
            reserve(harness.ctx, grant, 1.0, job_id=f"job{i}", hold=0.005)
            return "ok"
        except BudgetExceeded as error:
            assert "has 0 of 1 left" in error.message
            return "refused"

    with ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 49
    after = state(harness.ctx, grant)
    assert (after.reserved, after.spent, after.remaining) == (1.0, 0.0, 0.0)
    with harness.ctx.uow() as session:
        assert sum(e.epsilon for e in ledger.entries(session, grant.id)) == 1.0  # never overspent


def test_fifty_concurrent_small_reservations_never_overspend(setup):
    harness, tokens = setup
    grant = make_grant(harness, tokens, budget=1.0)

    def attempt(_):
        try:
            reserve(harness.ctx, grant, 0.3)
            return 1
        except BudgetExceeded:
            return 0

    with ThreadPoolExecutor(50) as pool:
        assert sum(pool.map(attempt, range(50))) == 3
    assert state(harness.ctx, grant).remaining == pytest.approx(0.1)


def test_commit_and_refund(setup):
    harness, tokens = setup
    grant = make_grant(harness, tokens, budget=1.0)
    reserve(harness.ctx, grant, 0.4, job_id="a")
    reserve(harness.ctx, grant, 0.4, job_id="b")
    with harness.ctx.uow() as session:
        assert [e.state for e in ledger.settle(session, "a", ledger.COMMITTED, harness.ctx.clock.now())] == [
            "committed"
        ]
        assert [e.state for e in ledger.settle(session, "b", ledger.REFUNDED, harness.ctx.clock.now())] == [
            "refunded"
        ]
        assert ledger.settle(session, "b", ledger.COMMITTED, harness.ctx.clock.now()) == []  # settled once
    after = state(harness.ctx, grant)
    assert (after.spent, after.reserved, after.remaining) == (0.4, 0.0, pytest.approx(0.6))


def test_monthly_refresh_with_an_injected_clock(setup, clock):
    harness, tokens = setup
    grant = make_grant(harness, tokens, budget=1.0, refresh="monthly")
    reserve(harness.ctx, grant, 1.0)
    with pytest.raises(BudgetExceeded, match="period 2025-01.*renews on 2025-02-01"):
        reserve(harness.ctx, grant, 0.1)
    clock.advance(days=30)  # 2025-02-01 Beijing time
    assert state(harness.ctx, grant).period.key == "2025-02" and state(harness.ctx, grant).remaining == 1.0
    reserve(harness.ctx, grant, 1.0)
    with pytest.raises(BudgetExceeded):
        reserve(harness.ctx, grant, 0.1)


def test_yearly_and_no_refresh(setup, clock):
    harness, tokens = setup
    yearly = make_grant(harness, tokens, budget=1.0, refresh="yearly")
    reserve(harness.ctx, yearly, 1.0)
    clock.advance(days=200)
    with pytest.raises(BudgetExceeded, match="period 2025"):
        reserve(harness.ctx, yearly, 0.5)
    clock.advance(days=200)  # 2026
    reserve(harness.ctx, yearly, 1.0)
    never = make_grant(harness, tokens, budget=1.0, refresh="none")
    reserve(harness.ctx, never, 1.0)
    clock.advance(days=400)
    with pytest.raises(BudgetExceeded, match="period all"):
        reserve(harness.ctx, never, 0.1)


def test_organization_cap_across_grants_on_the_same_dataset(setup):
    harness, tokens = setup
    first = make_grant(harness, tokens, budget=1.0, org_cap=1.5)
    second = make_grant(harness, tokens, budget=1.0, org_cap=1.5)
    reserve(harness.ctx, first, 1.0)
    with pytest.raises(BudgetExceeded, match="your organization has 0.5 of its cap 1.5"):
        reserve(harness.ctx, second, 1.0)
    reserve(harness.ctx, second, 0.5)
    assert state(harness.ctx, second).org_used == 1.5


def test_fifty_concurrent_dp_jobs_through_the_api_exactly_one_is_accepted(setup):
    harness, tokens = setup
    harness.ctx.settings.sandbox.per_org_queue_cap = 100
    grant = make_grant(harness, tokens, budget=1.0, default=1.0)
    sql = "SELECT district, count(*) AS n FROM persons GROUP BY district"
    barrier = threading.Barrier(50)

    def post(_):
        barrier.wait()
        return harness.client.post("/api/v1/jobs", json={"sql": sql}, headers=tokens["operator"])

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(post, range(50)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] + [409] * 49, codes
    assert all(r.json()["code"] == "budget_exceeded" for r in responses if r.status_code == 409)
    assert len(harness.client.get("/api/v1/jobs", headers=tokens["operator"]).json()) == 1  # refused: no job
    budget = harness.client.get(f"/api/v1/grants/{grant.id}/budget", headers=tokens["operator"]).json()
    assert (budget["reserved"], budget["remaining"], budget["queries_left_at_default"]) == (1.0, 0.0, 0)


def test_a_job_failed_by_the_stale_sweep_is_refunded_on_the_next_look(setup, clock):
    harness, tokens = setup
    from gateway.workers import WorkerPool
    from sandbox import jobs as job_lifecycle

    grant = make_grant(harness, tokens, budget=1.0, default=1.0)
    job = harness.client.post(
        "/api/v1/jobs", json={"sql": "SELECT count(*) AS n FROM persons"}, headers=tokens["operator"]
    ).json()
    with harness.ctx.uow() as session:
        job_lifecycle.claim(session, "dead-worker", clock.now(), 2)
    clock.advance(seconds=harness.ctx.settings.sandbox.wall_seconds + 61)
    assert WorkerPool(harness.ctx, 1).sweep() == [job["id"]]
    budget = harness.client.get(f"/api/v1/grants/{grant.id}/budget", headers=tokens["operator"]).json()
    assert (budget["reserved"], budget["remaining"]) == (0.0, 1.0)
