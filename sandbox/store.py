"""Job tables. A job is a row: workers claim it transactionally, and its state survives restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from common.db import Base, UTCDateTime, new_id


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_created", "state", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    submitted_by: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(20))
    # The analyst's text is kept for supervisors; only checked_sql (regenerated from the checked tree) runs.
    submitted_sql: Mapped[str] = mapped_column(Text)
    checked_sql: Mapped[str] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(Text)  # JSON: grants, tables, k, row cap, unit columns, DP plan
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_kind: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    gate_report: Mapped[str | None] = mapped_column(Text)  # JSON, operator-visible part only
    result_path: Mapped[str | None] = mapped_column(Text)  # relative to the results directory
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    result_rows: Mapped[int | None] = mapped_column(BigInteger)
    run_ms: Mapped[int | None] = mapped_column(Integer)
    reviewed_by: Mapped[str | None] = mapped_column(String(32))
    review_reason: Mapped[str | None] = mapped_column(Text)


class DisclosurePopulationRow(Base):
    """One released value's population (the disclosure auditor's ledger, across all operators).

    ``bitmap`` is a serialized roaring bitmap of 32-bit unit ids (``sandbox/disclosure.py``); rows older than
    the retention window are pruned, and each unit space keeps at most a capped number of rows.
    """

    __tablename__ = "disclosure_populations"
    __table_args__ = (Index("ix_disclosure_space_cardinality", "unit_space", "cardinality"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    unit_space: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str] = mapped_column(String(32), index=True)
    row_index: Mapped[int] = mapped_column(Integer)
    k: Mapped[int] = mapped_column(Integer)
    cardinality: Mapped[int] = mapped_column(BigInteger)
    bitmap: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DisclosureLockRow(Base):
    """One row per unit space, updated at the start of every audit so audits of one space run one at a time
    (otherwise two jobs submitted together would each miss the other's populations)."""

    __tablename__ = "disclosure_locks"

    unit_space: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
