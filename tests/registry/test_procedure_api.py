"""The registration procedure over HTTP (R16): every registration type from application to certificate, with
objections upheld and dismissed, deadlines in PRC working days across National Day 2025, illegal
transitions as 409s, joint applications (R9), evidence (R12, R13) and audit in the same transaction."""

from datetime import date

import pytest
from registry_world import CSV2, PREFIX, make_world, set_day
from sqlalchemy import func, select

from audit.store import AuditEventRow as EventRow
from registry.store import ApplicationRow, EvidenceRow


@pytest.fixture
def world(harness, clock):
    return make_world(harness, clock)


def audit_kinds(harness) -> list[str]:
    with harness.ctx.uow() as session:
        return list(session.scalars(select(EventRow.kind).order_by(EventRow.seq)))


def test_r16_first_registration_across_national_day_2025(harness, clock):
    """Submitted 2025-09-29: acceptance due 3 working days later skipping 10-01..10-08 (2025-10-10); a notice
    published 10-09 runs 10 working days, counting the make-up Saturday 10-11, to 10-22."""
    world = make_world(harness, clock, date(2025, 9, 29))
    app = world.apply("first")
    assert app["state"] == "submitted" and app["submitted_on"] == "2025-09-29"
    assert app["acceptance_due"] == "2025-10-10"
    set_day(clock, date(2025, 10, 9))
    accepted = world.step(app["id"], "accept")
    assert accepted["state"] == "accepted" and accepted["acceptance_overdue"] is False
    world.step(app["id"], "approve", {"reason": "complete"})
    published = world.step(app["id"], "publish")
    assert published["state"] == "in_notice"
    assert (published["notice_start"], published["notice_end"]) == ("2025-10-09", "2025-10-22")
    notices = harness.client.get(f"{PREFIX}/notices").json()  # anonymous (R7)
    shown = notices["in_progress"][0]
    assert shown["registration_type"] == "first" and shown["registrants"] == ["重庆市民政局"]
    assert shown["data_name"] == "居民收入统计" and shown["ends_on"] == "2025-10-22"
    issued = world.issue_after_notice(published)
    assert issued["state"] == "issued"
    code = issued["certificate_code"]
    cert = world.certificate(code)
    assert cert["valid"] and cert["code_valid"] and cert["signature_valid"]
    assert (
        cert["certificate"]["issued_on"] == "2025-10-23" and cert["certificate"]["valid_to"] == "2028-10-22"
    )
    assert [h["action"] for h in issued["history"]] == ["submit", "accept", "approve", "publish", "issue"]
    kinds = audit_kinds(harness)
    for step in ("submitted", "accept", "approve", "publish", "issue"):
        assert f"registry.application.{step}" in kinds
    assert harness.client.get(f"{PREFIX}/notices").json()["in_progress"] == []
    assert [c["code"] for c in harness.client.get(f"{PREFIX}/catalog").json()] == [code]


def test_r16_acceptance_deadline_is_reported_when_missed(world, clock):
    app = world.apply("first")
    set_day(clock, date(2025, 3, 7))  # Mon 03-03 + 3 working days = Thu 03-06
    shown = world.client.get(f"{PREFIX}/applications/{app['id']}", headers=world.registrar).json()
    assert shown["acceptance_due"] == "2025-03-06" and shown["acceptance_overdue"] is True
    world.step(app["id"], "accept")
    stats = world.client.get(f"{PREFIX}/statistics", headers=world.registrar).json()
    assert stats["accepted_late"] == 1


def test_r16_return_for_completion_then_resubmit(world, clock):
    app = world.apply("first")
    refused = world.step(app["id"], "return", {}, expect=422)
    assert "reason" in refused["detail"]
    returned = world.step(app["id"], "return", {"reason": "the storage field is incomplete"})
    assert returned["state"] == "returned"
    set_day(clock, date(2025, 3, 5))
    again = world.step(
        app["id"], "resubmit", {"content": {**returned["content"], "storage": "room 3"}}, headers=world.source
    )
    assert again["state"] == "submitted" and again["content"]["storage"] == "room 3"
    assert again["acceptance_due"] == "2025-03-10"


def test_r16_objection_upheld_rejects_and_dismissed_resumes_the_notice(world, clock, harness):
    app = world.through_notice(world.apply("first")["id"])  # notice 03-03 .. 03-17
    assert app["notice_end"] == "2025-03-17"
    citizen = harness.auth(harness.user("operator"))
    set_day(clock, date(2025, 3, 5))
    r = world.client.post(
        f"{PREFIX}/applications/{app['id']}/objections", json={"reason": "not the holder"}, headers=citizen
    )
    assert r.status_code == 201, r.text
    objection = r.json()
    paused = world.client.get(f"{PREFIX}/applications/{app['id']}", headers=world.registrar).json()
    assert paused["state"] == "objected"
    set_day(clock, date(2025, 3, 20))  # the original end has passed: issuance still waits
    assert world.step(app["id"], "issue", expect=409)["current_state"] == "objected"
    upheld = world.client.post(
        f"{PREFIX}/objections/{objection['id']}/resolve",
        json={"decision": "upheld", "reason": "another department holds the data"},
        headers=world.registrar,
    )
    assert upheld.status_code == 200 and upheld.json()["state"] == "rejected"
    assert upheld.json()["decision_reason"] == "another department holds the data"

    # A new application; this time the objection is dismissed and the notice resumes for its remaining days.
    app = world.through_notice(world.apply("first")["id"])  # published Thu 03-20, ends 04-03
    assert app["notice_end"] == "2025-04-03"
    set_day(clock, date(2025, 3, 27))  # 5 working days left (03-28, 03-31, 04-01, 04-02, 04-03)
    objection = world.client.post(
        f"{PREFIX}/applications/{app['id']}/objections", json={"reason": "wrong scale"}, headers=citizen
    ).json()
    set_day(clock, date(2025, 4, 1))
    dismissed = world.client.post(
        f"{PREFIX}/objections/{objection['id']}/resolve",
        json={"decision": "dismissed", "reason": "the scale is correct"},
        headers=world.registrar,
    ).json()
    # resumes 04-01 with 5 working days: 04-02, 04-03, 04-07 (04-04..06 Qingming), 04-08, 04-09
    assert dismissed["state"] == "in_notice" and dismissed["notice_end"] == "2025-04-09"
    assert [o["state"] for o in dismissed["objections"]] == ["dismissed"]
    issued = world.issue_after_notice(dismissed)
    assert issued["state"] == "issued"
    kinds = audit_kinds(harness)
    assert {"registry.objection.filed", "registry.objection.upheld", "registry.objection.dismissed"} <= set(
        kinds
    )


def test_r16_change_correction_and_cancellation_walk_the_procedure(world, clock, harness):
    """A changed dataset is flagged; change and correction make new certificate versions under the same code;
    cancellation cancels it and announces it."""
    code = world.register()
    status = world.client.get(f"{PREFIX}/datasets/residents/status", headers=world.source).json()
    assert status["registered"] and status["evidence_matches"] is True and status["action_required"] is None

    world.upload("residents", CSV2)  # a later version no longer matches the registered evidence
    status = world.client.get(f"{PREFIX}/datasets/residents/status", headers=world.source).json()
    assert status["evidence_matches"] is False
    assert status["action_required"].startswith("change registration required")
    assert status["registered"] is True  # still registered, but flagged

    first_again = world.apply("first", expect=409)
    assert code in first_again["detail"]
    change = world.apply("change", certificate_code=code)
    issued = world.issue_after_notice(world.through_notice(change["id"]))
    assert issued["certificate_code"] == code
    cert = world.certificate(code)
    assert cert["certificate"]["version"] == 2 and cert["certificate"]["registration_type"] == "change"
    assert [v["state"] for v in cert["versions"]] == ["superseded", "issued"]
    status = world.client.get(f"{PREFIX}/datasets/residents/status", headers=world.source).json()
    assert status["evidence_matches"] is True

    correction = world.apply("correction", certificate_code=code)
    issued = world.issue_after_notice(world.through_notice(correction["id"]))
    cert = world.certificate(code)
    assert cert["certificate"]["version"] == 3 and cert["certificate"]["registration_type"] == "correction"
    assert cert["certificate"]["valid_to"] == cert["versions"][0]["valid_to"]  # the term is not extended

    cancellation = world.apply("cancellation", certificate_code=code)
    done = world.issue_after_notice(world.through_notice(cancellation["id"]))
    assert done["state"] == "cancelled"
    cert = world.certificate(code)
    assert cert["state"] == "cancelled" and cert["valid"] is False
    assert "was cancelled on" in cert["reason"]
    announcements = world.client.get(f"{PREFIX}/notices").json()["announcements"]
    assert [(a["kind"], a["certificate_code"]) for a in announcements] == [("cancellation", code)]
    status = world.client.get(f"{PREFIX}/datasets/residents/status", headers=world.source).json()
    assert status["registered"] is False and "was cancelled" in status["reason"]
    assert world.client.get(f"{PREFIX}/catalog").json() == []


def test_illegal_transitions_are_409_naming_the_current_state(world):
    app = world.apply("first")
    for action in ("approve", "publish", "issue"):
        error = world.step(app["id"], action, {"reason": "x"} if action == "approve" else None, expect=409)
        assert error["code"] == "invalid_transition" and error["current_state"] == "submitted"
    world.step(app["id"], "accept")
    assert world.step(app["id"], "accept", expect=409)["current_state"] == "accepted"
    objection = world.client.post(
        f"{PREFIX}/applications/{app['id']}/objections", json={"reason": "early"}, headers=world.supervisor
    )
    assert objection.status_code == 409 and objection.json()["current_state"] == "accepted"
    rejected = world.step(app["id"], "reject", {"reason": "the source is not the holder"})
    assert rejected["state"] == "rejected"
    assert world.step(app["id"], "accept", expect=409)["current_state"] == "rejected"
    table = world.client.get(f"{PREFIX}/transitions").json()
    assert {"action": "accept", "from": "submitted", "to": "accepted"}.items() <= table[0].items()


def test_roles_on_registry_endpoints(world, harness):
    app = world.apply("first")
    operator = harness.auth(harness.user("operator"))
    assert world.client.post(f"{PREFIX}/applications/{app['id']}/accept").status_code == 401
    assert world.step(app["id"], "accept", headers=world.source, expect=403)
    assert world.step(app["id"], "accept", headers=operator, expect=403)
    assert world.client.get(f"{PREFIX}/applications/{app['id']}", headers=operator).status_code == 403
    assert world.client.get(f"{PREFIX}/applications", headers=operator).json() == []
    other_source = harness.auth(harness.user("data_source"))
    assert world.step(app["id"], "withdraw", headers=other_source, expect=403)
    assert world.step(app["id"], "withdraw", headers=world.source)["state"] == "withdrawn"


def test_r11_unverified_account_cannot_apply(world, harness):
    unverified = harness.auth(harness.user("data_source", org="重庆市民政局", verified=False))
    refused = world.apply("first", headers=unverified, expect=403)
    assert "real-name" in refused["detail"]


def test_r9_joint_application_waits_for_every_consent(world, harness):
    partner_token = harness.user("data_source", username="partner", org="重庆市统计局")
    with harness.ctx.uow() as session:
        from gateway import identity

        partner_org = identity.get_organization(session, "重庆市统计局").id
    app = world.apply("first", co_registrants=[partner_org])
    assert [(r["name"], r["consented"]) for r in app["registrants"]] == [
        ("重庆市民政局", True),
        ("重庆市统计局", False),
    ]
    waiting = world.step(app["id"], "accept", expect=409)
    assert "consent" in waiting["detail"] and waiting["current_state"] == "submitted"
    stranger = harness.auth(harness.user("data_source"))
    assert world.step(app["id"], "consent", headers=stranger, expect=403)
    partner = harness.auth(partner_token)
    assert world.client.get(f"{PREFIX}/applications/{app['id']}", headers=partner).status_code == 200
    consented = world.step(app["id"], "consent", headers=partner)
    assert all(r["consented"] for r in consented["registrants"])
    assert world.step(app["id"], "accept")["state"] == "accepted"


def test_r13_application_needs_evidence_of_the_current_data(world):
    missing = world.apply("first", evidence_id=None, expect=422)
    assert missing["field"] == "evidence_id"
    stale = world.evidence()
    world.upload("residents", CSV2)
    refused = world.apply("first", evidence_id=stale["id"], expect=409)
    assert refused["field"] == "evidence_id" and "no longer matches" in refused["detail"]
    fresh = world.evidence()
    assert fresh["sha256"] != stale["sha256"]
    manifest = fresh["manifest"]["tables"][0]
    assert manifest["table"] == "people" and manifest["rows"] == 41
    assert [c["name"] for c in manifest["schema"]] == ["person_id", "district", "income"]
    world.apply("first", evidence_id=fresh["id"])


def test_r13_sm3_digest_where_configured(world, harness):
    harness.ctx.settings.audit.hash_algorithm = "sm3"
    try:
        evidence = world.evidence()
    finally:
        harness.ctx.settings.audit.hash_algorithm = "sha256"
    assert len(evidence["sm3"]) == 64 and "sm3_files" in evidence["manifest"]
    assert evidence["sha256"] == world.evidence()["sha256"]  # the SHA-256 digest does not depend on SM3


def test_r12_third_party_evidence_refused_on_conflict_of_interest(world, harness):
    notary = harness.auth(harness.user("third_party", org="重庆数据存证服务有限公司"))
    close = harness.auth(harness.user("third_party", org="民政信息中心"))
    near_registrar = harness.auth(harness.user("third_party", org="登记中心服务公司"))
    with harness.ctx.uow() as session:
        from gateway import identity

        ids = {
            name: identity.get_organization(session, name).id
            for name in ("民政信息中心", "登记中心服务公司", "重庆市公共数据资源登记中心", "重庆市民政局")
        }
        now = harness.ctx.clock.now()
        identity.affiliate(session, ids["民政信息中心"], ids["重庆市民政局"], "subordinate", now)
        identity.affiliate(
            session, ids["重庆市公共数据资源登记中心"], ids["登记中心服务公司"], "affiliated", now
        )
    for headers, who in ((close, "registrant"), (near_registrar, "registration institution")):
        r = world.client.post(
            f"{PREFIX}/evidence", json={"dataset": "residents", "mode": "third_party"}, headers=headers
        )
        assert r.status_code == 403 and who in r.json()["detail"] and "R12" in r.json()["detail"]
    entrust = {
        "third_party": "重庆数据存证服务有限公司",
        "reference": "存证委托 2025-001",
        "valid_from": "2025-01-01",
    }
    assert world.client.post("/api/v1/entrustments", json=entrust, headers=world.source).status_code == 201
    proof = world.evidence(headers=notary, mode="third_party")
    assert proof["mode"] == "third_party" and proof["registrant_org_id"] == world.source_org
    world.apply("first", evidence_id=proof["id"])
    self_by_other = world.client.post(
        f"{PREFIX}/evidence", json={"dataset": "residents", "mode": "self"}, headers=notary
    )
    assert self_by_other.status_code == 403


def test_bad_inputs_are_4xx_naming_the_field_and_write_nothing(world, harness):
    def count(row):
        with harness.ctx.uow() as session:
            return session.scalar(select(func.count()).select_from(row))

    evidence_before = count(EvidenceRow)
    letter = {"commitment_letter": ("l.pdf", b"x", "application/pdf")}
    post = world.client.post
    cases = [
        ({"application": "{not json"}, letter, "application"),
        ({"application": '{"kind": "first"}'}, letter, "application.subject_id"),
        (
            {"application": '{"kind": "renewal", "subject_id": "residents", "content": {}}'},
            letter,
            "application.kind",
        ),
    ]
    for data, files, field in cases:
        r = post(f"{PREFIX}/applications", data=data, files=files, headers=world.source)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field or r.json()["field"].startswith(field)
    assert post(f"{PREFIX}/applications", data={"application": "{}"}, headers=world.source).status_code == 422
    empty = world.apply("first", letter=b"", expect=422)
    assert empty["field"] == "commitment_letter"
    huge = world.apply("first", letter=b"x" * (5 * 1024 * 1024 + 1), expect=422)
    assert huge["field"] == "commitment_letter"
    bad_content = world.apply("first", content={"name": ""}, expect=422)
    assert bad_content["field"].startswith("application.content")
    unknown = world.apply("first", name="nope", evidence_id="0" * 32, expect=404)
    assert unknown["field"] == "dataset"
    assert count(ApplicationRow) == 0
    assert (
        world.client.post(f"{PREFIX}/evidence", json={"dataset": "nope"}, headers=world.source).status_code
        == 404
    )
    assert count(EvidenceRow) == evidence_before + 3  # one per apply() above that made evidence, none stray
    assert world.client.post(f"{PREFIX}/applications/nope/accept", headers=world.registrar).status_code == 404
    assert (
        world.client.post(
            f"{PREFIX}/objections/nope/resolve",
            json={"decision": "maybe", "reason": "x"},
            headers=world.registrar,
        ).status_code
        == 422
    )
