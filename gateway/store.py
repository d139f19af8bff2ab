"""Identity tables: organizations, their affiliations, users and API tokens. Private to the gateway."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import Base, UTCDateTime, new_id


class OrganizationRow(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    district: Mapped[str | None] = mapped_column(String(50))
    unified_code: Mapped[str | None] = mapped_column(String(18))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AffiliationRow(Base):
    """A declared overlapping, subordinate or affiliated relationship between two organizations (R12)."""

    __tablename__ = "org_affiliations"
    __table_args__ = (UniqueConstraint("organization_id", "related_id", name="org_pair"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    related_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    relation: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    roles: Mapped[str] = mapped_column(Text)  # comma-separated Role values
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Real-name verification (R11): who verified and when; the ID number itself is kept only as a digest.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(64))
    real_name_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
