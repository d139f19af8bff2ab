"""Issue 12 defect 7 (A23-A24, A28): when the authorization ends, its products leave the list and the
delisting is published. Before, a product stayed "listed" with its price after termination or expiry."""

from datetime import date

from operation_world import make_world, set_day
from test_products_annual_api import product_body


def test_a28_termination_and_expiry_delist_products_publicly(harness, clock):
    w = make_world(harness, clock)
    ended = w.filed_agreement()["agreement"]
    product = w.post("products", "operator", product_body(ended["id"], [w.released_job()]), expect=201)
    assert [p["id"] for p in w.get("/api/v1/public/operation/products", None)] == [product["id"]]
    w.post(f"agreements/{ended['id']}/terminate", "implementer", {"reason": "breach", "detail": "越权使用"})
    assert w.get(f"products/{product['id']}", "operator")["state"] == "delisted"
    assert w.get("/api/v1/public/operation/products", None) == []
    [record] = w.get("/api/v1/public/operation/delistings", None)
    assert record["product_id"] == product["id"] and record["reason"] == "breach"
    assert record["delisted_on"] == "2025-09-01"

    expiring = w.filed_agreement(start=date(2025, 9, 1), end=date(2025, 12, 31))["agreement"]
    other = w.post("products", "operator", product_body(expiring["id"], [w.released_job()]), expect=201)
    set_day(clock, date(2026, 1, 5))
    assert w.post("agreements/expire", "implementer") == [expiring["id"]]
    assert w.get(f"products/{other['id']}", "operator")["state"] == "delisted"
    reasons = [(r["product_id"], r["reason"]) for r in w.get("/api/v1/public/operation/delistings", None)]
    assert reasons == [(product["id"], "breach"), (other["id"], "expiry")]
