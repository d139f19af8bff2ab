"""Issue 12 defect 3 (A16, A17): agreements are the source of grants. A grant the implementer creates
directly, without plan, agreement and filing, is recorded as an audited exception that supervisors list;
before, it left no trace beyond "grant.created"."""

from gateway.demo import seed

TERMS = {
    "dataset": "population",
    "purpose": "就业结构分析",
    "valid_from": "2025-01-01",
    "valid_to": "2026-12-31",
    "privacy_unit": "person_id",
    "columns": {"persons": {"person_id": "join", "district": "group"}},
}
EXCEPTIONS = "/api/v1/audit/events?kind=grant.direct_exception"


def test_a17_a_direct_grant_is_an_exception_the_supervisor_lists(harness):
    tokens = {role: harness.auth(token) for role, token in seed(harness.ctx, scale=1000).items()}
    supervisor = harness.auth(harness.user("supervisor", username="authority"))
    assert (
        harness.client.get(EXCEPTIONS, headers=supervisor).json() == []
    )  # the demo's grants come from agreements
    org = harness.client.get("/api/v1/me", headers=tokens["operator"]).json()["organization_id"]
    r = harness.client.post(
        "/api/v1/grants", json={**TERMS, "organization_id": org}, headers=tokens["implementer"]
    )
    assert r.status_code == 201, r.text
    [event] = harness.client.get(EXCEPTIONS, headers=supervisor).json()
    assert event["subject_id"] == r.json()["id"] and event["details"]["dataset"] == "population"
    assert harness.client.get(EXCEPTIONS, headers=tokens["operator"]).status_code == 403
