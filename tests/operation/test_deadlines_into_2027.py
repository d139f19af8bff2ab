"""Working-day deadlines that land in 2027 (issue 12). Before the calendar became data, chinese-calendar had
no 2027 and these requests answered 500 ("no available data for year 2027"). Now 2027 is computed from the
statutory rules, marked provisional in the response and the audit event, and the administrator is alerted."""

from datetime import date

from operation_world import make_world, set_day
from sqlalchemy import select

from audit.store import AuditEventRow


def _events(harness, kind: str) -> list[dict]:
    import json

    with harness.ctx.uow() as session:
        rows = session.scalars(select(AuditEventRow).where(AuditEventRow.kind == kind).order_by("seq"))
        return [json.loads(r.details) for r in rows]


def test_a32_quality_issue_reported_2026_12_27_is_due_2027_01_11_provisionally(harness, clock):
    """A32: 10 working days from Sunday 2026-12-27 skip New Year's Day 2027 (Fri 01-01) and two weekends."""
    w = make_world(harness, clock, day=date(2026, 12, 27))
    issue = w.post(
        "quality/issues",
        "operator",
        {"dataset": "residents", "table": "people", "category": "accuracy", "description": "单位不一致"},
        expect=201,
    )
    assert issue["answer_due"] == "2027-01-11"
    assert issue["deadline_provisional"] is True
    [reported] = _events(harness, "operation.quality.reported")
    assert reported["calendar_provisional"] == [2027]
    alerts = w.get("/api/v1/calendar/alerts", "supervisor")
    assert [a["years"] for a in alerts] == [[2027]]
    assert alerts[-1]["after"] == "operation.quality.reported"


def test_a33_dispute_raised_2026_12_18_is_due_2027_01_11(harness, clock):
    """A33: the authority's 15 working days of coordination run from Friday 2026-12-18 into 2027."""
    w = make_world(harness, clock, day=date(2026, 12, 18))
    dispute = w.post(
        "disputes",
        "operator",
        {"against": "重庆市民政局", "subject": "supply", "description": "数据更新频率未达约定"},
        expect=201,
    )
    assert dispute["coordination_due"] == "2027-01-11"
    assert dispute["deadline_provisional"] is True
    set_day(clock, date(2027, 1, 12))
    [listed] = w.get("disputes", "supervisor")
    assert listed["overdue"] is True and listed["deadline_provisional"] is True


def test_a32_deadline_inside_official_2026_is_not_provisional(harness, clock):
    """A32 deadlines inside 2026 come from the official 2026 schedule: no provisional flag, no alert."""
    w = make_world(harness, clock, day=date(2026, 9, 28))
    issue = w.post(
        "quality/issues",
        "operator",
        {"dataset": "residents", "table": "people", "category": "accuracy", "description": "x"},
        expect=201,
    )
    # 10 working days from 2026-09-28 across National Day 2026 (10-01..10-07; 10-10 is a make-up Saturday)
    assert issue["answer_due"] == "2026-10-16" and issue["deadline_provisional"] is False
    assert "calendar_provisional" not in _events(harness, "operation.quality.reported")[0]
    assert w.get("/api/v1/calendar/alerts", "supervisor") == []
