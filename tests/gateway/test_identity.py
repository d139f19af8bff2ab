"""Identity: tokens are shown once and stored hashed; anonymous is 401, wrong role 403; R11 verification."""

from route_walk import served_routes, undeclared_routes
from sqlalchemy import select

from common.settings import Settings
from gateway import identity
from gateway.store import TokenRow


def test_token_is_stored_only_as_a_digest(harness):
    token = harness.user("operator", username="ana")
    with harness.ctx.uow() as session:
        stored = session.scalars(select(TokenRow.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)
    me = harness.client.get("/api/v1/me", headers=harness.auth(token))
    assert me.status_code == 200
    assert me.json()["username"] == "ana" and me.json()["roles"] == ["operator"]


def test_anonymous_gets_401_and_bad_tokens_are_refused(harness):
    assert harness.client.get("/api/v1/me").status_code == 401
    for header in ("Bearer shy_nope", "Basic abc", "Bearer "):
        response = harness.client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_token_stops_working(harness):
    token = harness.user("supervisor", username="sup")
    with harness.ctx.uow() as session:
        assert identity.revoke_tokens(session, "sup", harness.ctx.clock.now()) == 1
    assert harness.client.get("/api/v1/me", headers=harness.auth(token)).status_code == 401


def test_roles_must_fit_the_organization_kind(harness):
    import pytest

    from common.errors import InvalidInput

    with harness.ctx.uow() as session:
        identity.create_organization(
            session, name="渝北区大数据局", kind="data_source", now=harness.ctx.clock.now()
        )
        with pytest.raises(InvalidInput, match="data_source organization"):
            identity.create_user(
                session,
                username="x1",
                organization="渝北区大数据局",
                roles=["operator"],
                now=harness.ctx.clock.now(),
            )


def test_r11_unverified_account_cannot_apply(harness):
    """R11: registration accounts are verified by real name before use."""
    token = harness.user("data_source", username="unverified", verified=False)
    body = {
        "name": "roads",
        "title": "Roads",
        "update_frequency": "monthly",
        "sector": "transport",
        "open_attribute": "conditional",
    }
    refused = harness.client.post("/api/v1/catalog/datasets", json=body, headers=harness.auth(token))
    assert refused.status_code == 403 and "real-name" in refused.json()["error"]["message"]
    with harness.ctx.uow() as session:
        identity.verify_real_name(
            session,
            "unverified",
            real_name="张三",
            id_number="11010519491231002X",
            verifier="test",
            now=harness.ctx.clock.now(),
        )
    accepted = harness.client.post("/api/v1/catalog/datasets", json=body, headers=harness.auth(token))
    assert accepted.status_code == 201


def test_every_route_declares_who_may_call_it(tmp_path):
    """The guard promised by ``gateway/auth.py``: walks the routes the app really serves (inside included
    routers too) and fails if any lacks a Public / Authenticated / require(...) declaration."""
    from gateway.app import create_app

    app = create_app(Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/s.db"))
    served = [r for r in served_routes(app.router.routes) if r.kind == "APIRoute"]
    operations = sum(len([m for m in item if m != "parameters"]) for item in app.openapi()["paths"].values())
    # The walk sees every operation the API documents (an empty walk would make the guard vacuous).
    assert len(served) >= operations > 90
    assert any(r.path == "/api/v1/audit/events" and r.methods == {"GET"} for r in served)
    assert undeclared_routes(app) == []


def _tiny_app(declared_router_dependency: bool = False):
    """An app with declared and undeclared routes at every nesting the real app could use."""
    from fastapi import APIRouter, FastAPI

    from gateway.auth import Authenticated, Public, Supervisor

    app = FastAPI()

    @app.get("/direct/declared")
    def direct_declared(_: Public) -> dict:
        return {}

    @app.get("/direct/undeclared")
    def direct_undeclared() -> dict:
        return {}

    inner = APIRouter(prefix="/inner")

    @inner.get("/declared")
    def inner_declared(_: Supervisor) -> dict:
        return {}

    @inner.post("/undeclared")
    def inner_undeclared(body: dict) -> dict:
        return body

    outer = APIRouter(prefix="/outer")

    @outer.get("/declared")
    def outer_declared(_: Authenticated) -> dict:
        return {}

    @outer.delete("/undeclared")
    def outer_undeclared() -> dict:
        return {}

    outer.include_router(inner)
    app.include_router(outer, prefix="/api")
    by_router = APIRouter(prefix="/by-router")

    @by_router.get("/route")
    def by_router_route() -> dict:
        return {}

    if declared_router_dependency:
        from fastapi import Depends

        from gateway.auth import _public

        app.include_router(by_router, dependencies=[Depends(_public)])
    else:
        app.include_router(by_router)
    sub = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @sub.get("/mounted")
    def mounted() -> dict:
        return {}

    app.mount("/sub", sub)
    return app


def test_the_route_guard_reports_undeclared_routes_at_every_depth():
    """The guard itself can fail: direct, included, nested-included and mounted undeclared routes are named;
    declared ones (including a declaration on the router inclusion) are not."""
    assert sorted(undeclared_routes(_tiny_app())) == [
        "DELETE /api/outer/undeclared",
        "GET /by-router/route",
        "GET /direct/undeclared",
        "GET /sub/mounted",
        "POST /api/outer/inner/undeclared",
    ]
    assert "GET /by-router/route" not in undeclared_routes(_tiny_app(declared_router_dependency=True))


def test_the_route_guard_catches_the_audit_route_losing_its_role(tmp_path):
    """Mutation check on the real app: the audit events route with its Supervisor dependency removed."""
    import inspect

    from fastapi import APIRouter, FastAPI

    from gateway.routes import audit

    signature = inspect.signature(audit.events)
    stripped = signature.replace(parameters=[p for n, p in signature.parameters.items() if n != "_"])

    def events_without_role(**kwargs):  # same endpoint, role parameter dropped
        return audit.events(_=None, **kwargs)

    events_without_role.__signature__ = stripped
    router = APIRouter(prefix="/api/v1/audit")
    router.add_api_route("/events", events_without_role, methods=["GET"])
    router.add_api_route("/verify", audit.verify_chain, methods=["GET"])
    app = FastAPI()
    app.include_router(router)
    assert undeclared_routes(app) == ["GET /api/v1/audit/events"]
