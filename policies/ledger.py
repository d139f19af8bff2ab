"""The epsilon ledger: each DP job reserves its epsilon atomically before it runs, commits it when a noisy
result leaves, and gets it back only when the engine never ran. Budgets can never be overspent.

**Atomicity.** :func:`reserve` first *writes* the (organization, dataset) row of ``dp_ledger_locks`` (insert
if missing, then ``UPDATE ... SET version = version + 1``), and only then sums what is spent and reserved and
inserts the reservation, all in the caller's transaction (the same one that creates the job row). The write
takes PostgreSQL's row lock, held to commit, so concurrent reservations on the same budget queue on it and
each one's sums (READ COMMITTED: a fresh snapshot per statement) include every reservation committed before
it; on SQLite the write takes the database write lock (the driver begins the transaction at the first write;
the busy timeout queues the others). One lock row covers a grant's own budget and the organization's cap
across its grants on the dataset. 50 concurrent jobs with budget for one: exactly one reservation commits.

**Spent is history.** An entry counts for the period in which it was *made* (its ``created_at``), across
every version of the grant, so no setting change (budget, default epsilon, contributions, grant version)
can lower what the current period has spent. ``refresh`` none / monthly / yearly sets the period bounds on
the (injected) clock's Beijing dates, and a change of ``refresh`` applies from the **next** period: the
period running when the change was made keeps its bounds (:func:`current_period` replays the grant's
versions), and an open-ended period (``none``) ends at the new rule's next boundary. The organization cap
counts every entry of the organization on the dataset made since the start of the current period.

**Charges.** ``committed``: a noisy result left the sandbox host. ``charged``: the job failed after the
engine started (its failure could depend on the data, so it is charged like a release, see
:func:`charge_failed`). ``refunded``: the engine never ran on the data (refused, cancelled while queued,
not runnable). Per grant a minimum epsilon per query (``dp.min_epsilon``, default 0.01) and a cap on DP
queries per period (``dp.max_queries``, 0 = none) bound how cheap many small queries can be.

Floating point: a reservation fits when ``used + epsilon <= budget + 1e-9``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common.db import new_id
from common.errors import BudgetExceeded, InvalidInput
from common.types import DPSettings, Grant
from policies.ledger_store import DPLedgerEntryRow, DPLedgerLockRow
from policies.store import GrantVersionRow

RESERVED, COMMITTED, CHARGED, REFUNDED = "reserved", "committed", "charged", "refunded"
SPENT = (COMMITTED, CHARGED)
HELD = (RESERVED, COMMITTED, CHARGED)
TOLERANCE = 1e-9
BEIJING = timezone(timedelta(hours=8))
MIN_EPSILON_FLOOR = 0.001  # no grant may allow a cheaper query than this


@dataclass(frozen=True)
class Period:
    key: str  # "all" | "2025" | "2025-01" | "2025-02~" (refresh none from 2025-02-01 on)
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
    queries: int = 0
    max_queries: int = 0

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
            "queries": self.queries,
            "max_queries": self.max_queries or None,
        }


def period_of(refresh: str, today: date) -> Period:
    """The budget period containing ``today`` under one rule.

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


def current_period(rules: Sequence[tuple[date, str]], today: date) -> Period:
    """The period containing ``today`` given the grant's ``refresh`` history: (Beijing day set, rule), oldest
    first. A change applies from the next period; an open-ended period ends at the new rule's next boundary.

    >>> none_then_monthly = [(date(2025, 1, 2), "none"), (date(2025, 3, 15), "monthly")]
    >>> current_period(none_then_monthly, date(2025, 3, 20))  # January and February still count
    Period(key='all', start=None, end=datetime.date(2025, 4, 1))
    >>> current_period(none_then_monthly, date(2025, 4, 3)).key
    '2025-04'
    >>> current_period([(date(2025, 1, 2), "monthly"), (date(2025, 1, 15), "yearly")], date(2025, 3, 3))
    Period(key='2025', start=datetime.date(2025, 2, 1), end=datetime.date(2026, 1, 1))
    >>> current_period([(date(2025, 1, 2), "monthly"), (date(2025, 1, 15), "none")], date(2025, 9, 3))
    Period(key='2025-02~', start=datetime.date(2025, 2, 1), end=None)
    """
    (day, rule), changes = rules[0], list(rules[1:])
    opened_with, period = rule, period_of(rule, day)
    while True:
        while changes and changes[0][0] <= today and (period.end is None or changes[0][0] < period.end):
            day, rule = changes.pop(0)
            if opened_with == "none":  # open-ended: the latest rule says where it ends (none: never)
                period = replace(period, end=period_of(rule, day).end)
        if period.end is None or today < period.end:
            return period
        opened_with, period = rule, _period_from(rule, period.end)


def _period_from(rule: str, start: date) -> Period:
    natural = period_of(rule, start)
    if natural.start is None:
        return Period(f"{start.year:04d}-{start.month:02d}~", start, None)
    return Period(natural.key, max(natural.start, start), natural.end)


def _refresh_history(session: Session, grant: Grant, today: date) -> list[tuple[date, str]]:
    rows = session.execute(
        select(GrantVersionRow.created_at, GrantVersionRow.dp)
        .where(GrantVersionRow.grant_id == grant.id)
        .order_by(GrantVersionRow.version)
    ).all()
    history = [(_beijing_day(at), json.loads(dp).get("refresh", "none")) for at, dp in rows]
    return history or [(today, grant.dp.refresh)]


def _beijing_day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(BEIJING).date()


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), BEIJING).astimezone(UTC)


def dp_changes(old: DPSettings, new: DPSettings) -> dict[str, list]:
    """The DP settings a grant change touches, ``{name: [old, new]}`` (for the audit event with its reason).

    >>> dp_changes(DPSettings(epsilon_budget=1.0), DPSettings(epsilon_budget=2.0, refresh="monthly"))
    {'epsilon_budget': [1.0, 2.0], 'refresh': ['none', 'monthly']}
    """
    before, after = _plain(asdict(old)), _plain(asdict(new))
    return {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return getattr(value, "value", value)


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


def _grant_used(session: Session, grant_id: str, period: Period) -> tuple[float, float, int]:
    """(spent, reserved, queries) of the grant's entries made inside ``period``, by any of its versions."""
    query = (
        select(
            DPLedgerEntryRow.state,
            func.coalesce(func.sum(DPLedgerEntryRow.epsilon), 0.0),
            func.count(DPLedgerEntryRow.id),
        )
        .where(DPLedgerEntryRow.grant_id == grant_id, DPLedgerEntryRow.state.in_(HELD))
        .group_by(DPLedgerEntryRow.state)
    )
    if period.start is not None:
        query = query.where(DPLedgerEntryRow.created_at >= _utc(period.start))
    if period.end is not None:
        query = query.where(DPLedgerEntryRow.created_at < _utc(period.end))
    rows = {state: (float(total), int(n)) for state, total, n in session.execute(query).all()}
    spent = sum(rows.get(s, (0.0, 0))[0] for s in SPENT)
    queries = sum(n for _, n in rows.values())
    return spent, rows.get(RESERVED, (0.0, 0))[0], queries


def _org_used(session: Session, organization_id: str, dataset: str, period: Period) -> float:
    query = select(func.coalesce(func.sum(DPLedgerEntryRow.epsilon), 0.0)).where(
        DPLedgerEntryRow.organization_id == organization_id,
        DPLedgerEntryRow.dataset_name == dataset,
        DPLedgerEntryRow.state.in_(HELD),
    )
    if period.start is not None:
        query = query.where(DPLedgerEntryRow.created_at >= _utc(period.start))
    return float(session.scalar(query) or 0.0)


def budget(session: Session, grant: Grant, today: date) -> Budget:
    period = current_period(_refresh_history(session, grant, today), today)
    spent, reserved, queries = _grant_used(session, grant.id, period)
    org_used = _org_used(session, grant.organization_id, grant.dataset, period) if grant.dp.org_cap else 0.0
    remaining = max(grant.dp.epsilon_budget - spent - reserved, 0.0)
    return Budget(
        grant.id,
        period,
        grant.dp.epsilon_budget,
        spent,
        reserved,
        remaining,
        grant.dp.org_cap,
        org_used,
        queries,
        grant.dp.max_queries,
    )


def reserve(
    session: Session, grant: Grant, epsilon: float, *, job_id: str | None, now: datetime, today: date
) -> Entry:
    """Reserve ``epsilon`` on ``grant`` for ``job_id`` or raise ``BudgetExceeded`` saying how much is left."""
    floor = max(grant.dp.min_epsilon, MIN_EPSILON_FLOOR)
    if not epsilon >= floor:
        raise InvalidInput(
            f"epsilon must be at least {floor:g} per query on grant {grant.id}", field="dp.epsilon"
        )
    _lock(session, grant.organization_id, grant.dataset)
    state = budget(session, grant, today)
    _check_fits(grant, state, epsilon)
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


def _check_fits(grant: Grant, state: Budget, epsilon: float) -> None:
    renews = f" (it renews on {state.period.end.isoformat()})" if state.period.end else ""
    used = state.spent + state.reserved
    if state.max_queries and state.queries >= state.max_queries:
        raise BudgetExceeded(
            f"grant {grant.id} allows {state.max_queries} DP queries in budget period {state.period.key} "
            f"and all are used{renews}",
            grant_id=grant.id,
            requested=epsilon,
            remaining=0.0,
            period=state.period.key,
            scope="queries",
        )
    if used + epsilon > state.budget + TOLERANCE:
        left = max(state.budget - used, 0.0)
        raise BudgetExceeded(
            f"this query needs epsilon {epsilon:g} but grant {grant.id} has {left:g} of {state.budget:g} "
            f"left in budget period {state.period.key}{renews}",
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


def settle(session: Session, job_id: str, outcome: str, now: datetime) -> list[Entry]:
    """Commit, charge or refund the job's reservations (idempotent: settled entries are left as they are).

    Refund only when the engine never ran on the data; a job that failed after it started is charged."""
    if outcome not in (COMMITTED, CHARGED, REFUNDED):
        raise ValueError("outcome must be committed, charged or refunded")
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


def charge_failed(session: Session, job_id: str, now: datetime) -> list[Entry]:
    """Charge (never refund) a job that failed after the engine started: whether it failed can depend on the
    data, so the failure itself is a release and costs the job's epsilon (issue 10)."""
    return settle(session, job_id, CHARGED, now)


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
