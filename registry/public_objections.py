"""Objections from the public to a registration under public notice (R16; the notice itself is public, so
anyone may object without an account). An objection from the public is an ordinary objection (it pauses
issuance and the registrar upholds or dismisses it like any other) plus the objector's contact details,
which only the registration institution sees (R4: personal information is never published or echoed).
Submissions are limited per client and hour so the public endpoint is no free write channel."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.db import Base, UTCDateTime
from common.errors import InvalidInput, NotFound, RateLimited
from registry import service

PER_CLIENT_PER_HOUR = 3
PUBLIC_FILER = "public"  # ObjectionRow.filed_by for an objector without an account
_PHONE = re.compile(r"^(\+?86[- ]?)?1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class ObjectionContactRow(Base):
    __tablename__ = "registry_objection_contacts"

    objection_id: Mapped[str] = mapped_column(ForeignKey("registry_objections.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str] = mapped_column(String(200))
    client_digest: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_registry_objection_contacts_client", "client_digest", "filed_at"),)


@dataclass(frozen=True)
class Contact:
    objection_id: str
    name: str
    contact: str
    filed_at: datetime


def valid_contact(value: str) -> bool:
    """A mobile or landline number, or an e-mail address.

    >>> [valid_contact(v) for v in ("13800138000", "023-63891234", "a@b.cn", "call me")]
    [True, True, True, False]
    """
    value = value.strip()
    return bool(_PHONE.match(value) or _EMAIL.match(value))


def file(
    session: Session,
    application_id: str,
    *,
    reason: str,
    name: str,
    contact: str,
    client: str,
    today: date,
    now: datetime,
) -> service.ObjectionView:
    digest = hashlib.sha256(client.encode()).hexdigest()
    recent = session.scalar(
        select(func.count())
        .select_from(ObjectionContactRow)
        .where(
            ObjectionContactRow.client_digest == digest,
            ObjectionContactRow.filed_at > now - timedelta(hours=1),
        )
    )
    if recent >= PER_CLIENT_PER_HOUR:
        raise RateLimited(f"at most {PER_CLIENT_PER_HOUR} objections per hour from one client")
    if not name.strip() or len(name) > 100:
        raise InvalidInput("give your name (at most 100 characters)", field="name")
    if not valid_contact(contact):
        raise InvalidInput("give a phone number or an e-mail address to be answered at", field="contact")
    view = service.file_objection(
        session, application_id, reason=reason, user_id=PUBLIC_FILER, today=today, now=now
    )
    session.add(
        ObjectionContactRow(
            objection_id=view.id,
            name=name.strip(),
            contact=contact.strip(),
            client_digest=digest,
            filed_at=now,
        )
    )
    session.flush()
    return view


def contact_of(session: Session, objection_id: str) -> Contact:
    row = session.get(ObjectionContactRow, objection_id)
    if row is None:
        raise NotFound("no contact details: the objection was not filed by the public", field="objection_id")
    return Contact(row.objection_id, row.name, row.contact, row.filed_at)
