"""The working-day calendar as data (issue 12): seeded years, 2026/2027 pinned dates, the administrator's
load and correction through the API and the CLI, provisional years and their alert, and no 500 for any date.
Working days follow the official PRC schedule including make-up working days (SEED-NOTES, R16/A17/A32)."""

from datetime import date

import pytest
from sqlalchemy import select

from audit.store import AuditEventRow
from common import calendar_store, workdays
from common.workdays import WorkingCalendar, library_schedule, statutory_schedule

CAL = "/api/v1/calendar"


def due(harness, start: str, n: int) -> dict:
    r = harness.client.get(f"{CAL}/deadline", params={"start": start, "working_days": n})
    assert r.status_code == 200, r.text
    return r.json()


# --- the libraries' schedules (no store) ---


def test_2026_is_official_with_its_make_up_working_days():
    cal = WorkingCalendar(library_schedule)
    assert cal.schedule(2026).official
    assert cal.is_working_day(date(2026, 2, 14))  # Saturday, make-up day for the Spring Festival
    assert not cal.is_working_day(date(2026, 2, 23))  # Monday, a day off of the Spring Festival
    assert cal.add(date(2026, 9, 30), 1) == date(2026, 10, 8)  # National Day 10-01..10-07
    assert cal.is_working_day(date(2026, 10, 10))  # Saturday, make-up day for National Day
    assert cal.provisional_years == set()


def test_2027_spring_festival_and_national_day_from_the_statutory_rules():
    cal = WorkingCalendar(library_schedule)
    spring = [date(2027, 2, d) for d in range(5, 11)]  # eve (Fri) .. the days in lieu of the weekend
    assert not any(cal.is_working_day(d) for d in spring)
    assert cal.add(date(2027, 2, 4), 1) == date(2027, 2, 11)
    national = [date(2027, 10, d) for d in range(1, 6)]  # 10-01..10-03 (Fri-Sun), in lieu on 10-04, 10-05
    assert not any(cal.is_working_day(d) for d in national)
    assert cal.add(date(2027, 9, 30), 1) == date(2027, 10, 6)
    assert not cal.is_working_day(date(2027, 1, 1)) and cal.is_working_day(date(2027, 1, 4))
    assert cal.provisional_years == {2027}
    assert not statutory_schedule(2027).official  # python-holidays knows no 2027 make-up days yet


def test_any_date_gives_a_deadline_or_a_named_refusal():
    cal = WorkingCalendar(library_schedule)
    assert cal.add(date(2199, 12, 30), 5).year == 2200
    assert cal.add(date(1, 1, 1), 3) == date(1, 1, 4)  # outside every library: weekends only
    from common.errors import InvalidInput

    with pytest.raises(InvalidInput):
        cal.add(date(9999, 12, 30), 5)


# --- the store and the API ---


def test_the_migration_seeds_the_store(harness):
    with harness.ctx.uow() as session:
        years = {r.year: r for r in calendar_store.stored_years(session)}
        y2026 = calendar_store.stored_year(session, 2026)
    assert set(range(2004, 2028)) <= set(years)
    assert years[2026].official and years[2026].source.startswith("chinese-calendar")
    assert not years[2027].official and years[2027].source.startswith("python-holidays")
    assert date(2026, 2, 28) in y2026.schedule.workdays and y2026.loaded_by == "seed"


def test_deadline_route_marks_2027_provisional_and_never_answers_500(harness):
    assert due(harness, "2026-09-30", 1) == {
        "start": "2026-09-30",
        "working_days": 1,
        "due": "2026-10-08",
        "provisional": False,
    }
    assert due(harness, "2027-02-04", 1)["due"] == "2027-02-11"
    assert due(harness, "2027-02-04", 1)["provisional"] is True
    assert due(harness, "2150-12-30", 5)["provisional"] is True
    r = harness.client.get(f"{CAL}/deadline", params={"start": "9999-12-30", "working_days": 5})
    assert r.status_code == 422 and r.json()["error"]["field"] == "start"
    r = harness.client.get(f"{CAL}/deadline", params={"start": "2026-01-01", "working_days": -1})
    assert r.status_code == 422


def official_2027(**overrides) -> dict:
    """A schedule in the shape the State Council publishes (test data: one make-up Saturday, 2027-02-20)."""
    body = {
        "source": "国办发明电〔2026〕X号 (test)",
        "days": [
            {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
            *({"date": f"2027-02-{d:02d}", "kind": "holiday", "name": "春节"} for d in range(5, 12)),
            {"date": "2027-02-20", "kind": "workday", "name": "春节调休上班"},
            *({"date": f"2027-10-{d:02d}", "kind": "holiday", "name": "国庆节"} for d in range(1, 8)),
            {"date": "2027-10-09", "kind": "workday", "name": "国庆节调休上班"},
        ],
    }
    body.update(overrides)
    return body


def test_an_administrator_loads_2027_and_deadlines_stop_being_provisional(harness):
    admin = harness.auth(harness.user("supervisor", username="authority"))
    operator = harness.auth(harness.user("operator", username="op"))
    assert harness.client.put(f"{CAL}/2027", json=official_2027(), headers=operator).status_code == 403
    assert harness.client.put(f"{CAL}/2027", json=official_2027()).status_code == 401
    r = harness.client.put(f"{CAL}/2027", json=official_2027(), headers=admin)
    assert r.status_code == 200, r.text
    year = r.json()
    assert year["official"] and year["stored"] and year["loaded_by"] == "authority"
    assert {"date": "2027-02-20", "kind": "workday", "name": "春节调休上班"} in year["days"]
    assert due(harness, "2027-02-19", 1) == {
        "start": "2027-02-19",
        "working_days": 1,
        "due": "2027-02-20",
        "provisional": False,
    }
    assert due(harness, "2027-02-04", 1)["due"] == "2027-02-12"  # the loaded schedule has 02-11 off
    shown = harness.client.get(f"{CAL}/2027").json()  # public
    assert shown["source"] == "国办发明电〔2026〕X号 (test)"
    with harness.ctx.uow() as session:
        [event] = session.scalars(select(AuditEventRow).where(AuditEventRow.kind == "calendar.year.loaded"))
    assert event.subject_id == "2027" and event.actor_username == "authority"


@pytest.mark.parametrize(
    "days, field",
    [
        ([{"date": "2028-01-01", "kind": "holiday"}], "days"),  # another year
        ([{"date": "2027-02-22", "kind": "workday"}], "days"),  # a make-up day on a Monday
        ([{"date": "2027-01-01", "kind": "holiday"}, {"date": "2027-01-01", "kind": "holiday"}], "days"),
        ([{"date": "2027-01-01", "kind": "rest"}], "days.0.kind"),
    ],
)
def test_a_wrong_schedule_is_refused_and_nothing_is_kept(harness, days, field):
    admin = harness.auth(harness.user("implementer", username="root", roles=["admin"]))
    r = harness.client.put(f"{CAL}/2027", json=official_2027(days=days), headers=admin)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error.get("field") == field or field in [f["field"] for f in error.get("fields", [])]
    assert harness.client.get(f"{CAL}/2027").json()["official"] is False  # the seed is untouched


def test_reseeding_a_year_restores_the_library_schedule(harness):
    admin = harness.auth(harness.user("implementer", username="root", roles=["admin"]))
    harness.client.put(f"{CAL}/2026", json=official_2027(days=[]) | {"official": False}, headers=admin)
    assert due(harness, "2026-09-30", 1)["due"] == "2026-10-01"  # a wrong load: no National Day at all
    r = harness.client.post(f"{CAL}/2026/seed", headers=admin)
    assert r.status_code == 200 and r.json()["official"] is True and r.json()["loaded_by"] == "root"
    assert due(harness, "2026-09-30", 1)["due"] == "2026-10-08"


def test_cli_loads_shows_and_seeds_a_year(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from gateway.cli import app

    monkeypatch.delenv("SHUYU_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    schedule = tmp_path / "2027.json"
    schedule.write_text(json.dumps(official_2027()), encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["calendar", "load", "2027", "--file", str(schedule), "--data-dir", str(data)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["workdays"] == 2
    shown = json.loads(runner.invoke(app, ["calendar", "show", "2027", "--data-dir", str(data)]).output)
    assert shown["official"] and shown["loaded_by"].startswith("cli:")
    bad = tmp_path / "bad.json"
    bad.write_text('{"days": [{"date": "2027-13-01", "kind": "holiday"}]}', encoding="utf-8")
    r = runner.invoke(app, ["calendar", "load", "2027", "--file", str(bad), "--data-dir", str(data)])
    assert r.exit_code == 2


def test_store_schedule_is_what_the_session_calendar_uses(harness):
    with harness.ctx.uow() as session:
        cal = workdays.of(session)
        assert cal.add(date(2026, 12, 31), 1) == date(2027, 1, 4)
        assert workdays.provisional_years(session) == [2027]
