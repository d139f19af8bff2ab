"""The epsilon ledger: each DP job reserves its epsilon atomically before it runs, commits it when a noisy
result leaves, and gets it back when nothing was released. Budgets can never be overspent.

**Atomicity.** :func:`reserve` first *writes* the (organization, dataset) row of ``dp_ledger_locks`` (insert
if missing, then ``UPDATE ... SET version = version + 1``), and only then sums what is spent and reserved and
inserts the reservation, all in the caller's transaction (the same one that creates the job row). The write
takes PostgreSQL's row lock, held to commit, so concurrent reservations on the same budget queue on it and
each one's sums (READ COMMITTED: a fresh snapshot per statement) include every reservation committed before
it; on SQLite the write takes the database write lock (the driver begins the transaction at the first write;
the busy timeout queues the others). One lock row covers a grant's own budget and the organization's cap
across its grants on the dataset. 50 concurrent jobs with budget for one: exactly one reservation commits.

**Periods.** ``refresh`` none / monthly / yearly: a reservation belongs to the period of the (injected) clock's
Beijing date when it was made; the budget of the current period counts reserved + committed entries of that
period. The organization cap counts every entry of the organization on the dataset made since the start of
the current period.

Floating point: a reservation fits when ``used + epsilon <= budget + 1e-9``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common.db import new_id
from common.errors import BudgetExceeded, InvalidInput
from common.types import Grant
from policies.ledger_store import DPLedgerEntryRow, DPLedgerLockRow

RESERVED, COMMITTED, REFUNDED = "reserved", "committed", "refunded"
TOLERANCE = 1e-9
BEIJING = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Period:
    key: str  # "all" | "2025" | "2025-01"
    start: date | None
    end: date | None  # exclusive


@dataclass(frozen=True)
class Entry:
    id: str
    grant_id: str
    grant_version: int
    organization_id: str
    dataset: str
    job_id: str | None
    epsilon: float
    state: str
    period: str


@dataclass(frozen=True)
class Budget:
    grant_id: str
    period: Period
    budget: float
    spent: float
    reserved: float
    remaining: float
    org_cap: float
    org_used: float

    def to_dict(self) -> dict:
        return {
            "grant_id": self.grant_id,
            "period": self.period.key,
            "period_start": self.period.start.isoformat() if self.period.start else None,
            "period_end": self.period.end.isoformat() if self.period.end else None,
            "budget": self.budget,
            "spent": self.spent,
            "reserved": self.reserved,
            "remaining": self.remaining,
            "org_cap": self.org_cap or None,
            "org_used": self.org_used,
            "org_remaining": max(self.org_cap - self.org_used, 0.0) if self.org_cap else None,
        }


def period_of(refresh: str, today: date) -> Period:
    """The budget period containing ``today``.

    >>> period_of("monthly", date(2025, 12, 31))
    Period(key='2025-12', start=datetime.date(2025, 12, 1), end=datetime.date(2026, 1, 1))
    >>> period_of("yearly", date(2025, 3, 1)).key, period_of("none", date(2025, 3, 1)).key
    ('2025', 'all')
    """
    if refresh == "monthly":
        start = today.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
        return Period(f"{today.year:04d}-{today.month:02d}", start, end)
    if refresh == "yearly":
        return Period(f"{today.year:04d}", date(today.year, 1, 1), date(today.year + 1, 1, 1))
    if refresh == "none":
        return Period("all", None, None)
    raise InvalidInput("dp.refresh must be none, monthly or yearly", field="dp.refresh")


def _lock(session: Session, organization_id: str, dataset: str) -> None:
    dialect = session.bind.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(DPLedgerLockRow)
        .values(id=new_id(), organization_id=organization_id, dataset_name=dataset, version=0)
        .on_conflict_do_nothing(index_elements=["organization_id", "dataset_name"])
    )
    session.execute(
        update(DPLedgerLockRow)
        .where(DPLedgerLockRow.organization_id == organization_id, DPLedgerLockRow.dataset_name == dataset)
        .values(version=DPLedgerLockRow.version + 1)
        .execution_options(synchronize_session=False)
    )


def _grant_used(session: Session, grant_id: str, period: Period) -> tuple[float, float]:
    rows = dict(
        session.execute(
            select(DPLedgerEntryRow.state, func.coalesce(func.sum(DPLedgerEntryRow.epsilon), 0.0))
            .where(
                DPLedgerEntryRow.grant_id == grant_id,
                DPLedgerEntryRow.period == period.key,
                DPLedgerEntryRow.state.in_((RESERVED, COMMITTED)),
            )
            .group_by(DPLedgerEntryRow.state)
        ).all()
    )
    return float(rows.get(COMMITTED, 0.0)), float(rows.get(RESERVED, 0.0))


def _org_used(session: Session, organization_id: str, dataset: str, period: Period) -> float:
    query = select(func.coalesce(func.sum(DPLedgerEntryRow.epsilon), 0.0)).where(
        DPLedgerEntryRow.organization_id == organization_id,
        DPLedgerEntryRow.dataset_name == dataset,
        DPLedgerEntryRow.state.in_((RESERVED, COMMITTED)),
    )
    if period.start is not None:
        since = datetime.combine(period.start, time(), BEIJING).astimezone(UTC)
        query = query.where(DPLedgerEntryRow.created_at >= since)
    return float(session.scalar(query) or 0.0)


def budget(session: Session, grant: Grant, today: date) -> Budget:
    period = period_of(grant.dp.refresh, today)
    spent, reserved = _grant_used(session, grant.id, period)
    org_used = _org_used(session, grant.organization_id, grant.dataset, period) if grant.dp.org_cap else 0.0
    remaining = max(grant.dp.epsilon_budget - spent - reserved, 0.0)
    return Budget(
        grant.id, period, grant.dp.epsilon_budget, spent, reserved, remaining, grant.dp.org_cap, org_used
    )


def reserve(
    session: Session, grant: Grant, epsilon: float, *, job_id: str | None, now: datetime, today: date
) -> Entry:
    """Reserve ``epsilon`` on ``grant`` for ``job_id`` or raise ``BudgetExceeded`` saying how much is left."""
    if not epsilon > 0:
        raise InvalidInput("epsilon must be positive", field="dp.epsilon")
    _lock(session, grant.organization_id, grant.dataset)
    state = budget(session, grant, today)
    used = state.spent + state.reserved
    if used + epsilon > state.budget + TOLERANCE:
        left = max(state.budget - used, 0.0)
        raise BudgetExceeded(
            f"this query needs epsilon {epsilon:g} but grant {grant.id} has {left:g} of {state.budget:g} left "
            f"in budget period {state.period.key}"
            + (f" (it renews on {state.period.end.isoformat()})" if state.period.end else ""),
            grant_id=grant.id,
            requested=epsilon,
            remaining=left,
            period=state.period.key,
        )
    if grant.dp.org_cap and state.org_used + epsilon > grant.dp.org_cap + TOLERANCE:
        left = max(grant.dp.org_cap - state.org_used, 0.0)
        raise BudgetExceeded(
            f"this query needs epsilon {epsilon:g} but your organization has {left:g} of its cap "
            f"{grant.dp.org_cap:g} on dataset {grant.dataset} left in budget period {state.period.key}",
            grant_id=grant.id,
            requested=epsilon,
            remaining=left,
            period=state.period.key,
            scope="organization",
        )
    row = DPLedgerEntryRow(
        grant_id=grant.id,
        grant_version=grant.version,
        organization_id=grant.organization_id,
        dataset_name=grant.dataset,
        job_id=job_id,
        epsilon=float(epsilon),
        state=RESERVED,
        period=state.period.key,
        created_at=now,
        settled_at=None,
    )
    session.add(row)
    session.flush()
    return _entry(row)


def settle(session: Session, job_id: str, outcome: str, now: datetime) -> list[Entry]:
    """Commit or refund the job's reservations (idempotent: settled entries are left as they are)."""
    if outcome not in (COMMITTED, REFUNDED):
        raise ValueError("outcome must be committed or refunded")
    rows = list(
        session.scalars(
            select(DPLedgerEntryRow)
            .where(DPLedgerEntryRow.job_id == job_id, DPLedgerEntryRow.state == RESERVED)
            .with_for_update()
        )
    )
    for row in rows:
        row.state, row.settled_at = outcome, now
    session.flush()
    return [_entry(r) for r in rows]


def reserved_job_ids(session: Session, grant_ids: list[str]) -> list[str]:
    """Jobs still holding a reservation on these grants (for the gateway's reconciliation)."""
    return list(
        session.scalars(
            select(DPLedgerEntryRow.job_id).where(
                DPLedgerEntryRow.grant_id.in_(grant_ids),
                DPLedgerEntryRow.state == RESERVED,
                DPLedgerEntryRow.job_id.is_not(None),
            )
        )
    )


def entries(session: Session, grant_id: str) -> list[Entry]:
    return [
        _entry(r)
        for r in session.scalars(
            select(DPLedgerEntryRow)
            .where(DPLedgerEntryRow.grant_id == grant_id)
            .order_by(DPLedgerEntryRow.created_at, DPLedgerEntryRow.id)
        )
    ]


def _entry(row: DPLedgerEntryRow) -> Entry:
    return Entry(
        row.id,
        row.grant_id,
        row.grant_version,
        row.organization_id,
        row.dataset_name,
        row.job_id,
        row.epsilon,
        row.state,
        row.period,
    )
