"""Products are registered by the operator that lists them, and their certificate cannot outlive the
authorization they were developed under (R17, A3, A28)."""

import json
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from operation_world import make_world, set_day

from registry import evidence as evidence_mod
from registry import service

REGISTRY = "/api/v1/registry"
CONTENT = {
    "name": "区县收入结构报告",
    "holder": "渝数科技有限公司",
    "source": "授权运营产出",
    "scale": "1 report",
    "update_frequency": "yearly",
    "format": "Parquet",
    "open_attribute": "conditional",
    "storage": "Shuyu domain store",
    "description": "District income structure report.",
}


@pytest.fixture
def world(harness, clock):
    return make_world(harness, clock)


def apply(world, product_id: str, evidence_id: str | None, role: str, **fields):
    body = {
        "kind": "first",
        "subject_type": "product",
        "subject_id": product_id,
        "content": CONTENT,
        "evidence_id": evidence_id,
        **fields,
    }
    return world.c.post(
        f"{REGISTRY}/applications",
        data={"application": json.dumps(body)},
        files={"commitment_letter": ("letter.pdf", b"%PDF-1.4 commitment", "application/pdf")},
        headers=world.h[role],
    )


def listed_product(world) -> tuple[dict, dict]:
    agreement = world.filed_agreement(end=date(2026, 6, 30))["agreement"]
    body = {
        "agreement_id": agreement["id"],
        "name": "区县收入结构报告",
        "kind": "report",
        "description": "分区县汇总",
        "product_class": "public_good",
        "pricing": {"mode": "free"},
        "source_jobs": [world.released_job()],
    }
    return agreement, world.post("products", "operator", body, expect=201)


def test_r17_product_certificate_is_capped_by_the_agreement_term(world, tmp_path):
    agreement, product = listed_product(world)
    path = tmp_path / "product.parquet"
    pq.write_table(pa.table({"district": ["a", "b"], "n": [10, 12]}), path)
    with world.harness.ctx.uow() as session:
        proof = service.record_evidence(
            session,
            evidence_mod.compute("product", product["id"], {"report": path}),
            subject_type="product",
            subject_id=product["id"],
            subject_version=1,
            mode="self",
            registrant_org_id=world.orgs["operator"],
            issuer_org_id=world.orgs["operator"],
            actor_id="test",
            now=world.clock.now(),
        )
    assert apply(world, "no-such-product", proof.id, "operator").status_code == 404
    assert apply(world, product["id"], proof.id, "operator2").status_code == 403  # not its product
    assert apply(world, product["id"], proof.id, "source").status_code == 403
    application = apply(world, product["id"], proof.id, "operator", authorization_end="2027-12-31")
    assert application.status_code == 201, application.text
    app_id = application.json()["id"]
    for action, body in (("accept", None), ("approve", {"reason": "materials complete"}), ("publish", None)):
        step = world.c.post(
            f"{REGISTRY}/applications/{app_id}/{action}", json=body, headers=world.h["registrar"]
        )
        assert step.status_code == 200, step.text
    end = date.fromisoformat(step.json()["notice_end"])
    set_day(world.clock, date.fromordinal(end.toordinal() + 1))
    issued = world.c.post(f"{REGISTRY}/applications/{app_id}/issue", headers=world.h["registrar"]).json()
    certificate = world.c.get(f"{REGISTRY}/certificates/{issued['certificate_code']}").json()["certificate"]
    # The analyst asked for 2027-12-31; the agreement ends 2026-06-30, and so does the certificate.
    assert certificate["valid_to"] == agreement["term_end"] == "2026-06-30"
    with world.harness.ctx.uow() as session:
        assert service.product_registration(session, product["id"], date(2026, 6, 30)).allowed
        assert not service.product_registration(session, product["id"], date(2026, 7, 1)).allowed
    # R18: a renewal cannot run beyond the agreement either, whatever end the operator asks for.
    set_day(world.clock, date(2026, 5, 15))
    renewal = world.c.post(
        f"{REGISTRY}/certificates/{issued['certificate_code']}/renew",
        json={"authorization_end": "2027-12-31"},
        headers=world.h["operator"],
    )
    assert renewal.status_code == 422 and renewal.json()["field"] == "authorization_end"
    stranger = world.c.post(
        f"{REGISTRY}/certificates/{issued['certificate_code']}/renew",
        json={"authorization_end": "2027-12-31"},
        headers=world.h["operator2"],
    )
    assert stranger.status_code == 403
