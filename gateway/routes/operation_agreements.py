"""Operation routes for operating agreements (A9, A16-A18, A23-A24): drafting, signing, filing (which
materializes the grants), changes, termination and expiry. Every dataset in a scope must be registered (A9):
the registry's verdict is wired in through ``gateway.operation_wiring``.
"""

from __future__ import annotations

from fastapi import APIRouter

from common.types import Role
from gateway.auth import Ctx, Implementer
from gateway.events import emit
from gateway.grading_view import scope_protections
from gateway.operation_models import (
    OP,
    AgreementChange,
    AgreementCreate,
    AgreementPublic,
    AgreementResult,
    AgreementTerms,
    Filer,
    Filing,
    Overseer,
    Reader,
    Reason,
    Termination,
    Terminator,
)
from gateway.operation_views import agreement_out, terms_in
from gateway.operation_wiring import catalog_for, grant_book, registration_of, visible_agreement
from gateway.routes.grants import GrantPublic
from gateway.routes.grants import public as grant_public
from operation import agreements
from operation import requests as operation_requests

router = APIRouter(prefix="/api/v1", tags=["operation"])


# --- agreements (A9, A16-A18, A23-A24) ----------------------------------------------------------------------


@router.post(f"{OP}/agreements", response_model=AgreementPublic, status_code=201)
def create_agreement(body: AgreementCreate, ctx: Ctx, principal: Implementer) -> AgreementPublic:
    with ctx.uow() as session:
        _, catalog = catalog_for(session, body.scope)
        agreement = agreements.create(
            session,
            plan_id=body.plan_id,
            selection_id=body.selection_id,
            terms=terms_in(body),
            catalog=catalog,
            grants=grant_book,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.created",
            "operation_agreement",
            agreement.id,
            plan_id=agreement.plan_id,
            organization_id=agreement.operator_org_id,
            datasets=sorted(agreement.scope),
        )
        return agreement_out(agreement, ctx.clock.today())


@router.get(f"{OP}/agreements", response_model=list[AgreementPublic])
def list_agreements(ctx: Ctx, principal: Reader) -> list[AgreementPublic]:
    owner = None if principal.has_role(Role.implementer, Role.supervisor) else principal.organization_id
    with ctx.uow() as session:
        return [agreement_out(a, ctx.clock.today()) for a in agreements.list_agreements(session, owner)]


@router.get(f"{OP}/agreements/overdue-filings", response_model=list[AgreementPublic])
def overdue_filings(ctx: Ctx, _: Overseer) -> list[AgreementPublic]:
    """Signed agreements not filed within 5 PRC working days of signing (A17)."""
    today = ctx.clock.today()
    with ctx.uow() as session:
        return [agreement_out(a, today) for a in agreements.overdue_filings(session, today)]


@router.post(f"{OP}/agreements/expire", response_model=list[str])
def expire_agreements(ctx: Ctx, principal: Implementer) -> list[str]:
    """Terminate (reason: expiry) filed agreements whose term has ended, revoking their grants (A23)."""
    with ctx.uow() as session:
        ended = agreements.expire_due(
            session, grants=grant_book, today=ctx.clock.today(), now=ctx.clock.now()
        )
        for agreement_id in ended:
            emit(
                session,
                ctx,
                principal,
                "operation.agreement.terminated",
                "operation_agreement",
                agreement_id,
                reason="expiry",
            )
        return ended


@router.get(f"{OP}/agreements/{{agreement_id}}", response_model=AgreementPublic)
def get_agreement(agreement_id: str, ctx: Ctx, principal: Reader) -> AgreementPublic:
    with ctx.uow() as session:
        agreement = visible_agreement(session, principal, agreement_id)
        view = agreement_out(agreement, ctx.clock.today())
        return view.model_copy(update={"protection": scope_protections(session, agreement.scope)})


@router.get(f"{OP}/agreements/{{agreement_id}}/versions", response_model=list[AgreementPublic])
def agreement_versions(agreement_id: str, ctx: Ctx, principal: Reader) -> list[AgreementPublic]:
    with ctx.uow() as session:
        visible_agreement(session, principal, agreement_id)
        return [agreement_out(a, ctx.clock.today()) for a in agreements.versions(session, agreement_id)]


@router.get(f"{OP}/agreements/{{agreement_id}}/grants", response_model=list[GrantPublic])
def agreement_grants(agreement_id: str, ctx: Ctx, principal: Reader) -> list[GrantPublic]:
    with ctx.uow() as session:
        visible_agreement(session, principal, agreement_id)
        return [grant_public(g) for g in agreements.grants_of(session, agreement_id, grants=grant_book)]


@router.put(f"{OP}/agreements/{{agreement_id}}", response_model=AgreementPublic)
def edit_agreement(
    agreement_id: str, body: AgreementTerms, ctx: Ctx, principal: Implementer
) -> AgreementPublic:
    with ctx.uow() as session:
        _, catalog = catalog_for(session, body.scope)
        agreement = agreements.edit(
            session,
            agreement_id,
            terms=terms_in(body),
            catalog=catalog,
            grants=grant_book,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.edited",
            "operation_agreement",
            agreement.id,
            datasets=sorted(agreement.scope),
        )
        return agreement_out(agreement, ctx.clock.today())


@router.post(f"{OP}/agreements/{{agreement_id}}/sign", response_model=AgreementPublic)
def sign_agreement(agreement_id: str, ctx: Ctx, principal: Implementer) -> AgreementPublic:
    with ctx.uow() as session:
        agreement = agreements.sign(
            session,
            agreement_id,
            registration=registration_of(session, ctx),
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.signed",
            "operation_agreement",
            agreement.id,
            filing_due=agreement.filing_due.isoformat(),
        )
        return agreement_out(agreement, ctx.clock.today())


@router.post(f"{OP}/agreements/{{agreement_id}}/abandon", response_model=AgreementPublic)
def abandon_agreement(agreement_id: str, body: Reason, ctx: Ctx, principal: Implementer) -> AgreementPublic:
    with ctx.uow() as session:
        agreement = agreements.abandon(session, agreement_id, reason=body.reason, now=ctx.clock.now())
        emit(session, ctx, principal, "operation.agreement.abandoned", "operation_agreement", agreement.id)
        return agreement_out(agreement, ctx.clock.today())


@router.post(f"{OP}/agreements/{{agreement_id}}/file", response_model=AgreementResult)
def file_agreement(agreement_id: str, body: Filing, ctx: Ctx, principal: Filer) -> AgreementResult:
    """The data authority accepts the filing the implementer submitted (A17); the agreement's grants are
    created, one per dataset. A filing submitted late is accepted only with ``accept_late`` and a reason."""
    today = ctx.clock.today()
    with ctx.uow() as session:
        current = agreements.load(session, agreement_id)
        operation_requests.decide_filing(
            session,
            agreement_id,
            accept=True,
            accept_late=body.accept_late,
            reason=body.reason,
            user_id=principal.user_id,
            today=today,
            agreement_state=current.state,
        )
        ids, catalog = catalog_for(session, current.scope)
        agreement, made = agreements.file(
            session,
            agreement_id,
            reference=body.reference,
            registration=registration_of(session, ctx),
            dataset_ids=ids,
            catalog=catalog,
            grants=grant_book,
            actor_id=principal.user_id,
            today=today,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.filed",
            "operation_agreement",
            agreement.id,
            late=agreement.filed_late,
            grants=[g.id for g in made],
        )
        for grant in made:
            emit(
                session,
                ctx,
                principal,
                "grant.created",
                "grant",
                grant.id,
                version=grant.version,
                organization_id=grant.organization_id,
                dataset=grant.dataset,
                agreement_id=agreement.id,
            )
        return AgreementResult(
            agreement=agreement_out(agreement, today), grants=[grant_public(g) for g in made]
        )


@router.post(f"{OP}/agreements/{{agreement_id}}/changes", response_model=AgreementResult)
def change_agreement(
    agreement_id: str, body: AgreementChange, ctx: Ctx, principal: Implementer
) -> AgreementResult:
    """A changed agreement writes new grant versions (the organization never changes, A18)."""
    with ctx.uow() as session:
        ids, catalog = catalog_for(session, body.scope)
        agreement, touched = agreements.change(
            session,
            agreement_id,
            terms=terms_in(body),
            reason=body.reason,
            registration=registration_of(session, ctx),
            dataset_ids=ids,
            catalog=catalog,
            grants=grant_book,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.changed",
            "operation_agreement",
            agreement.id,
            version=agreement.version,
            grants=[[g.id, g.version, g.status] for g in touched],
        )
        for grant in touched:
            kind = (
                "grant.revoked"
                if grant.status == "revoked"
                else ("grant.created" if grant.version == 1 else "grant.changed")
            )
            emit(
                session,
                ctx,
                principal,
                kind,
                "grant",
                grant.id,
                version=grant.version,
                agreement_id=agreement.id,
            )
        return AgreementResult(
            agreement=agreement_out(agreement, ctx.clock.today()), grants=[grant_public(g) for g in touched]
        )


@router.post(f"{OP}/agreements/{{agreement_id}}/terminate", response_model=AgreementResult)
def terminate_agreement(
    agreement_id: str, body: Termination, ctx: Ctx, principal: Terminator
) -> AgreementResult:
    """End the agreement for an A23 reason; every grant of it is revoked at once (A24). The operator's own
    request goes through POST .../termination-requests, decided by the implementer."""
    with ctx.uow() as session:
        current = visible_agreement(session, principal, agreement_id)
        agreement, revoked = agreements.terminate(
            session,
            current.id,
            reason=body.reason,
            detail=body.detail,
            grants=grant_book,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.terminated",
            "operation_agreement",
            agreement.id,
            reason=body.reason,
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
                reason=body.reason,
            )
        return AgreementResult(
            agreement=agreement_out(agreement, ctx.clock.today()), grants=[grant_public(g) for g in revoked]
        )
