"""An injectable clock and the PRC working-day calendar (official holidays and make-up working days).

>>> add_working_days(date(2025, 9, 29), 3)   # 09-30, 10-09, 10-10: the National Day holiday is skipped
datetime.date(2025, 10, 10)
>>> is_working_day(date(2025, 9, 28))         # a Sunday that is a make-up working day (调休)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from common import workdays
from common.workdays import WorkingCalendar


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        # Deadlines in the measures are counted on Beijing dates.
        return (self.now() + timedelta(hours=8)).date()


@dataclass
class FixedClock(Clock):
    """A clock tests can set and advance."""

    current: datetime = field(default_factory=lambda: datetime(2025, 1, 2, 2, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current = self.current + timedelta(**delta)


def is_working_day(day: date, calendar: WorkingCalendar | None = None) -> bool:
    """Pass the unit of work's calendar (``common.workdays.of(session)``) so the store's schedule applies;
    without one, the libraries' schedule is used."""
    return (calendar or workdays.DEFAULT).is_working_day(day)


def add_working_days(start: date, days: int, calendar: WorkingCalendar | None = None) -> date:
    """The date ``days`` PRC working days after ``start`` (``start`` itself does not count)."""
    return (calendar or workdays.DEFAULT).add(start, days)
