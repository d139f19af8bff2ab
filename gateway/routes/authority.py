"""Submissions to another role (issue 12): the implementer submits a filing to the data authority, which
accepts it (POST .../agreements/{id}/file) or returns it; the operator applies to end its agreement and the
implementer decides. The data authority acts through the ``supervisor`` role."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from common.errors import Forbidden
from common.types import Principal, Role
from gateway.auth import Ctx, Implementer, Supervisor, require, require_verified
from gateway.events import emit
from gateway.routes.grants import public as grant_public
from gateway.routes.operation import OP, AgreementResult, _agreement, _visible_agreement
from operation import agreements
from operation import requests as operation_requests

router = APIRouter(prefix="/api/v1", tags=["operation"])
Overseer = Annotated[Principal, require(Role.implementer, Role.supervisor)]
Applicant = Annotated[Principal, require_verified(Role.operator)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilingSubmit(Strict):
    reference: str = Field(min_length=1, max_length=200, description="the implementer's filing letter number")


class Reasoned(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class TerminationAsk(Strict):
    detail: str = Field(min_length=1, max_length=2000)


class Decision(Strict):
    approve: bool
    reason: str = Field(min_length=1, max_length=2000)


class RequestPublic(BaseModel):
    id: str
    kind: str
    agreement_id: str
    state: str
    reference: str
    detail: str
    late: bool
    submitted_on: date
    decided_on: date | None
    decision_reason: str
    late_accepted: bool


class DecisionResult(BaseModel):
    request: RequestPublic
    agreement: AgreementResult | None


def _public(r: operation_requests.Request) -> RequestPublic:
    return RequestPublic(**r.__dict__)


@router.post(f"{OP}/agreements/{{agreement_id}}/filings", response_model=RequestPublic, status_code=201)
def submit_filing(agreement_id: str, body: FilingSubmit, ctx: Ctx, principal: Implementer) -> RequestPublic:
    """The implementer submits the signed agreement to the data authority for filing (A17)."""
    with ctx.uow() as session:
        agreement = agreements.load(session, agreement_id)
        item = operation_requests.submit_filing(
            session,
            agreement_id,
            agreement_state=agreement.state,
            filing_due=agreement.filing_due,
            reference=body.reference,
            user_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.filing.submitted",
            "operation_agreement",
            agreement_id,
            request_id=item.id,
            late=item.late,
        )
        return _public(item)


@router.post(f"{OP}/agreements/{{agreement_id}}/filings/return", response_model=RequestPublic)
def return_filing(agreement_id: str, body: Reasoned, ctx: Ctx, principal: Supervisor) -> RequestPublic:
    """The data authority returns the filing; the implementer may submit it again (A17)."""
    with ctx.uow() as session:
        agreement = agreements.load(session, agreement_id)
        item = operation_requests.decide_filing(
            session,
            agreement_id,
            accept=False,
            accept_late=False,
            reason=body.reason,
            user_id=principal.user_id,
            today=ctx.clock.today(),
            agreement_state=agreement.state,
        )
        emit(
            session,
            ctx,
            principal,
            "operation.filing.returned",
            "operation_agreement",
            agreement_id,
            request_id=item.id,
        )
        return _public(item)


@router.get(f"{OP}/agreements/{{agreement_id}}/requests", response_model=list[RequestPublic])
def agreement_requests(agreement_id: str, ctx: Ctx, principal: Overseer) -> list[RequestPublic]:
    with ctx.uow() as session:
        return [_public(r) for r in operation_requests.of_agreement(session, agreement_id)]


@router.get(f"{OP}/filings", response_model=list[RequestPublic])
def pending_filings(ctx: Ctx, _: Overseer) -> list[RequestPublic]:
    """Filings waiting for the data authority's decision."""
    with ctx.uow() as session:
        return [_public(r) for r in operation_requests.pending(session, "filing")]


@router.post(
    f"{OP}/agreements/{{agreement_id}}/termination-requests", response_model=RequestPublic, status_code=201
)
def ask_termination(agreement_id: str, body: TerminationAsk, ctx: Ctx, principal: Applicant) -> RequestPublic:
    """The operator applies to end its own agreement (A23); the implementer decides."""
    with ctx.uow() as session:
        agreement = _visible_agreement(session, principal, agreement_id)
        if agreement.operator_org_id != principal.organization_id:
            raise Forbidden("only the agreement's operator applies to end it")
        item = operation_requests.request_termination(
            session,
            agreement_id,
            agreement_state=agreement.state,
            detail=body.detail,
            user_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.termination.requested",
            "operation_agreement",
            agreement_id,
            request_id=item.id,
        )
        return _public(item)


@router.get(f"{OP}/termination-requests", response_model=list[RequestPublic])
def termination_requests(ctx: Ctx, _: Overseer) -> list[RequestPublic]:
    with ctx.uow() as session:
        return [_public(r) for r in operation_requests.pending(session, "termination")]


@router.post(f"{OP}/termination-requests/{{request_id}}/decide", response_model=DecisionResult)
def decide_termination(request_id: str, body: Decision, ctx: Ctx, principal: Implementer) -> DecisionResult:
    """The implementer approves (the agreement ends, its grants are revoked, A24) or refuses the request."""
    today = ctx.clock.today()
    with ctx.uow() as session:
        item = operation_requests.decide_termination(
            session,
            request_id,
            approve=body.approve,
            reason=body.reason,
            user_id=principal.user_id,
            today=today,
        )
        result = None
        if body.approve:
            agreement, revoked = agreements.terminate(
                session,
                item.agreement_id,
                reason="operator_request",
                detail=item.detail,
                today=today,
                now=ctx.clock.now(),
            )
            emit(
                session,
                ctx,
                principal,
                "operation.agreement.terminated",
                "operation_agreement",
                agreement.id,
                reason="operator_request",
                request_id=item.id,
                grants=[g.id for g in revoked],
            )
            for grant in revoked:
                emit(
                    session,
                    ctx,
                    principal,
                    "grant.revoked",
                    "grant",
                    grant.id,
                    version=grant.version,
                    agreement_id=agreement.id,
                    reason="operator_request",
                )
            result = AgreementResult(
                agreement=_agreement(agreement, today), grants=[grant_public(g) for g in revoked]
            )
        else:
            emit(
                session,
                ctx,
                principal,
                "operation.termination.refused",
                "operation_agreement",
                item.agreement_id,
                request_id=item.id,
            )
        return DecisionResult(request=_public(item), agreement=result)
