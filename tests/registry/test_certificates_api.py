"""Certificates: one certificate one code with a check character (R10), signed documents that fail after
tampering (R22), renewal window, term and sweep (R18), revocation that refuses jobs
until re-registration (R23, R8, A9), public pages (R7), statistics for overseers only (R19), no fee (R15)."""

import json
import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from pydantic import BaseModel
from registry_world import PREFIX, content, make_world, set_day
from sqlalchemy import select, update

from common.db import Base
from gateway.workers import WorkerPool
from registry import service
from registry.store import CertificateRow


@pytest.fixture
def world(harness, clock):
    return make_world(harness, clock)


def test_r10_code_has_a_check_character_and_one_code_per_certificate(world):
    code = world.register()
    assert re.fullmatch(r"50-2025-D-\d{6}-[0-9X]", code)
    digits = code.split("-")
    wrong = "-".join(digits[:3] + [digits[3][:-1] + str((int(digits[3][-1]) + 1) % 10), digits[4]])
    shown = world.certificate(wrong)
    assert shown["code_valid"] is False and shown["found"] is False and shown["valid"] is False
    assert world.client.get(f"{PREFIX}/certificates/{wrong}/qr.svg").status_code == 422


def test_r22_tampered_certificate_fails_verification(world, harness):
    code = world.register()
    shown = world.certificate(code)
    assert shown["valid"] and shown["qr_code"].endswith(f"/certificates/{code}/qr.svg")
    document, signature = shown["certificate"]["document"], shown["certificate"]["signature"]
    assert json.loads(document)["code"] == code
    ok = world.client.post(
        f"{PREFIX}/certificates/{code}/verify", json={"document": document, "signature": signature}
    )
    assert ok.json()["valid"] is True
    raw = bytearray(document.encode())
    raw[raw.index(b"2028")] = ord("9")  # one byte: the year of valid_to
    forged = world.client.post(
        f"{PREFIX}/certificates/{code}/verify", json={"document": raw.decode(), "signature": signature}
    ).json()
    assert forged["signature_valid"] is False and forged["valid"] is False and "altered" in forged["reason"]
    bad_sig = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    assert (
        world.client.post(
            f"{PREFIX}/certificates/{code}/verify", json={"document": document, "signature": bad_sig}
        ).json()["valid"]
        is False
    )
    with harness.ctx.uow() as session:  # an insider edits the stored record
        session.execute(
            update(CertificateRow)
            .where(CertificateRow.code == code)
            .values(document=document.replace("2028-03-17", "2030-03-17"))
        )
    shown = world.certificate(code)
    assert shown["signature_valid"] is False and shown["valid"] is False
    qr = world.client.get(f"{PREFIX}/certificates/{code}/qr.svg")
    assert (
        qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg") and b"<svg" in qr.content
    )
    key = world.client.get(f"{PREFIX}/public-key").json()
    assert key["algorithm"] == "Ed25519" and "BEGIN PUBLIC KEY" in key["public_key_pem"]
    key_file = harness.ctx.settings.data_dir / "keys" / "registry-ed25519.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_r18_renewal_window_is_60_days_and_term_at_most_3_years(world, clock):
    code = world.register()  # issued 2025-03-18, valid to 2028-03-17
    cert = world.certificate(code)["certificate"]
    assert (cert["valid_from"], cert["valid_to"]) == ("2025-03-18", "2028-03-17")

    def renew(body=None):
        return world.client.post(f"{PREFIX}/certificates/{code}/renew", json=body or {}, headers=world.source)

    set_day(clock, date(2028, 1, 16))
    early = renew()
    assert early.status_code == 409 and "2028-01-17" in early.json()["detail"]
    set_day(clock, date(2028, 1, 17))
    too_long = renew({"valid_to": "2031-03-18"})
    assert too_long.status_code == 422 and too_long.json()["field"] == "valid_to"
    assert "2031-03-17" in too_long.json()["detail"]
    renewed = renew()
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    # counted from the day after the previous expiry, at most 3 years
    assert (body["version"], body["valid_from"], body["valid_to"]) == (2, "2028-03-18", "2031-03-17")
    assert renew().status_code == 409  # the window of the renewed certificate is years away
    set_day(clock, date(2028, 3, 20))
    assert world.certificate(code)["valid"] is True


def test_r18_not_renewed_in_time_is_cancelled_by_the_sweep_and_announced(world, clock, harness):
    code = world.register()
    set_day(clock, date(2028, 3, 18))
    with harness.ctx.uow() as session:
        verdict = service.dataset_registration(session, "residents", date(2028, 3, 18))
    assert not verdict.allowed and verdict.reason == f"certificate {code} expired on 2028-03-17"
    late = world.client.post(f"{PREFIX}/certificates/{code}/renew", json={}, headers=world.source)
    assert late.status_code == 409 and late.json()["current_state"] == "expired"
    assert world.client.post(f"{PREFIX}/sweep", headers=world.source).status_code == 403
    swept = world.client.post(f"{PREFIX}/sweep", headers=world.registrar).json()
    assert swept == {"cancelled": [code]}
    assert world.client.post(f"{PREFIX}/sweep", headers=world.registrar).json() == {"cancelled": []}
    shown = world.certificate(code)
    assert (
        shown["state"] == "cancelled" and "not renewed before expiry on 2028-03-17 (R18)" in shown["reason"]
    )
    announcements = world.client.get(f"{PREFIX}/notices").json()["announcements"]
    assert [(a["kind"], a["certificate_code"], a["published_on"]) for a in announcements] == [
        ("cancellation", code, "2028-03-18")
    ]


def test_r18_sweep_from_the_command_line(harness, clock, monkeypatch):
    from typer.testing import CliRunner

    from gateway.cli_registry import registry_app

    world = make_world(harness, clock)
    code = world.register()
    data_dir = str(harness.ctx.settings.data_dir)
    monkeypatch.setenv("SHUYU_DATABASE_URL", harness.ctx.settings.database_url)
    runner = CliRunner()
    # The command line runs on the real clock: pin it around the expiry on 2028-03-17 (Beijing).
    with time_machine.travel(datetime(2028, 3, 17, 15, 59, tzinfo=UTC), tick=False):  # 23:59 Beijing
        result = runner.invoke(registry_app, ["verify", code, "--data-dir", data_dir])
        assert result.exit_code == 0 and json.loads(result.output)["valid"] is True, result.output
        result = runner.invoke(registry_app, ["sweep", "--data-dir", data_dir])
    assert result.exit_code == 0 and json.loads(result.output) == {"cancelled": []}
    with time_machine.travel(datetime(2028, 3, 17, 16, 0, tzinfo=UTC), tick=False):  # 00:00 on 03-18
        result = runner.invoke(registry_app, ["verify", code, "--data-dir", data_dir])
        assert json.loads(result.output)["valid"] is False, result.output
        result = runner.invoke(registry_app, ["sweep", "--data-dir", data_dir])
    assert result.exit_code == 0 and json.loads(result.output) == {"cancelled": [code]}
    assert world.certificate(code)["state"] == "cancelled"


def test_r23_revocation_refuses_jobs_until_re_registered(world, harness, clock):
    implementer = harness.auth(harness.user("implementer"))
    analyst = harness.auth(harness.user("operator", username="ana", org="渝数科技有限公司"))
    with harness.ctx.uow() as session:
        from gateway import identity

        operator_org = identity.get_organization(session, "渝数科技有限公司").id
    grant = {
        "organization_id": operator_org,
        "dataset": "residents",
        "purpose": "district statistics",
        "valid_from": "2025-03-01",
        "valid_to": "2026-03-01",
        "privacy_unit": "person_id",
        "k": 2,
        "columns": {"people": {"person_id": "join", "district": "group", "income": "aggregate"}},
    }
    assert world.client.post("/api/v1/grants", json=grant, headers=implementer).status_code == 201
    sql = {"sql": "SELECT district, count(*) AS n FROM people GROUP BY district"}
    unregistered = world.client.post("/api/v1/jobs", json=sql, headers=analyst)
    assert unregistered.status_code == 403 and "not registered (R8, A9)" in unregistered.json()["detail"]

    code = world.register()
    pool = WorkerPool(harness.ctx, 1)
    assert world.client.post("/api/v1/jobs", json=sql, headers=analyst).status_code == 202
    revoked = world.client.post(
        f"{PREFIX}/certificates/{code}/revoke", json={"reason": "false materials"}, headers=world.registrar
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert (
        world.client.post(
            f"{PREFIX}/certificates/{code}/revoke", json={"reason": "again"}, headers=world.registrar
        ).json()["current_state"]
        == "revoked"
    )
    refused = world.client.post("/api/v1/jobs", json=sql, headers=analyst)
    assert refused.status_code == 403
    message = refused.json()["detail"]
    assert f"certificate {code} was revoked on 2025-03-18: false materials" in message
    announcements = world.client.get(f"{PREFIX}/notices").json()["announcements"]
    assert [(a["kind"], a["certificate_code"]) for a in announcements] == [("revocation", code)]
    change = world.apply("change", certificate_code=code, expect=409)
    assert change["current_state"] == "revoked"

    new_code = world.register()  # re-registration: a new first registration and a new code
    assert new_code != code
    job = world.client.post("/api/v1/jobs", json=sql, headers=analyst)
    assert job.status_code == 202, job.text
    while pool.run_once("registry-test"):
        pass
    done = world.client.get(f"/api/v1/jobs/{job.json()['id']}", headers=analyst).json()
    assert done["state"] == "succeeded", done
    rows = world.client.get(f"/api/v1/jobs/{done['id']}/result", headers=analyst).json()["rows"]
    assert sorted(r["n"] for r in rows) == [10, 10, 10, 10]


def test_r7_public_catalog_and_notices_need_no_login(world):
    code = world.register()
    catalog = world.client.get(f"{PREFIX}/catalog").json()
    assert [(c["code"], c["subject_id"], c["name"]) for c in catalog] == [
        (code, "residents", content()["name"])
    ]
    assert world.client.get(f"{PREFIX}/notices").status_code == 200
    assert world.client.get(f"{PREFIX}/transitions").status_code == 200
    assert world.client.get(f"{PREFIX}/datasets/residents/status").status_code == 401


def test_r19_statistics_only_for_the_registrar_and_supervisors(world, harness):
    world.register()
    assert world.client.get(f"{PREFIX}/statistics").status_code == 401
    for kind in ("data_source", "operator", "implementer", "third_party"):
        assert (
            world.client.get(f"{PREFIX}/statistics", headers=harness.auth(harness.user(kind))).status_code
            == 403
        )
    for headers in (world.registrar, world.supervisor):
        stats = world.client.get(f"{PREFIX}/statistics", headers=headers).json()
        assert stats["certificates_by_state"] == {"issued": 1} and stats["applications_by_kind"] == {
            "first": 1
        }


def test_r15_registration_is_free_no_fee_anywhere(world):
    fee_words = re.compile(r"fee|price|charge|费", re.IGNORECASE)
    for table in Base.metadata.tables.values():
        if table.name.startswith("registry_"):
            assert not [c.name for c in table.columns if fee_words.search(c.name)], table.name
    from gateway import registry_models as routes

    models = [
        m
        for m in vars(routes).values()
        if isinstance(m, type) and issubclass(m, BaseModel) and m.__module__ == routes.__name__
    ]
    assert len(models) > 10
    for model in models:
        assert not fee_words.search(json.dumps(model.model_json_schema())), model.__name__
    paths = {
        p: v for p, v in world.client.get("/openapi.json").json()["paths"].items() if p.startswith(PREFIX)
    }
    assert not fee_words.search(" ".join(paths))
    with_fee = world.apply("first", fee=100, expect=422)
    assert with_fee["field"] == "application.fee"
    code = world.register()
    assert not fee_words.search(world.certificate(code)["certificate"]["document"])


def test_r8_unregistered_dataset_verdict(world, harness):
    with harness.ctx.uow() as session:
        verdict = service.dataset_registration(session, "residents", date(2025, 3, 3))
        rows = session.scalars(select(CertificateRow)).all()
    assert verdict.allowed is False and verdict.reason == "dataset is not registered (R8, A9)" and rows == []
