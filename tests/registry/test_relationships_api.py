"""Relationships and entrustments as data through the API (R12, R13; Annex 1 Art. 12 ¶2), and account
applications verified by the registration institution with checked ID numbers (R11)."""

from datetime import date

from registry_world import PREFIX, make_world, set_day

NOTARY = "重庆数据存证服务有限公司"


def evidence(world, headers):
    return world.client.post(
        f"{PREFIX}/evidence", json={"dataset": "residents", "mode": "third_party"}, headers=headers
    )


def test_r13_an_unrelated_third_party_without_entrustment_cannot_evidence(harness, clock):
    """Before: any third party evidenced any registrant's data. Now only under a valid entrustment."""
    world = make_world(harness, clock, date(2026, 3, 2))
    notary = harness.auth(harness.user("third_party", org=NOTARY))
    r = evidence(world, notary)
    assert r.status_code == 403 and "entrustment" in r.json()["error"]["message"]
    body = {
        "third_party": NOTARY,
        "reference": "委托合同 2026-07",
        "valid_from": "2026-03-01",
        "valid_to": "2026-03-31",
    }
    assert harness.client.post("/api/v1/entrustments", json=body, headers=notary).status_code == 403
    made = harness.client.post("/api/v1/entrustments", json=body, headers=world.source)
    assert made.status_code == 201, made.text
    assert evidence(world, notary).status_code == 201
    set_day(clock, date(2026, 4, 1))  # expired
    assert evidence(world, notary).status_code == 403
    set_day(clock, date(2026, 3, 20))
    revoked = harness.client.post(f"/api/v1/entrustments/{made.json()['id']}/revoke", headers=world.source)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert evidence(world, notary).status_code == 403
    listed = harness.client.get("/api/v1/entrustments", headers=notary).json()
    assert [e["state"] for e in listed] == ["revoked"]


def test_r12_relationships_declared_through_the_api_feed_the_conflict_check(harness, clock):
    """Before: affiliations could only be declared in test code. The registrar declares them by API."""
    world = make_world(harness, clock, date(2026, 3, 2))
    close = harness.auth(harness.user("third_party", org="民政信息中心"))
    entrust = {"third_party": "民政信息中心", "reference": "委托 1", "valid_from": "2026-01-01"}
    assert harness.client.post("/api/v1/entrustments", json=entrust, headers=world.source).status_code == 201
    assert evidence(world, close).status_code == 201  # no relationship declared yet
    declare = {"organization": "民政信息中心", "related": "重庆市民政局", "relation": "subordinate"}
    assert harness.client.post("/api/v1/relationships", json=declare, headers=close).status_code == 403
    r = harness.client.post("/api/v1/relationships", json=declare, headers=world.registrar)
    assert r.status_code == 201, r.text
    again = harness.client.post("/api/v1/relationships", json=declare, headers=world.registrar)
    assert again.status_code == 422
    refused = evidence(world, close)
    assert refused.status_code == 403 and "R12" in refused.json()["error"]["message"]
    assert len(harness.client.get("/api/v1/relationships", headers=world.supervisor).json()) == 1


APPLY = {
    "organization": "重庆某数据服务有限公司",
    "organization_kind": "operator",
    "unified_code": "91350100M000100Y43",
    "username": "zhangsan",
    "display_name": "张三",
    "real_name": "张三",
    "id_number": "11010519491231002X",
}


def test_r11_registrant_applies_for_an_account_and_the_registrar_verifies_it(harness, clock):
    """Before: accounts were made by an admin CLI that accepted the ID number "123". Now registrants apply
    through the system, ID number and USCC are checked (python-stdnum), the registrar decides."""
    world = make_world(harness, clock, date(2026, 3, 2))
    c = harness.client
    for field, bad in (
        ("id_number", "123"),
        ("id_number", "110105194912310021"),
        ("unified_code", "91350100M000100Y44"),
    ):
        r = c.post("/api/v1/accounts/applications", json=APPLY | {field: bad})
        assert r.status_code == 422 and r.json()["error"]["field"] == field and bad not in r.text
    r = c.post("/api/v1/accounts/applications", json=APPLY)
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["state"] == "submitted" and "id_number" not in app and "11010519491231002X" not in r.text
    early = c.post(f"/api/v1/accounts/applications/{app['id']}/claim", json={"claim_code": app["claim_code"]})
    assert early.status_code == 409
    assert c.get("/api/v1/accounts/applications", headers=world.source).status_code == 403
    approved = c.post(f"/api/v1/accounts/applications/{app['id']}/approve", headers=world.registrar)
    assert approved.status_code == 200 and approved.json()["decided_by"] == "reg"
    wrong = c.post(f"/api/v1/accounts/applications/{app['id']}/claim", json={"claim_code": "guess"})
    assert wrong.status_code == 403
    token = c.post(f"/api/v1/accounts/applications/{app['id']}/claim", json={"claim_code": app["claim_code"]})
    assert token.status_code == 200
    me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {token.json()['token']}"})
    assert me.status_code == 200 and me.json()["verified"] is True
    again = c.post(f"/api/v1/accounts/applications/{app['id']}/claim", json={"claim_code": app["claim_code"]})
    assert again.status_code == 409


def test_r11_public_account_applications_are_rate_limited(harness, clock):
    make_world(harness, clock, date(2026, 3, 2))
    for i in range(5):
        r = harness.client.post("/api/v1/accounts/applications", json=APPLY | {"username": f"user{i}"})
        assert r.status_code == 201
    r = harness.client.post("/api/v1/accounts/applications", json=APPLY | {"username": "user9"})
    assert r.status_code == 429
    clock.advance(hours=1, minutes=1)
    assert (
        harness.client.post("/api/v1/accounts/applications", json=APPLY | {"username": "user9"}).status_code
        == 201
    )
