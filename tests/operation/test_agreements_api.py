"""Operating agreements over HTTP: the whole walk from plan to a running job and its refusal after
termination, the 3-year cap (A16), filing within 5 PRC working days (A17), registration (A9), changes that
write new grant versions, non-transferability (A18) and termination revoking every grant at once (A23-A24)."""

import shutil
from datetime import date

import pytest
from operation_world import DISTRICT_SQL, OP, SCOPE, agreement_terms, make_world, set_day
from route_walk import accepted_fields, served_routes
from sqlalchemy import select

from audit.store import AuditEventRow
from gateway.workers import WorkerPool


@pytest.fixture
def world(harness, clock):
    return make_world(harness, clock)


def audit_kinds(harness) -> list[str]:
    with harness.ctx.uow() as session:
        return list(session.scalars(select(AuditEventRow.kind).order_by(AuditEventRow.seq)))


def dry_run(world, sql=DISTRICT_SQL) -> dict:
    return world.post("/api/v1/queries/check", "operator", {"sql": sql})


def test_a10_a16_a17_a24_walk_from_plan_to_job_then_termination_refuses_it(world):
    """Plan → expert review → approval → selection → agreement → signing → filing → grants → an allowed query;
    then termination → the same query refused with the reason. All through the API; the run in the real
    sandbox is the next test (skipped, visibly, without bubblewrap)."""
    w = world
    plan = w.plan()
    assert plan["state"] == "draft" and plan["content"]["public_good_products"]
    w.post(f"plans/{plan['id']}/submit", "implementer")
    w.review(plan["id"])
    plan = w.post(
        f"plans/{plan['id']}/conclusion", "implementer", {"conclusion": "feasible", "reason": "一致同意"}
    )
    assert plan["state"] == "reviewed" and len(plan["reviews"]) == 3
    plan = w.post(f"plans/{plan['id']}/approve", "implementer", {"reference": "渝府〔2025〕1号"})
    assert plan["state"] == "approved" and plan["approved_version"] == 1
    selection = w.select(plan["id"])
    start = w.today()
    body = {
        **agreement_terms(start, date(2027, 8, 31)),
        "plan_id": plan["id"],
        "selection_id": selection["id"],
    }
    agreement = w.post("agreements", "implementer", body, expect=201)
    assert agreement["state"] == "draft" and agreement["operator_org_id"] == w.orgs["operator"]
    assert w.get(f"agreements/{agreement['id']}/grants", "implementer") == []
    assert dry_run(w)["violation"]["rule"] == "no_grant"  # nothing before filing

    signed = w.post(f"agreements/{agreement['id']}/sign", "implementer")
    assert signed["state"] == "signed" and signed["filing_due"] == "2025-09-08"
    w.post(f"agreements/{agreement['id']}/filings", "implementer", {"reference": "备案函 7"}, expect=201)
    filed = w.post(f"agreements/{agreement['id']}/file", "supervisor", {"reference": "渝数备〔2025〕7号"})
    assert filed["agreement"]["state"] == "filed" and not filed["agreement"]["filed_late"]
    [grant] = filed["grants"]
    assert grant["organization_id"] == w.orgs["operator"] and grant["dataset"] == "residents"
    assert grant["valid_from"] == start.isoformat() and grant["valid_to"] == "2027-08-31"
    assert grant["columns"] == SCOPE and grant["status"] == "active"
    assert [g["id"] for g in w.get("/api/v1/grants", "operator")] == [grant["id"]]
    assert dry_run(w)["verdict"] == "allowed"

    ended = w.post(
        f"agreements/{agreement['id']}/terminate",
        "implementer",
        {"reason": "breach", "detail": "超范围使用数据"},
    )
    assert (
        ended["agreement"]["state"] == "terminated" and ended["agreement"]["termination_reason"] == "breach"
    )
    assert [g["status"] for g in ended["grants"]] == ["revoked"]
    refused = dry_run(w)
    assert refused["verdict"] == "denied" and "revoked" in refused["violation"]["message"]
    assert "breach" in refused["violation"]["message"] and "超范围使用数据" in refused["violation"]["message"]
    kinds = audit_kinds(w.harness)
    for kind in (
        "operation.plan.created",
        "operation.plan.reviewed",
        "operation.plan.approved",
        "operation.operator.selected",
        "operation.agreement.created",
        "operation.agreement.signed",
        "operation.agreement.filed",
        "grant.created",
        "operation.agreement.terminated",
        "grant.revoked",
    ):
        assert kind in kinds, kind
    assert w.get("/api/v1/audit/verify", "supervisor")["ok"] is True


@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed: no real job runs")
def test_a10_a24_a_filed_agreement_runs_a_real_job_and_termination_refuses_the_next(world):
    """The sandbox half of the walk above: the filed agreement's grant runs a job in bubblewrap, and after
    termination the same job is refused at submission with the reason."""
    w = world
    w.filed_agreement()
    pool = WorkerPool(w.harness.ctx, 1)
    job = w.post("/api/v1/jobs", "operator", {"sql": DISTRICT_SQL}, expect=202)
    while pool.run_once("test-worker"):
        pass
    job = w.get(f"/api/v1/jobs/{job['id']}", "operator")
    assert job["state"] == "succeeded", job
    assert job["gate"]["rows_out"] == 4
    [agreement] = w.get("agreements", "implementer")
    w.post(
        f"agreements/{agreement['id']}/terminate",
        "implementer",
        {"reason": "breach", "detail": "超范围使用数据"},
    )
    response = w.c.post("/api/v1/jobs", json={"sql": DISTRICT_SQL}, headers=w.h["operator"])
    assert response.status_code == 403
    assert "terminated (breach)" in response.json()["error"]["message"]
    assert not pool.run_once("test-worker")  # nothing was queued


def test_a16_term_longer_than_3_years_is_refused(world):
    w = world
    plan = w.approved_plan()
    selection = w.select(plan["id"])
    start = date(2025, 9, 1)
    base = {"plan_id": plan["id"], "selection_id": selection["id"]}
    refused = w.post(
        "agreements", "implementer", {**agreement_terms(start, date(2028, 9, 1)), **base}, expect=422
    )
    assert refused["error"]["field"] == "term_end" and "A16" in refused["error"]["message"]
    assert w.get("agreements", "implementer") == []  # nothing half-written
    longest = w.post(
        "agreements", "implementer", {**agreement_terms(start, date(2028, 8, 31)), **base}, expect=201
    )
    assert longest["term_end"] == "2028-08-31"
    backwards = w.post(
        "agreements", "implementer", {**agreement_terms(start, date(2025, 8, 1)), **base}, expect=422
    )
    assert backwards["error"]["field"] == "term_end"


def test_a17_filing_due_in_5_working_days_across_national_day(world, clock):
    """Signed 2025-09-29: 09-30, 10-09, 10-10, the make-up Saturday 10-11 and 10-13 are the 5 working days."""
    w = world
    agreement = w.draft_agreement(start=date(2025, 10, 1), end=date(2027, 9, 30))
    set_day(clock, date(2025, 9, 29))
    signed = w.post(f"agreements/{agreement['id']}/sign", "implementer")
    assert signed["filing_due"] == "2025-10-13"
    set_day(clock, date(2025, 10, 13))
    assert w.get("agreements/overdue-filings", "supervisor") == []
    set_day(clock, date(2025, 10, 14))
    [overdue] = w.get("agreements/overdue-filings", "supervisor")
    assert overdue["id"] == agreement["id"] and overdue["filing_overdue"] is True
    assert w.get(f"agreements/{agreement['id']}", "implementer")["filing_overdue"] is True
    w.get("agreements/overdue-filings", "operator", expect=403)
    w.post(f"agreements/{agreement['id']}/filings", "implementer", {"reference": "备案函 9"}, expect=201)
    late = {"reference": "渝数备〔2025〕9号", "accept_late": True, "reason": "节后首日提交，予以受理"}
    filed = w.post(f"agreements/{agreement['id']}/file", "supervisor", late)
    assert filed["agreement"]["filed_late"] is True and filed["agreement"]["filed_on"] == "2025-10-14"
    assert w.get("agreements/overdue-filings", "supervisor") == []


def test_a9_datasets_without_a_valid_certificate_cannot_be_signed_or_filed(harness, clock):
    w = make_world(harness, clock, datasets=("residents", "unregistered"), registered=("residents",))
    scope = {
        name: {"purpose": "分析", "columns": SCOPE, "privacy_unit": "person_id"}
        for name in ("residents", "unregistered")
    }
    agreement = w.draft_agreement(datasets=("residents", "unregistered"), scope=scope)
    refused = w.post(f"agreements/{agreement['id']}/sign", "implementer", expect=409)
    assert refused["error"]["datasets"] == ["unregistered"] and "A9" in refused["error"]["message"]
    assert w.get(f"agreements/{agreement['id']}", "implementer")["state"] == "draft"


def test_a16_a_changed_agreement_writes_new_grant_versions(world):
    w = world
    filed = w.filed_agreement()
    agreement, [grant] = filed["agreement"], filed["grants"]
    narrower = {
        "residents": {
            "purpose": "区县人数统计",
            "privacy_unit": "person_id",
            "columns": {"people": {"person_id": "join", "district": "group"}},
        }
    }
    body = {
        **agreement_terms(
            date.fromisoformat(agreement["term_start"]), date.fromisoformat(agreement["term_end"]), narrower
        ),
        "reason": "收窄授权范围",
    }
    changed = w.post(f"agreements/{agreement['id']}/changes", "implementer", body)
    assert changed["agreement"]["version"] == 2
    [new] = changed["grants"]
    assert new["id"] == grant["id"] and new["version"] == 2 and new["purpose"] == "区县人数统计"
    assert new["organization_id"] == grant["organization_id"]
    versions = w.get(f"/api/v1/grants/{grant['id']}/versions", "implementer")
    assert [v["version"] for v in versions] == [1, 2]
    assert len(w.get(f"agreements/{agreement['id']}/versions", "implementer")) == 2
    denied = dry_run(w)  # income is no longer granted
    assert denied["verdict"] == "denied"


def test_a18_no_api_changes_the_organization_of_a_grant_or_agreement(world):
    """Every grant and agreement route, called with an organization field, is refused or leaves it
    unchanged."""
    w = world
    filed = w.filed_agreement()
    agreement, grant = filed["agreement"], filed["grants"][0]
    other = w.orgs["operator2"]
    terms = {
        "purpose": "x",
        "valid_from": grant["valid_from"],
        "valid_to": grant["valid_to"],
        "columns": grant["columns"],
        "privacy_unit": "person_id",
        "reason": "transfer",
    }
    for field in ("organization_id", "operator_org_id", "organization"):
        w.c.put(f"/api/v1/grants/{grant['id']}", json={**terms, field: other}, headers=w.h["implementer"])
        for action in ("suspend", "resume"):
            w.c.post(
                f"/api/v1/grants/{grant['id']}/{action}",
                json={"reason": "x", field: other},
                headers=w.h["implementer"],
            )
        a_terms = agreement_terms(
            date.fromisoformat(agreement["term_start"]), date.fromisoformat(agreement["term_end"])
        )
        for method, path, body in (
            ("POST", f"agreements/{agreement['id']}/changes", {**a_terms, "reason": "transfer"}),
            ("PUT", f"agreements/{agreement['id']}", a_terms),
            ("POST", f"agreements/{agreement['id']}/file", {"reference": "x"}),
            ("POST", f"agreements/{agreement['id']}/sign", {}),
            ("POST", f"agreements/{agreement['id']}/abandon", {"reason": "x"}),
        ):
            r = w.c.request(method, f"{OP}/{path}", json={**body, field: other}, headers=w.h["implementer"])
            # filing is the data authority's act: the implementer gets 403 before anything else
            assert r.status_code in ((403,) if path.endswith("/file") else (409, 422)), (path, r.status_code)
    assert w.get(f"/api/v1/grants/{grant['id']}", "implementer")["organization_id"] == w.orgs["operator"]
    for version in w.get(f"/api/v1/grants/{grant['id']}/versions", "implementer"):
        assert version["organization_id"] == w.orgs["operator"]
    assert w.get(f"agreements/{agreement['id']}", "implementer")["operator_org_id"] == w.orgs["operator"]
    assert w.get("/api/v1/grants", "operator2") == []
    # And structurally: apart from creating a grant, no grant or agreement route accepts an organization.
    checked = 0
    for route in served_routes(w.harness.app.router.routes):
        if not (route.path.startswith("/api/v1/grants") or route.path.startswith(f"{OP}/agreements")):
            continue
        if route.path == "/api/v1/grants" and route.methods == {"POST"}:
            continue
        accepted = accepted_fields(route)
        assert accepted is not None, f"{route.label} takes an open mapping as its body"
        assert not accepted & {"organization_id", "operator_org_id", "organization"}, route.label
        checked += route.body is not None
    assert checked >= 8  # the walk reaches the routes that take a body (an empty walk checks nothing)


def test_a23_a24_termination_revokes_every_grant_at_once(harness, clock):
    w = make_world(harness, clock, datasets=("residents", "incomes"), registered=("residents", "incomes"))
    scope = {
        name: {"purpose": "分析", "columns": SCOPE, "privacy_unit": "person_id"}
        for name in ("residents", "incomes")
    }
    filed = w.filed_agreement(datasets=("residents", "incomes"), scope=scope)
    agreement = filed["agreement"]
    assert len(filed["grants"]) == 2
    w.post(f"/api/v1/grants/{filed['grants'][0]['id']}/suspend", "implementer", {"reason": "整改"})
    # an operator never terminates by itself: it applies (see test_operation_requests.py)
    w.post(f"agreements/{agreement['id']}/terminate", "operator", {"reason": "breach"}, expect=403)
    w.post(f"agreements/{agreement['id']}/terminate", "operator", {"reason": "operator_request"}, expect=403)
    w.post(f"agreements/{agreement['id']}/terminate", "implementer", {"reason": "expiry"}, expect=409)
    w.post(
        f"agreements/{agreement['id']}/terminate",
        "implementer",
        {"reason": "unqualified_evaluation"},
        expect=409,
    )  # no unqualified evaluation recorded
    ended = w.post(f"agreements/{agreement['id']}/terminate", "implementer", {"reason": "breach"})
    assert sorted(g["status"] for g in ended["grants"]) == ["revoked", "revoked"]
    assert {g["status"] for g in w.get(f"agreements/{agreement['id']}/grants", "implementer")} == {"revoked"}
    again = w.post(f"agreements/{agreement['id']}/terminate", "implementer", {"reason": "breach"}, expect=409)
    assert again["error"]["current_state"] == "terminated"
    w.post(f"/api/v1/grants/{filed['grants'][0]['id']}/resume", "implementer", {"reason": "x"}, expect=409)


def test_a23_expired_agreements_end_with_reason_expiry(world, clock):
    w = world
    filed = w.filed_agreement(end=date(2025, 12, 31))
    assert w.post("agreements/expire", "implementer") == []
    set_day(clock, date(2026, 1, 1))
    assert w.post("agreements/expire", "implementer") == [filed["agreement"]["id"]]
    agreement = w.get(f"agreements/{filed['agreement']['id']}", "implementer")
    assert agreement["state"] == "terminated" and agreement["termination_reason"] == "expiry"


def test_illegal_agreement_transitions_are_409_with_the_current_state(world):
    w = world
    agreement = w.draft_agreement()
    r = w.post(f"agreements/{agreement['id']}/file", "supervisor", {"reference": "x"}, expect=409)
    assert r["error"]["current_state"] == "draft"
    w.post(f"agreements/{agreement['id']}/sign", "implementer")
    r = w.post(f"agreements/{agreement['id']}/sign", "implementer", expect=409)
    assert r["error"]["current_state"] == "signed"
    r = w.c.put(
        f"{OP}/agreements/{agreement['id']}",
        headers=w.h["implementer"],
        json=agreement_terms(w.today(), date(2026, 9, 1)),
    )
    assert r.status_code == 409 and r.json()["error"]["current_state"] == "signed"


def test_agreement_inputs_are_validated_at_the_edge(world):
    w = world
    plan = w.approved_plan()
    selection = w.select(plan["id"])
    base = {"plan_id": plan["id"], "selection_id": selection["id"]}
    start, end = date(2025, 9, 1), date(2026, 9, 1)
    cases = [
        (
            {
                **agreement_terms(
                    start, end, {"nowhere": {"purpose": "x", "columns": SCOPE, "privacy_unit": "person_id"}}
                )
            },
            "scope",
        ),
        (
            {
                **agreement_terms(
                    start,
                    end,
                    {
                        "residents": {
                            "purpose": "x",
                            "privacy_unit": "person_id",
                            "columns": {"people": {"income": "plain", "nope": "group"}},
                        }
                    },
                )
            },
            "scope.residents.columns",
        ),
        (
            {
                **agreement_terms(
                    start,
                    end,
                    {
                        "residents": {
                            "purpose": "x",
                            "privacy_unit": "person_id",
                            "columns": {"people": {"income": "bogus"}},
                        }
                    },
                )
            },
            "scope.residents.columns",
        ),
        ({**agreement_terms(start, end), "content": {"data_catalog": "x"}}, "content.products_and_standards"),
        ({**agreement_terms(start, end), "term_start": "not a date"}, "term_start"),
        ({**agreement_terms(start, end), "selection_id": None}, "selection_id"),
    ]
    for body, field in cases:
        r = w.c.post(f"{OP}/agreements", json={**base, **body}, headers=w.h["implementer"])
        assert r.status_code == 422, (field, r.text)
        error = r.json()["error"]
        fields = [error.get("field")] + [f["field"] for f in error.get("fields", [])]
        assert any(f and f.startswith(field) for f in fields), (field, error)
        assert "not a date" not in r.text  # never echoes submitted values
    assert w.get("agreements", "implementer") == []
    w.post("agreements", "operator", {**base, **agreement_terms(start, end)}, expect=403)
    assert w.c.get(f"{OP}/agreements").status_code == 401
