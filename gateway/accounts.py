"""Account applications (R11): a registrant applies for a registration account through the system, without
a token; the registration institution verifies the real name and approves or rejects; the applicant claims
its first token with the claim code it was given once.

The resident ID number and the unified social credit code are checked with python-stdnum at the edge. The
ID number and real name are kept only until the registrar decides; afterwards only the digest the identity
module keeps for every verified user remains (``gateway.identity.verify_real_name``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from common import idnumbers
from common.db import Base, UTCDateTime, new_id
from common.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound, RateLimited
from common.types import OrgKind
from gateway import identity
from gateway.store import OrganizationRow

# Per client (a digest of its address) and hour; a public endpoint must not be a free write channel.
APPLICATIONS_PER_HOUR = 5
APPLICANT_KINDS = (OrgKind.data_source, OrgKind.operator, OrgKind.third_party)

# state -> action -> next state
TRANSITIONS = {
    "submitted": {"approve": "approved", "reject": "rejected"},
    "approved": {"claim": "claimed"},
    "rejected": {},
    "claimed": {},
}


class AccountApplicationRow(Base):
    __tablename__ = "account_applications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    state: Mapped[str] = mapped_column(String(12))
    organization: Mapped[str] = mapped_column(String(200))
    organization_kind: Mapped[str] = mapped_column(String(20))
    unified_code: Mapped[str] = mapped_column(String(18))
    district: Mapped[str | None] = mapped_column(String(50))
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    # Kept only until the decision, then blanked (the identity module keeps a digest of both).
    real_name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(18))
    claim_digest: Mapped[str] = mapped_column(String(64))
    client_digest: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(2000), default="")

    __table_args__ = (Index("ix_account_applications_client", "client_digest", "submitted_at"),)


@dataclass(frozen=True)
class AccountApplication:
    id: str
    state: str
    organization: str
    organization_kind: str
    unified_code: str
    district: str | None
    username: str
    display_name: str
    submitted_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str


@dataclass(frozen=True)
class Submitted:
    application: AccountApplication
    claim_code: str  # shown once


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _view(row: AccountApplicationRow) -> AccountApplication:
    return AccountApplication(
        row.id,
        row.state,
        row.organization,
        row.organization_kind,
        row.unified_code,
        row.district,
        row.username,
        row.display_name,
        row.submitted_at,
        row.decided_at,
        row.decided_by,
        row.reason,
    )


def _move(row: AccountApplicationRow, action: str) -> None:
    target = TRANSITIONS[row.state].get(action)
    if target is None:
        raise InvalidTransition(
            f"an application that is {row.state} cannot be {action}d", current_state=row.state
        )
    row.state = target


def _text(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidInput(f"{field} must be 1-{limit} characters", field=field)
    return value


def submit(
    session: Session,
    *,
    organization: str,
    organization_kind: str,
    unified_code: str,
    district: str | None,
    username: str,
    display_name: str,
    real_name: str,
    id_number: str,
    client: str,
    now: datetime,
) -> Submitted:
    """Record an application after validating every field; refuses a client over its hourly limit."""
    client_digest = _digest(client)
    recent = session.scalar(
        select(func.count())
        .select_from(AccountApplicationRow)
        .where(
            AccountApplicationRow.client_digest == client_digest,
            AccountApplicationRow.submitted_at > now - timedelta(hours=1),
        )
    )
    if recent >= APPLICATIONS_PER_HOUR:
        raise RateLimited(f"at most {APPLICATIONS_PER_HOUR} applications per hour from one client")
    if organization_kind not in {k.value for k in APPLICANT_KINDS}:
        kinds = ", ".join(k.value for k in APPLICANT_KINDS)
        raise InvalidInput(f"accounts are applied for by {kinds} organizations", field="organization_kind")
    if not identity.USERNAME.match(username):
        raise InvalidInput(
            "username must be 2-64 characters: lower-case letters, digits, _ . -", field="username"
        )
    code = idnumbers.uscc(unified_code, field="unified_code")
    id_number = idnumbers.resident_id(id_number, field="id_number")
    pending = select(AccountApplicationRow.id).where(
        AccountApplicationRow.username == username, AccountApplicationRow.state.in_(("submitted", "approved"))
    )
    if session.scalar(pending):
        raise Conflict("an application for this username is pending", field="username")
    claim_code = secrets.token_urlsafe(24)
    row = AccountApplicationRow(
        state="submitted",
        organization=_text(organization, "organization", 200),
        organization_kind=organization_kind,
        unified_code=code,
        district=district.strip() if district and district.strip() else None,
        username=username,
        display_name=_text(display_name, "display_name", 200),
        real_name=_text(real_name, "real_name", 100),
        id_number=id_number,
        claim_digest=_digest(claim_code),
        client_digest=client_digest,
        submitted_at=now,
        reason="",
    )
    session.add(row)
    session.flush()
    return Submitted(_view(row), claim_code)


def _row(session: Session, application_id: str) -> AccountApplicationRow:
    row = session.get(AccountApplicationRow, application_id, with_for_update=True)
    if row is None:
        raise NotFound("no such account application", field="application_id")
    return row


def pending(session: Session) -> list[AccountApplication]:
    rows = session.scalars(select(AccountApplicationRow).order_by(AccountApplicationRow.submitted_at))
    return [_view(r) for r in rows]


def _organization(session: Session, row: AccountApplicationRow, now: datetime) -> identity.Organization:
    """The applicant's organization: an existing one must be of the same kind and code, else it is created."""
    try:
        org = identity.get_organization(session, row.organization)
    except NotFound:
        org = identity.create_organization(
            session, name=row.organization, kind=row.organization_kind, now=now, district=row.district
        )
    org_row = session.get(OrganizationRow, org.id)
    if org.kind.value != row.organization_kind or (org_row.unified_code not in (None, row.unified_code)):
        raise Conflict("the organization exists with another kind or unified social credit code")
    org_row.unified_code = row.unified_code
    return org


def approve(session: Session, application_id: str, *, registrar: str, now: datetime) -> AccountApplication:
    """The registrar has checked the real name: create the account, verified (R11)."""
    row = _row(session, application_id)
    _move(row, "approve")
    org = _organization(session, row, now)
    identity.create_user(
        session,
        username=row.username,
        organization=org.id,
        roles=[row.organization_kind],
        display_name=row.display_name,
        now=now,
    )
    identity.verify_real_name(
        session, row.username, real_name=row.real_name, id_number=row.id_number, verifier=registrar, now=now
    )
    row.real_name, row.id_number = "", ""
    row.decided_at, row.decided_by = now, registrar
    session.flush()
    return _view(row)


def reject(session: Session, application_id: str, *, registrar: str, reason: str, now: datetime):
    row = _row(session, application_id)
    _move(row, "reject")
    row.reason = _text(reason, "reason", 2000)
    row.real_name, row.id_number = "", ""
    row.decided_at, row.decided_by = now, registrar
    session.flush()
    return _view(row)


def claim(session: Session, application_id: str, *, claim_code: str, now: datetime) -> tuple[str, str]:
    """The approved applicant's first token, against the claim code (usable once)."""
    row = _row(session, application_id)
    if not secrets.compare_digest(_digest(claim_code), row.claim_digest):
        raise Forbidden("the claim code does not match this application")
    _move(row, "claim")
    session.flush()
    return row.username, identity.create_token(session, row.username, name="first token", now=now)
