"""Products and business entities (A3, A21, A28, A29), the annual cycle (A37-A39) and the public disclosures
(A25, A26, A28)."""

from datetime import date

import pytest
from operation_world import make_world, set_day


@pytest.fixture
def world(harness, clock):
    # 1 January: agreements filed today are in force for all of 2025, which an annual report covers (A38)
    return make_world(harness, clock, day=date(2025, 1, 1))


def product_body(agreement_id: str, jobs: list[str], **overrides) -> dict:
    body = {
        "agreement_id": agreement_id,
        "name": "区县收入结构报告",
        "kind": "report",
        "description": "分区县汇总",
        "product_class": "public_good",
        "pricing": {"mode": "free"},
        "source_jobs": jobs,
    }
    body.update(overrides)
    return body


def test_a29_pricing_follows_the_product_class(world):
    w = world
    agreement = w.filed_agreement()["agreement"]
    job = w.released_job()
    free = w.post("products", "operator", product_body(agreement["id"], [job]), expect=201)
    assert free["pricing"] == "free" and free["price"] == "0.00" and free["source_jobs"] == [job]
    assert "not registered" in free["registration"]
    guided = w.post(
        "products",
        "operator",
        product_body(
            agreement["id"],
            [job],
            name="行业画像服务",
            kind="service",
            product_class="industry",
            pricing={"mode": "government_guided", "permitted_cost": "1200.50", "reasonable_return": "99.75"},
        ),
        expect=201,
    )
    assert (guided["permitted_cost"], guided["reasonable_return"], guided["price"]) == (
        "1200.50",
        "99.75",
        "1300.25",
    )
    bad = [
        (
            {
                "product_class": "public_good",
                "pricing": {"mode": "government_guided", "permitted_cost": "1", "reasonable_return": "1"},
            },
            "pricing.mode",
        ),
        ({"product_class": "industry", "pricing": {"mode": "free"}}, "pricing.mode"),
        (
            {"product_class": "industry", "pricing": {"mode": "government_guided", "permitted_cost": "1"}},
            "pricing.reasonable_return_fen",
        ),
        ({"pricing": {"mode": "conditionally_free"}}, "pricing.conditions"),
        ({"pricing": {"mode": "free", "permitted_cost": "5"}}, "pricing.permitted_cost_fen"),
        (
            {
                "pricing": {"mode": "government_guided", "permitted_cost": "-1", "reasonable_return": "1"},
                "product_class": "industry",
            },
            "pricing.permitted_cost",
        ),
        ({"kind": "raw_data"}, "kind"),
        ({"source_jobs": []}, "source_jobs"),
    ]
    for overrides, field in bad:
        r = w.post("products", "operator", product_body(agreement["id"], [job], **overrides), expect=422)
        fields = [r.get("field")] + [f["field"] for f in r.get("fields", [])]
        assert field in fields, (field, r)
    assert len(w.get("products", "operator")) == 2


def test_a3_products_come_from_the_operators_own_released_jobs(world):
    w = world
    agreement = w.filed_agreement()["agreement"]
    other_job = w.released_job("operator2")
    r = w.post("products", "operator", product_body(agreement["id"], [other_job]), expect=422)
    assert r["field"] == "source_jobs"
    w.post("products", "operator", product_body(agreement["id"], ["nosuchjob"]), expect=422)
    w.post(
        "products", "operator2", product_body(agreement["id"], [other_job]), expect=403
    )  # not its agreement


def test_a21_the_delivering_operator_cannot_redevelop_its_own_product(world):
    """A21 (Art. 21): the implementer selects business entities, basis recorded and published; before, any
    operator added its own organization."""
    w = world
    agreement = w.filed_agreement()["agreement"]
    product = w.post("products", "operator", product_body(agreement["id"], [w.released_job()]), expect=201)
    pid = product["id"]
    sel = {"method": "open_call", "basis": "2025年第1次公开遴选结果"}
    own = {"organization_id": w.orgs["operator"], **sel}
    w.post(f"products/{pid}/entities", "operator", own, expect=403)  # selection is the implementer's act
    w.post(
        f"products/{pid}/entities", "operator2", {"organization_id": w.orgs["operator2"], **sel}, expect=403
    )
    r = w.post(f"products/{pid}/entities", "implementer", own, expect=409)  # the delivering operator
    assert r["requirement"] == "A21" and "A21" in r["detail"]
    r = w.post(
        f"products/{pid}/entities", "implementer", {"organization_id": w.orgs["affiliate"], **sel}, expect=409
    )
    assert "affiliated" in r["detail"]
    chosen = {"organization_id": w.orgs["operator2"], "purpose": "二次开发"}
    r = w.post(
        f"products/{pid}/entities", "implementer", chosen | {"method": "open_call", "basis": " "}, expect=422
    )
    entity = w.post(f"products/{pid}/entities", "implementer", chosen | sel, expect=201)
    assert entity["business_entities"] == [w.orgs["operator2"]]
    w.post(f"products/{pid}/entities", "implementer", chosen | sel, expect=409)  # once
    [published] = w.c.get("/api/v1/public/operation/entity-selections").json()
    assert published["organization_id"] == w.orgs["operator2"] and published["basis"] == sel["basis"]
    catalog = w.c.get("/api/v1/public/operation/catalog").json()
    assert catalog == [
        {
            "dataset": "residents",
            "title": "居民收入",
            "sector": "民政",
            "operators": ["渝数科技有限公司"],
            "business_entities": ["巴渝数据服务有限公司"],
        }
    ]
    withdrawn = w.post(f"products/{pid}/withdraw", "operator")
    assert withdrawn["state"] == "withdrawn"
    again = w.post(f"products/{pid}/withdraw", "operator", expect=409)
    assert again["current_state"] == "withdrawn"


def test_a39_unqualified_evaluation_offers_termination_with_that_reason(world, clock):
    w = world
    filed = w.filed_agreement()
    aid = filed["agreement"]["id"]
    report = {
        "year": 2025,
        "content": {
            "processing": "清洗",
            "analysis": "统计",
            "fusion": "无",
            "market_operation": "试运营",
            "data_usage": "调用 12 次",
        },
        "cost": "100.00",
        "revenue": "50.00",
        "expenditure": "80.00",
    }
    r = w.post(f"agreements/{aid}/reports", "operator", report, expect=422)  # 2025 has not ended
    assert r["field"] == "year"
    set_day(clock, date(2026, 1, 15))
    findings = {"execution": "未按协议披露", "product_effect": "一般", "security": "存在隐患"}
    r = w.post(
        f"agreements/{aid}/evaluations",
        "implementer",
        {"year": 2025, "result": "unqualified", "findings": findings},
        expect=409,
    )
    assert "annual report" in r["detail"]  # the operator's materials come first
    w.post(f"agreements/{aid}/reports", "operator2", report, expect=403)
    submitted = w.post(f"agreements/{aid}/reports", "operator", report, expect=201)
    assert submitted["cost"] == "100.00" and submitted["content"]["data_usage"] == "调用 12 次"
    w.post(f"agreements/{aid}/reports", "operator", report, expect=409)
    evaluation = w.post(
        f"agreements/{aid}/evaluations",
        "implementer",
        {"year": 2025, "result": "unqualified", "findings": findings},
        expect=201,
    )
    offer = evaluation["termination_offer"]
    assert offer["reason"] == "unqualified_evaluation" and offer["action"].endswith(
        f"/agreements/{aid}/terminate"
    )
    ended = w.post(
        f"agreements/{aid}/terminate", "implementer", {"reason": offer["reason"], "detail": offer["detail"]}
    )
    assert ended["agreement"]["termination_reason"] == "unqualified_evaluation"
    assert {g["status"] for g in ended["grants"]} == {"revoked"}
    refused = w.post(
        "/api/v1/queries/check",
        "operator",
        {"sql": "SELECT district, count(*) AS n FROM people GROUP BY district"},
    )
    assert "unqualified evaluation" in refused["violation"]["message"]
    w.post(
        f"agreements/{aid}/evaluations",
        "implementer",
        {"year": 2025, "result": "excellent", "findings": findings},
        expect=409,
    )


def test_a39_qualified_evaluation_offers_nothing(world, clock):
    w = world
    aid = w.filed_agreement()["agreement"]["id"]
    set_day(clock, date(2026, 1, 15))
    w.post(
        f"agreements/{aid}/reports",
        "operator",
        {
            "year": 2025,
            "content": {
                k: "x" for k in ("processing", "analysis", "fusion", "market_operation", "data_usage")
            },
            "cost": "0",
            "revenue": "0",
            "expenditure": "0",
        },
        expect=201,
    )
    evaluation = w.post(
        f"agreements/{aid}/evaluations",
        "implementer",
        {
            "year": 2025,
            "result": "qualified",
            "findings": {"execution": "x", "product_effect": "y", "security": "z"},
        },
        expect=201,
    )
    assert evaluation["termination_offer"] is None
    w.post(
        f"agreements/{aid}/evaluations",
        "implementer",
        {
            "year": 2024,
            "result": "good",
            "findings": {"execution": "x", "product_effect": "y", "security": "z"},
        },
        expect=422,
    )


def test_a25_a28_public_annual_disclosure_is_generated_from_the_records_and_anonymous(world, clock):
    w = world
    filed = w.filed_agreement(end=date(2027, 8, 31))
    aid = filed["agreement"]["id"]
    w.post("products", "operator", product_body(aid, [w.released_job()]), expect=201)
    w.post(
        "products",
        "operator",
        product_body(
            aid,
            [w.released_job()],
            name="行业画像服务",
            kind="interface",
            product_class="industry",
            pricing={"mode": "government_guided", "permitted_cost": "10", "reasonable_return": "2"},
        ),
        expect=201,
    )
    set_day(clock, date(2026, 1, 10))
    w.post(
        f"agreements/{aid}/reports",
        "operator",
        {
            "year": 2025,
            "content": {
                "processing": "x",
                "analysis": "x",
                "fusion": "x",
                "market_operation": "x",
                "data_usage": "全年提交统计作业 37 个",
            },
            "cost": "1",
            "revenue": "1",
            "expenditure": "1",
        },
        expect=201,
    )
    response = w.c.get("/api/v1/public/operation/disclosures/2025")  # no token
    assert response.status_code == 200
    disclosure = response.json()
    [authorization] = disclosure["authorizations"]
    assert authorization["operator"] == "渝数科技有限公司"
    assert authorization["agreement"] == "居民收入数据授权运营协议"
    assert authorization["mode"] == "domain" and authorization["mode_scope"] == "民生"
    assert authorization["content"]["purposes"] == ["收入结构分析"]
    assert authorization["scope"] == [{"dataset": "residents", "tables": ["people"]}]
    assert (authorization["term_start"], authorization["term_end"]) == ("2025-01-01", "2027-08-31")
    assert authorization["filed_on"] == "2025-01-01" and authorization["state"] == "filed"
    [operator] = disclosure["operators"]
    assert operator["datasets"] == ["residents"]
    assert [(p["name"], p["class"], p["pricing"], p["price"]) for p in operator["products"]] == [
        ("区县收入结构报告", "public_good", "free", "0.00"),
        ("行业画像服务", "industry", "government_guided", "12.00"),
    ]
    assert operator["data_usage"] == [
        {"agreement": "居民收入数据授权运营协议", "usage": "全年提交统计作业 37 个"}
    ]
    text = response.text
    for secret in ("person_id", "aggregate", "source_jobs", w.orgs["operator"], "op", "impl"):
        assert f'"{secret}"' not in text  # no column rules, job ids, org ids or user names
    assert w.c.get("/api/v1/public/operation/disclosures/2024").json()["authorizations"] == []
    assert len(w.c.get("/api/v1/public/operation/products").json()) == 2
    assert w.c.get("/api/v1/public/operation/disclosures/20251").status_code == 422
