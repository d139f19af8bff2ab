"""Audit tables (ORM, private to ``audit``) and the frozen values the package hands out.

``audit_events`` is append-only: one row per event, ``seq`` assigned 1, 2, 3 ... by ``audit.chain.record``
under the lock of the single ``audit_head`` row (id = 1), which also records the last ``seq`` and ``hash``
so a truncated tail is detectable. Nothing in Shuyu updates or deletes ``audit_events`` rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import DDL, BigInteger, CheckConstraint, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from common.db import Base, UTCDateTime

# Hash of "no previous event": the prev_hash of seq 1 and the head's hash while the log is empty.
GENESIS_HASH = "0" * 64

# BIGINT on PostgreSQL; SQLite only knows INTEGER (and seq is always given explicitly anyway).
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class AuditEventRow(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor_username: Mapped[str | None] = mapped_column(String(200), nullable=True)
    organization_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(100), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(64), nullable=False)
    subject_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[str] = mapped_column(Text(), nullable=False)  # canonical JSON: ids, counts, rule names
    prev_hash: Mapped[str] = mapped_column(String(128), nullable=False)
    hash: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    algorithm: Mapped[str] = mapped_column(String(16), nullable=False)

    __table_args__ = (
        Index("ix_audit_events_actor_user_id", "actor_user_id"),
        Index("ix_audit_events_organization_id", "organization_id"),
        Index("ix_audit_events_kind", "kind"),
        Index("ix_audit_events_subject", "subject_type", "subject_id"),
        Index("ix_audit_events_at", "at"),
    )


class AuditHeadRow(Base):
    """One row (id = 1): the serialization point for appends and the witness of the chain's tail."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(SeqType, nullable=False)
    hash: Mapped[str] = mapped_column(String(128), nullable=False)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class AuditCheckpointRow(Base):
    """A signed statement "the chain's event ``seq`` has hash ``hash``", made periodically with the platform
    key. Anyone holding one can later detect a truncation or rewrite of everything up to it."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(128), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    key_id: Mapped[str] = mapped_column(String(64), nullable=False)
    document: Mapped[str] = mapped_column(Text(), nullable=False)  # the exact signed bytes (UTF-8 JSON)
    signature: Mapped[str] = mapped_column(String(256), nullable=False)  # Ed25519, hex


# ``create_all`` (tests, the embedded demo) seeds the head row; the Alembic migration does the same by hand.
event.listen(
    AuditHeadRow.__table__,
    "after_create",
    DDL(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')"),
)

TABLES = (AuditEventRow.__table__, AuditHeadRow.__table__, AuditCheckpointRow.__table__)


@dataclass(frozen=True)
class AuditEvent:
    """One recorded event as read back. ``details`` holds ids, counts and rule names, never data values."""

    seq: int
    id: str
    at: datetime
    kind: str
    actor_user_id: str | None
    actor_username: str | None
    organization_id: str | None
    subject_type: str
    subject_id: str | None
    details: Mapping[str, object] = field(hash=False)
    prev_hash: str
    hash: str
    algorithm: str


@dataclass(frozen=True)
class Verification:
    """Result of ``audit.chain.verify``: ``first_broken_seq`` and ``reason`` are set when ``ok`` is False."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    head_seq: int = 0
    head_hash: str | None = None
