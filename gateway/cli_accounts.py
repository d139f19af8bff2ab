"""``shuyu users ...`` and ``shuyu tokens ...``: real-name verification and the token lifecycle.

Registered on the typer apps of gateway/cli.py by ``register``. The ID number for real-name verification
is read from a hidden prompt or stdin, never from the command line (where shell history and ``ps`` see it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from common.errors import DomainError, InvalidInput

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data directory (default: $SHUYU_DATA_DIR)")]


def _context(data_dir: Path | None):
    from common.settings import Settings
    from gateway.context import AppContext
    from migrations import upgrade

    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    settings.ensure_dirs()
    upgrade(settings.database_url)
    return AppContext.build(settings)


def _fail(error: DomainError) -> None:
    typer.secho(f"error: {error.message}", fg="red", err=True)
    raise typer.Exit(2)


def _audit(session, ctx, kind: str, subject_type: str, subject_id: str, **details) -> None:
    from gateway.events import emit

    emit(session, ctx, None, kind, subject_type, subject_id, via="cli", **details)


def users_verify(
    username: str,
    real_name: Annotated[str, typer.Option()],
    data_dir: DataDir = None,
) -> None:
    """Record real-name verification (R11); only a digest of the name and ID number is kept. The ID number
    is asked for (hidden) or read from stdin: ``echo "$ID" | shuyu users verify NAME --real-name ...``."""
    from gateway import identity

    id_number = typer.prompt("ID number", hide_input=True, err=True).strip()
    ctx = _context(data_dir)
    try:
        with ctx.uow() as session:
            identity.verify_real_name(
                session,
                username,
                real_name=real_name,
                id_number=id_number,
                verifier="cli",
                now=ctx.clock.now(),
            )
    except DomainError as error:
        _fail(error)
    typer.echo(f"{username} is real-name verified")


def users_deactivate(username: str, data_dir: DataDir = None) -> None:
    """Deactivate a user: every one of their tokens stops working at once."""
    _set_active(username, False, data_dir)


def users_activate(username: str, data_dir: DataDir = None) -> None:
    """Reactivate a user (tokens revoked or expired meanwhile stay so)."""
    _set_active(username, True, data_dir)


def _set_active(username: str, active: bool, data_dir: Path | None) -> None:
    from gateway import tokens

    ctx = _context(data_dir)
    try:
        with ctx.uow() as session:
            if tokens.set_active(session, username, active):
                _audit(session, ctx, "user.activated" if active else "user.deactivated", "user", username)
    except DomainError as error:
        _fail(error)
    typer.echo(f"{username} is {'active' if active else 'deactivated'}")


def tokens_create(
    username: str,
    name: str = "cli",
    expires: Annotated[str | None, typer.Option(help="expiry: YYYY-MM-DD or an ISO timestamp")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API token and print it. It is shown this once; only its digest is stored."""
    from gateway import identity, tokens

    ctx = _context(data_dir)
    try:
        expires_at = tokens.parse_expiry(expires) if expires else None
        if expires_at is not None and expires_at <= ctx.clock.now():
            raise InvalidInput("the expiry is in the past", field="expires_at")
        with ctx.uow() as session:
            token = identity.create_token(
                session, username, name=name, now=ctx.clock.now(), expires_at=expires_at
            )
            _audit(session, ctx, "token.created", "user", username, prefix=token[:12])
    except DomainError as error:
        _fail(error)
    typer.echo(token)


def tokens_list(username: str, data_dir: DataDir = None) -> None:
    """List a user's tokens (id, name, prefix, state, expiry): one JSON object a line."""
    from gateway import tokens

    ctx = _context(data_dir)
    try:
        with ctx.uow() as session:
            found = tokens.list_tokens(session, username, ctx.clock.now())
    except DomainError as error:
        _fail(error)
    for info in found:
        typer.echo(json.dumps(_public(info), ensure_ascii=False))


def tokens_revoke(token_id: str, data_dir: DataDir = None) -> None:
    """Revoke one token by id (see ``tokens list``); it stops working at once."""
    from gateway import tokens

    ctx = _context(data_dir)
    try:
        with ctx.uow() as session:
            info = tokens.revoke_token(session, token_id, ctx.clock.now())
            _audit(session, ctx, "token.revoked", "user", info.username, token_id=token_id)
    except DomainError as error:
        _fail(error)
    typer.echo(json.dumps(_public(info)))


def tokens_expire(
    token_id: str,
    at: Annotated[str, typer.Option("--at", help="YYYY-MM-DD or an ISO timestamp; a past date ends it now")],
    data_dir: DataDir = None,
) -> None:
    """Set (or bring forward) a token's expiry."""
    from gateway import tokens

    ctx = _context(data_dir)
    try:
        expires_at = tokens.parse_expiry(at)
        with ctx.uow() as session:
            info = tokens.expire_token(session, token_id, expires_at, ctx.clock.now())
            _audit(session, ctx, "token.expiry_set", "user", info.username, token_id=token_id)
    except DomainError as error:
        _fail(error)
    typer.echo(json.dumps(_public(info)))


def _public(info) -> dict:
    return {
        "id": info.id,
        "username": info.username,
        "name": info.name,
        "prefix": info.prefix,
        "state": info.state.value,
        "created_at": info.created_at.isoformat(),
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
    }


def register(users_app: typer.Typer, tokens_app: typer.Typer) -> None:
    users_app.command("verify")(users_verify)
    users_app.command("deactivate")(users_deactivate)
    users_app.command("activate")(users_activate)
    tokens_app.command("create")(tokens_create)
    tokens_app.command("list")(tokens_list)
    tokens_app.command("revoke")(tokens_revoke)
    tokens_app.command("expire")(tokens_expire)
