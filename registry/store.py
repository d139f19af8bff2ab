"""Registry tables: evidence, applications (with co-registrants, transitions, objections), certificate
lineages and their versions, and public notices. Private to registry/.

No column records a fee, a price or a charge: registration is free (R15).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import Base, UTCDateTime, new_id


class EvidenceRow(Base):
    """A digest of one version of a subject's stored files plus its manifest (存证, R13)."""

    __tablename__ = "registry_evidence"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    subject_type: Mapped[str] = mapped_column(String(20))  # dataset | product
    subject_id: Mapped[str] = mapped_column(String(100), index=True)
    subject_version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(20))  # self | third_party
    registrant_org_id: Mapped[str] = mapped_column(String(32))
    issuer_org_id: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    sm3: Mapped[str | None] = mapped_column(String(64))
    manifest: Mapped[str] = mapped_column(Text)  # canonical JSON: tables, row counts, schema, file digests
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApplicationRow(Base):
    __tablename__ = "registry_applications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # first | change | correction | cancellation (R16)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(100), index=True)
    certificate_code: Mapped[str | None] = mapped_column(
        String(40)
    )  # target of change/correction/cancellation
    state: Mapped[str] = mapped_column(String(20), index=True)
    content: Mapped[str] = mapped_column(Text)  # JSON of the registration content
    evidence_id: Mapped[str | None] = mapped_column(ForeignKey("registry_evidence.id"))
    authorization_end: Mapped[date | None] = mapped_column(Date)  # products and services (R17)
    applicant_org_id: Mapped[str] = mapped_column(String(32), index=True)
    applicant_user_id: Mapped[str] = mapped_column(String(32))
    commitment_filename: Mapped[str] = mapped_column(String(255))
    commitment_sha256: Mapped[str] = mapped_column(String(64))
    commitment_letter: Mapped[bytes] = mapped_column(LargeBinary)
    submitted_on: Mapped[date] = mapped_column(Date)
    acceptance_due: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    notice_start: Mapped[date | None] = mapped_column(Date)
    notice_end: Mapped[date | None] = mapped_column(Date)
    notice_remaining: Mapped[int | None] = mapped_column(Integer)  # working days left while paused
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    certificate_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RegistrantRow(Base):
    """One registrant of an application; joint applications record each one's consent (R9)."""

    __tablename__ = "registry_registrants"
    __table_args__ = (UniqueConstraint("application_id", "organization_id", name="application_org"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("registry_applications.id"), index=True)
    organization_id: Mapped[str] = mapped_column(String(32), index=True)
    organization_name: Mapped[str] = mapped_column(String(200))
    lead: Mapped[bool] = mapped_column(default=False)
    consented_by: Mapped[str | None] = mapped_column(String(32))
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TransitionRow(Base):
    __tablename__ = "registry_transitions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("registry_applications.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    on_day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ObjectionRow(Base):
    __tablename__ = "registry_objections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("registry_applications.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))  # open | upheld | dismissed | moot
    reason: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(32))
    filed_on: Mapped[date] = mapped_column(Date)
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolved_on: Mapped[date | None] = mapped_column(Date)


class CodeRow(Base):
    """One certificate, one code (R10): a lineage of certificate versions shares this code."""

    __tablename__ = "registry_codes"
    __table_args__ = (UniqueConstraint("year", "serial", name="year_serial"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(100), index=True)
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CertificateRow(Base):
    __tablename__ = "registry_certificates"
    __table_args__ = (UniqueConstraint("code", "version", name="code_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(ForeignKey("registry_codes.code"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    application_id: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(20))  # first | change | correction | renewal
    state: Mapped[str] = mapped_column(String(20))  # issued | superseded | cancelled | revoked
    issued_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    authorization_end: Mapped[date | None] = mapped_column(Date)
    holders: Mapped[str] = mapped_column(Text)  # JSON [{"id": org id, "name": org name}]
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)  # canonical JSON, signed as UTF-8 bytes
    signature: Mapped[str] = mapped_column(String(128))  # Ed25519, hex
    key_id: Mapped[str] = mapped_column(String(64))
    state_reason: Mapped[str] = mapped_column(Text, default="")
    state_changed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoticeRow(Base):
    """Public notices: registrations under public notice, and announcements of cancellations and
    revocations."""

    __tablename__ = "registry_notices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # registration | cancellation | revocation
    application_id: Mapped[str | None] = mapped_column(String(32), index=True)
    certificate_code: Mapped[str | None] = mapped_column(String(40))
    registrants: Mapped[str] = mapped_column(Text)  # JSON list of organization names
    registration_type: Mapped[str] = mapped_column(String(20))
    data_name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    published_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
