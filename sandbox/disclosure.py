"""The disclosure auditor: before a k-only aggregate result leaves, compare the population behind each
released value with the populations of earlier releases, across all operator organizations (issue 11).

Two released sums over populations A and B give ``sum(A) - sum(B) = sum(A Δ B)`` when one contains the other,
and in general any combination ``a*sum(A) + b*sum(B)`` depends only on ``A Δ B`` when ``a = -b``. So a pair of
releases isolates fewer than k people exactly when ``0 < |A Δ B| < k``: that is the rule, checked against
every earlier release in the same unit space (the privacy-unit id space; see ``JobPlan.unit_space``) and
between the values of the same result (a UNION ALL of two branches, ROLLUP). A hit holds the result for a
supervisor, with the reason.

Representation: one roaring bitmap per released value over 32-bit unit ids. A unit id in ``[0, 2**31)`` is
itself (dense integer ids compress to runs and 2-byte array entries); anything else (text ids, large or
negative integers) is hashed into ``[2**31, 2**32)``. Exact for integer ids; for hashed ids two units collide
with probability ~ n / 2**31, which can only hide a difference, never invent one. Candidates are found by
cardinality: ``|A Δ B| >= ||A| - |B||``, so only earlier populations with ``| |A|-|B| | < k`` are compared
(an index on ``(unit_space, cardinality)``). Storage is bounded: populations older than ``RETENTION`` are
pruned, at most ``MAX_ROWS_PER_SPACE`` are kept per unit space (oldest dropped), a value whose bitmap exceeds
``MAX_BITMAP_BYTES`` holds the result instead of being stored, and an equal population already stored is
not stored again.

What it does not catch: combinations of three or more releases (``sum(A) - sum(B) - sum(C)``), the
reconstruction of many values from many overlapping queries, releases older than the retention window, and
DP results (not audited: the budget bounds them). That is why personal data defaults to DP.
"""

from __future__ import annotations

import array
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
from pyroaring import BitMap
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from common.job_plan import JobPlan
from sandbox.gate import GateReport
from sandbox.store import DisclosurePopulationRow

RETENTION = timedelta(days=365)
MAX_ROWS_PER_SPACE = 200_000
MAX_BITMAP_BYTES = 8 * 1024 * 1024
_DIRECT_LIMIT = 1 << 31
_K_WINDOW = 1000
HELD_REASON = (
    "the disclosure auditor held this result for supervisor review: a released value's population differs "
    "from that of another release by fewer than k privacy units"
)
TOO_LARGE_REASON = "the disclosure auditor could not record a released value's population: held for review"
MISSING_REASON = "the disclosure auditor could not read the result's populations: held for review"


@dataclass(frozen=True)
class Hit:
    """One pair of populations that differ by fewer than k units (for supervisors; never operator-visible)."""

    row_index: int  # the released row of this job
    other_job_id: str  # the earlier release (this job's own id for a pair inside one result)
    other_organization_id: str
    other_row_index: int
    difference: int  # |A Δ B|


@dataclass(frozen=True)
class Review:
    report: GateReport
    hits: tuple[Hit, ...]
    stored: int  # populations recorded
    stored_bytes: int


# ------------------------------------------------------------------------------------------------ bitmaps


def unit_ids(values: pa.Array) -> BitMap:
    """The 32-bit id set of one value's units (NULLs dropped).

    >>> sorted(unit_ids(pa.array([3, 1, None, 3])))
    [1, 3]
    >>> all(i >= 2**31 for i in unit_ids(pa.array(["a", "b"])))
    True
    """
    values = values.drop_null()
    if len(values) == 0:
        return BitMap()
    if pa.types.is_integer(values.type):
        ints = values.cast(pa.int64()).to_numpy(zero_copy_only=False)
        direct = (ints >= 0) & (ints < _DIRECT_LIMIT)
        ids = np.where(direct, ints, 0).astype(np.uint32)
        if not direct.all():
            ids[~direct] = _mix(ints[~direct].astype(np.uint64))
        return _bitmap(ids)
    texts = values.cast(pa.string()).to_pylist()
    hashed = [
        int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=4).digest(), "big") | _DIRECT_LIMIT
        for t in texts
    ]
    return _bitmap(np.array(hashed, dtype=np.uint32))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, top 31 bits, into the hashed half of the id space."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return ((x >> np.uint64(33)) | np.uint64(_DIRECT_LIMIT)).astype(np.uint32)


def _bitmap(ids: np.ndarray) -> BitMap:
    packed = array.array("I")
    packed.frombytes(np.ascontiguousarray(ids, dtype=np.uint32).tobytes())
    return BitMap(packed)  # from array.array: ~10x faster than from a numpy array


def populations(table: pa.Table, columns: Sequence[str], rows: Sequence[int]) -> list[list[BitMap]]:
    """Per released row (input row numbers ``rows``), the distinct populations of its ``columns``."""
    lists = [table.column(name).combine_chunks() for name in columns]
    result = []
    for row in rows:
        seen: list[BitMap] = []
        for column in lists:
            bitmap = unit_ids(column[row].values if column[row].is_valid else pa.array([], pa.int64()))
            if not any(bitmap == other for other in seen):
                seen.append(bitmap)
        result.append(seen)
    return result


def differ_by_few(a: BitMap, b: BitMap, k: int) -> int | None:
    """``|A Δ B|`` when it is in ``(0, k)``, else None.

    >>> differ_by_few(BitMap(range(20)), BitMap(range(19)), 10)
    1
    >>> differ_by_few(BitMap(range(5)), BitMap(range(5)), 10) is None
    True
    """
    if abs(len(a) - len(b)) >= k:
        return None
    difference = len(a) + len(b) - 2 * a.intersection_cardinality(b)
    return difference if 0 < difference < k else None


# ------------------------------------------------------------------------------------------------ review


def review(
    session: Session,
    *,
    job_id: str,
    organization_id: str,
    plan: JobPlan,
    table: pa.Table,
    report: GateReport,
    now: datetime,
) -> Review:
    """Audit a k-only result the gate would release (or hold) and record its populations.

    Fails closed: missing population columns or an oversized population hold the result for review."""
    if not plan.population_columns or not plan.unit_space:
        return Review(report.held(MISSING_REASON), (), 0, 0)
    if any(c not in table.column_names for c in plan.population_columns):
        return Review(report.held(MISSING_REASON), (), 0, 0)
    rows = list(report.released_rows)
    try:
        pops = populations(table, plan.population_columns, rows)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return Review(report.held(MISSING_REASON), (), 0, 0)
    _prune(session, plan.unit_space, now)
    hits: list[Hit] = []
    own: list[tuple[int, BitMap]] = []
    for position, row_pops in enumerate(pops):
        for bitmap in row_pops:
            hits.extend(_against_history(session, plan, bitmap, position))
            hits.extend(
                Hit(position, job_id, organization_id, other_pos, d)
                for other_pos, other in own
                if (d := differ_by_few(bitmap, other, plan.k)) is not None
            )
            own.append((position, bitmap))
    stored, stored_bytes, too_large = _record(session, job_id, organization_id, plan, own, now)
    if hits:
        report = report.held(HELD_REASON)
    elif too_large:
        report = report.held(TOO_LARGE_REASON)
    return Review(report, tuple(hits), stored, stored_bytes)


def _against_history(session: Session, plan: JobPlan, bitmap: BitMap, position: int) -> list[Hit]:
    size = len(bitmap)
    # The larger k of the two releases applies, and the earlier k is only known per row: fetch a window wide
    # enough for any k a grant uses, then compare with the pair's own k.
    window = max(plan.k, _K_WINDOW)
    rows = session.execute(
        select(
            DisclosurePopulationRow.job_id,
            DisclosurePopulationRow.organization_id,
            DisclosurePopulationRow.row_index,
            DisclosurePopulationRow.k,
            DisclosurePopulationRow.bitmap,
        ).where(
            DisclosurePopulationRow.unit_space == plan.unit_space,
            DisclosurePopulationRow.cardinality > size - window,
            DisclosurePopulationRow.cardinality < size + window,
        )
    )
    hits = []
    for job_id, organization_id, row_index, k, blob in rows:
        difference = differ_by_few(bitmap, BitMap.deserialize(blob), max(plan.k, k))
        if difference is not None:
            hits.append(Hit(position, job_id, organization_id, row_index, difference))
    return hits


def _record(session, job_id, organization_id, plan, own, now) -> tuple[int, int, bool]:
    stored, stored_bytes, too_large = 0, 0, False
    for position, bitmap in own:
        bitmap.run_optimize()
        blob = bitmap.serialize()
        if len(blob) > MAX_BITMAP_BYTES:
            too_large = True
            continue
        if _already_stored(session, plan.unit_space, bitmap, blob):
            continue
        session.add(
            DisclosurePopulationRow(
                unit_space=plan.unit_space,
                organization_id=organization_id,
                job_id=job_id,
                row_index=position,
                k=plan.k,
                cardinality=len(bitmap),
                bitmap=blob,
                created_at=now,
            )
        )
        stored += 1
        stored_bytes += len(blob)
    session.flush()
    return stored, stored_bytes, too_large


def _already_stored(session: Session, space: str, bitmap: BitMap, blob: bytes) -> bool:
    same_size = session.scalars(
        select(DisclosurePopulationRow.bitmap).where(
            DisclosurePopulationRow.unit_space == space,
            DisclosurePopulationRow.cardinality == len(bitmap),
        )
    )
    return any(other == blob or BitMap.deserialize(other) == bitmap for other in same_size)


def _prune(session: Session, space: str, now: datetime) -> None:
    """Retention window, then the per-space row cap (oldest first)."""
    session.execute(
        delete(DisclosurePopulationRow).where(
            DisclosurePopulationRow.unit_space == space, DisclosurePopulationRow.created_at < now - RETENTION
        )
    )
    count = session.scalar(
        select(func.count())
        .select_from(DisclosurePopulationRow)
        .where(DisclosurePopulationRow.unit_space == space)
    )
    if count and count > MAX_ROWS_PER_SPACE:
        oldest = select(DisclosurePopulationRow.id).where(DisclosurePopulationRow.unit_space == space)
        oldest = oldest.order_by(DisclosurePopulationRow.created_at).limit(count - MAX_ROWS_PER_SPACE)
        session.execute(
            delete(DisclosurePopulationRow).where(
                DisclosurePopulationRow.id.in_(list(session.scalars(oldest)))
            )
        )
