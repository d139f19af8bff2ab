"""Risk alerts and analyst suspensions (issue 11): what supervisors acted on, kept as rows next to the audit.

A suspension stops one analyst's submissions pending review; it is lifted (never deleted) with a reason.
States form a transition table; a new suspension after a lift is a new row, so the history stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.db import Base, UTCDateTime, new_id
from common.errors import InvalidInput, InvalidTransition, NotFound

TRANSITIONS: Mapping[str, frozenset[str]] = {"active": frozenset({"lifted"}), "lifted": frozenset()}
MIN_REASON = 5


class RiskAlertRow(Base):
    __tablename__ = "risk_alerts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    subject_type: Mapped[str] = mapped_column(String(20))  # organization | analyst
    subject_id: Mapped[str] = mapped_column(String(32), index=True)
    organization_id: Mapped[str] = mapped_column(String(32), index=True)
    signal: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SuspensionRow(Base):
    __tablename__ = "analyst_suspensions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    organization_id: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(10))  # active | lifted
    reason: Mapped[str] = mapped_column(Text)
    suspended_by: Mapped[str] = mapped_column(String(32))
    suspended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lift_reason: Mapped[str | None] = mapped_column(Text)
    lifted_by: Mapped[str | None] = mapped_column(String(32))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Alert:
    id: str
    subject_type: str
    subject_id: str
    organization_id: str
    signal: str
    value: float
    threshold: float
    detail: str
    raised_at: datetime


@dataclass(frozen=True)
class Suspension:
    id: str
    user_id: str
    organization_id: str
    state: str
    reason: str
    suspended_by: str
    suspended_at: datetime
    lift_reason: str | None
    lifted_by: str | None
    lifted_at: datetime | None


def _alert(row: RiskAlertRow) -> Alert:
    return Alert(
        row.id,
        row.subject_type,
        row.subject_id,
        row.organization_id,
        row.signal,
        row.value,
        row.threshold,
        row.detail,
        row.raised_at,
    )


def _suspension(row: SuspensionRow) -> Suspension:
    return Suspension(
        row.id,
        row.user_id,
        row.organization_id,
        row.state,
        row.reason,
        row.suspended_by,
        row.suspended_at,
        row.lift_reason,
        row.lifted_by,
        row.lifted_at,
    )


def record_alert(
    session: Session,
    *,
    subject_type: str,
    subject_id: str,
    organization_id: str,
    signal: str,
    value: float,
    threshold: float,
    detail: str,
    now: datetime,
    quiet: timedelta,
) -> Alert | None:
    """Record an alert unless the same subject raised the same signal within ``quiet`` (no alert storms)."""
    recent = session.scalar(
        select(RiskAlertRow.id).where(
            RiskAlertRow.subject_type == subject_type,
            RiskAlertRow.subject_id == subject_id,
            RiskAlertRow.signal == signal,
            RiskAlertRow.raised_at > now - quiet,
        )
    )
    if recent is not None:
        return None
    row = RiskAlertRow(
        subject_type=subject_type,
        subject_id=subject_id,
        organization_id=organization_id,
        signal=signal,
        value=value,
        threshold=threshold,
        detail=detail,
        raised_at=now,
    )
    session.add(row)
    session.flush()
    return _alert(row)


def list_alerts(session: Session, organization_id: str | None = None, limit: int = 200) -> list[Alert]:
    query = select(RiskAlertRow).order_by(RiskAlertRow.raised_at.desc(), RiskAlertRow.id).limit(limit)
    if organization_id is not None:
        query = query.where(RiskAlertRow.organization_id == organization_id)
    return [_alert(r) for r in session.scalars(query)]


def active_suspension(session: Session, user_id: str) -> Suspension | None:
    row = session.scalar(
        select(SuspensionRow).where(SuspensionRow.user_id == user_id, SuspensionRow.state == "active")
    )
    return _suspension(row) if row is not None else None


def suspend(
    session: Session, *, user_id: str, organization_id: str, reason: str, actor_id: str, now: datetime
) -> Suspension:
    if len(reason.strip()) < MIN_REASON:
        raise InvalidInput("a suspension needs a reason", field="reason")
    current = active_suspension(session, user_id)
    if current is not None:
        raise InvalidTransition("this analyst is already suspended", current_state="active")
    row = SuspensionRow(
        user_id=user_id,
        organization_id=organization_id,
        state="active",
        reason=reason.strip(),
        suspended_by=actor_id,
        suspended_at=now,
    )
    session.add(row)
    session.flush()
    return _suspension(row)


def lift(session: Session, *, user_id: str, reason: str, actor_id: str, now: datetime) -> Suspension:
    if len(reason.strip()) < MIN_REASON:
        raise InvalidInput("lifting a suspension needs a reason", field="reason")
    row = session.scalar(
        select(SuspensionRow).where(SuspensionRow.user_id == user_id, SuspensionRow.state == "active")
    )
    if row is None:
        raise NotFound("this analyst has no active suspension", field="user_id")
    if "lifted" not in TRANSITIONS[row.state]:
        raise InvalidTransition(f"a {row.state} suspension cannot be lifted", current_state=row.state)
    row.state, row.lift_reason, row.lifted_by, row.lifted_at = "lifted", reason.strip(), actor_id, now
    session.flush()
    return _suspension(row)


def list_suspensions(session: Session, user_id: str | None = None) -> list[Suspension]:
    query = select(SuspensionRow).order_by(SuspensionRow.suspended_at.desc())
    if user_id is not None:
        query = query.where(SuspensionRow.user_id == user_id)
    return [_suspension(r) for r in session.scalars(query)]
