"""Who may call what. Every route declares its callers with one of these dependencies.

``Public`` (anyone, token optional), ``Authenticated`` (any valid token), or ``require(Role...)`` /
``require_verified(Role...)`` (R11: unverified accounts cannot apply for anything). Anonymous callers of a
protected route get 401; authenticated callers with the wrong role get 403. A test walks the app's routes and
fails if any route lacks one of these declarations.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from common.errors import Forbidden, Unauthenticated
from common.types import Principal, Role
from gateway import identity
from gateway.context import AppContext

ACCESS_MARK = "__shuyu_access__"


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]

# Declares the bearer scheme in the OpenAPI (Swagger UI's "Authorize"); the token itself is read and checked
# by ``_bearer`` below, which also gives the precise 401 messages.
BEARER = HTTPBearer(auto_error=False, description="an API token: `Authorization: Bearer <token>`")
Declared = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use 'Authorization: Bearer <token>'")
    return token.strip()


def _principal(request: Request, ctx: AppContext) -> Principal | None:
    token = _bearer(request)
    if token is None:
        return None
    with ctx.uow() as session:
        principal = identity.authenticate(session, token, ctx.clock.now())
    request.state.principal = principal
    return principal


def _mark(dependency, label: str):
    setattr(dependency, ACCESS_MARK, label)
    return dependency


def _public(request: Request, ctx: Ctx, _: Declared) -> Principal | None:
    return _principal(request, ctx)


def _authenticated(request: Request, ctx: Ctx, _: Declared = None) -> Principal:
    principal = _principal(request, ctx)
    if principal is None:
        raise Unauthenticated("this endpoint needs a bearer token")
    return principal


def require(*roles: Role, verified: bool = False):
    """A dependency admitting callers holding any of ``roles`` (and real-name verified, if asked)."""
    wanted = frozenset(roles)

    def dependency(request: Request, ctx: Ctx, _: Declared) -> Principal:
        principal = _authenticated(request, ctx)
        if not principal.roles & wanted:
            names = ", ".join(sorted(r.value for r in wanted))
            raise Forbidden(f"this endpoint is for {names}", required_roles=sorted(r.value for r in wanted))
        if verified and not principal.verified:
            raise Forbidden("your account is not real-name verified (R11); ask an administrator to verify it")
        return principal

    label = "+".join(sorted(r.value for r in wanted)) + (" (verified)" if verified else "")
    return Depends(_mark(dependency, label))


def require_verified(*roles: Role):
    return require(*roles, verified=True)


Public = Annotated[Principal | None, Depends(_mark(_public, "public"))]
Authenticated = Annotated[Principal, Depends(_mark(_authenticated, "authenticated"))]
DataSource = Annotated[Principal, require(Role.data_source)]
VerifiedDataSource = Annotated[Principal, require_verified(Role.data_source)]
Operator = Annotated[Principal, require(Role.operator)]
VerifiedOperator = Annotated[Principal, require_verified(Role.operator)]
Registrar = Annotated[Principal, require(Role.registrar)]
Implementer = Annotated[Principal, require(Role.implementer)]
Supervisor = Annotated[Principal, require(Role.supervisor)]
Admin = Annotated[Principal, require(Role.admin)]
