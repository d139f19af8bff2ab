"""Audit events from the gateway: one call, inside the same transaction as the change it records.

Details carry ids, counts and rule names only — never data values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from audit.chain import record
from common.types import Principal
from gateway.context import AppContext


def emit(
    session: Session,
    ctx: AppContext,
    actor: Principal | None,
    kind: str,
    subject_type: str,
    subject_id: str | None,
    **details: Any,
) -> None:
    record(
        session,
        kind=kind,
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details,
        at=ctx.clock.now(),
        algorithm=ctx.settings.audit.hash_algorithm,
    )
