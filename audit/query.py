"""Supervisor queries over the audit log: filter, then page by ``seq`` (keyset, ``after_seq``)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.store import AuditEvent, AuditEventRow
from common.types import Principal

MAX_LIMIT = 1000
# seq is a signed 64-bit column on every backend: a larger cursor cannot be bound (SQLite raises
# OverflowError, PostgreSQL a numeric-range error), so it is refused before the query is built.
MAX_SEQ = 2**63 - 1

_events = AuditEventRow.__table__


def to_event(row) -> AuditEvent:
    return AuditEvent(
        seq=int(row.seq),
        id=row.id,
        at=row.at,
        kind=row.kind,
        actor_user_id=row.actor_user_id,
        actor_username=row.actor_username,
        organization_id=row.organization_id,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
        algorithm=row.algorithm,
    )


def list_events(
    session: Session,
    *,
    actor: Principal | str | None = None,
    organization_id: str | None = None,
    kind: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    after_seq: int | None = None,
) -> list[AuditEvent]:
    """Events in ``seq`` order matching every given filter.

    ``actor`` is a Principal or a user id; ``kind`` ending in ``.*`` matches a prefix (``"job.*"``);
    ``since`` is inclusive, ``until`` exclusive; ``limit`` is 1..1000; pass the last seq seen as
    ``after_seq`` for the next page.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    if after_seq is not None and not 0 <= after_seq <= MAX_SEQ:
        raise ValueError(f"after_seq must be between 0 and {MAX_SEQ}")
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")
    stmt = select(_events)
    if actor is not None:
        stmt = stmt.where(
            _events.c.actor_user_id == (actor.user_id if isinstance(actor, Principal) else actor)
        )
    if organization_id is not None:
        stmt = stmt.where(_events.c.organization_id == organization_id)
    if kind is not None:
        if kind.endswith(".*"):
            prefix = kind[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(_events.c.kind.like(prefix + "%", escape="\\"))
        else:
            stmt = stmt.where(_events.c.kind == kind)
    if subject_type is not None:
        stmt = stmt.where(_events.c.subject_type == subject_type)
    if subject_id is not None:
        stmt = stmt.where(_events.c.subject_id == subject_id)
    if since is not None:
        stmt = stmt.where(_events.c.at >= since)
    if until is not None:
        stmt = stmt.where(_events.c.at < until)
    if after_seq is not None:
        stmt = stmt.where(_events.c.seq > after_seq)
    stmt = stmt.order_by(_events.c.seq).limit(limit)
    return [to_event(row) for row in session.execute(stmt)]
