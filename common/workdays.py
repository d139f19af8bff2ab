"""The PRC working-day calendar: one service every deadline of the platform goes through.

A year's schedule is data: the statutory holidays, the extra days off and the make-up working days (调休)
the State Council publishes each year. It lives in the store (``common.calendar_store``), seeded from
maintained libraries (chinese-calendar up to the last year it covers, python-holidays after that) and
loaded or corrected by an administrator. A year is *official* when its published schedule, make-up working
days included, is in the store. For any other year the calendar falls back to weekends plus the statutory
holiday rules (python-holidays: the holidays of the 2025 Measures on National Holidays, a holiday on a
weekend moved to the next working day); deadlines that touch such a year are *provisional*, which the
caller shows in its response and audit event (see ``gateway.events``), and the administrator is alerted.
It never fails for a date: a year the rules cannot compute falls back to weekends only.

>>> cal = WorkingCalendar(library_schedule)
>>> cal.add(date(2025, 9, 29), 3)     # National Day 2025 (10-01..10-08) is skipped
datetime.date(2025, 10, 10)
>>> cal.is_working_day(date(2025, 10, 11)), cal.provisional_years   # a make-up Saturday; official year
(True, set())
>>> cal.add(date(2027, 2, 4), 1)      # Spring Festival 2027: 02-05 (eve) .. 02-10 off, a provisional year
datetime.date(2027, 2, 11)
>>> sorted(cal.provisional_years)
[2027]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

log = logging.getLogger("shuyu.calendar")

SESSION_KEY = "shuyu.calendar"
# A deadline of the measures is a few working days; anything far larger is an input error, not a deadline.
MAX_WORKING_DAYS = 3660


class DayKind(StrEnum):
    holiday = "holiday"  # a day off on a date that would otherwise be a working day (or a holiday weekend)
    workday = "workday"  # a make-up working day on a weekend (调休)


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: DayKind
    name: str


@dataclass(frozen=True)
class YearSchedule:
    """One year's exceptions to "Monday to Friday": its holidays and its make-up working days."""

    year: int
    official: bool
    source: str
    days: tuple[CalendarDay, ...] = ()
    holidays: frozenset[date] = field(init=False)
    workdays: frozenset[date] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(d.day for d in self.days if d.kind is DayKind.holiday))
        object.__setattr__(self, "workdays", frozenset(d.day for d in self.days if d.kind is DayKind.workday))

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


def _holidays_version() -> str:
    import holidays

    return getattr(holidays, "__version__", "?")


def statutory_schedule(year: int) -> YearSchedule:
    """``year`` from python-holidays. Official if the library knows that year's make-up working days (the
    State Council's annual notice), otherwise provisional: the statutory rules only. Weekends only if even
    the rules cannot be computed for that year."""
    try:
        import holidays

        china = holidays.China(years=year)
        days = [CalendarDay(d, DayKind.holiday, str(n)) for d, n in sorted(china.items()) if d.year == year]
        makeup = sorted(d for d in getattr(china, "weekend_workdays", ()) if d.year == year)
        days += [CalendarDay(d, DayKind.workday, "make-up working day") for d in makeup]
        source = f"python-holidays {_holidays_version()}" + ("" if makeup else " (statutory rules)")
        return YearSchedule(year, official=bool(makeup), source=source, days=tuple(days))
    except Exception as error:  # an unsupported year must not fail a deadline
        log.warning("no statutory holidays for %s (%s); weekends only", year, type(error).__name__)
        return YearSchedule(year, official=False, source="weekends only")


def chinese_calendar_schedule(year: int) -> YearSchedule | None:
    """``year`` as published by the State Council, from chinese-calendar; None if it has no data for it."""
    import chinese_calendar

    holidays = {d: n for d, n in chinese_calendar.holidays.items() if d.year == year}
    workdays = {d: n for d, n in chinese_calendar.workdays.items() if d.year == year}
    if not holidays:
        return None
    days = [CalendarDay(d, DayKind.holiday, str(n)) for d, n in sorted(holidays.items())]
    days += [
        CalendarDay(d, DayKind.workday, f"make-up working day ({n})") for d, n in sorted(workdays.items())
    ]
    version = getattr(chinese_calendar, "__version__", "?")
    return YearSchedule(year, official=True, source=f"chinese-calendar {version}", days=tuple(days))


def library_schedule(year: int) -> YearSchedule:
    """The best a maintained library knows about ``year``: the seed of the store, and the calendar of code
    that has no store at hand."""
    return chinese_calendar_schedule(year) or statutory_schedule(year)


class WorkingCalendar:
    """Working-day arithmetic over year schedules looked up on demand (and kept for this calendar's life).

    ``provisional_years`` collects the years without official data that an answer depended on.
    """

    def __init__(self, lookup: Callable[[int], YearSchedule]) -> None:
        self._lookup = lookup
        self._years: dict[int, YearSchedule] = {}
        self.provisional_years: set[int] = set()

    def schedule(self, year: int) -> YearSchedule:
        if year not in self._years:
            self._years[year] = self._lookup(year)
        return self._years[year]

    def is_working_day(self, day: date) -> bool:
        schedule = self.schedule(day.year)
        if not schedule.official:
            self.provisional_years.add(day.year)
        return schedule.is_working_day(day)

    def add(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (``start`` itself does not count)."""
        from common.errors import InvalidInput

        if not 0 <= days <= MAX_WORKING_DAYS:
            raise InvalidInput(f"a deadline is 0..{MAX_WORKING_DAYS} working days", field="working_days")
        current, remaining = start, days
        try:
            while remaining:
                current += timedelta(days=1)
                if self.is_working_day(current):
                    remaining -= 1
        except OverflowError:
            raise InvalidInput(
                "the deadline falls after the last date the calendar can represent", field="start"
            )
        return current

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if ``end <= start``)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def is_provisional(self, start: date, end: date) -> bool:
        """Whether a deadline running from ``start`` to ``end`` depends on a year without official data."""
        return any(not self.schedule(y).official for y in range(start.year, end.year + 1))


def of(session) -> WorkingCalendar:
    """The calendar of this unit of work: the store's schedules, read once per year per transaction.

    Years used without official data are kept on the session so the audit hook can mark the event and
    alert the administrator (``gateway.events``).
    """
    calendar = session.info.get(SESSION_KEY)
    if calendar is None:
        from common import calendar_store

        calendar = WorkingCalendar(lambda year: calendar_store.schedule(session, year))
        session.info[SESSION_KEY] = calendar
    return calendar


def provisional_years(session) -> list[int]:
    """Years without official data that deadlines computed in this unit of work depended on."""
    calendar = session.info.get(SESSION_KEY)
    return sorted(calendar.provisional_years) if calendar is not None else []


def years_of(days: Iterable[CalendarDay]) -> set[int]:
    return {d.day.year for d in days}


DEFAULT = WorkingCalendar(library_schedule)
