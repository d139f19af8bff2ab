"""Registration deadlines into 2027 (R16, issue 12): an application submitted on 2026-12-29 answered 500 while
the working-day calendar had no 2027; now its acceptance deadline is computed and marked provisional."""

from datetime import date

from registry_world import make_world, set_day


def test_r16_application_submitted_2026_12_29_is_accepted_by_2027_01_04(harness, clock):
    """3 working days after Tuesday 2026-12-29: 12-30, 12-31, New Year's Day, a weekend → 2027-01-04."""
    world = make_world(harness, clock, date(2026, 12, 29))
    app = world.apply("first")
    assert app["acceptance_due"] == "2027-01-04"
    assert app["deadline_provisional"] is True
    alerts = harness.client.get("/api/v1/calendar/alerts", headers=world.supervisor).json()
    assert [a["years"] for a in alerts] == [[2027]]
    set_day(clock, date(2027, 1, 4))
    accepted = world.step(app["id"], "accept")
    assert accepted["state"] == "accepted" and accepted["acceptance_overdue"] is False


def test_r16_notice_published_in_late_2026_runs_across_the_year_end(harness, clock):
    """A 10-working-day notice published on 2026-12-24 ends 2027-01-08 (01-01 off), provisionally."""
    world = make_world(harness, clock, date(2026, 12, 21))
    app = world.apply("first")
    set_day(clock, date(2026, 12, 24))
    world.step(app["id"], "accept")
    world.step(app["id"], "approve", {"reason": "complete"})
    published = world.step(app["id"], "publish")
    assert (published["notice_start"], published["notice_end"]) == ("2026-12-24", "2027-01-08")
    assert published["deadline_provisional"] is True
