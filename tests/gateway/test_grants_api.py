"""Grants over HTTP: the implementer creates, changes (new version), suspends, resumes and revokes; an
operator sees only its own; terms are validated against the catalog and the 3-year window (A16)."""

import shutil

import pytest

from gateway.demo import seed
from gateway.workers import WorkerPool

TERMS = {
    "dataset": "population",
    "purpose": "就业结构分析",
    "valid_from": "2025-01-01",
    "valid_to": "2026-12-31",
    "privacy_unit": "person_id",
    "columns": {"persons": {"person_id": "join", "district": "group", "income": "aggregate"}},
    "dp": {"mode": "required", "epsilon_budget": 5},  # income is personal at 重要: DP by default (A2, A35)
}
SQL = "SELECT district, count(*) AS n, avg(income) AS avg_income FROM persons GROUP BY district"


@pytest.fixture
def world(harness):
    tokens = {role: harness.auth(token) for role, token in seed(harness.ctx, scale=1000).items()}
    operator2 = harness.auth(harness.user("operator", username="op2", org="巴渝数据服务有限公司"))
    org = harness.client.get("/api/v1/me", headers=operator2).json()["organization_id"]
    return harness, tokens, operator2, org


def create(harness, tokens, org, **overrides):
    return harness.client.post(
        "/api/v1/grants", json={**TERMS, "organization_id": org, **overrides}, headers=tokens["implementer"]
    )


def test_only_the_implementer_creates_grants(world):
    harness, tokens, operator2, org = world
    assert harness.client.post("/api/v1/grants", json={**TERMS, "organization_id": org}).status_code == 401
    for role in ("operator", "source", "supervisor", "registrar"):
        response = harness.client.post(
            "/api/v1/grants", json={**TERMS, "organization_id": org}, headers=tokens[role]
        )
        assert response.status_code == 403, role
    assert create(harness, tokens, org).status_code == 201


def test_an_operator_sees_only_its_own_grants(world):
    harness, tokens, operator2, org = world
    grant = create(harness, tokens, org).json()
    mine = harness.client.get("/api/v1/grants", headers=operator2).json()
    assert [g["id"] for g in mine] == [grant["id"]]
    assert grant["id"] not in [
        g["id"] for g in harness.client.get("/api/v1/grants", headers=tokens["operator"]).json()
    ]
    assert harness.client.get(f"/api/v1/grants/{grant['id']}", headers=tokens["operator"]).status_code == 403
    assert len(harness.client.get("/api/v1/grants", headers=tokens["supervisor"]).json()) == 4


def test_a_change_writes_a_new_version_and_keeps_the_old(world):
    harness, tokens, _, org = world
    grant = create(harness, tokens, org).json()
    changed = harness.client.put(
        f"/api/v1/grants/{grant['id']}",
        headers=tokens["implementer"],
        json={**{k: v for k, v in TERMS.items() if k != "dataset"}, "k": 20, "reason": "raise the threshold"},
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2 and changed.json()["k"] == 20
    versions = harness.client.get(
        f"/api/v1/grants/{grant['id']}/versions", headers=tokens["implementer"]
    ).json()
    assert [(v["version"], v["k"]) for v in versions] == [(1, 10), (2, 20)]


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"valid_to": "2028-01-02"}, "valid_to"),  # A16: longer than 3 years from 2025-01-01
        ({"valid_to": "2024-12-31"}, "valid_to"),
        ({"columns": {"persons": {"salary": "aggregate"}}}, "columns"),
        ({"columns": {"persons": {"income": "sometimes"}}}, "columns"),
        (
            {"columns": {"persons": {"district": "group"}}},
            "privacy_unit",
        ),  # unit denied: the gate could not count
        ({"columns": {"nope": {"person_id": "join"}}}, "columns"),
        ({"row_filters": {"persons": "income > (SELECT 1)"}}, "row_filters"),
        ({"k": 1}, "k"),
    ],
)
def test_a16_invalid_terms_are_refused_naming_the_field(world, overrides, field):
    harness, tokens, _, org = world
    response = create(harness, tokens, org, **overrides)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert harness.client.get("/api/v1/grants", headers=tokens["supervisor"]).json().__len__() == 3


def test_a16_three_years_to_the_day_is_accepted(world):
    harness, tokens, _, org = world
    assert create(harness, tokens, org, valid_to="2028-01-01").status_code == 201


def test_grants_are_given_to_operators_only(world):
    harness, tokens, _, _ = world
    source_org = harness.client.get("/api/v1/me", headers=tokens["source"]).json()["organization_id"]
    assert create(harness, tokens, source_org).status_code == 403


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_suspended_grant_refuses_jobs_with_its_reason_and_revocation_is_final(world):
    harness, tokens, operator2, org = world
    grant = create(harness, tokens, org).json()
    suspended = harness.client.post(
        f"/api/v1/grants/{grant['id']}/suspend", json={"reason": "安全整改"}, headers=tokens["implementer"]
    )
    assert suspended.json()["status"] == "suspended"
    refused = harness.client.post("/api/v1/jobs", json={"sql": SQL}, headers=operator2)
    assert refused.status_code == 403 and "suspended: 安全整改" in refused.json()["error"]["message"]
    harness.client.post(
        f"/api/v1/grants/{grant['id']}/resume", json={"reason": "fixed"}, headers=tokens["implementer"]
    )
    job = harness.client.post("/api/v1/jobs", json={"sql": SQL}, headers=operator2).json()
    assert WorkerPool(harness.ctx, 1).run_once("w")
    assert harness.client.get(f"/api/v1/jobs/{job['id']}", headers=operator2).json()["state"] == "succeeded"
    harness.client.post(
        f"/api/v1/grants/{grant['id']}/revoke", json={"reason": "协议终止"}, headers=tokens["implementer"]
    )
    again = harness.client.post(
        f"/api/v1/grants/{grant['id']}/resume", json={"reason": "undo"}, headers=tokens["implementer"]
    )
    assert again.status_code == 409 and again.json()["error"]["current_state"] == "revoked"
