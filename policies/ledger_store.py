"""Epsilon ledger tables (metadata store). Private to ``policies.ledger``.

``dp_ledger_locks`` has one row per (operator organization, dataset): every reservation first writes that row,
which serialises all reservations that could share a budget (a grant's own budget and the organization's cap
across its grants on the dataset). ``dp_ledger_entries`` holds one entry per DP job: reserved, then
committed (the noisy result left the sandbox host) or refunded (nothing was released).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import Base, UTCDateTime, new_id


class DPLedgerLockRow(Base):
    __tablename__ = "dp_ledger_locks"
    __table_args__ = (UniqueConstraint("organization_id", "dataset_name", name="dp_ledger_lock_scope"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(String(32))
    dataset_name: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer, default=0)


class DPLedgerEntryRow(Base):
    __tablename__ = "dp_ledger_entries"
    __table_args__ = (
        Index("ix_dp_ledger_grant_period", "grant_id", "period", "state"),
        Index("ix_dp_ledger_org_dataset", "organization_id", "dataset_name", "period", "state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"))
    grant_version: Mapped[int] = mapped_column(Integer)
    organization_id: Mapped[str] = mapped_column(String(32))
    dataset_name: Mapped[str] = mapped_column(String(63))
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    epsilon: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(12))  # reserved | committed | refunded
    period: Mapped[str] = mapped_column(String(10))  # "all" | "2025" | "2025-01"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
