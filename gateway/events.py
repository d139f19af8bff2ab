"""Audit events from the gateway: one call, inside the same transaction as the change it records.

Details carry ids, counts and rule names only — never data values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from audit.chain import record
from common import workdays
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
    provisional = workdays.provisional_years(session)
    if provisional:
        # A deadline in this transaction was computed without the official schedule of these years.
        details = {**details, "calendar_provisional": provisional}
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
    if provisional and not session.info.get(ALERTED):
        session.info[ALERTED] = True
        record(
            session,
            kind=PROVISIONAL_ALERT,
            actor=actor,
            subject_type="calendar",
            subject_id=",".join(str(y) for y in provisional),
            details={
                "years": provisional,
                "after": kind,
                "action": "load the official schedule of these years",
            },
            at=ctx.clock.now(),
            algorithm=ctx.settings.audit.hash_algorithm,
        )


# The administrator's alert: supervisors list these (GET /calendar/alerts, or the audit trail by kind).
PROVISIONAL_ALERT = "calendar.alert.provisional"
ALERTED = "shuyu.calendar.alerted"
