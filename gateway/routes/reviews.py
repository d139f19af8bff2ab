"""Supervisor review of held results: look, then release or reject with a reason. Both are audited.

A supervisor never reviews a job of its own organization.
"""

from __future__ import annotations

import os

import pyarrow.parquet as pq
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from common.errors import Forbidden
from gateway.auth import Ctx, Supervisor
from gateway.events import emit
from gateway.routes.jobs import JobPublic, public
from sandbox import jobs
from sandbox.gate import to_json_rows

router = APIRouter(prefix="/api/v1/reviews", tags=["reviews"])


class Decision(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


def _held(session, principal, job_id: str):
    row = jobs.get(session, job_id, for_update=True)
    if row.organization_id == principal.organization_id:
        raise Forbidden("a supervisor cannot review a job of its own organization")
    return row


@router.get("", response_model=list[JobPublic])
def list_held(ctx: Ctx, _: Supervisor) -> list[JobPublic]:
    with ctx.uow() as session:
        return [public(r) for r in jobs.held(session)]


@router.get("/{job_id}/result")
def held_result(job_id: str, ctx: Ctx, principal: Supervisor) -> JSONResponse:
    with ctx.uow() as session:
        row = _held(session, principal, job_id)
        if row.state != "held_for_review":
            raise Forbidden(f"the job is {row.state}, not held for review")
        emit(session, ctx, principal, "review.result.viewed", "job", row.id)
        path = ctx.settings.results_dir / row.result_path
    table = pq.read_table(path)
    return JSONResponse({"job_id": job_id, "columns": table.column_names, "rows": to_json_rows(table)})


@router.post("/{job_id}/release", response_model=JobPublic)
def release(job_id: str, body: Decision, ctx: Ctx, principal: Supervisor) -> JobPublic:
    with ctx.uow() as session:
        row = _held(session, principal, job_id)
        jobs.transition(
            row, "succeeded", ctx.clock.now(), reviewed_by=principal.user_id, review_reason=body.reason
        )
        held_path = ctx.settings.results_dir / row.result_path
        released = ctx.settings.results_dir / "released" / held_path.name
        released.parent.mkdir(parents=True, exist_ok=True)
        row.result_path = str(released.relative_to(ctx.settings.results_dir))
        emit(session, ctx, principal, "review.released", "job", row.id, organization_id=row.organization_id)
        session.flush()
        os.replace(held_path, released)  # last step: if it fails the transaction rolls back with it
        return public(row)


@router.post("/{job_id}/reject", response_model=JobPublic)
def reject(job_id: str, body: Decision, ctx: Ctx, principal: Supervisor) -> JobPublic:
    with ctx.uow() as session:
        row = _held(session, principal, job_id)
        held_path = ctx.settings.results_dir / row.result_path if row.result_path else None
        jobs.transition(
            row,
            "failed",
            ctx.clock.now(),
            reviewed_by=principal.user_id,
            review_reason=body.reason,
            error_kind="rejected_in_review",
            error_message=f"a supervisor rejected the result: {body.reason}",
            result_path=None,
        )
        emit(session, ctx, principal, "review.rejected", "job", row.id, organization_id=row.organization_id)
    if held_path is not None:
        held_path.unlink(missing_ok=True)
    return public(row)
