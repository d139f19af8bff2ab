"""A10-A12 (issue 12 defect 1): a plan the experts found infeasible is revised and resubmitted as a new
version with fresh reviews. Before, the revision overwrote version 1 and kept its reviews, so an old "high
risk" review blocked "feasible" forever."""

import pytest
from operation_world import make_world, plan_content


@pytest.fixture
def world(harness, clock):
    return make_world(harness, clock)


def test_a10_rejected_plan_is_revised_as_a_new_version_reviewed_afresh(world):
    w = world
    plan = w.plan()
    w.post(f"plans/{plan['id']}/submit", "implementer")
    w.review(plan["id"], security_risk="high")
    refused = w.post(
        f"plans/{plan['id']}/conclusion", "implementer", {"conclusion": "feasible", "reason": "x"}, expect=409
    )
    assert "high" in refused["error"]["message"]
    w.post(
        f"plans/{plan['id']}/conclusion", "implementer", {"conclusion": "infeasible", "reason": "安全风险高"}
    )
    revised = plan_content(security_emergency="增加隐私计算与应急演练")
    edited = w.call("PATCH", f"plans/{plan['id']}", "implementer", 200, {"content": revised})
    assert edited["current_version"] == 2 and edited["reviews"] == [] and edited["conclusion"] is None
    submitted = w.post(f"plans/{plan['id']}/submit", "implementer")
    assert submitted["state"] == "in_review" and submitted["current_version"] == 2
    w.review(plan["id"])
    concluded = w.post(
        f"plans/{plan['id']}/conclusion", "implementer", {"conclusion": "feasible", "reason": "整改到位"}
    )
    assert concluded["state"] == "reviewed"
    approved = w.post(f"plans/{plan['id']}/approve", "implementer", {"reference": "渝府〔2025〕2号"})
    assert approved["state"] == "approved" and approved["approved_version"] == 2


def test_a10_resubmitting_unchanged_still_gets_a_fresh_review(world):
    w = world
    plan = w.plan()
    w.post(f"plans/{plan['id']}/submit", "implementer")
    w.review(plan["id"], feasibility="fail")
    w.post(f"plans/{plan['id']}/conclusion", "implementer", {"conclusion": "infeasible", "reason": "不可行"})
    again = w.post(f"plans/{plan['id']}/submit", "implementer")
    assert again["current_version"] == 2 and again["reviews"] == []
