"""``shuyu registry ...``: the registry's scheduled jobs and checks (mounted by gateway/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

registry_app = typer.Typer(
    help="Registration (Annex 1): sweep expired certificates, verify a code.", no_args_is_help=True
)
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data directory (default: $SHUYU_DATA_DIR)")]


def _context(data_dir: Path | None):
    from common.settings import Settings
    from gateway.context import AppContext
    from migrations import upgrade

    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    settings.ensure_dirs()
    upgrade(settings.database_url)
    return AppContext.build(settings)


@registry_app.command("sweep")
def sweep(data_dir: DataDir = None) -> None:
    """Cancel certificates not renewed before expiry and publish cancellation notices (R18)."""
    from gateway.registry_wiring import sweep_and_audit

    ctx = _context(data_dir)
    try:
        codes = sweep_and_audit(ctx)
    finally:
        ctx.close()
    typer.echo(json.dumps({"cancelled": codes}))


@registry_app.command("verify")
def verify(code: str, data_dir: DataDir = None) -> None:
    """Verify a certificate code: check character, signature, status and validity today."""
    from registry import certificates, service

    ctx = _context(data_dir)
    try:
        key = certificates.load_signing_key(ctx.settings)
        with ctx.uow() as session:
            result = service.verify_certificate(session, code, key.public_key(), ctx.clock.today())
    finally:
        ctx.close()
    typer.echo(
        json.dumps(
            {"code": code, "valid": result.valid, "state": result.state, "reason": result.reason},
            ensure_ascii=False,
        )
    )
    if not result.valid:
        raise typer.Exit(1)
