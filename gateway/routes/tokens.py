"""Token lifecycle over HTTP: a caller lists, creates, expires and revokes their own tokens; an administrator
does so for anyone and deactivates users. Someone else's token is answered as a missing one (404)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from common.errors import Forbidden, InvalidInput
from common.types import Principal, Role
from gateway import identity, tokens
from gateway.auth import Admin, Authenticated, Ctx
from gateway.events import emit

router = APIRouter(prefix="/api/v1", tags=["tokens"])


class TokenPublic(BaseModel):
    id: str
    username: str
    name: str
    prefix: str
    state: tokens.TokenState
    created_at: datetime
    expires_at: datetime | None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    expires_at: datetime | None = None


class TokenCreated(TokenPublic):
    token: str = Field(description="the token itself: shown this once, only its digest is stored")


class TokenExpiry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_at: datetime


class UserState(BaseModel):
    username: str
    active: bool


def _public(info: tokens.TokenInfo) -> TokenPublic:
    return TokenPublic(**{f: getattr(info, f) for f in TokenPublic.model_fields})


def _scope(principal: Principal) -> tokens.Scope:
    """Administrators act on their organization's tokens and users; everyone else only on their own."""
    if Role.admin in principal.roles:
        return tokens.Scope(organization_id=principal.organization_id)
    return tokens.Scope(user_id=principal.user_id)


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(ctx: Ctx, principal: Authenticated, username: str | None = None) -> list[TokenPublic]:
    if username and username != principal.username and Role.admin not in principal.roles:
        raise Forbidden("only an administrator lists another user's tokens")
    with ctx.uow() as session:
        found = tokens.list_tokens(
            session, username or principal.username, ctx.clock.now(), _scope(principal)
        )
    return [_public(t) for t in found]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenCreate, ctx: Ctx, principal: Authenticated) -> TokenCreated:
    """A new token for the caller (e.g. to rotate one): name it, and give it an expiry."""
    now = ctx.clock.now()
    if body.expires_at is not None and (body.expires_at.tzinfo is None or body.expires_at <= now):
        raise InvalidInput("expires_at must be a future timestamp with a timezone", field="expires_at")
    with ctx.uow() as session:
        token = identity.create_token(
            session, principal.username, name=body.name, now=now, expires_at=body.expires_at
        )
        info = next(t for t in tokens.list_tokens(session, principal.username, now) if t.prefix == token[:12])
        emit(session, ctx, principal, "token.created", "user", principal.username, token_id=info.id)
    return TokenCreated(**_public(info).model_dump(), token=token)


@router.post("/tokens/{token_id}/revoke", response_model=TokenPublic)
def revoke_token(token_id: str, ctx: Ctx, principal: Authenticated) -> TokenPublic:
    with ctx.uow() as session:
        info = tokens.revoke_token(session, token_id, ctx.clock.now(), scope=_scope(principal))
        emit(session, ctx, principal, "token.revoked", "user", info.username, token_id=token_id)
    return _public(info)


@router.put("/tokens/{token_id}/expiry", response_model=TokenPublic)
def expire_token(token_id: str, body: TokenExpiry, ctx: Ctx, principal: Authenticated) -> TokenPublic:
    with ctx.uow() as session:
        info = tokens.expire_token(
            session, token_id, body.expires_at, ctx.clock.now(), scope=_scope(principal)
        )
        emit(session, ctx, principal, "token.expiry_set", "user", info.username, token_id=token_id)
    return _public(info)


@router.post("/users/{username}/deactivate", response_model=UserState)
def deactivate_user(username: str, ctx: Ctx, principal: Admin) -> UserState:
    """Every token of the user stops working at once."""
    if username == principal.username:
        raise InvalidInput("administrators cannot deactivate themselves", field="username")
    return _set_active(ctx, principal, username, False)


@router.post("/users/{username}/activate", response_model=UserState)
def activate_user(username: str, ctx: Ctx, principal: Admin) -> UserState:
    return _set_active(ctx, principal, username, True)


def _set_active(ctx, principal: Principal, username: str, active: bool) -> UserState:
    with ctx.uow() as session:
        if tokens.set_active(session, username, active, _scope(principal)):
            kind = "user.activated" if active else "user.deactivated"
            emit(session, ctx, principal, kind, "user", username)
    return UserState(username=username, active=active)
