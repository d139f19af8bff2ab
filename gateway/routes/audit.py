"""The audit trail for supervisors: filtered events and chain verification."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from audit.chain import verify
from audit.query import MAX_SEQ, list_events
from common.errors import InvalidInput
from gateway.auth import Ctx, Supervisor

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class EventPublic(BaseModel):
    seq: int
    id: str
    at: datetime
    kind: str
    actor_user_id: str | None
    actor_username: str | None
    organization_id: str | None
    subject_type: str
    subject_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class VerificationPublic(BaseModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


@router.get("/events", response_model=list[EventPublic])
def events(
    ctx: Ctx,
    _: Supervisor,
    actor: str | None = None,
    organization_id: str | None = None,
    kind: str | None = None,
    job: str | None = None,
    dataset: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
) -> list[EventPublic]:
    if job and dataset:
        raise InvalidInput("filter by job or by dataset, not both", field="job")
    if job:
        subject_type, subject_id = "job", job
    if dataset:
        subject_type, subject_id = "dataset", dataset
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a timezone, e.g. 2025-01-01T00:00:00Z", field=name)
    with ctx.uow() as session:
        found = list_events(
            session,
            actor=actor,
            organization_id=organization_id,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            since=since,
            until=until,
            limit=limit,
            after_seq=after_seq,
        )
    return [EventPublic(**{f: getattr(e, f) for f in EventPublic.model_fields}) for e in found]


@router.get("/verify", response_model=VerificationPublic)
def verify_chain(ctx: Ctx, _: Supervisor) -> VerificationPublic:
    with ctx.uow() as session:
        result = verify(session, algorithm_default=ctx.settings.audit.hash_algorithm)
    return VerificationPublic(
        ok=result.ok, checked=result.checked, first_broken_seq=result.first_broken_seq, reason=result.reason
    )
