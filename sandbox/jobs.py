"""Job lifecycle: documented states, a table of allowed transitions, transactional claiming.

States::

    queued ──claim──> running ──gate released──> succeeded
      │                  ├──gate held──────────> held_for_review ──release──> succeeded
      │                  │                                        └─reject───> failed
      │                  ├──error / sandbox died / grant unusable──> failed
      └──cancel──> cancelled <──cancel (the sandbox is killed)──┘

Every step is idempotent on the state it expects: a transition from the wrong state raises
InvalidTransition naming the current state, so a retried or duplicated step cannot release twice.
A job whose worker stopped heartbeating is failed with a reason, never half-released.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common.errors import InvalidTransition, NotFound, RateLimited
from common.job_plan import JobPlan
from common.types import JobState
from sandbox.store import JobRow

S = JobState
TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    S.queued: frozenset({S.running, S.cancelled, S.failed}),
    S.running: frozenset({S.succeeded, S.failed, S.cancelled, S.held_for_review}),
    S.held_for_review: frozenset({S.succeeded, S.failed}),
    S.succeeded: frozenset(),
    S.failed: frozenset(),
    S.cancelled: frozenset(),
}
ACTIVE = (S.queued, S.running)


def submit(
    session: Session,
    *,
    organization_id: str,
    user_id: str,
    submitted_sql: str,
    checked_sql: str,
    plan: JobPlan,
    now: datetime,
    queue_cap: int,
) -> JobRow:
    waiting = session.scalar(
        select(func.count())
        .select_from(JobRow)
        .where(JobRow.organization_id == organization_id, JobRow.state.in_([a.value for a in ACTIVE]))
    )
    if waiting >= queue_cap:
        raise RateLimited(
            f"your organization already has {waiting} jobs queued or running (limit {queue_cap}); "
            "wait for one to finish or cancel one",
            limit=queue_cap,
        )
    row = JobRow(
        organization_id=organization_id,
        submitted_by=user_id,
        state=S.queued.value,
        submitted_sql=submitted_sql,
        checked_sql=checked_sql,
        plan=plan.to_json(),
        cancel_requested=False,
        attempts=0,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get(session: Session, job_id: str, *, for_update: bool = False) -> JobRow:
    query = select(JobRow).where(JobRow.id == job_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound("no such job", field="job_id")
    return row


class FailureClass(StrEnum):
    """Coarse cause of a failed job, recorded in its audit event (never the engine text or a data value).

    Supervisors' risk signals count bursts of these per analyst: a data-dependent failure is one bit of
    information, so repeated ones are what an error-oracle attack looks like.
    """

    not_runnable = "not_runnable"  # before the engine started: grant unusable, plan unreadable
    query_error = "query_error"  # the engine refused or failed the query
    resource_limit = "resource_limit"  # time, memory, CPU, output size or row limits
    sandbox = "sandbox"  # the sandbox itself failed (setup, crash, killed)
    gate_rejected = "gate_rejected"  # the output gate refused a malformed result
    cancelled = "cancelled"
    internal = "internal"


_RESOURCE_KINDS = frozenset(
    {"timeout", "output_too_large", "too_many_rows", "cpu_limit", "file_size_limit", "memory", "output"}
)
_SANDBOX_KINDS = frozenset({"setup", "bad_spec", "crashed", "killed", "worker_lost", "sandbox_error"})


def failure_class(error_kind: str | None) -> FailureClass:
    """Map a runner/worker error kind to its class; unknown kinds are query errors (the engine said no).

    >>> failure_class("timeout").value, failure_class("invalid_job_plan").value, failure_class("Binder").value
    ('resource_limit', 'not_runnable', 'query_error')
    """
    kind = (error_kind or "").lower()
    if kind in {"not_runnable", "invalid_job_plan"}:
        return FailureClass.not_runnable
    if kind in {"cancelled", "gate_rejected"}:
        return FailureClass(kind)
    if kind in {"internal_error"}:
        return FailureClass.internal
    if kind in _RESOURCE_KINDS or kind.endswith("_limit"):
        return FailureClass.resource_limit
    if kind in _SANDBOX_KINDS:
        return FailureClass.sandbox
    return FailureClass.query_error


def state_of(row: JobRow) -> JobState:
    return JobState(row.state)


def plan_of(row: JobRow) -> JobPlan:
    """The job's typed plan (InvalidJobPlan when the stored plan cannot be trusted)."""
    return JobPlan.parse(row.plan)


def transition(row: JobRow, state: JobState | str, now: datetime, **fields: Any) -> JobRow:
    state = JobState(state)
    current = JobState(row.state)
    if state not in TRANSITIONS[current]:
        raise InvalidTransition(f"a {current} job cannot become {state}", current_state=current.value)
    row.state = state.value
    if state.finished:
        row.finished_at = now
    for name, value in fields.items():
        setattr(row, name, value)
    return row


def claim(session: Session, worker_id: str, now: datetime, per_org_limit: int) -> JobRow | None:
    """Take the oldest queued job whose organization is under its concurrency limit.

    On PostgreSQL candidates are locked with SKIP LOCKED so workers never wait on each other; on SQLite the
    conditional UPDATE (state still 'queued') makes the claim atomic.
    """
    running = dict(
        session.execute(
            select(JobRow.organization_id, func.count())
            .where(JobRow.state == S.running.value)
            .group_by(JobRow.organization_id)
        ).all()
    )
    query = select(JobRow).where(JobRow.state == S.queued.value).order_by(JobRow.created_at).limit(20)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for row in session.scalars(query):
        if running.get(row.organization_id, 0) >= per_org_limit:
            continue
        claimed = session.execute(
            update(JobRow)
            .where(JobRow.id == row.id, JobRow.state == S.queued.value)
            .values(
                state=S.running.value,
                worker_id=worker_id,
                started_at=now,
                heartbeat_at=now,
                attempts=JobRow.attempts + 1,
            )
            .execution_options(synchronize_session="fetch")
        )
        if claimed.rowcount == 1:
            session.refresh(row)
            return row
    return None


def heartbeat(session: Session, job_id: str, worker_id: str, now: datetime) -> bool:
    """Refresh the heartbeat; returns True when cancellation was requested."""
    session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.worker_id == worker_id, JobRow.state == S.running.value)
        .values(heartbeat_at=now)
    )
    return bool(session.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))


def request_cancel(session: Session, row: JobRow, now: datetime) -> JobRow:
    if row.state == S.queued:
        return transition(
            row, S.cancelled, now, error_kind="cancelled", error_message="cancelled before it ran"
        )
    if row.state == S.running:
        row.cancel_requested = True
        return row
    raise InvalidTransition(f"a {row.state} job cannot be cancelled", current_state=row.state)


def fail_stale(session: Session, now: datetime, stale_after: timedelta) -> list[str]:
    """Fail running jobs whose worker stopped heartbeating (it died or the server restarted)."""
    cutoff = now - stale_after
    # SKIP LOCKED: concurrent sweeps (one per pool) never fail, audit and refund the same job twice.
    query = select(JobRow).where(JobRow.state == S.running.value, JobRow.heartbeat_at < cutoff)
    rows = list(session.scalars(query.with_for_update(skip_locked=True)))
    for row in rows:
        transition(
            row,
            S.failed,
            now,
            error_kind="worker_lost",
            error_message="the worker running this job stopped; nothing was released. Submit it again.",
        )
    return [row.id for row in rows]


def running_among(session: Session, job_ids: list[str]) -> list[str]:
    """Which of ``job_ids`` are still running (their scoped copies must stay)."""
    query = select(JobRow.id).where(JobRow.id.in_(job_ids), JobRow.state == S.running.value)
    return list(session.scalars(query))


def list_jobs(session: Session, organization_id: str | None, limit: int = 100) -> list[JobRow]:
    query = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
    if organization_id is not None:
        query = query.where(JobRow.organization_id == organization_id)
    return list(session.scalars(query))


def held(session: Session) -> list[JobRow]:
    return list(
        session.scalars(
            select(JobRow).where(JobRow.state == S.held_for_review.value).order_by(JobRow.finished_at)
        )
    )
