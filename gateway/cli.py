"""The ``shuyu`` command line. Settings are built here once and handed down."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from common.errors import DomainError
from common.settings import Settings

app = typer.Typer(
    help="Shuyu 数域 — privacy-preserving data operation platform for public data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
users_app = typer.Typer(help="Accounts.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organizations.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (shown once).", no_args_is_help=True)
db_app = typer.Typer(help="Metadata store.", no_args_is_help=True)
from gateway.cli_accounts import register as register_account_commands  # noqa: E402
from gateway.cli_audit import audit_app  # noqa: E402
from gateway.cli_calendar import calendar_app  # noqa: E402
from gateway.cli_registry import registry_app  # noqa: E402
from shuyu.cli import register as register_analyst_commands  # noqa: E402

register_analyst_commands(app)  # login, check, run, jobs, grants, budget: the analyst's client side

register_account_commands(users_app, tokens_app)  # verify, (de)activate; tokens create/list/revoke/expire
for sub, name in (
    (registry_app, "registry"),
    (calendar_app, "calendar"),
    (users_app, "users"),
    (orgs_app, "orgs"),
    (tokens_app, "tokens"),
    (db_app, "db"),
    (audit_app, "audit"),
):
    app.add_typer(sub, name=name)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data directory (default: $SHUYU_DATA_DIR)")]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


def _context(data_dir: Path | None):
    from gateway.context import AppContext
    from migrations import upgrade

    settings = _settings(data_dir)
    settings.ensure_dirs()
    upgrade(settings.database_url)
    return AppContext.build(settings)


def _fail(error: DomainError) -> None:
    typer.secho(f"error: {error.message}", fg="red", err=True)
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply Alembic migrations up to head."""
    from migrations import upgrade

    settings = _settings(data_dir)
    settings.ensure_dirs()
    upgrade(settings.database_url)
    typer.echo("database is at head")


@orgs_app.command("create")
def orgs_create(
    name: str,
    kind: Annotated[
        str, typer.Option(help="data_source, operator, registrar, implementer, supervisor or third_party")
    ],
    district: str | None = None,
    data_dir: DataDir = None,
) -> None:
    from gateway import identity

    ctx = _context(data_dir)
    try:
        with ctx.uow() as session:
            org = identity.create_organization(
                session, name=name, kind=kind, district=district, now=ctx.clock.now()
            )
    except DomainError as error:
        _fail(error)
    typer.echo(json.dumps({"id": org.id, "name": org.name, "kind": org.kind.value}, ensure_ascii=False))


@users_app.command("create")
def users_create(
    username: str,
    org: Annotated[str, typer.Option("--org", help="organization name or id")],
    role: Annotated[list[str], typer.Option("--role", help="repeat for several roles")],
    display_name: str | None = None,
    verified: Annotated[bool, typer.Option(help="mark real-name verified (R11)")] = False,
    data_dir: DataDir = None,
) -> None:
    from gateway import identity

    ctx = _context(data_dir)
    try:
        with ctx.uow() as session:
            user = identity.create_user(
                session,
                username=username,
                organization=org,
                roles=role,
                display_name=display_name,
                verified=verified,
                now=ctx.clock.now(),
            )
    except DomainError as error:
        _fail(error)
    typer.echo(
        json.dumps(
            {"id": user.id, "username": user.username, "roles": sorted(user.roles), "verified": user.verified}
        )
    )


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, data_dir: DataDir = None) -> None:
    """Serve the API (migrations are applied first)."""
    import uvicorn

    from gateway.app import create_app

    settings = _settings(data_dir)
    settings.ensure_dirs()
    from migrations import upgrade

    upgrade(settings.database_url)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def worker(
    data_dir: DataDir = None, count: Annotated[int, typer.Option(min=1, help="worker threads")] = 2
) -> None:
    """Run job workers only (production: separate processes/hosts claiming jobs from the database)."""
    import signal
    import threading

    from gateway.workers import WorkerPool

    ctx = _context(data_dir)
    try:
        pool = WorkerPool(ctx, count)
    except DomainError as error:
        _fail(error)
    pool.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    typer.echo(f"{count} workers claiming jobs; Ctrl-C to stop")
    stop.wait()
    pool.stop()


@app.command()
def demo(
    data_dir: DataDir = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    scale: Annotated[int, typer.Option(min=100, help="persons to generate")] = 100_000,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="serve after seeding")] = True,
) -> None:
    """Create (or reuse) a demo data directory with synthetic Chongqing data, seed it, and serve the API."""
    from gateway.demo import run_demo

    run_demo(_settings(data_dir), host=host, port=port, scale=scale, serve=serve_api)


def main() -> None:
    try:
        app()
    except DomainError as error:
        typer.secho(f"error: {error.message}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
