"""R16: the public objects to a registration under public notice without an account (before: 401), with
contact details only the registrar sees, rate-limited; the objection pauses issuance like any other."""

from datetime import date

from registry_world import PREFIX, make_world

OBJECTION = {"reason": "该数据含有我单位采集的数据，权属有争议", "name": "李四", "contact": "13800138000"}


def test_r16_anyone_objects_to_a_public_notice_and_the_registrar_resolves_it(harness, clock):
    world = make_world(harness, clock, date(2026, 3, 2))
    app = world.apply("first")
    world.through_notice(app["id"])
    c = harness.client
    url = f"{PREFIX}/notices/{app['id']}/objections"
    bad = c.post(url, json=OBJECTION | {"contact": "ring me"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "contact"
    filed = c.post(url, json=OBJECTION)  # no token
    assert filed.status_code == 201, filed.text
    objection = filed.json()
    paused = c.get(f"{PREFIX}/applications/{app['id']}", headers=world.registrar).json()
    assert paused["state"] != "in_notice" and [o["id"] for o in paused["objections"]] == [objection["id"]]
    contact_url = f"{PREFIX}/objections/{objection['id']}/contact"
    assert c.get(contact_url).status_code == 401
    assert c.get(contact_url, headers=world.source).status_code == 403
    contact = c.get(contact_url, headers=world.registrar).json()
    assert contact["contact"] == "13800138000" and contact["name"] == "李四"
    notices = c.get(f"{PREFIX}/notices").json()
    assert "13800138000" not in str(notices)  # never published
    resolved = c.post(
        f"{PREFIX}/objections/{objection['id']}/resolve",
        json={"decision": "dismissed", "reason": "权属清晰"},
        headers=world.registrar,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["state"] == "in_notice"


def test_r16_public_objections_are_rate_limited_and_only_during_the_notice(harness, clock):
    world = make_world(harness, clock, date(2026, 3, 2))
    app = world.apply("first")
    url = f"{PREFIX}/notices/{app['id']}/objections"
    assert harness.client.post(url, json=OBJECTION).status_code == 409  # not under notice yet
    world.through_notice(app["id"])
    for _ in range(3):
        assert harness.client.post(url, json=OBJECTION).status_code == 201
    assert harness.client.post(url, json=OBJECTION).status_code == 429
