"""Deadlines of the procedure, in PRC working days (official holidays and make-up working days), and the
certificate validity arithmetic of R17/R18. Callers pass the unit of work's calendar
(``common.workdays.of(session)``) so the store's schedule applies and provisional years are noticed.

>>> acceptance_due(date(2025, 9, 29))        # National Day 2025 (10-01..10-08) is skipped
datetime.date(2025, 10, 10)
>>> notice_end(date(2025, 9, 29))            # 10-11 is a make-up working day (调休)
datetime.date(2025, 10, 20)
>>> validity_end(date(2025, 3, 1))
datetime.date(2028, 2, 29)
>>> renewal_window(date(2028, 2, 29))
(datetime.date(2027, 12, 31), datetime.date(2028, 2, 29))
"""

from __future__ import annotations

from datetime import date, timedelta

from common.clock import add_working_days, is_working_day
from common.workdays import WorkingCalendar

ACCEPTANCE_WORKING_DAYS = 3
NOTICE_WORKING_DAYS = 10
VALIDITY_YEARS = 3
RENEWAL_WINDOW_DAYS = 60


def acceptance_due(submitted_on: date, calendar: WorkingCalendar | None = None) -> date:
    """The last day the registration institution may accept (or return) an application."""
    return add_working_days(submitted_on, ACCEPTANCE_WORKING_DAYS, calendar)


def notice_end(
    start: date, working_days: int = NOTICE_WORKING_DAYS, calendar: WorkingCalendar | None = None
) -> date:
    """The last day of a public notice published on ``start`` (``start`` itself does not count)."""
    return add_working_days(start, working_days, calendar)


def working_days_between(start: date, end: date, calendar: WorkingCalendar | None = None) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if ``end <= start``)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day, calendar):
            count += 1
    return count


def plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def validity_end(valid_from: date, authorization_end: date | None = None) -> date:
    """Last valid day: 3 years from ``valid_from``, or the authorization's end if earlier (R17, R18)."""
    end = plus_years(valid_from, VALIDITY_YEARS) - timedelta(days=1)
    return min(end, authorization_end) if authorization_end is not None else end


def renewal_window(valid_to: date) -> tuple[date, date]:
    """First and last day on which renewal may be applied for: the 60 days before expiry (R18)."""
    return valid_to - timedelta(days=RENEWAL_WINDOW_DAYS), valid_to
