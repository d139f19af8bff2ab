"""The working-day calendar in the store: one row per year (official or provisional, where it came from, who
loaded it) and one row per exception day (a holiday, or a make-up working day on a weekend).

A year is replaced as a whole when an administrator loads or corrects it, so the store never mixes two
sources in one year. A year with no row is computed from the statutory rules (``common.workdays``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.db import Base, UTCDateTime
from common.errors import InvalidInput
from common.workdays import CalendarDay, DayKind, YearSchedule, library_schedule, statutory_schedule

FIRST_YEAR, LAST_YEAR = 1950, 2200
SEED_YEARS = range(2004, 2028)  # chinese-calendar's first year .. the first year python-holidays adds


class CalendarYearRow(Base):
    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=False)
    official: Mapped[bool] = mapped_column(Boolean(), nullable=False)
    source: Mapped[str] = mapped_column(String(300), nullable=False)
    loaded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class CalendarDayRow(Base):
    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date(), primary_key=True)
    year: Mapped[int] = mapped_column(Integer(), ForeignKey("calendar_years.year"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(300), nullable=False)
    loaded_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_calendar_days_year", "year"),)


TABLES = (CalendarYearRow.__table__, CalendarDayRow.__table__)


@dataclass(frozen=True)
class StoredYear:
    schedule: YearSchedule
    loaded_by: str
    loaded_at: datetime


def schedule(session: Session, year: int) -> YearSchedule:
    """``year`` from the store, or from the statutory rules (provisional) if the store has no such year."""
    stored = stored_year(session, year)
    return stored.schedule if stored is not None else statutory_schedule(year)


def stored_year(session: Session, year: int) -> StoredYear | None:
    row = session.get(CalendarYearRow, year)
    if row is None:
        return None
    days = tuple(
        CalendarDay(d.day, DayKind(d.kind), d.name)
        for d in session.scalars(select(CalendarDayRow).where(CalendarDayRow.year == year).order_by("day"))
    )
    return StoredYear(YearSchedule(year, row.official, row.source, days), row.loaded_by, row.loaded_at)


def stored_years(session: Session) -> list[CalendarYearRow]:
    return list(session.scalars(select(CalendarYearRow).order_by(CalendarYearRow.year)))


def validate(schedule: YearSchedule) -> None:
    """A loaded schedule must describe its own year and be consistent; names the problem, never 500."""
    if not FIRST_YEAR <= schedule.year <= LAST_YEAR:
        raise InvalidInput(f"year must be {FIRST_YEAR}..{LAST_YEAR}", field="year")
    if not schedule.source.strip() or len(schedule.source) > 300:
        raise InvalidInput("name the source of the schedule (at most 300 characters)", field="source")
    seen: set[date] = set()
    for item in schedule.days:
        if item.day.year != schedule.year:
            raise InvalidInput(f"a day of another year was given for {schedule.year}", field="days")
        if item.day in seen:
            raise InvalidInput("a date was given twice", field="days")
        seen.add(item.day)
        if item.kind is DayKind.workday and item.day.weekday() < 5:
            raise InvalidInput("a make-up working day falls on a Saturday or Sunday", field="days")
        if len(item.name) > 200:
            raise InvalidInput("a day's name has at most 200 characters", field="days")


def load(session: Session, schedule: YearSchedule, *, loaded_by: str, now: datetime) -> StoredYear:
    """Replace ``schedule.year`` in the store with ``schedule`` (a load or a correction)."""
    validate(schedule)
    session.execute(delete(CalendarDayRow).where(CalendarDayRow.year == schedule.year))
    row = session.get(CalendarYearRow, schedule.year)
    if row is None:
        row = CalendarYearRow(year=schedule.year)
        session.add(row)
    row.official, row.source, row.loaded_by, row.loaded_at = (
        schedule.official,
        schedule.source.strip(),
        loaded_by,
        now,
    )
    session.flush()
    session.add_all(
        CalendarDayRow(
            day=d.day,
            year=schedule.year,
            kind=d.kind.value,
            name=d.name,
            source=row.source,
            loaded_by=loaded_by,
        )
        for d in schedule.days
    )
    session.flush()
    # Deadlines computed later in this transaction must see the new schedule.
    session.info.pop("shuyu.calendar", None)
    return StoredYear(schedule, loaded_by, now)


def seed_rows(years=SEED_YEARS, *, now: datetime) -> tuple[list[dict], list[dict]]:
    """The libraries' schedules as plain rows (the migration bulk-inserts these)."""
    year_rows, day_rows = [], []
    for year in years:
        sched = library_schedule(year)
        year_rows.append(
            {
                "year": year,
                "official": sched.official,
                "source": sched.source,
                "loaded_by": "seed",
                "loaded_at": now,
            }
        )
        day_rows += [
            {
                "day": d.day,
                "year": year,
                "kind": d.kind.value,
                "name": d.name[:200],
                "source": sched.source,
                "loaded_by": "seed",
            }
            for d in sched.days
        ]
    return year_rows, day_rows
