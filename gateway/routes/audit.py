"""The audit trail for supervisors: filtered events and chain verification."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from audit import checkpoint as checkpoints
from audit.chain import head, verify
from audit.query import list_events
from audit.store import GENESIS_HASH
from common.errors import InvalidInput
from gateway.auth import Authenticated, Ctx, Supervisor
from registry import certificates

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
    head_seq: int
    head_hash: str | None


class CheckpointPublic(BaseModel):
    """Keep ``document`` and ``signature``; ``GET /api/v1/registry/public-key`` verifies them."""

    seq: int
    hash: str
    at: datetime
    key_id: str
    document: str
    signature: str


class HeadPublic(BaseModel):
    """The chain's head as an anchor (``SEQ:HASH``) and the latest signed checkpoint, to publish or keep."""

    seq: int
    hash: str
    anchor: str
    checkpoint: CheckpointPublic | None


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
    after_seq: int | None = None,
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
def verify_chain(
    ctx: Ctx,
    _: Supervisor,
    expect_head: Annotated[str | None, Query(description="a head published earlier, SEQ:HASH")] = None,
) -> VerificationPublic:
    anchor = None
    if expect_head:
        try:
            anchor = checkpoints.parse_anchor(expect_head)
        except ValueError as error:
            raise InvalidInput(str(error), field="expect_head")
    with ctx.uow() as session:
        result = verify(session, algorithm_default=ctx.settings.audit.hash_algorithm, anchor=anchor)
    return VerificationPublic(
        ok=result.ok,
        checked=result.checked,
        first_broken_seq=result.first_broken_seq,
        reason=result.reason,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
    )


@router.get("/head", response_model=HeadPublic)
def chain_head(ctx: Ctx, _: Authenticated) -> HeadPublic:
    """The head to publish (any signed-in caller may fetch and keep it) and the latest signed checkpoint."""
    with ctx.uow() as session:
        seq, hash_ = head(session) or (0, GENESIS_HASH)
        latest = checkpoints.latest(session)
    return HeadPublic(seq=seq, hash=hash_, anchor=f"{seq}:{hash_}", checkpoint=_checkpoint(latest))


@router.post("/checkpoints", response_model=CheckpointPublic, status_code=201)
def make_checkpoint(ctx: Ctx, _: Supervisor) -> CheckpointPublic:
    """Sign the current head now (the workers also do it every ``audit.checkpoint_seconds``)."""
    made = sign_checkpoint(ctx)
    if made is None:
        raise InvalidInput("the audit log is empty: nothing to sign yet", field="audit")
    return _checkpoint(made)


def sign_checkpoint(ctx) -> checkpoints.Checkpoint | None:
    key = certificates.load_signing_key(ctx.settings)
    with ctx.uow() as session:
        return checkpoints.make(session, key, certificates.key_id(key), ctx.clock.now())


def _checkpoint(made: checkpoints.Checkpoint | None) -> CheckpointPublic | None:
    if made is None:
        return None
    return CheckpointPublic(**{f: getattr(made, f) for f in CheckpointPublic.model_fields})
