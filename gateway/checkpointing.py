"""Signing audit-chain checkpoints with the platform's key: for the checkpoint route and the worker loop.

A signed checkpoint names the chain's head at a moment; whoever holds one can later detect a truncation.
"""

from __future__ import annotations

from audit import checkpoint as checkpoints
from gateway.context import AppContext
from registry import certificates


def sign_checkpoint(ctx: AppContext) -> checkpoints.Checkpoint | None:
    """Sign the chain's head now, unless the latest checkpoint already covers it (then None)."""
    key = certificates.load_signing_key(ctx.settings)
    with ctx.uow() as session:
        return checkpoints.make(session, key, certificates.key_id(key), ctx.clock.now())
