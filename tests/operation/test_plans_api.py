"""Implementation plans over HTTP (A4, A10-A13) and operator selection (A14-A15)."""

import pytest
from operation_world import OP, make_world, plan_content
from sqlalchemy import func, select

from operation.store import PlanRow


@pytest.fixture
def world(harness, clock):
    return make_world(harness, clock)


def test_a10_plan_holds_the_11_contents_with_products_in_two_classes(world):
    w = world
    plan = w.plan()
    content = plan["content"]
    for name in (
        "necessity_feasibility",
        "operator_conditions",
        "datasets",
        "data_description",
        "term_months",
        "exit_plan",
        "cost_revenue_sharing",
        "security_emergency",
        "rights_duties",
        "supervision_evaluation",
        "other",
    ):
        assert name in content
    assert content["public_good_products"] == ["区县人口结构公益报告"]
    assert content["industry_products"] == ["收入画像服务"]
    missing = plan_content()
    del missing["security_emergency"]
    r = w.post("plans", "implementer", {"name": "x", "mode": "whole", "content": missing}, expect=422)
    assert r["error"]["fields"][0]["field"] == "content.security_emergency"
    none = plan_content(public_good_products=[], industry_products=[])
    r = w.post("plans", "implementer", {"name": "x", "mode": "whole", "content": none}, expect=422)
    assert r["error"]["field"] == "content.public_good_products"
    r = w.post(
        "plans",
        "implementer",
        {"name": "x", "mode": "whole", "content": plan_content(("nowhere",))},
        expect=422,
    )
    assert r["error"]["field"] == "scope"
    with w.harness.ctx.uow() as session:
        assert session.scalar(select(func.count()).select_from(PlanRow)) == 1


def test_a4_authorization_modes(world):
    w = world
    assert w.plan(mode="whole", mode_scope="")["mode"] == "whole"
    assert w.plan(mode="scenario", mode_scope="普惠金融")["mode_scope"] == "普惠金融"
    r = w.post(
        "plans",
        "implementer",
        {"name": "x", "mode": "domain", "mode_scope": " ", "content": plan_content()},
        expect=422,
    )
    assert r["error"]["field"] == "mode_scope"
    r = w.post("plans", "implementer", {"name": "x", "mode": "sector", "content": plan_content()}, expect=422)
    assert r["error"]["fields"][0]["field"] == "mode"


def test_a10_expert_committee_needs_three_reviews_and_no_compliance_failure(world):
    w = world
    plan = w.plan()
    pid = plan["id"]
    w.post(
        f"plans/{pid}/reviews",
        "implementer",
        {
            "expert_name": "a",
            "expert_affiliation": "b",
            "compliance": "pass",
            "feasibility": "pass",
            "security_risk": "low",
            "opinion": "x",
        },
        expect=409,
    )  # not under review yet
    w.post(f"plans/{pid}/submit", "implementer")
    w.review(pid, n=2)
    r = w.post(
        f"plans/{pid}/conclusion", "implementer", {"conclusion": "feasible", "reason": "x"}, expect=409
    )
    assert "at least 3" in r["error"]["message"]
    w.post(
        f"plans/{pid}/reviews",
        "implementer",
        {
            "expert_name": "专家9",
            "expert_affiliation": "b",
            "compliance": "fail",
            "feasibility": "pass",
            "security_risk": "low",
            "opinion": "违反规定",
        },
        expect=201,
    )
    r = w.post(
        f"plans/{pid}/conclusion", "implementer", {"conclusion": "feasible", "reason": "x"}, expect=409
    )
    assert "non-compliant" in r["error"]["message"]
    w.post(f"plans/{pid}/approve", "implementer", {"reference": "x"}, expect=409)  # not reviewed
    back = w.post(f"plans/{pid}/conclusion", "implementer", {"conclusion": "infeasible", "reason": "需修改"})
    assert back["state"] == "draft" and back["conclusion"] == "infeasible"
    edited = w.c.patch(f"{OP}/plans/{pid}", json={"name": "修订后的方案"}, headers=w.h["implementer"])
    assert edited.status_code == 200 and edited.json()["name"] == "修订后的方案"


def test_a13_an_approved_plan_changes_only_through_review_and_approval_again(world):
    w = world
    plan = w.approved_plan()
    pid = plan["id"]
    r = w.c.patch(f"{OP}/plans/{pid}", json={"name": "随意修改"}, headers=w.h["implementer"])
    assert r.status_code == 409 and r.json()["error"]["current_state"] == "approved"
    changed = w.post(
        f"plans/{pid}/changes",
        "implementer",
        {"content": plan_content(term_months=24), "reason": "调整运营期限"},
    )
    assert changed["state"] == "in_review" and changed["current_version"] == 2
    assert changed["approved_version"] == 1 and changed["reviews"] == []
    # the approved version stays in force while the change is reviewed: selections and agreements still work
    w.select(pid)
    w.review(pid)
    w.post(f"plans/{pid}/conclusion", "implementer", {"conclusion": "feasible", "reason": "同意"})
    refused = w.post(f"plans/{pid}/reject", "implementer", {"reason": "市政府未批准变更"})
    assert refused["state"] == "approved" and refused["approved_version"] == 1
    w.post(
        f"plans/{pid}/changes", "implementer", {"content": plan_content(term_months=24), "reason": "再次申请"}
    )
    w.review(pid)
    w.post(f"plans/{pid}/conclusion", "implementer", {"conclusion": "feasible", "reason": "同意"})
    approved = w.post(f"plans/{pid}/approve", "implementer", {"reference": "渝府〔2025〕2号"})
    assert approved["approved_version"] == 3 and approved["content"]["term_months"] == 24


def test_a14_a15_operator_selection_records_method_and_capability_checks(world):
    w = world
    draft = w.plan()
    checks = {
        "management_capability": True,
        "technical_capability": True,
        "good_standing": True,
        "data_security": True,
    }
    body = {"organization_id": w.orgs["operator"], "method": "invited_tender", "checks": checks}
    r = w.post(f"plans/{draft['id']}/selections", "implementer", body, expect=409)  # plan not approved
    assert r["error"]["current_state"] == "draft"
    plan = w.approved_plan()
    failing = {**body, "checks": {**checks, "data_security": False}}
    r = w.post(f"plans/{plan['id']}/selections", "implementer", failing, expect=409)
    assert r["error"]["failed_checks"] == ["data_security"]
    r = w.post(
        f"plans/{plan['id']}/selections",
        "implementer",
        {**body, "organization_id": w.orgs["source"]},
        expect=422,
    )
    assert r["error"]["field"] == "organization_id"
    w.post(f"plans/{plan['id']}/selections", "implementer", {**body, "method": "lottery"}, expect=422)
    selection = w.post(f"plans/{plan['id']}/selections", "implementer", body, expect=201)
    assert selection["method"] == "invited_tender" and all(selection["checks"].values())
    assert [s["id"] for s in w.get(f"plans/{plan['id']}/selections", "supervisor")] == [selection["id"]]


def test_plan_routes_declare_their_callers(world):
    w = world
    w.post("plans", "operator", {"name": "x", "mode": "whole", "content": plan_content()}, expect=403)
    assert w.c.get(f"{OP}/plans").status_code == 401
    assert w.c.get(f"{OP}/plans", headers=w.h["source"]).status_code == 403
    w.get("plans", "operator")
