"""Append events to the hash chain and verify it.

Every event's ``hash`` is ``H(canonical_bytes(event))`` where the canonical encoding covers every stored field
(``seq``, ``id``, ``at``, actor, organization, ``kind``, subject, ``details``, ``prev_hash``, ``algorithm``)
and ``prev_hash`` is the previous event's ``hash`` (``GENESIS_HASH`` for seq 1). ``H`` is SHA-256 or SM3
(``hashlib.new('sm3')``), chosen per event and stored in ``algorithm``.

Canonical encoding: a JSON object with sorted keys, ``separators=(",", ":")``, ``ensure_ascii=False``,
``allow_nan=False``, encoded as UTF-8; ``at`` is ISO-8601 UTC with microseconds and a ``Z`` suffix
(``2025-01-02T02:00:00.000000Z``); missing values are JSON ``null``; ``details`` is embedded as a JSON
object (re-parsed from its stored text, so only its meaning counts, not its whitespace).

>>> from datetime import datetime, timezone
>>> print(canonical_bytes(seq=1, id="e1", at=datetime(2025, 1, 2, 2, 0, tzinfo=timezone.utc),
...     actor_user_id=None, actor_username=None, organization_id=None, kind="k", subject_type="t",
...     subject_id=None, details={"b": 1, "a": "数"}, prev_hash="0" * 4, algorithm="sha256").decode())
{"actor_user_id":null,"actor_username":null,"algorithm":"sha256","at":"2025-01-02T02:00:00.000000Z","details":{"a":"数","b":1},"id":"e1","kind":"k","organization_id":null,"prev_hash":"0000","seq":1,"subject_id":null,"subject_type":"t","v":1}

Callers pass **ids, counts and rule names only** in ``details`` — never data values, query results, SQL
literals or personal information: the log is read by supervisors and exported.

``record`` runs inside the caller's transaction and the caller commits, so an event commits together with the
state change it records, or not at all. It first takes the row lock of ``audit_head`` (an UPDATE: a row lock
on PostgreSQL, the database write lock on SQLite), so concurrent transactions append one after another and
can never fork the chain. The lock is held until the caller commits: call ``record`` as the last step of a
transaction. PostgreSQL callers must use READ COMMITTED (the default).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from audit.store import GENESIS_HASH, AuditEvent, AuditEventRow, AuditHeadRow, Verification
from common.db import new_id
from common.types import Principal

ALGORITHMS = ("sha256", "sm3")
MAX_DETAILS_BYTES = 16 * 1024

_events = AuditEventRow.__table__
_head = AuditHeadRow.__table__


class AuditIntegrityError(RuntimeError):
    """The chain cannot be appended to safely (its head row is gone while events exist)."""


# ------------------------------------------------------------------------------------------ encoding


def format_at(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _clean_details(value: Any, path: str = "details") -> Any:
    """JSON-safe copy: str/int/finite float/bool/None, lists, str-keyed mappings; dates become ISO strings."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)  # plain str, also for StrEnum members
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: non-finite number")
        return value
    if isinstance(value, datetime):
        return format_at(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: keys must be strings")
            out[key] = _clean_details(item, f"{path}.{key}")
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_clean_details(item, f"{path}[]") for item in items]
    raise TypeError(f"{path}: {type(value).__name__} is not allowed in audit details")


def canonical_bytes(
    *,
    seq: int,
    id: str,
    at: datetime,
    actor_user_id: str | None,
    actor_username: str | None,
    organization_id: str | None,
    kind: str,
    subject_type: str,
    subject_id: str | None,
    details: Mapping[str, object],
    prev_hash: str,
    algorithm: str,
) -> bytes:
    payload = {
        "v": 1,
        "seq": int(seq),
        "id": id,
        "at": format_at(at),
        "actor_user_id": actor_user_id,
        "actor_username": actor_username,
        "organization_id": organization_id,
        "kind": kind,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "details": details,
        "prev_hash": prev_hash,
        "algorithm": algorithm,
    }
    return _dumps(payload).encode("utf-8")


def digest(algorithm: str, data: bytes) -> str:
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"unknown audit hash algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}"
        )
    return hashlib.new(algorithm, data).hexdigest()


# ------------------------------------------------------------------------------------------ append


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the head row (waits for concurrent appenders) and return the chain's (last seq, last hash)."""
    for _attempt in range(2):
        locked = session.execute(update(_head).where(_head.c.id == 1).values(seq=_head.c.seq))
        if locked.rowcount == 1:
            row = session.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).one()
            return int(row.seq), row.hash
        # No head row: only acceptable on a log that never had an event (schema made without the seed).
        if session.execute(select(func.count()).select_from(_events)).scalar_one():
            raise AuditIntegrityError("audit_head row is missing while audit_events has rows; run verify")
        _insert_genesis_head(session)
    raise AuditIntegrityError("could not lock audit_head")


def _insert_genesis_head(session: Session) -> None:
    values = {"id": 1, "seq": 0, "hash": GENESIS_HASH}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(_head).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(_head).values(**values).on_conflict_do_nothing())
    else:
        session.execute(insert(_head).values(**values))


def record(
    session: Session,
    *,
    kind: str,
    actor: Principal | None,
    subject_type: str,
    subject_id: str | None,
    details: Mapping[str, object] | None = None,
    at: datetime,
    algorithm: str = "sha256",
) -> AuditEvent:
    """Append one event in the caller's transaction (the caller commits). See the module docstring.

    ``details``: ids, counts, rule names, decisions — never data values or personal information.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"unknown audit hash algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}"
        )
    if not kind or not subject_type:
        raise ValueError("kind and subject_type are required")
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    at = at.astimezone(UTC)
    clean = _clean_details(dict(details or {}))
    details_text = _dumps(clean)
    if len(details_text.encode("utf-8")) > MAX_DETAILS_BYTES:
        raise ValueError(f"audit details exceed {MAX_DETAILS_BYTES} bytes: record ids and counts, not data")

    last_seq, last_hash = _lock_head(session)
    fields = {
        "seq": last_seq + 1,
        "id": new_id(),
        "at": at,
        "actor_user_id": actor.user_id if actor else None,
        "actor_username": actor.username if actor else None,
        "organization_id": actor.organization_id if actor else None,
        "kind": kind,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "prev_hash": last_hash,
        "algorithm": algorithm,
    }
    event_hash = digest(algorithm, canonical_bytes(details=clean, **fields))
    session.execute(insert(_events).values(details=details_text, hash=event_hash, **fields))
    session.execute(update(_head).where(_head.c.id == 1).values(seq=fields["seq"], hash=event_hash))
    return AuditEvent(details=clean, hash=event_hash, **fields)


def head(session: Session) -> tuple[int, str] | None:
    """(last seq, last hash) without locking: publish it elsewhere to anchor the chain (see ``verify``)."""
    row = session.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).one_or_none()
    return (int(row.seq), row.hash) if row else None


# ------------------------------------------------------------------------------------------ verify


def row_hash(row: Any, algorithm_default: str = "sha256") -> str:
    """Recompute a stored row's hash (raises ValueError on unknown algorithm or unreadable details)."""
    algorithm = row.algorithm or algorithm_default
    details = json.loads(row.details)
    if not isinstance(details, dict):
        raise TypeError("details is not a JSON object")
    return digest(
        algorithm,
        canonical_bytes(
            seq=row.seq,
            id=row.id,
            at=row.at,
            actor_user_id=row.actor_user_id,
            actor_username=row.actor_username,
            organization_id=row.organization_id,
            kind=row.kind,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            details=details,
            prev_hash=row.prev_hash,
            algorithm=algorithm,
        ),
    )


def verify(
    session: Session, algorithm_default: str = "sha256", *, anchor: tuple[int, str] | None = None
) -> Verification:
    """Recompute every event's hash and link, then check the head row names the last event.

    Detects an edited event (any field), a deleted event (seq gap / broken link), swapped events, events
    appended outside ``record`` and a truncated tail, naming the first broken seq and why. ``anchor`` — a
    (seq, hash) published earlier by ``head()`` — also catches a rewrite of the whole chain or of the head
    row, which an in-database chain alone cannot.
    """
    # Read max(seq) BEFORE the head: an event and its head update commit together, so every event seen here
    # is covered by the head read next. Events with seq above that head are concurrent appends (ignored) ...
    max_seq = session.execute(select(func.max(_events.c.seq))).scalar_one()
    head_row = head(session)
    if head_row is None:
        if max_seq is None:
            return Verification(
                ok=anchor is None,
                checked=0,
                first_broken_seq=None if anchor is None else 1,
                reason=None if anchor is None else "log is empty but an anchor was given",
            )
        return Verification(False, 0, 1, "audit_head row is missing")
    head_seq, head_hash = head_row
    # ... unless they were already there before the head was read: rows the head does not cover.
    if max_seq is not None and max_seq > head_seq:
        orphan = head_seq + 1
    else:
        orphan = None

    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    anchor_seen = anchor is None
    stmt = (
        select(_events)
        .where(_events.c.seq <= head_seq)
        .order_by(_events.c.seq)
        .execution_options(yield_per=1000)
    )
    for row in session.execute(stmt):
        checked += 1
        seq = int(row.seq)
        if seq != expected_seq:
            return _broken(
                checked,
                expected_seq,
                head_row,
                f"event seq {expected_seq} is missing (next stored event is seq {seq}): deleted",
            )
        try:
            recomputed = row_hash(row, algorithm_default)
        except (ValueError, TypeError) as exc:
            return _broken(checked, seq, head_row, f"event cannot be re-hashed: {exc}")
        if recomputed != row.hash:
            return _broken(checked, seq, head_row, "event content does not match its hash: edited or moved")
        if row.prev_hash != prev_hash:
            return _broken(
                checked,
                seq,
                head_row,
                "prev_hash does not match the previous event's hash: an event before it was "
                "replaced, removed or reordered",
            )
        if anchor is not None and seq == anchor[0]:
            if row.hash != anchor[1]:
                return _broken(
                    checked, seq, head_row, "event hash differs from the published anchor: rewritten"
                )
            anchor_seen = True
        prev_hash = row.hash
        expected_seq = seq + 1

    last_seq = expected_seq - 1
    if last_seq < head_seq:
        return _broken(
            checked,
            last_seq + 1,
            head_row,
            f"head records seq {head_seq} but the last event is seq {last_seq}: tail truncated",
        )
    if head_hash != prev_hash:
        return _broken(checked, head_seq, head_row, "head hash does not match the last event's hash")
    if orphan is not None:
        return _broken(checked, orphan, head_row, f"events after seq {head_seq} are not covered by the head")
    if not anchor_seen:
        return _broken(checked, anchor[0], head_row, "the published anchor event is missing: truncated")
    return Verification(True, checked, None, None, head_seq, head_hash)


def _broken(checked: int, seq: int, head_row: tuple[int, str], reason: str) -> Verification:
    return Verification(False, checked, seq, reason, head_row[0], head_row[1])
