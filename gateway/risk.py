"""Supervisor risk signals, gathered: jobs, their DP spend and review holds → ``policies.risk`` reports,
alerts raised (audited) when a threshold is crossed, and the suspension check on an analyst's submissions.

Auditor hits are the disclosure auditor's audit events (``disclosure.auditor.hit``) and, whichever auditor is
deployed, every job a gate or auditor held for a supervisor (state ``held_for_review``, or reviewed since).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from audit.store import AuditEventRow
from common.errors import Forbidden
from common.types import Principal, Role
from gateway import identity
from gateway.auth import Ctx, Operator
from gateway.context import AppContext
from gateway.events import emit
from gateway.store import UserRow
from policies import risk, risk_store
from policies.ledger_store import DPLedgerEntryRow
from sandbox.store import JobRow

# The disclosure auditor's audit events on a job (gateway/execution.py emits ``disclosure.auditor.hit``).
AUDITOR_EVENTS = ("disclosure.auditor.", "job.held.auditor")
HELD_STATES = frozenset({"held_for_review"})


def window(ctx: AppContext) -> tuple[datetime, datetime]:
    end = ctx.clock.now()
    return end - timedelta(hours=ctx.settings.risk.window_hours), end


def facts(
    session: Session, start: datetime, *, organization_id: str | None = None, user_id: str | None = None
) -> list[risk.JobFact]:
    """The jobs created since ``start`` (by one organization or one analyst), as risk facts."""
    query = select(JobRow).where(JobRow.created_at >= start)
    if organization_id is not None:
        query = query.where(JobRow.organization_id == organization_id)
    if user_id is not None:
        query = query.where(JobRow.submitted_by == user_id)
    rows = list(session.scalars(query))
    ids = [r.id for r in rows]
    spent: dict[str, float] = {}
    flagged: set[str] = set()
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        for job_id, epsilon in session.execute(
            select(DPLedgerEntryRow.job_id, DPLedgerEntryRow.epsilon).where(
                DPLedgerEntryRow.job_id.in_(chunk), DPLedgerEntryRow.state.in_(("reserved", "committed"))
            )
        ):
            spent[job_id] = spent.get(job_id, 0.0) + epsilon
        flagged.update(
            session.scalars(
                select(AuditEventRow.subject_id).where(
                    AuditEventRow.subject_type == "job",
                    AuditEventRow.subject_id.in_(chunk),
                    or_(*(AuditEventRow.kind.like(f"{prefix}%") for prefix in AUDITOR_EVENTS)),
                )
            )
        )
    return [
        risk.JobFact(
            job_id=r.id,
            organization_id=r.organization_id,
            user_id=r.submitted_by,
            state=r.state,
            created_at=r.created_at,
            fingerprint=risk.fingerprint(r.submitted_sql),
            epsilon=spent.get(r.id, 0.0),
            held=r.id in flagged or r.state in HELD_STATES or r.reviewed_by is not None,
        )
        for r in rows
    ]


def assess(
    session: Session, ctx: AppContext, subject_type: str, subject_id: str, organization_id: str
) -> risk.RiskReport:
    """The subject's report over the window; crossing a threshold records an alert and audits it."""
    start, end = window(ctx)
    scope = {"organization_id": subject_id} if subject_type == "organization" else {"user_id": subject_id}
    report = risk.assess(
        facts(session, start, **scope),
        ctx.settings.risk,
        subject_type=subject_type,
        subject_id=subject_id,
        start=start,
        end=end,
    )
    for signal in report.crossed:
        alert = risk_store.record_alert(
            session,
            subject_type=subject_type,
            subject_id=subject_id,
            organization_id=organization_id,
            signal=signal.signal.value,
            value=float(signal.value),
            threshold=float(signal.threshold),
            detail=signal.detail,
            now=end,
            quiet=timedelta(hours=ctx.settings.risk.window_hours),
        )
        if alert is not None:
            emit(
                session,
                ctx,
                None,
                "risk.alert.raised",
                subject_type,
                subject_id,
                organization_id=organization_id,
                signal=alert.signal,
                value=alert.value,
                threshold=alert.threshold,
            )
    return report


def analysts_of(session: Session, organization_id: str, start: datetime) -> list[str]:
    """Analysts of the organization with jobs in the window, or with a suspension on record."""
    with_jobs = session.scalars(
        select(JobRow.submitted_by)
        .where(JobRow.organization_id == organization_id, JobRow.created_at >= start)
        .distinct()
    )
    suspended = session.scalars(
        select(risk_store.SuspensionRow.user_id)
        .where(
            risk_store.SuspensionRow.organization_id == organization_id,
            or_(risk_store.SuspensionRow.state == "active", risk_store.SuspensionRow.suspended_at >= start),
        )
        .distinct()
    )
    return sorted(set(with_jobs) | set(suspended))


def require_not_suspended(ctx: Ctx, principal: Operator) -> Principal:
    """A suspended analyst submits nothing (jobs, dry runs) until a supervisor lifts the suspension.

    Each submission also refreshes the analyst's and organization's signals: an alert is raised as it
    happens, not only when a supervisor looks."""
    with ctx.uow() as session:
        suspension = risk_store.active_suspension(session, principal.user_id)
        if suspension is None and principal.has_role(Role.operator):
            assess(session, ctx, "analyst", principal.user_id, principal.organization_id)
            assess(session, ctx, "organization", principal.organization_id, principal.organization_id)
    if suspension is not None:
        raise Forbidden(
            "your submissions are suspended pending a supervisor's review "
            f"(since {suspension.suspended_at.date().isoformat()}): {suspension.reason}",
            suspension_id=suspension.id,
        )
    return principal


def find_user(session: Session, key: str) -> identity.User:
    """A user by id or username (the risk view lists ids; supervisors type usernames)."""
    row = session.get(UserRow, key)
    return identity.get_user(session, row.username if row is not None else key)


NotSuspended = Annotated[Principal, Depends(require_not_suspended)]
