"""Identity: tokens are shown once and stored hashed; anonymous is 401, wrong role 403; R11 verification."""

from sqlalchemy import select

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


def test_every_route_declares_who_may_call_it(harness):
    from fastapi.routing import APIRoute

    from gateway.auth import ACCESS_MARK

    def declared(dependant) -> bool:
        return any(getattr(d.call, ACCESS_MARK, None) or declared(d) for d in dependant.dependencies)

    undeclared = [r.path for r in harness.app.routes if isinstance(r, APIRoute) and not declared(r.dependant)]
    assert undeclared == []
