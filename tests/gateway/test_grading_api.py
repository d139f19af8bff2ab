"""Grade-driven protection (A2, A35): a column's level and personal-information flag decide what a grant may
allow — at grant creation, in agreement scopes and in the grants handed to the checker (fail closed)."""

import pytest

from gateway.demo import seed

BASE = {
    "dataset": "population",
    "purpose": "收入结构分析",
    "valid_from": "2025-01-01",
    "valid_to": "2026-12-31",
    "privacy_unit": "person_id",
    "columns": {"persons": {"person_id": "join", "district": "group", "income": "aggregate"}},
}
WHY = "统计局委托的季度收入通报需要精确到元的区县汇总，DP 噪声不被委托方接受"
AVG = "SELECT district, count(*) AS n, avg(income) AS avg_income FROM persons GROUP BY district"


@pytest.fixture
def world(harness):
    tokens = {role: harness.auth(token) for role, token in seed(harness.ctx, scale=600).items()}
    operator2 = harness.auth(harness.user("operator", username="op2", org="巴渝数据服务有限公司"))
    org = harness.client.get("/api/v1/me", headers=operator2).json()["organization_id"]
    return harness, tokens, operator2, org


def _create(harness, tokens, org, **overrides):
    body = {**BASE, "organization_id": org, **overrides}
    return harness.client.post("/api/v1/grants", json=body, headers=tokens["implementer"])


def _check(harness, headers, sql=AVG):
    response = harness.client.post("/api/v1/queries/check", json={"sql": sql}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _count(harness, tokens):
    return len(harness.client.get("/api/v1/grants", headers=tokens["supervisor"]).json())


def _regrade(harness, tokens, column, level):
    url = "/api/v1/catalog/datasets/population/tables/persons/columns"
    response = harness.client.put(url, json=[{"name": column, "level": level}], headers=tokens["source"])
    assert response.status_code == 200, response.text


def test_a2_a35_personal_income_aggregated_without_dp_is_refused_and_nothing_is_kept(world):
    harness, tokens, _, org = world
    before = _count(harness, tokens)
    for dp in ({"mode": "off"}, {"mode": "optional", "epsilon_budget": 5}):
        refused = _create(harness, tokens, org, dp=dp)
        assert refused.status_code == 422, refused.text
        error = refused.json()
        assert error["field"] == "columns" and "persons.income" in error["detail"]
        assert "needs DP" in error["detail"] and "exception" in error["hint"]
    assert _count(harness, tokens) == before
    made = _create(harness, tokens, org, dp={"mode": "required", "epsilon_budget": 5})
    assert made.status_code == 201, made.text
    view = {(p["table"], p["column"]): p for p in made.json()["protection"]}
    assert view[("persons", "income")]["protection"] == "dp" and view[("persons", "income")]["needs_dp"]
    assert view[("persons", "id_card")]["protection"] == "denied"  # unlisted: denied
    assert view[("persons", "person_id")]["protection"] == "key_only"


def test_a2_a35_k_only_exception_needs_a_written_justification_and_is_audited_and_listed(world):
    harness, tokens, operator2, org = world
    short = _create(harness, tokens, org, k_only_exceptions={"persons.income": "ok"})
    assert short.status_code == 422 and "justification" in short.json()["detail"]
    stray = _create(harness, tokens, org, k_only_exceptions={"persons.district": WHY})
    assert stray.status_code == 422 and "needs no k-only exception" in stray.json()["detail"]
    made = _create(harness, tokens, org, k_only_exceptions={"persons.income": WHY})
    assert made.status_code == 201, made.text
    grant = made.json()
    income = next(p for p in grant["protection"] if p["column"] == "income")
    assert income["protection"] == "k_only_exception" and income["justification"] == WHY
    listed = harness.client.get("/api/v1/grants/exceptions", headers=tokens["supervisor"])
    assert [(e["grant_id"], e["table"], e["column"], e["justification"]) for e in listed.json()] == [
        (grant["id"], "persons", "income", WHY)
    ]
    assert harness.client.get("/api/v1/grants/exceptions", headers=operator2).status_code == 403
    events = harness.client.get(
        "/api/v1/audit/events?kind=grant.exception.recorded", headers=tokens["supervisor"]
    ).json()
    assert any(e["subject_id"] == grant["id"] and e["details"]["column"] == "persons.income" for e in events)
    # The exception makes the k-only query possible: the dry run allows it without DP.
    assert _check(harness, operator2)["verdict"] == "allowed"


def test_a2_plain_on_a_pii_tagged_column_is_refused_even_under_dp(world):
    harness, tokens, _, org = world
    columns = {"persons": {**BASE["columns"]["persons"], "phone": "plain"}}
    refused = _create(harness, tokens, org, columns=columns, dp={"mode": "required", "epsilon_budget": 5})
    assert refused.status_code == 422 and "PII-tagged" in refused.json()["detail"]


def test_a35_core_columns_are_never_row_level_nor_k_only_and_a_regraded_grant_fails_closed(world):
    harness, tokens, operator2, org = world
    made = _create(harness, tokens, org, k_only_exceptions={"persons.income": WHY})
    assert made.status_code == 201
    assert _check(harness, operator2)["verdict"] == "allowed"
    _regrade(harness, tokens, "income", "core")
    # The stored grant now violates the grades: the checker sees income denied (fail closed).
    refused = _check(harness, operator2)
    assert refused["verdict"] == "denied" and "income" in refused["violation"]["message"], refused
    shown = harness.client.get(f"/api/v1/grants/{made.json()['id']}", headers=tokens["supervisor"]).json()
    assert next(p for p in shown["protection"] if p["column"] == "income")["protection"] == "denied"
    again = _create(harness, tokens, org, k_only_exceptions={"persons.income": WHY})
    assert again.status_code == 422 and "core" in again.json()["detail"]
    masked = {"persons": {**BASE["columns"]["persons"], "income": "masked:null"}}
    dp = {"mode": "required", "epsilon_budget": 5}
    row_level = _create(harness, tokens, org, columns=masked, dp=dp, allow_row_level=True)
    assert row_level.status_code == 422 and "row-level" in row_level.json()["detail"]
    assert _create(harness, tokens, org, dp=dp).status_code == 201  # aggregate under DP is fine


def test_a35_a_non_dp_grant_cannot_reach_what_the_dp_grant_protects(world):
    """The demo operator holds the DP-required population grant; a second, k-only grant on the same dataset
    (with an exception for income) must not open income to k-only queries (issue 11, item 4)."""
    harness, tokens, _, _ = world
    demo_org = harness.client.get("/api/v1/me", headers=tokens["operator"]).json()["organization_id"]
    made = _create(harness, tokens, demo_org, k_only_exceptions={"persons.income": WHY})
    assert made.status_code == 201, made.text
    # A newer version of the non-DP grant is the one the checker picks for the dataset.
    body = {**{k: v for k, v in BASE.items() if k != "dataset"}, "k": 11, "reason": "raise k"}
    body["k_only_exceptions"] = {"persons.income": WHY}
    changed = harness.client.put(
        f"/api/v1/grants/{made.json()['id']}", json=body, headers=tokens["implementer"]
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    refused = _check(harness, tokens["operator"])
    assert refused["verdict"] == "denied" and "income" in refused["violation"]["message"], refused
    count = "SELECT district, count(*) AS n FROM persons GROUP BY district"
    assert _check(harness, tokens["operator"], count)["verdict"] == "allowed"


def test_a2_plans_and_agreements_show_each_columns_protection_and_exceptions_are_disclosed(world):
    harness, tokens, _, org = world
    implementer = tokens["implementer"]
    [agreement] = harness.client.get("/api/v1/operation/agreements", headers=implementer).json()
    shown = harness.client.get(f"/api/v1/operation/agreements/{agreement['id']}", headers=implementer).json()
    protection = {
        (d, p["table"], p["column"]): p["protection"] for d, cols in shown["protection"].items() for p in cols
    }
    assert protection[("population", "persons", "income")] == "dp"
    assert protection[("population", "persons", "id_card")] == "denied"
    assert protection[("enterprises", "enterprises", "registered_capital")] == "k_only"
    plan = harness.client.get(f"/api/v1/operation/plans/{agreement['plan_id']}", headers=implementer).json()
    defaults = {(d, p["column"]): p["protection"] for d, cols in plan["protection"].items() for p in cols}
    assert defaults[("population", "income")] == "dp" and defaults[("enterprises", "employees")] == "k_only"
    made = _create(harness, tokens, org, k_only_exceptions={"persons.income": WHY})
    assert made.status_code == 201
    disclosed = harness.client.get("/api/v1/public/operation/disclosures/2025").json()["k_only_exceptions"]
    assert [(e["operator"], e["column"], e["justification"]) for e in disclosed] == [
        ("巴渝数据服务有限公司", "persons.income", WHY)
    ]
    assert harness.client.get("/api/v1/public/operation/disclosures/2030").json()["k_only_exceptions"] == []
