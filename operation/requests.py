"""Acts of the data authority and of the implementer on what others submit (issue 12):

* **Filing** (A17): the implementer submits the signed agreement's filing to the city data authority
  (the ``supervisor`` role, see docs/requirements.md); the authority accepts it (the agreement becomes
  *filed* and its grants exist) or returns it. A submission after the 5-working-day deadline is refused
  unless the authority explicitly accepts it late, with a reason.
* **Termination on the operator's request** (A23): the operator applies; the implementer decides. The
  operator never ends an agreement by itself.

Each submission is a row with a state table (``FILING``, ``TERMINATION``): who, when, and the decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.db import Base, UTCDateTime, new_id
from common.errors import Conflict, InvalidInput, InvalidTransition, NotFound

FILING: Mapping[str, Mapping[str, str]] = {
    "submitted": {"accept": "accepted", "return": "returned"},
    "accepted": {},
    "returned": {},
}
TERMINATION: Mapping[str, Mapping[str, str]] = {
    "pending": {"approve": "approved", "refuse": "refused"},
    "approved": {},
    "refused": {},
}


class RequestRow(Base):
    """One submission to another role: a filing (to the authority) or a termination request (to the
    implementer)."""

    __tablename__ = "operation_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # filing | termination
    agreement_id: Mapped[str] = mapped_column(ForeignKey("operation_agreements.id"), index=True)
    state: Mapped[str] = mapped_column(String(12))
    reference: Mapped[str] = mapped_column(String(200), default="")  # the filing number asked for
    detail: Mapped[str] = mapped_column(Text, default="")
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_by: Mapped[str] = mapped_column(String(32))
    submitted_on: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    late_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Request:
    id: str
    kind: str
    agreement_id: str
    state: str
    reference: str
    detail: str
    late: bool
    submitted_on: date
    decided_on: date | None
    decision_reason: str
    late_accepted: bool


def _view(r: RequestRow) -> Request:
    return Request(
        r.id,
        r.kind,
        r.agreement_id,
        r.state,
        r.reference,
        r.detail,
        r.late,
        r.submitted_on,
        r.decided_on,
        r.decision_reason,
        r.late_accepted,
    )


def _pending(session: Session, agreement_id: str, kind: str) -> RequestRow | None:
    first = FILING if kind == "filing" else TERMINATION
    open_state = next(iter(first))
    return session.scalar(
        select(RequestRow)
        .where(
            RequestRow.agreement_id == agreement_id, RequestRow.kind == kind, RequestRow.state == open_state
        )
        .with_for_update()
    )


def _move(row: RequestRow, table: Mapping[str, Mapping[str, str]], action: str) -> None:
    target = table[row.state].get(action)
    if target is None:
        raise InvalidTransition(f"a {row.state} {row.kind} does not allow {action}", current_state=row.state)
    row.state = target


def submit_filing(
    session: Session,
    agreement_id: str,
    *,
    agreement_state: str,
    filing_due: date | None,
    reference: str,
    user_id: str,
    today: date,
    now: datetime,
) -> Request:
    """The implementer submits a signed agreement's filing to the data authority (A17)."""
    if agreement_state != "signed":
        raise InvalidTransition("only a signed agreement is filed", current_state=agreement_state)
    if _pending(session, agreement_id, "filing") is not None:
        raise Conflict("a filing of this agreement is already with the data authority")
    row = RequestRow(
        kind="filing",
        agreement_id=agreement_id,
        state="submitted",
        reference=reference.strip(),
        detail="",
        late=filing_due is not None and today > filing_due,
        submitted_by=user_id,
        submitted_on=today,
        decision_reason="",
        late_accepted=False,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _view(row)


def decide_filing(
    session: Session,
    agreement_id: str,
    *,
    accept: bool,
    accept_late: bool,
    reason: str,
    user_id: str,
    today: date,
    agreement_state: str,
) -> Request:
    """The authority accepts or returns the pending filing. A late one is accepted only explicitly."""
    row = _pending(session, agreement_id, "filing")
    if row is None:
        if agreement_state != "signed":
            raise InvalidTransition(
                f"a {agreement_state} agreement is not filed", current_state=agreement_state
            )
        raise Conflict(
            "the implementer has not submitted this agreement's filing (A17)", field="agreement_id"
        )
    if accept and row.late and not accept_late:
        raise Conflict(
            "the filing was submitted after the 5-working-day deadline (A17): refused unless the data "
            "authority accepts it late explicitly (accept_late with a reason)",
            field="accept_late",
        )
    if (not accept or row.late) and not reason.strip():
        raise InvalidInput("give the reason of this decision", field="reason")
    _move(row, FILING, "accept" if accept else "return")
    row.decided_by, row.decided_on, row.decision_reason = user_id, today, reason.strip()
    row.late_accepted = accept and row.late
    session.flush()
    return _view(row)


def request_termination(
    session: Session, agreement_id: str, *, agreement_state: str, detail: str, user_id: str, today: date, now
) -> Request:
    """The operator applies to end its agreement (A23 "operator's own request")."""
    if agreement_state not in ("signed", "filed"):
        raise InvalidTransition(
            f"a {agreement_state} agreement cannot be ended", current_state=agreement_state
        )
    if not detail.strip():
        raise InvalidInput("say why the operator asks to end the agreement", field="detail")
    if _pending(session, agreement_id, "termination") is not None:
        raise Conflict("a termination request of this agreement is pending")
    row = RequestRow(
        kind="termination",
        agreement_id=agreement_id,
        state="pending",
        reference="",
        detail=detail.strip(),
        late=False,
        submitted_by=user_id,
        submitted_on=today,
        decision_reason="",
        late_accepted=False,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _view(row)


def decide_termination(
    session: Session, request_id: str, *, approve: bool, reason: str, user_id: str, today: date
) -> Request:
    row = session.get(RequestRow, request_id, with_for_update=True)
    if row is None or row.kind != "termination":
        raise NotFound("no such termination request", field="request_id")
    if not reason.strip():
        raise InvalidInput("give the reason of this decision", field="reason")
    _move(row, TERMINATION, "approve" if approve else "refuse")
    row.decided_by, row.decided_on, row.decision_reason = user_id, today, reason.strip()
    session.flush()
    return _view(row)


def of_agreement(session: Session, agreement_id: str) -> list[Request]:
    rows = session.scalars(
        select(RequestRow).where(RequestRow.agreement_id == agreement_id).order_by(RequestRow.created_at)
    )
    return [_view(r) for r in rows]


def pending(session: Session, kind: str) -> list[Request]:
    open_state = next(iter(FILING if kind == "filing" else TERMINATION))
    rows = session.scalars(
        select(RequestRow)
        .where(RequestRow.kind == kind, RequestRow.state == open_state)
        .order_by("created_at")
    )
    return [_view(r) for r in rows]
