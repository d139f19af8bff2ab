"""Public objections to registrations under notice (R16, issue 12 defect 6): no account needed, contact
details required (seen by the registration institution only), rate-limited per client."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth import Ctx, Public, Registrar
from gateway.events import emit
from registry import public_objections

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])


class PublicObjection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000)
    name: str = Field(min_length=1, max_length=100)
    contact: str = Field(min_length=1, max_length=200, description="phone number or e-mail address")


class Filed(BaseModel):
    id: str
    application_id: str
    state: str
    filed_on: str


class ContactPublic(BaseModel):
    objection_id: str
    name: str
    contact: str
    filed_at: datetime


@router.post("/notices/{application_id}/objections", response_model=Filed, status_code=201)
def object_publicly(
    application_id: str, body: PublicObjection, request: Request, ctx: Ctx, _: Public
) -> Filed:
    """Anyone may object to a registration under public notice; issuance pauses until it is resolved."""
    client = request.client.host if request.client else "unknown"
    with ctx.uow() as session:
        view = public_objections.file(
            session,
            application_id,
            reason=body.reason,
            name=body.name,
            contact=body.contact,
            client=client,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            None,
            "registry.objection.filed",
            "registry_application",
            application_id,
            objection_id=view.id,
            by="public",
        )
        return Filed(
            id=view.id, application_id=application_id, state=view.state, filed_on=view.filed_on.isoformat()
        )


@router.get("/objections/{objection_id}/contact", response_model=ContactPublic)
def objection_contact(objection_id: str, ctx: Ctx, principal: Registrar) -> ContactPublic:
    """The public objector's contact details, for the registration institution's answer (read is audited)."""
    with ctx.uow() as session:
        contact = public_objections.contact_of(session, objection_id)
        emit(session, ctx, principal, "registry.objection.contact_read", "registry_objection", objection_id)
        return ContactPublic(**contact.__dict__)
