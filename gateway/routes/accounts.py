"""Account applications (R11): apply without a token, the registration institution verifies and decides,
the applicant claims its first token once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from common.types import Principal, Role
from gateway import accounts
from gateway.auth import Ctx, Public, require
from gateway.events import emit

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])
Verifier = Annotated[Principal, require(Role.registrar, Role.admin)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationCreate(Strict):
    organization: str = Field(min_length=1, max_length=200)
    organization_kind: str = Field(description="data_source, operator or third_party")
    unified_code: str = Field(max_length=30, description="unified social credit code (统一社会信用代码)")
    district: str | None = Field(default=None, max_length=50)
    username: str = Field(max_length=64)
    display_name: str = Field(min_length=1, max_length=200)
    real_name: str = Field(min_length=1, max_length=100)
    id_number: str = Field(max_length=30, description="resident identity card number (checked, not shown)")


class Decision(Strict):
    reason: str = Field(default="", max_length=2000)


class Claim(Strict):
    claim_code: str = Field(min_length=1, max_length=100)


class ApplicationPublic(BaseModel):
    id: str
    state: str
    organization: str
    organization_kind: str
    unified_code: str
    district: str | None
    username: str
    display_name: str
    submitted_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str


class Submitted(ApplicationPublic):
    claim_code: str = Field(description="shown once: needed to claim the first token after approval")


class TokenPublic(BaseModel):
    username: str
    token: str


def _public(a: accounts.AccountApplication) -> ApplicationPublic:
    return ApplicationPublic(**a.__dict__)


@router.post("/applications", response_model=Submitted, status_code=201)
def apply(body: ApplicationCreate, request: Request, ctx: Ctx, _: Public) -> Submitted:
    """Apply for a registration account (R11). Rate-limited per client."""
    client = request.client.host if request.client else "unknown"
    with ctx.uow() as session:
        done = accounts.submit(session, **body.model_dump(), client=client, now=ctx.clock.now())
        emit(
            session,
            ctx,
            None,
            "account.applied",
            "account_application",
            done.application.id,
            organization_kind=body.organization_kind,
        )
        return Submitted(**done.application.__dict__, claim_code=done.claim_code)


@router.get("/applications", response_model=list[ApplicationPublic])
def list_applications(ctx: Ctx, _: Verifier) -> list[ApplicationPublic]:
    with ctx.uow() as session:
        return [_public(a) for a in accounts.pending(session)]


@router.post("/applications/{application_id}/approve", response_model=ApplicationPublic)
def approve(application_id: str, ctx: Ctx, principal: Verifier) -> ApplicationPublic:
    """Real name verified by the registration institution: the account exists, verified."""
    with ctx.uow() as session:
        done = accounts.approve(session, application_id, registrar=principal.username, now=ctx.clock.now())
        emit(
            session,
            ctx,
            principal,
            "account.approved",
            "account_application",
            done.id,
            username=done.username,
        )
        return _public(done)


@router.post("/applications/{application_id}/reject", response_model=ApplicationPublic)
def reject(application_id: str, body: Decision, ctx: Ctx, principal: Verifier) -> ApplicationPublic:
    with ctx.uow() as session:
        done = accounts.reject(
            session, application_id, registrar=principal.username, reason=body.reason, now=ctx.clock.now()
        )
        emit(session, ctx, principal, "account.rejected", "account_application", done.id)
        return _public(done)


@router.post("/applications/{application_id}/claim", response_model=TokenPublic)
def claim(application_id: str, body: Claim, ctx: Ctx, _: Public) -> TokenPublic:
    """The first token of an approved account, once, against the claim code."""
    with ctx.uow() as session:
        username, token = accounts.claim(
            session, application_id, claim_code=body.claim_code, now=ctx.clock.now()
        )
        emit(session, ctx, None, "account.claimed", "account_application", application_id, username=username)
        return TokenPublic(username=username, token=token)
