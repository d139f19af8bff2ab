"""Quality feedback with working-day deadlines and escalation (A32); disputes coordinated by the data
authority and escalated to the city government (A33)."""

from datetime import date

import pytest
from operation_world import make_world, set_day


@pytest.fixture
def world(harness, clock):
    return make_world(harness, clock, day=date(2025, 9, 29))


def report(w, **overrides) -> dict:
    body = {
        "dataset": "residents",
        "table": "people",
        "column": "income",
        "category": "accuracy",
        "description": "部分收入字段单位不一致",
    }
    body.update(overrides)
    return w.post("quality/issues", "operator", body, expect=201)


def test_a32_quality_issue_deadline_in_working_days_and_escalation(world, clock):
    w = world
    issue = report(w)
    assert issue["source_org_id"] == w.orgs["source"] and issue["state"] == "open"
    assert issue["answer_due"] == "2025-10-20"  # 10 working days across National Day 2025
    r = w.post(f"quality/issues/{issue['id']}/escalate", "operator", expect=409)
    assert r["answer_due"] == "2025-10-20"
    set_day(clock, date(2025, 10, 21))
    [overdue] = w.get("quality/issues?overdue=true", "supervisor")
    assert overdue["id"] == issue["id"] and overdue["overdue"] is True
    w.post(f"quality/issues/{issue['id']}/escalate", "operator2", expect=403)
    assert w.post("quality/escalations", "supervisor") == [issue["id"]]
    escalated = w.get(f"quality/issues/{issue['id']}", "operator")
    assert escalated["state"] == "escalated"
    w.post(f"quality/issues/{issue['id']}/resolve", "operator", {"outcome": "x"}, expect=403)
    resolved = w.post(
        f"quality/issues/{issue['id']}/resolve", "supervisor", {"outcome": "责令数源单位 5 日内整改"}
    )
    assert resolved["state"] == "closed" and resolved["outcome"] == "责令数源单位 5 日内整改"


def test_a32_the_source_department_answers_and_the_reporter_accepts(world):
    w = world
    issue = report(w, column=None)
    w.post(f"quality/issues/{issue['id']}/answer", "operator", {"answer": "x"}, expect=403)
    answered = w.post(f"quality/issues/{issue['id']}/answer", "source", {"answer": "已修正并重新发布第 2 版"})
    assert answered["state"] == "answered" and answered["answered_on"] == "2025-09-29"
    w.get(f"quality/issues/{issue['id']}", "operator2", expect=403)
    closed = w.post(f"quality/issues/{issue['id']}/accept", "operator")
    assert closed["state"] == "closed"
    again = w.post(f"quality/issues/{issue['id']}/accept", "operator", expect=409)
    assert again["current_state"] == "closed"
    assert [i["id"] for i in w.get("quality/issues", "source")] == [issue["id"]]


def test_a33_disputed_answer_is_coordinated_then_escalated_to_the_city_government(world, clock):
    """A33: the data authority coordinates first; escalation straight from open is refused (it was not)."""
    w = world
    issue = report(w)
    w.post(f"quality/issues/{issue['id']}/answer", "source", {"answer": "数据无误"})
    dispute = w.post(
        f"quality/issues/{issue['id']}/dispute", "operator", {"description": "抽样核对不一致"}, expect=201
    )
    assert dispute["subject"] == "quality" and dispute["against_org_id"] == w.orgs["source"]
    assert dispute["coordination_due"] == "2025-10-27"
    assert w.get(f"quality/issues/{issue['id']}", "operator")["state"] == "disputed"
    w.post(f"disputes/{dispute['id']}/decide", "supervisor", {"outcome": "x"}, expect=409)
    # the data authority coordinates first: no escalation without a coordination attempt
    first = w.post(f"disputes/{dispute['id']}/escalate", "supervisor", {"reason": "协调未果"}, expect=409)
    assert first["current_state"] == "open"
    w.post(f"disputes/{dispute['id']}/coordination", "operator", {"note": "x"}, expect=403)
    convened = w.post(f"disputes/{dispute['id']}/coordination", "supervisor", {"note": "9月29日召集双方核对"})
    assert convened["state"] == "coordinating"
    escalated = w.post(f"disputes/{dispute['id']}/escalate", "supervisor", {"reason": "协调未果"})
    assert escalated["state"] == "escalated"
    decided = w.post(
        f"disputes/{dispute['id']}/decide", "supervisor", {"outcome": "市政府决定：数源单位重新采集"}
    )
    assert decided["state"] == "decided" and decided["closed_on"] == "2025-09-29"
    issue = w.get(f"quality/issues/{issue['id']}", "operator")
    assert issue["state"] == "closed" and issue["outcome"] == "市政府决定：数源单位重新采集"


def test_a33_supply_dispute_between_operator_and_source_department(world):
    w = world
    r = w.post(
        "disputes",
        "operator",
        {"against": w.orgs["operator2"], "subject": "supply", "description": "x"},
        expect=422,
    )
    assert r["field"] == "against"
    dispute = w.post(
        "disputes",
        "operator",
        {"against": "重庆市民政局", "subject": "supply", "description": "数据更新频率未达约定"},
        expect=201,
    )
    assert [d["id"] for d in w.get("disputes", "source")] == [dispute["id"]]
    assert w.get("disputes", "operator2") == []
    resolved = w.post(f"disputes/{dispute['id']}/coordinate", "supervisor", {"outcome": "约定按周更新"})
    assert resolved["state"] == "resolved"
    w.post(f"disputes/{dispute['id']}/escalate", "supervisor", {"reason": "x"}, expect=409)


def test_quality_inputs_name_the_field(world):
    w = world
    for overrides, field in (
        ({"dataset": "nowhere"}, "dataset"),
        ({"table": "nope"}, "table"),
        ({"column": "nope"}, "column"),
        ({"table": None}, "table"),
        ({"category": "vibes"}, "category"),
        ({"description": ""}, "description"),
    ):
        body = {
            "dataset": "residents",
            "table": "people",
            "column": "income",
            "category": "accuracy",
            "description": "x",
            **overrides,
        }
        r = w.post("quality/issues", "operator", body, expect=422)
        fields = [r.get("field")] + [f["field"] for f in r.get("fields", [])]
        assert field in fields, (field, r)
    assert w.get("quality/issues", "supervisor") == []
