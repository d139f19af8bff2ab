"""``shuyu audit ...``: verify the chain, print and check its head, sign checkpoints (mounted by cli.py).

``verify`` never creates a store: pointed at a directory without one it fails (exit 2) instead of reporting
an intact empty log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

audit_app = typer.Typer(help="Audit trail: verify, publish and check the head.", no_args_is_help=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data directory (default: $SHUYU_DATA_DIR)")]


def _settings(data_dir: Path | None):
    from common.settings import Settings

    return Settings(data_dir=data_dir) if data_dir else Settings()


def _existing_context(data_dir: Path | None):
    """The context of an existing store; exit 2 when there is none (nothing is created or migrated)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from common.db import make_engine
    from gateway.context import AppContext

    settings = _settings(data_dir)
    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        _exit(
            f"no Shuyu store in {settings.data_dir} (no {Path(url.removeprefix('sqlite:///')).name}); "
            "pass --data-dir or set SHUYU_DATA_DIR"
        )
    try:
        engine = make_engine(url)
        present = inspect(engine).has_table("audit_head")
        engine.dispose()
    except SQLAlchemyError:
        _exit("the metadata store cannot be opened (check SHUYU_DATABASE_URL)")
    if not present:
        _exit("the metadata store has no audit log (not a Shuyu store, or not migrated: shuyu db upgrade)")
    return AppContext.build(settings)


def _exit(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


def _signing_key(settings):
    from registry.certificates import key_id, load_signing_key

    key = load_signing_key(settings)
    return key, key_id(key)


@audit_app.command("verify")
def verify(
    data_dir: DataDir = None,
    expect_head: Annotated[
        str | None, typer.Option("--expect-head", help="a head published earlier, SEQ:HASH")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="a signed checkpoint (JSON) held since earlier")
    ] = None,
) -> None:
    """Recompute the hash chain and print its head (SEQ:HASH: publish it); exit 1 naming the first broken
    link, or when the chain no longer contains a published head or a signed checkpoint."""
    from audit import checkpoint as checkpoints
    from audit.chain import verify as verify_chain

    anchors: list[tuple[int, str]] = []
    if expect_head:
        try:
            anchors.append(checkpoints.parse_anchor(expect_head))
        except ValueError as error:
            _exit(str(error))
    ctx = _existing_context(data_dir)
    if checkpoint is not None:
        anchors.append(_held_checkpoint(ctx.settings, checkpoint))
    with ctx.uow() as session:
        results = [
            verify_chain(session, ctx.settings.audit.hash_algorithm, anchor=a) for a in anchors or [None]
        ]
    broken = next((r for r in results if not r.ok), None)
    if broken is None:
        result = results[0]
        typer.echo(f"audit chain intact: {result.checked} events")
        typer.echo(f"head: {result.head_seq}:{result.head_hash}")
        for seq, _ in anchors:
            typer.echo(f"contains the published head at seq {seq}")
        return
    typer.secho(f"audit chain BROKEN at event {broken.first_broken_seq}: {broken.reason}", fg="red", err=True)
    typer.echo(f"head: {broken.head_seq}:{broken.head_hash}", err=True)
    raise typer.Exit(1)


def _held_checkpoint(settings, path: Path) -> tuple[int, str]:
    from audit import checkpoint as checkpoints

    try:
        held = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        _exit(f"cannot read the checkpoint file {path.name} as JSON")
    key, _ = _signing_key(settings)
    try:
        return checkpoints.check(held, key.public_key())
    except ValueError as error:
        _exit(str(error))


@audit_app.command("head")
def show_head(data_dir: DataDir = None) -> None:
    """Print the head as SEQ:HASH (without verifying the chain)."""
    from audit.chain import head

    ctx = _existing_context(data_dir)
    with ctx.uow() as session:
        seq, hash_ = head(session) or (0, "")
    typer.echo(f"{seq}:{hash_}")


@audit_app.command("checkpoint")
def make_checkpoint(data_dir: DataDir = None) -> None:
    """Sign the current head with the platform key now and print the checkpoint (JSON) to keep or publish."""
    from audit import checkpoint as checkpoints

    ctx = _existing_context(data_dir)
    key, kid = _signing_key(ctx.settings)
    with ctx.uow() as session:
        made = checkpoints.make(session, key, kid, ctx.clock.now())
    if made is None:
        _exit("the audit log is empty: nothing to sign yet")
    typer.echo(json.dumps(made.to_json(), ensure_ascii=False))
