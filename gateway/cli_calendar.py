"""``shuyu calendar ...``: show, load, correct or reseed a year of the working-day calendar (mounted by
gateway/cli.py). A load replaces the year as a whole and is audited like the API's."""

from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

calendar_app = typer.Typer(
    help="Working-day calendar: the official holidays and make-up working days per year.",
    no_args_is_help=True,
)
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data directory (default: $SHUYU_DATA_DIR)")]


def _context(data_dir: Path | None):
    from gateway.cli_registry import _context as context

    return context(data_dir)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


def _schedule_from_file(year: int, path: Path, source: str | None, official: bool):
    """JSON: ``{"source": "...", "days": [{"date": "2027-02-05", "kind": "holiday", "name": "..."}]}``."""
    from common.errors import InvalidInput
    from common.workdays import CalendarDay, DayKind, YearSchedule

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        days = tuple(
            CalendarDay(date.fromisoformat(d["date"]), DayKind(d["kind"]), str(d.get("name", "")))
            for d in data["days"]
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InvalidInput(f"the schedule file is not valid ({type(error).__name__})", field="file")
    return YearSchedule(year, official=official, source=source or str(data.get("source", "")), days=days)


def _load(data_dir: Path | None, schedule, kind: str) -> None:
    from common import calendar_store
    from common.errors import DomainError
    from gateway.events import emit

    ctx = _context(data_dir)
    loaded_by = f"cli:{getpass.getuser()}"
    try:
        with ctx.uow() as session:
            calendar_store.load(session, schedule, loaded_by=loaded_by, now=ctx.clock.now())
            emit(
                session,
                ctx,
                None,
                kind,
                "calendar",
                str(schedule.year),
                source=schedule.source,
                official=schedule.official,
                loaded_by=loaded_by,
            )
    except DomainError as error:
        _fail(error.message)
    finally:
        ctx.close()
    typer.echo(
        json.dumps(
            {
                "year": schedule.year,
                "official": schedule.official,
                "source": schedule.source,
                "holidays": len(schedule.holidays),
                "workdays": len(schedule.workdays),
            }
        )
    )


@calendar_app.command("load")
def load(
    year: int,
    file: Annotated[Path, typer.Option("--file", help="JSON with source and days (date, kind, name)")],
    source: Annotated[str | None, typer.Option(help="overrides the file's source")] = None,
    official: Annotated[bool, typer.Option("--official/--draft")] = True,
    data_dir: DataDir = None,
) -> None:
    """Load or correct YEAR from a file (replaces the year as a whole)."""
    from common.errors import DomainError

    try:
        schedule = _schedule_from_file(year, file, source, official)
    except DomainError as error:
        _fail(error.message)
    _load(data_dir, schedule, "calendar.year.loaded")


@calendar_app.command("seed")
def seed(years: list[int], data_dir: DataDir = None) -> None:
    """Reload YEARS from the maintained libraries (chinese-calendar, else python-holidays)."""
    from common.workdays import library_schedule

    for year in years:
        _load(data_dir, library_schedule(year), "calendar.year.seeded")


@calendar_app.command("show")
def show(year: int, data_dir: DataDir = None) -> None:
    """Print YEAR's schedule as JSON (the store's, or the statutory rules' if the store has none)."""
    from common import calendar_store

    ctx = _context(data_dir)
    try:
        with ctx.uow() as session:
            stored = calendar_store.stored_year(session, year)
            sched = stored.schedule if stored else calendar_store.schedule(session, year)
    finally:
        ctx.close()
    typer.echo(
        json.dumps(
            {
                "year": year,
                "official": sched.official,
                "stored": stored is not None,
                "source": sched.source,
                "loaded_by": stored.loaded_by if stored else None,
                "days": [
                    {"date": d.day.isoformat(), "kind": d.kind.value, "name": d.name} for d in sched.days
                ],
            },
            ensure_ascii=False,
            indent=1,
        )
    )
