"""Jobs: submit checked SQL, follow it, fetch the gated result, cancel it.

Only the submitting organization sees a job; supervisors see every job read-only, and result data only once
it was released. A policy violation is a 422 carrying the checker's explanation, and no job is created.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from typing import Annotated, Any, Literal

import pyarrow.parquet as pq
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from common.errors import InvalidJobPlan, InvalidTransition, NotFound, SandboxUnavailable
from common.job_plan import JobPlan
from common.types import JobState, Principal, Role
from gateway.access import check_query, reserve_dp, settle_dp
from gateway.auth import Ctx, VerifiedOperator, require
from gateway.context import AppContext
from gateway.events import emit
from gateway.risk import NotSuspended
from sandbox import jobs
from sandbox.gate import to_csv_bytes, to_json_rows
from sandbox.store import JobRow

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
JobReader = Annotated[Principal, require(Role.operator, Role.supervisor)]
TERMINAL = tuple(s.value for s in JobState if s.finished)
MAX_WAIT = 60.0


class DPRequest(BaseModel):
    epsilon: float | None = Field(
        default=None,
        gt=0,
        le=10,
        description="privacy cost of this query; default: the grant's default epsilon",
    )


class JobCreate(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000, description="one SELECT over your granted tables")
    dp: DPRequest | None = Field(
        default=None,
        description="run under differential privacy (required on grants "
        "in DP mode `required`, opt-in on `optional` ones)",
    )


class JobPublic(BaseModel):
    id: str
    state: str
    organization_id: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_ms: int | None
    error_kind: str | None
    error_message: str | None
    output_columns: list[str]
    is_aggregate: bool
    k: int
    gate: dict[str, Any] | None
    result_rows: int | None
    result_sha256: str | None
    checked_sql: str
    next_step: str
    dp: dict[str, Any] | None = None  # DP jobs: epsilon spent (reserved at submission) and its split


NEXT_STEP: dict[JobState, str] = {
    JobState.queued: "wait: poll GET /api/v1/jobs/{id}?wait=10",
    JobState.running: "wait: poll GET /api/v1/jobs/{id}?wait=10",
    JobState.succeeded: "download: GET /api/v1/jobs/{id}/result?format=json|csv|parquet",
    JobState.failed: "read error_message, change the query and submit a new job",
    JobState.cancelled: "submit a new job if you still need the result",
    JobState.held_for_review: "a supervisor is reviewing the result before it may leave (see gate.reasons)",
}


def public(row: JobRow) -> JobPublic:
    try:
        plan: JobPlan | None = jobs.plan_of(row)
    except InvalidJobPlan:
        plan = None  # shown without plan details; the worker fails such a job closed
    return JobPublic(
        id=row.id,
        state=row.state,
        organization_id=row.organization_id,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        run_ms=row.run_ms,
        error_kind=row.error_kind,
        error_message=row.error_message,
        output_columns=list(plan.output_columns) if plan else [],
        is_aggregate=plan.is_aggregate if plan else False,
        k=plan.k if plan else 0,
        gate=json.loads(row.gate_report) if row.gate_report else None,
        result_rows=row.result_rows,
        result_sha256=row.result_sha256,
        checked_sql=row.checked_sql,
        next_step=NEXT_STEP[jobs.state_of(row)].replace("{id}", row.id),
        dp=_dp_summary(plan.dp if plan else None),
    )


def _dp_summary(plan: dict | None) -> dict[str, Any] | None:
    if not plan:
        return None
    return {
        "epsilon": plan["epsilon"],
        "grant_id": plan["grant_id"],
        "split": plan.get("split"),
        "max_contributions": plan["max_contributions"],
        "groups": math.prod(len(d) for d in plan["domains"]),
        "released_columns": plan["released_columns"],
        "note": "the epsilon is spent when the result is released; asking again costs it again",
    }


def visible_job(session, principal: Principal, job_id: str) -> JobRow:
    row = jobs.get(session, job_id)
    if row.organization_id != principal.organization_id and not principal.has_role(Role.supervisor):
        raise NotFound("no such job", field="job_id")  # do not confirm other organizations' job ids
    return row


def _wait(ctx: AppContext, principal: Principal, job_id: str, seconds: float) -> JobRow:
    deadline = time.monotonic() + min(seconds, MAX_WAIT)
    while True:
        with ctx.uow() as session:
            row = visible_job(session, principal, job_id)
        if row.state in TERMINAL or time.monotonic() >= deadline:
            return row
        with ctx.job_settled:  # woken by an in-process worker; other workers are seen by polling
            ctx.job_settled.wait(min(0.1, max(deadline - time.monotonic(), 0)))


@router.post("", response_model=JobPublic, status_code=202)
def submit(
    body: JobCreate,
    ctx: Ctx,
    principal: VerifiedOperator,
    _active: NotSuspended,  # a suspended analyst gets a 403 naming the suspension (gateway/risk.py)
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT, description="seconds to wait for completion")] = 0,
):
    unavailable = ctx.services.get("sandbox_unavailable")
    if unavailable is not None:
        raise SandboxUnavailable(unavailable.message)
    with ctx.uow() as session:
        checked, _ = check_query(
            session, ctx, principal, body.sql, dp=body.dp.model_dump() if body.dp is not None else None
        )
        row = jobs.submit(
            session,
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            submitted_sql=body.sql,
            checked_sql=checked.sql,
            plan=JobPlan.of(checked),
            now=ctx.clock.now(),
            queue_cap=ctx.settings.sandbox.per_org_queue_cap,
        )
        reserve_dp(session, ctx, principal, checked, row.id)  # same transaction as the job row
        emit(
            session,
            ctx,
            principal,
            "job.submitted",
            "job",
            row.id,
            grants=[list(g) for g in checked.grants],
            tables=[".".join(t) for t in checked.tables],
            is_aggregate=checked.is_aggregate,
            dp=bool(checked.dp),
            checked_sql=checked.sql,  # what will run, so a supervisor can read it (issue 11)
        )
        job_id = row.id
    ctx.job_submitted.set()
    row = _wait(ctx, principal, job_id, wait) if wait else row
    status = 200 if row.state in TERMINAL else 202
    return JSONResponse(public(row).model_dump(mode="json"), status_code=status)


@router.get("", response_model=list[JobPublic])
def list_jobs(ctx: Ctx, principal: JobReader) -> list[JobPublic]:
    owner = None if principal.has_role(Role.supervisor) else principal.organization_id
    with ctx.uow() as session:
        return [public(r) for r in jobs.list_jobs(session, owner)]


@router.get("/{job_id}", response_model=JobPublic)
def get_job(
    job_id: str, ctx: Ctx, principal: JobReader, wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0
) -> JobPublic:
    return public(_wait(ctx, principal, job_id, wait))


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel(job_id: str, ctx: Ctx, principal: VerifiedOperator) -> JobPublic:
    with ctx.uow() as session:
        row = visible_job(session, principal, job_id)
        row = jobs.get(session, row.id, for_update=True)
        jobs.request_cancel(session, row, ctx.clock.now())
        if row.state == JobState.cancelled:
            settle_dp(session, ctx, row.id, "refunded", principal)  # nothing ran, nothing was released
        emit(session, ctx, principal, "job.cancel_requested", "job", row.id, state=row.state)
        return public(row)


@router.get("/{job_id}/result")
def result(
    job_id: str,
    ctx: Ctx,
    principal: JobReader,
    format: Annotated[Literal["json", "csv", "parquet"], Query()] = "json",
) -> Response:
    with ctx.uow() as session:
        row = visible_job(session, principal, job_id)
        if row.state != JobState.succeeded or not row.result_path:
            raise InvalidTransition(f"no released result: the job is {row.state}", current_state=row.state)
        emit(session, ctx, principal, "job.result.downloaded", "job", row.id, format=format)
        path = ctx.settings.results_dir / row.result_path
    table = pq.read_table(path)
    if format == "parquet":
        return Response(
            path.read_bytes(),
            media_type="application/vnd.apache.parquet",
            headers={"Content-Disposition": f'attachment; filename="{job_id}.parquet"'},
        )
    if format == "csv":
        return Response(
            to_csv_bytes(table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{job_id}.csv"'},
        )
    return JSONResponse({"job_id": job_id, "columns": table.column_names, "rows": to_json_rows(table)})
