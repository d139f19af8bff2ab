"""Registry routes for the registration procedure (R11-R16): the transition table, applications from
submission through acceptance, review, public notice and issue, the commitment letter, and objections
during the notice. Every transition and its audit event commit in one transaction.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from catalog import service as catalog_service
from common.errors import Forbidden, InvalidInput
from common.types import Principal, Role
from gateway import identity
from gateway.auth import Authenticated, Ctx, Public, Registrar
from gateway.context import AppContext
from gateway.events import emit
from gateway.registry_models import (
    PREFIX,
    REGISTRANT_KINDS,
    ApplicationCreate,
    ApplicationPublic,
    ObjectionCreate,
    ObjectionPublic,
    Reason,
    Registrant,
    RequiredReason,
    Resolution,
    Resubmit,
)
from gateway.registry_wiring import (
    application_out,
    current_evidence,
    party_of,
    product_authorization_end,
    require_readable,
    signing_key,
)
from registry import service, workflow

router = APIRouter(prefix=PREFIX, tags=["registry"])


@router.get("/transitions")
def transitions(_: Public) -> list[dict[str, Any]]:
    """The procedure's allowed transitions (R16), as held by the registry."""
    return workflow.table()


def _parse_application(text: str) -> ApplicationCreate:
    try:
        return ApplicationCreate.model_validate_json(text)
    except ValidationError as error:
        fields = [".".join(str(p) for p in e.get("loc", ())) or "application" for e in error.errors()]
        raise InvalidInput(
            f"invalid application: {', '.join(fields)}",
            field=f"application.{fields[0]}" if fields else "application",
            fields=[
                {"field": f"application.{f}", "problem": e.get("msg", "")}
                for f, e in zip(fields, error.errors())
            ],
        )


@router.post("/applications", response_model=ApplicationPublic, status_code=201)
async def create_application(
    ctx: Ctx,
    principal: Registrant,
    application: Annotated[str, Form(description="the application as JSON (ApplicationCreate)")],
    commitment_letter: Annotated[UploadFile, File(description="the signed commitment letter (承诺书)")],
) -> ApplicationPublic:
    body = _parse_application(application)
    letter = await commitment_letter.read(service.MAX_LETTER_BYTES + 1)
    filename = commitment_letter.filename or "commitment"
    # hashing the stored files for the evidence check is blocking work: keep it off the event loop
    return await asyncio.to_thread(_submit, ctx, principal, body, filename, letter)


def _submit(
    ctx: AppContext, principal: Principal, body: ApplicationCreate, filename: str, letter: bytes
) -> ApplicationPublic:
    today = ctx.clock.today()
    with ctx.uow() as session:
        current_sha = None
        if body.subject_type == "dataset":
            dataset = catalog_service.get_dataset(session, body.subject_id)
            if body.kind == "first" and dataset.source_org_id != principal.organization_id:
                raise Forbidden(
                    "the source department holding the dataset applies for its registration",
                    field="subject_id",
                )
            if body.kind in ("first", "change"):
                current_sha = current_evidence(session, ctx, dataset.name).sha256
        else:
            authorization_end = product_authorization_end(session, principal, body.subject_id)
            if body.kind == "first" or body.authorization_end is None:
                body = body.model_copy(update={"authorization_end": authorization_end})
        co = []
        for ref in body.co_registrants:
            org = identity.get_organization(session, ref)
            if org.kind not in REGISTRANT_KINDS:
                raise InvalidInput(
                    "co-registrants are data source or operator organizations", field="co_registrants"
                )
            co.append(service.Party(org.id, org.name))
        spec = service.ApplicationSpec(
            kind=body.kind,
            subject_type=body.subject_type,
            subject_id=body.subject_id,
            content=body.content.model_dump(),
            commitment_filename=filename,
            commitment_letter=letter,
            certificate_code=body.certificate_code,
            evidence_id=body.evidence_id,
            authorization_end=body.authorization_end,
            co_registrants=tuple(co),
        )
        view = service.submit(
            session,
            spec,
            applicant=party_of(session, principal.organization_id),
            user_id=principal.user_id,
            today=today,
            now=ctx.clock.now(),
            current_evidence_sha256=current_sha,
        )
        emit(
            session,
            ctx,
            principal,
            "registry.application.submitted",
            "registry_application",
            view.id,
            registration_type=view.kind,
            subject=f"{view.subject_type}:{view.subject_id}",
            co_registrants=len(co),
            acceptance_due=view.acceptance_due.isoformat(),
        )
        return application_out(view)


@router.get("/applications", response_model=list[ApplicationPublic])
def list_applications(ctx: Ctx, principal: Authenticated) -> list[ApplicationPublic]:
    owner = None if principal.has_role(Role.registrar, Role.supervisor) else principal.organization_id
    with ctx.uow() as session:
        return [application_out(v) for v in service.list_applications(session, ctx.clock.today(), owner)]


@router.get("/applications/{application_id}", response_model=ApplicationPublic)
def get_application(application_id: str, ctx: Ctx, principal: Authenticated) -> ApplicationPublic:
    with ctx.uow() as session:
        require_readable(session, principal, application_id)
        return application_out(service.application(session, application_id, ctx.clock.today()))


@router.post("/applications/{application_id}/consent", response_model=ApplicationPublic)
def consent(application_id: str, ctx: Ctx, principal: Registrant) -> ApplicationPublic:
    with ctx.uow() as session:
        view = service.consent(
            session,
            application_id,
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "registry.application.consented",
            "registry_application",
            view.id,
            organization_id=principal.organization_id,
        )
        return application_out(view)


def _act(
    ctx: AppContext, principal: Principal, application_id: str, action: str, reason: str
) -> ApplicationPublic:
    with ctx.uow() as session:
        before = service.application(session, application_id, ctx.clock.today()).state
        view = service.act(
            session,
            application_id,
            action,
            actor_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
            reason=reason,
            organization_id=principal.organization_id,
        )
        emit(
            session,
            ctx,
            principal,
            f"registry.application.{action}",
            "registry_application",
            view.id,
            from_state=before,
            to_state=view.state,
        )
        return application_out(view)


@router.post("/applications/{application_id}/accept", response_model=ApplicationPublic)
def accept(application_id: str, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    """Acceptance (受理), due within 3 working days of submission."""
    return _act(ctx, principal, application_id, "accept", "")


@router.post("/applications/{application_id}/return", response_model=ApplicationPublic)
def return_for_completion(
    application_id: str, body: RequiredReason, ctx: Ctx, principal: Registrar
) -> ApplicationPublic:
    return _act(ctx, principal, application_id, "return", body.reason)


@router.post("/applications/{application_id}/approve", response_model=ApplicationPublic)
def approve(application_id: str, body: Reason, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    return _act(ctx, principal, application_id, "approve", body.reason)


@router.post("/applications/{application_id}/reject", response_model=ApplicationPublic)
def reject(application_id: str, body: RequiredReason, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    return _act(ctx, principal, application_id, "reject", body.reason)


@router.post("/applications/{application_id}/publish", response_model=ApplicationPublic)
def publish(application_id: str, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    """Start the public notice (公示) of 10 working days."""
    return _act(ctx, principal, application_id, "publish", "")


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationPublic)
def withdraw(application_id: str, ctx: Ctx, principal: Registrant) -> ApplicationPublic:
    return _act(ctx, principal, application_id, "withdraw", "")


@router.post("/applications/{application_id}/resubmit", response_model=ApplicationPublic)
def resubmit(application_id: str, body: Resubmit, ctx: Ctx, principal: Registrant) -> ApplicationPublic:
    with ctx.uow() as session:
        view = service.resubmit(
            session,
            application_id,
            content=body.content.model_dump() if body.content else None,
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "registry.application.resubmit",
            "registry_application",
            view.id,
            to_state=view.state,
        )
        return application_out(view)


@router.post("/applications/{application_id}/issue", response_model=ApplicationPublic)
def issue(application_id: str, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    """After the notice period: assign the code and issue the signed certificate (赋码发证)."""
    key = signing_key(ctx)
    with ctx.uow() as session:
        view = service.issue(
            session,
            application_id,
            key=key,
            actor_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "registry.application.issue",
            "registry_application",
            view.id,
            to_state=view.state,
            certificate_code=view.certificate_code,
        )
        return application_out(view)


@router.get("/applications/{application_id}/commitment-letter")
def commitment_letter(application_id: str, ctx: Ctx, principal: Authenticated) -> Response:
    with ctx.uow() as session:
        require_readable(session, principal, application_id)
        _, content = service.commitment_letter(session, application_id)
        emit(
            session, ctx, principal, "registry.commitment_letter.read", "registry_application", application_id
        )
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="commitment-{application_id}"'},
    )


@router.post("/applications/{application_id}/objections", response_model=ObjectionPublic, status_code=201)
def object_to(
    application_id: str, body: ObjectionCreate, ctx: Ctx, principal: Authenticated
) -> ObjectionPublic:
    """Object to a registration under public notice: issuance pauses until the registrar resolves it."""
    with ctx.uow() as session:
        view = service.file_objection(
            session,
            application_id,
            reason=body.reason,
            user_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "registry.objection.filed",
            "registry_application",
            application_id,
            objection_id=view.id,
        )
        return ObjectionPublic(**view.__dict__)


@router.post("/objections/{objection_id}/resolve", response_model=ApplicationPublic)
def resolve(objection_id: str, body: Resolution, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    with ctx.uow() as session:
        view = service.resolve_objection(
            session,
            objection_id,
            decision=body.decision,
            reason=body.reason,
            actor_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            f"registry.objection.{body.decision}",
            "registry_application",
            view.id,
            objection_id=objection_id,
            to_state=view.state,
        )
        return application_out(view)
