"""The working-day calendar as data (issue 12): anyone reads a year's schedule and computes a deadline; an
administrator or the data authority (supervisor role) loads or corrects a year, reseeds it from the
libraries, and lists the alerts raised when a deadline had to be computed without official data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from audit.query import MAX_SEQ, list_events
from common import calendar_store, workdays
from common.types import Principal, Role
from common.workdays import CalendarDay, DayKind, YearSchedule
from gateway.auth import Ctx, Public, require
from gateway.events import PROVISIONAL_ALERT, emit

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])

CalendarAdmin = Annotated[Principal, require(Role.admin, Role.supervisor)]
Year = Annotated[int, Path(ge=calendar_store.FIRST_YEAR, le=calendar_store.LAST_YEAR)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DayIn(Strict):
    date: date
    kind: Literal["holiday", "workday"]
    name: str = Field(default="", max_length=200)


class YearLoad(Strict):
    source: str = Field(min_length=1, max_length=300, description="e.g. the State Council notice number")
    official: bool = Field(default=True, description="false for a draft or a rules-only schedule")
    days: list[DayIn] = Field(max_length=366)


class DayPublic(BaseModel):
    date: date
    kind: str
    name: str


class YearPublic(BaseModel):
    year: int
    official: bool
    stored: bool
    source: str
    loaded_by: str | None
    loaded_at: datetime | None
    days: list[DayPublic]


class YearSummary(BaseModel):
    year: int
    official: bool
    source: str
    loaded_by: str
    loaded_at: datetime


class DeadlinePublic(BaseModel):
    start: date
    working_days: int
    due: date
    provisional: bool


class AlertPublic(BaseModel):
    seq: int
    at: datetime
    years: list[int]
    after: str
    actor_username: str | None


def _year(session, year: int) -> YearPublic:
    stored = calendar_store.stored_year(session, year)
    sched = stored.schedule if stored else calendar_store.schedule(session, year)
    return YearPublic(
        year=year,
        official=sched.official,
        stored=stored is not None,
        source=sched.source,
        loaded_by=stored.loaded_by if stored else None,
        loaded_at=stored.loaded_at if stored else None,
        days=[DayPublic(date=d.day, kind=d.kind.value, name=d.name) for d in sched.days],
    )


@router.get("", response_model=list[YearSummary])
def list_years(ctx: Ctx, _: Public) -> list[YearSummary]:
    """The years in the store, official or not."""
    with ctx.uow() as session:
        return [
            YearSummary(
                year=r.year,
                official=r.official,
                source=r.source,
                loaded_by=r.loaded_by,
                loaded_at=r.loaded_at,
            )
            for r in calendar_store.stored_years(session)
        ]


@router.get("/deadline", response_model=DeadlinePublic)
def deadline(
    ctx: Ctx,
    _: Public,
    start: date,
    working_days: Annotated[int, Query(ge=0, le=workdays.MAX_WORKING_DAYS)],
) -> DeadlinePublic:
    """The date ``working_days`` working days after ``start``, and whether it is provisional."""
    with ctx.uow() as session:
        calendar = workdays.of(session)
        due = calendar.add(start, working_days)
        return DeadlinePublic(
            start=start, working_days=working_days, due=due, provisional=calendar.is_provisional(start, due)
        )


@router.get("/alerts", response_model=list[AlertPublic])
def alerts(
    ctx: Ctx, _: CalendarAdmin, after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None
) -> list[AlertPublic]:
    """Deadlines computed without an official schedule: which years, after which action (oldest first)."""
    with ctx.uow() as session:
        events = list_events(session, kind=PROVISIONAL_ALERT, limit=1000, after_seq=after_seq)
    return [
        AlertPublic(
            seq=e.seq,
            at=e.at,
            years=list(e.details.get("years", [])),
            after=str(e.details.get("after", "")),
            actor_username=e.actor_username,
        )
        for e in events
    ]


@router.get("/{year}", response_model=YearPublic)
def get_year(year: Year, ctx: Ctx, _: Public) -> YearPublic:
    """A year's holidays and make-up working days; ``stored`` false means computed from the rules."""
    with ctx.uow() as session:
        return _year(session, year)


@router.put("/{year}", response_model=YearPublic)
def load_year(year: Year, body: YearLoad, ctx: Ctx, principal: CalendarAdmin) -> YearPublic:
    """Load or correct a year as published (it replaces that year's schedule as a whole)."""
    schedule = YearSchedule(
        year,
        official=body.official,
        source=body.source,
        days=tuple(CalendarDay(d.date, DayKind(d.kind), d.name) for d in body.days),
    )
    return _load(ctx, principal, schedule, "calendar.year.loaded")


@router.post("/{year}/seed", response_model=YearPublic)
def seed_year(year: Year, ctx: Ctx, principal: CalendarAdmin) -> YearPublic:
    """Reload a year from the maintained libraries (chinese-calendar, else python-holidays)."""
    return _load(ctx, principal, workdays.library_schedule(year), "calendar.year.seeded")


def _load(ctx, principal: Principal, schedule: YearSchedule, kind: str) -> YearPublic:
    with ctx.uow() as session:
        calendar_store.load(session, schedule, loaded_by=principal.username, now=ctx.clock.now())
        emit(
            session,
            ctx,
            principal,
            kind,
            "calendar",
            str(schedule.year),
            official=schedule.official,
            source=schedule.source,
            holidays=len(schedule.holidays),
            workdays=len(schedule.workdays),
        )
        return _year(session, schedule.year)
