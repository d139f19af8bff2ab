"""Relationships between organizations as data (R12): declared affiliations (overlapping, subordinate,
affiliated) used by the third-party conflict check, and the registrants' entrustments of third parties."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from common.errors import InvalidInput, NotFound
from common.types import Principal, Role
from gateway import entrustments, identity
from gateway.auth import Ctx, require
from gateway.events import emit
from gateway.store import AffiliationRow

router = APIRouter(prefix="/api/v1", tags=["relationships"])
Declarer = Annotated[Principal, require(Role.registrar, Role.supervisor, Role.admin)]
Registrant = Annotated[Principal, require(Role.data_source, Role.operator, verified=True)]
Party = Annotated[
    Principal, require(Role.data_source, Role.operator, Role.third_party, Role.registrar, Role.supervisor)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AffiliationCreate(Strict):
    organization: str = Field(min_length=1, max_length=200)
    related: str = Field(min_length=1, max_length=200)
    relation: Literal["overlapping", "subordinate", "affiliated"]


class AffiliationPublic(BaseModel):
    organization_id: str
    related_id: str
    relation: str


class EntrustmentCreate(Strict):
    third_party: str = Field(min_length=1, max_length=200, description="the institution's id or name")
    reference: str = Field(min_length=1, max_length=200, description="contract or entrustment number")
    valid_from: date
    valid_to: date | None = None


class EntrustmentPublic(BaseModel):
    id: str
    registrant_org_id: str
    third_party_org_id: str
    reference: str
    valid_from: date
    valid_to: date | None
    state: str


def _org_id(session, ref: str, field: str) -> str:
    try:
        return identity.get_organization(session, ref).id
    except NotFound:
        raise InvalidInput("no such organization", field=field)


@router.post("/relationships", response_model=AffiliationPublic, status_code=201)
def declare(body: AffiliationCreate, ctx: Ctx, principal: Declarer) -> AffiliationPublic:
    """Declare two organizations overlapping, subordinate or affiliated (feeds the R12 check)."""
    with ctx.uow() as session:
        a, b = _org_id(session, body.organization, "organization"), _org_id(session, body.related, "related")
        if a == b:
            raise InvalidInput("a relationship is between two organizations", field="related")
        if b in identity.affiliations_of(session, a):
            raise InvalidInput("this relationship is already declared", field="related")
        identity.affiliate(session, a, b, body.relation, ctx.clock.now())
        emit(
            session,
            ctx,
            principal,
            "org.relationship.declared",
            "organization",
            a,
            related=b,
            relation=body.relation,
        )
        return AffiliationPublic(organization_id=a, related_id=b, relation=body.relation)


@router.get("/relationships", response_model=list[AffiliationPublic])
def list_relationships(ctx: Ctx, _: Declarer) -> list[AffiliationPublic]:
    with ctx.uow() as session:
        rows = session.scalars(select(AffiliationRow).order_by(AffiliationRow.created_at))
        return [
            AffiliationPublic(organization_id=r.organization_id, related_id=r.related_id, relation=r.relation)
            for r in rows
        ]


@router.post("/entrustments", response_model=EntrustmentPublic, status_code=201)
def entrust(body: EntrustmentCreate, ctx: Ctx, principal: Registrant) -> EntrustmentPublic:
    """The registrant entrusts a third-party institution (Annex 1 Art. 12 ¶2)."""
    with ctx.uow() as session:
        item = entrustments.create(
            session,
            registrant_org_id=principal.organization_id,
            third_party=body.third_party,
            reference=body.reference,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            user_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "org.entrustment.created",
            "entrustment",
            item.id,
            third_party=item.third_party_org_id,
        )
        return EntrustmentPublic(**item.__dict__)


@router.get("/entrustments", response_model=list[EntrustmentPublic])
def list_entrustments(ctx: Ctx, principal: Party) -> list[EntrustmentPublic]:
    """Those given or received by the caller's organization; registrars and supervisors see all."""
    every = principal.has_role(Role.registrar, Role.supervisor)
    with ctx.uow() as session:
        items = entrustments.list_for(session, None if every else principal.organization_id)
        return [EntrustmentPublic(**i.__dict__) for i in items]


@router.post("/entrustments/{entrustment_id}/revoke", response_model=EntrustmentPublic)
def revoke(entrustment_id: str, ctx: Ctx, principal: Registrant) -> EntrustmentPublic:
    with ctx.uow() as session:
        item = entrustments.revoke(
            session, entrustment_id, registrant_org_id=principal.organization_id, now=ctx.clock.now()
        )
        emit(session, ctx, principal, "org.entrustment.revoked", "entrustment", item.id)
        return EntrustmentPublic(**item.__dict__)
