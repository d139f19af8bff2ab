"""Supervisor risk view (issue 11): per-organization and per-analyst signals, audited alerts, and the
suspension of an analyst's submissions pending review (jobs and dry runs get a 403 naming it)."""

import shutil

import pytest

from gateway.demo import seed
from gateway.workers import WorkerPool

TRACKER = "SELECT count(*) AS n, avg(income) AS a FROM persons WHERE street = '{s}' OR district = '{d}'"
COUNT = "SELECT district, count(*) AS n FROM enterprises GROUP BY district"


@pytest.fixture
def demo(harness):
    tokens = {role: harness.auth(token) for role, token in seed(harness.ctx, scale=600).items()}
    me = harness.client.get("/api/v1/me", headers=tokens["operator"]).json()
    return harness, tokens, me


def _events(harness, tokens, kind):
    return harness.client.get(f"/api/v1/audit/events?kind={kind}", headers=tokens["supervisor"]).json()


def test_near_duplicate_queries_raise_one_audited_alert_visible_per_org_and_analyst(demo):
    harness, tokens, me = demo
    harness.ctx.settings.risk.near_duplicates = 3
    for i in range(4):  # the same shape with other literals: a tracker family
        sql = TRACKER.format(s=f"街道{i}", d=f"区{i}")
        assert (
            harness.client.post("/api/v1/jobs", json={"sql": sql}, headers=tokens["operator"]).status_code
            == 202
        )
    org = harness.client.get(
        f"/api/v1/risk/organizations/{me['organization_id']}", headers=tokens["supervisor"]
    )
    assert org.status_code == 200, org.text
    body = org.json()
    assert "near_duplicates" in body["alerting"] and body["jobs"] == 4
    [analyst] = body["analysts"]
    assert analyst["subject_id"] == me["user_id"] and "near_duplicates" in analyst["alerting"]
    burn = next(s for s in analyst["signals"] if s["signal"] == "dp_burn")
    assert burn["value"] == pytest.approx(2.0)  # four DP queries reserved 0.5 each
    alerts = harness.client.get("/api/v1/risk/alerts", headers=tokens["supervisor"]).json()
    raised = [(a["subject_type"], a["signal"]) for a in alerts]
    assert (
        raised.count(("analyst", "near_duplicates")) == 1
        and raised.count(("organization", "near_duplicates")) == 1
    )
    # Looking again raises nothing new (one alert per subject and signal per window).
    harness.client.get(f"/api/v1/risk/organizations/{me['organization_id']}", headers=tokens["supervisor"])
    assert len(harness.client.get("/api/v1/risk/alerts", headers=tokens["supervisor"]).json()) == len(alerts)
    audited = _events(harness, tokens, "risk.alert.raised")
    assert {e["details"]["signal"] for e in audited} >= {"near_duplicates"} and len(audited) == len(alerts)
    for role in ("operator", "implementer", "source"):
        assert harness.client.get("/api/v1/risk/alerts", headers=tokens[role]).status_code == 403


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_held_result_counts_as_an_auditor_hit(demo):
    harness, tokens, me = demo
    planted = "SELECT '11010519491231002X' AS note, count(*) AS n FROM enterprises"
    job = harness.client.post("/api/v1/jobs", json={"sql": planted}, headers=tokens["operator"]).json()
    assert WorkerPool(harness.ctx, 1).run_once("w")
    assert harness.client.get(f"/api/v1/jobs/{job['id']}", headers=tokens["operator"]).json()["state"] == (
        "held_for_review"
    )
    view = harness.client.get(f"/api/v1/risk/analysts/{me['user_id']}", headers=tokens["supervisor"]).json()
    hits = next(s for s in view["signals"] if s["signal"] == "auditor_hits")
    assert hits["value"] == 1 and hits["crossed"] and "auditor_hits" in view["alerting"]


def test_a_suspended_analyst_cannot_submit_or_dry_run_until_lifted_with_a_reason(demo):
    harness, tokens, me = demo
    url = f"/api/v1/risk/analysts/{me['user_id']}"
    assert (
        harness.client.post(f"{url}/suspend", json={"reason": "x"}, headers=tokens["supervisor"]).status_code
        == 422
    )
    assert (
        harness.client.post(
            f"{url}/suspend", json={"reason": "核查重复查询"}, headers=tokens["implementer"]
        ).status_code
        == 403
    )
    made = harness.client.post(
        f"{url}/suspend", json={"reason": "核查重复查询"}, headers=tokens["supervisor"]
    )
    assert made.status_code == 201 and made.json()["state"] == "active"
    again = harness.client.post(
        f"{url}/suspend", json={"reason": "再次暂停该分析师"}, headers=tokens["supervisor"]
    )
    assert again.status_code == 409
    job = harness.client.post("/api/v1/jobs", json={"sql": COUNT}, headers=tokens["operator"])
    assert job.status_code == 403 and "suspended" in job.json()["error"]["message"]
    assert "核查重复查询" in job.json()["error"]["message"]
    dry = harness.client.post("/api/v1/queries/check", json={"sql": COUNT}, headers=tokens["operator"])
    assert dry.status_code == 403 and "suspended" in dry.json()["error"]["message"]
    assert harness.client.get("/api/v1/jobs", headers=tokens["operator"]).json() == []  # nothing was queued
    assert harness.client.get(url, headers=tokens["supervisor"]).json()["suspended"] is True
    lifted = harness.client.post(
        f"{url}/lift", json={"reason": "已核实为正常业务"}, headers=tokens["supervisor"]
    )
    assert lifted.status_code == 200 and lifted.json()["state"] == "lifted"
    assert (
        harness.client.post(
            f"{url}/lift", json={"reason": "已核实为正常业务"}, headers=tokens["supervisor"]
        ).status_code
        == 404
    )
    assert (
        harness.client.post("/api/v1/jobs", json={"sql": COUNT}, headers=tokens["operator"]).status_code
        == 202
    )
    kinds = [e["kind"] for e in _events(harness, tokens, "risk.analyst.*")]
    assert kinds == ["risk.analyst.suspended", "risk.analyst.suspension_lifted"]
    history = harness.client.get("/api/v1/risk/suspensions", headers=tokens["supervisor"]).json()
    assert [(s["state"], s["reason"], s["lift_reason"]) for s in history] == [
        ("lifted", "核查重复查询", "已核实为正常业务")
    ]
