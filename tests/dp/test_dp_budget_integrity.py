"""Spent epsilon is history (issue 21.1, issue 11.4, issue 10's ledger items), through the API.

Every DP setting of a grant is changed in turn (a new grant version each time, with a reason) while jobs spend
budget; the spent epsilon of the current period never goes down, a change of ``refresh`` applies from the next
period, each change is audited with its reason, and the per-query minimum, the per-period query cap and the
charge of a job that failed after the engine started hold. Jobs run in the real bubblewrap sandbox.
"""

import shutil

import pytest

from gateway import demo
from gateway.workers import WorkerPool
from policies import grants, ledger

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

OPERATOR_ORG = "渝数科技有限公司"
SQL = "SELECT district, count(*) AS n FROM persons GROUP BY district"
TERMS = {
    "purpose": "budget integrity test",
    "valid_from": "2024-06-01",
    "valid_to": "2026-06-01",
    "privacy_unit": "person_id",
    "columns": {
        "persons": {"person_id": "join", "district": "group", "gender": "group", "income": "aggregate"}
    },
}
DP = {
    "mode": "required",
    "epsilon_budget": 5.0,
    "default_epsilon": 0.5,
    "refresh": "none",
    "max_contributions": 1,
    "key_domains": {},
    "org_cap": 0.0,
    "min_epsilon": 0.01,
    "max_queries": 0,
}


@pytest.fixture
def setup(harness):
    ctx = harness.ctx
    demo._organizations_and_users(ctx)
    demo._publish_datasets(ctx, 300)
    demo._register_datasets(ctx)
    tokens = {role: harness.auth(token) for role, token in demo._tokens(ctx).items()}
    return harness, tokens, WorkerPool(ctx, 1)


def create(harness, tokens, **dp):
    body = {**TERMS, "organization_id": OPERATOR_ORG, "dataset": "population", "dp": {**DP, **dp}}
    response = harness.client.post("/api/v1/grants", json=body, headers=tokens["implementer"])
    assert response.status_code == 201, response.text
    return response.json()["id"]


def change(harness, tokens, grant_id, dp, reason):
    body = {**TERMS, "dp": dp, "reason": reason}
    response = harness.client.put(f"/api/v1/grants/{grant_id}", json=body, headers=tokens["implementer"])
    assert response.status_code == 200, response.text
    return response.json()


def spend(harness, tokens, pool, epsilon=0.5):
    response = harness.client.post(
        "/api/v1/jobs", json={"sql": SQL, "dp": {"epsilon": epsilon}}, headers=tokens["operator"]
    )
    assert response.status_code == 202, response.text
    while pool.run_once("budget-test"):
        pass
    job = harness.client.get(f"/api/v1/jobs/{response.json()['id']}", headers=tokens["operator"]).json()
    assert job["state"] == "succeeded", job


def budget(harness, tokens, grant_id):
    response = harness.client.get(f"/api/v1/grants/{grant_id}/budget", headers=tokens["operator"])
    assert response.status_code == 200, response.text
    return response.json()


# Every DP setting, changed in turn (refresh three times: none -> monthly -> yearly -> none).
CHANGES = [
    ("epsilon_budget", 2.0),
    ("epsilon_budget", 8.0),
    ("default_epsilon", 0.25),
    ("refresh", "monthly"),
    ("refresh", "yearly"),
    ("refresh", "none"),
    ("max_contributions", 3),
    ("key_domains", {"persons.gender": ["女", "男"]}),
    ("org_cap", 20.0),
    ("min_epsilon", 0.05),
    ("max_queries", 50),
    ("mode", "optional"),
    ("mode", "required"),
]


def test_no_setting_change_lowers_what_the_period_has_spent(setup, clock):
    """The defect: refresh none -> monthly took spent from 93.233 to 0. Spent is history (issue 21.1)."""
    harness, tokens, pool = setup
    grant_id = create(harness, tokens)
    spend(harness, tokens, pool)
    spend(harness, tokens, pool)
    dp, spent = dict(DP), budget(harness, tokens, grant_id)["spent"]
    assert spent == pytest.approx(1.0)
    for setting, value in CHANGES:
        dp[setting] = value
        change(harness, tokens, grant_id, dp, f"set {setting}")
        after = budget(harness, tokens, grant_id)
        assert after["spent"] >= spent - 1e-12, (setting, value, after)
        assert after["remaining"] == pytest.approx(max(dp["epsilon_budget"] - after["spent"], 0.0))
        spend(harness, tokens, pool)  # and it keeps counting under the new version
        spent = budget(harness, tokens, grant_id)["spent"]
        assert spent == pytest.approx(after["spent"] + 0.5), setting
    assert spent == pytest.approx(1.0 + 0.5 * len(CHANGES))
    assert budget(harness, tokens, grant_id)["period"] == "all"  # every change was inside January 2025


def test_a_refresh_change_applies_from_the_next_period(setup, clock):
    harness, tokens, pool = setup
    grant_id = create(harness, tokens, epsilon_budget=1.0)
    spend(harness, tokens, pool, 1.0)
    refused = harness.client.post("/api/v1/jobs", json={"sql": SQL}, headers=tokens["operator"])
    assert refused.status_code == 409
    change(harness, tokens, grant_id, {**DP, "epsilon_budget": 1.0, "refresh": "monthly"}, "monthly budget")
    state = budget(harness, tokens, grant_id)
    # The period running (refresh none) keeps what it spent and now ends at the new rule's next boundary.
    assert (state["period"], state["period_end"], state["spent"], state["remaining"]) == (
        "all",
        "2025-02-01",
        1.0,
        0.0,
    )
    assert (
        harness.client.post("/api/v1/jobs", json={"sql": SQL}, headers=tokens["operator"]).status_code == 409
    )
    clock.advance(days=30)  # 2025-02-01 Beijing time: the first monthly period
    state = budget(harness, tokens, grant_id)
    assert (state["period"], state["spent"], state["remaining"]) == ("2025-02", 0.0, 1.0)
    spend(harness, tokens, pool, 0.5)
    # monthly -> none in the middle of February: February keeps its bounds and its spend.
    change(harness, tokens, grant_id, {**DP, "epsilon_budget": 1.0, "refresh": "none"}, "no renewal")
    state = budget(harness, tokens, grant_id)
    assert (state["period"], state["period_end"], state["spent"]) == ("2025-02", "2025-03-01", 0.5)
    clock.advance(days=30)
    state = budget(harness, tokens, grant_id)
    assert (state["period"], state["period_start"], state["period_end"], state["spent"]) == (
        "2025-03~",
        "2025-03-01",
        None,
        0.0,
    )


def test_a_dp_change_is_audited_with_its_reason(setup):
    harness, tokens, _ = setup
    grant_id = create(harness, tokens)
    missing = harness.client.put(
        f"/api/v1/grants/{grant_id}",
        json={**TERMS, "dp": {**DP, "epsilon_budget": 9.0}},
        headers=tokens["implementer"],
    )
    assert missing.status_code == 422  # no reason, no change
    change(harness, tokens, grant_id, {**DP, "epsilon_budget": 9.0}, "annual review raised the budget")
    events = harness.client.get(
        "/api/v1/audit/events?kind=grant.changed", headers=tokens["supervisor"]
    ).json()
    assert len(events) == 1
    details = events[0]["details"]
    assert details["reason"] == "annual review raised the budget"
    assert details["dp_changes"] == {"epsilon_budget": [5.0, 9.0]}
    with harness.ctx.uow() as session:
        assert grants.load(session, grant_id).dp.epsilon_budget == 9.0


def test_minimum_epsilon_per_query_is_a_clear_4xx(setup):
    harness, tokens, _ = setup
    grant_id = create(harness, tokens)
    response = harness.client.post(
        "/api/v1/jobs", json={"sql": SQL, "dp": {"epsilon": 1e-6}}, headers=tokens["operator"]
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["rule"] == "dp_epsilon" and "at least 0.01" in error["message"]
    assert budget(harness, tokens, grant_id)["reserved"] == 0.0
    assert harness.client.get("/api/v1/jobs", headers=tokens["operator"]).json() == []
    # The minimum is the grant's setting; the grant cannot set it below the platform floor or its default.
    body = {
        **TERMS,
        "organization_id": OPERATOR_ORG,
        "dataset": "population",
        "dp": {**DP, "min_epsilon": 1e-4},
    }
    assert harness.client.post("/api/v1/grants", json=body, headers=tokens["implementer"]).status_code == 422
    body["dp"] = {**DP, "min_epsilon": 0.6}
    assert harness.client.post("/api/v1/grants", json=body, headers=tokens["implementer"]).status_code == 422


def test_query_cap_per_grant_per_period(setup, clock):
    harness, tokens, pool = setup
    grant_id = create(harness, tokens, max_queries=2, refresh="monthly")
    spend(harness, tokens, pool, 0.1)
    spend(harness, tokens, pool, 0.1)
    refused = harness.client.post(
        "/api/v1/jobs", json={"sql": SQL, "dp": {"epsilon": 0.1}}, headers=tokens["operator"]
    )
    assert refused.status_code == 409
    assert "allows 2 DP queries in budget period 2025-01" in refused.json()["error"]["message"]
    assert budget(harness, tokens, grant_id)["queries"] == 2
    clock.advance(days=30)
    spend(harness, tokens, pool, 0.1)  # a new period, a new allowance


def test_a_job_failed_after_the_engine_started_is_charged_not_refunded(setup):
    harness, tokens, _ = setup
    grant_id = create(harness, tokens, epsilon_budget=1.0)
    job = harness.client.post(
        "/api/v1/jobs", json={"sql": SQL, "dp": {"epsilon": 0.4}}, headers=tokens["operator"]
    ).json()
    with harness.ctx.uow() as session:
        charged = ledger.charge_failed(session, job["id"], harness.ctx.clock.now())
        assert [e.state for e in charged] == ["charged"]
        assert ledger.settle(session, job["id"], ledger.REFUNDED, harness.ctx.clock.now()) == []  # no refund
    state = budget(harness, tokens, grant_id)
    assert (state["spent"], state["reserved"], state["remaining"]) == (0.4, 0.0, pytest.approx(0.6))
