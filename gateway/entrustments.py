"""Entrustments (Annex 1 Art. 12 ¶2, R12/R13): a third-party service institution evidences or serves a
registrant's data only under the registrant's entrustment or contract. Declared by the registrant through the
API, revocable, with a validity window; the evidence route refuses a third party without one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.db import Base, UTCDateTime, new_id
from common.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from common.types import OrgKind
from gateway import identity


class EntrustmentRow(Base):
    __tablename__ = "entrustments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    registrant_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    third_party_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    reference: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date())
    valid_to: Mapped[date | None] = mapped_column(Date())
    state: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Entrustment:
    id: str
    registrant_org_id: str
    third_party_org_id: str
    reference: str
    valid_from: date
    valid_to: date | None
    state: str

    def covers(self, day: date) -> bool:
        return (
            self.state == "active"
            and self.valid_from <= day
            and (self.valid_to is None or day <= self.valid_to)
        )


def _view(r: EntrustmentRow) -> Entrustment:
    return Entrustment(
        r.id, r.registrant_org_id, r.third_party_org_id, r.reference, r.valid_from, r.valid_to, r.state
    )


def create(
    session: Session,
    *,
    registrant_org_id: str,
    third_party: str,
    reference: str,
    valid_from: date,
    valid_to: date | None,
    user_id: str,
    now: datetime,
) -> Entrustment:
    try:
        party = identity.get_organization(session, third_party)
    except NotFound:
        raise InvalidInput("no such organization", field="third_party")
    if party.kind is not OrgKind.third_party:
        raise InvalidInput("an entrustment names a third-party service institution", field="third_party")
    if not reference.strip():
        raise InvalidInput("name the entrustment or contract (its reference)", field="reference")
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput("valid_to is before valid_from", field="valid_to")
    row = EntrustmentRow(
        registrant_org_id=registrant_org_id,
        third_party_org_id=party.id,
        reference=reference.strip(),
        valid_from=valid_from,
        valid_to=valid_to,
        state="active",
        created_by=user_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _view(row)


def revoke(session: Session, entrustment_id: str, *, registrant_org_id: str, now: datetime) -> Entrustment:
    row = session.get(EntrustmentRow, entrustment_id, with_for_update=True)
    if row is None:
        raise NotFound("no such entrustment", field="entrustment_id")
    if row.registrant_org_id != registrant_org_id:
        raise Forbidden("only the registrant that entrusted may revoke")
    if row.state != "active":
        raise InvalidTransition("the entrustment is already revoked", current_state=row.state)
    row.state, row.revoked_at = "revoked", now
    session.flush()
    return _view(row)


def list_for(session: Session, organization_id: str | None) -> list[Entrustment]:
    """Entrustments given or received by ``organization_id`` (all, if None)."""
    query = select(EntrustmentRow).order_by(EntrustmentRow.created_at)
    if organization_id is not None:
        query = query.where(
            (EntrustmentRow.registrant_org_id == organization_id)
            | (EntrustmentRow.third_party_org_id == organization_id)
        )
    return [_view(r) for r in session.scalars(query)]


def require(session: Session, *, registrant_org_id: str, third_party_org_id: str, today: date) -> None:
    """R12/R13: the third party acts for this registrant only under an entrustment valid today."""
    rows = session.scalars(
        select(EntrustmentRow).where(
            EntrustmentRow.registrant_org_id == registrant_org_id,
            EntrustmentRow.third_party_org_id == third_party_org_id,
        )
    )
    if not any(_view(r).covers(today) for r in rows):
        raise Forbidden(
            "a third-party institution evidences data only under the registrant's entrustment or contract "
            "(Annex 1 Art. 12; R13)",
            field="mode",
        )
