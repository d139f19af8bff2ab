"""Health and identity introspection."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from gateway.auth import Authenticated, Ctx, Public

router = APIRouter()


class MePublic(BaseModel):
    user_id: str
    username: str
    organization_id: str
    organization_kind: str
    roles: list[str]
    verified: bool


@router.get("/health", tags=["system"])
def health(ctx: Ctx, _: Public) -> dict:
    with ctx.uow() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/api/v1/me", tags=["system"], response_model=MePublic)
def me(principal: Authenticated) -> MePublic:
    return MePublic(
        user_id=principal.user_id,
        username=principal.username,
        organization_id=principal.organization_id,
        organization_kind=principal.organization_kind.value,
        roles=sorted(r.value for r in principal.roles),
        verified=principal.verified,
    )
