"""Grant tables. A grant keeps its id across versions; each change writes a new immutable version row."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import Base, UTCDateTime, new_id


class GrantRow(Base):
    __tablename__ = "grants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # Fixed at creation: no code path changes it, so an authorization cannot be transferred (A18).
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("catalog_datasets.id"), index=True)
    dataset_name: Mapped[str] = mapped_column(String(63))
    current_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # active | suspended | revoked
    status_reason: Mapped[str] = mapped_column(Text, default="")
    salt: Mapped[str] = mapped_column(String(64))
    agreement_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GrantVersionRow(Base):
    __tablename__ = "grant_versions"
    __table_args__ = (UniqueConstraint("grant_id", "version", name="grant_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    rules: Mapped[str] = mapped_column(Text)  # JSON {table: {column: rule}}
    privacy_unit: Mapped[str] = mapped_column(String(63))
    k: Mapped[int] = mapped_column(Integer)
    row_filters: Mapped[str] = mapped_column(Text)  # JSON {table: predicate}
    max_rows: Mapped[int] = mapped_column(Integer)
    allow_row_level: Mapped[bool] = mapped_column(Boolean)
    dp: Mapped[str] = mapped_column(Text)  # JSON of DPSettings
    created_by: Mapped[str] = mapped_column(String(32))
    change_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GrantExceptionRow(Base):
    """A k-only exception recorded on one grant version: the column needs DP by its grade (A2, A35), and the
    implementer's written justification says why this grant may aggregate it without DP."""

    __tablename__ = "grant_exceptions"
    __table_args__ = (
        UniqueConstraint("grant_id", "version", "table_name", "column_name", name="grant_exception"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    table_name: Mapped[str] = mapped_column(String(63))
    column_name: Mapped[str] = mapped_column(String(63))
    justification: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
