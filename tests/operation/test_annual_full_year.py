"""Issue 12 defect 8 (A38): the annual report covers a calendar year the agreement was in force for
entirely. Before, a 2026 report was accepted for an agreement in force for 15 days of 2026."""

from datetime import date

from operation_world import make_world, set_day

REPORT = {
    "content": {k: "x" for k in ("processing", "analysis", "fusion", "market_operation", "data_usage")},
    "cost": "0",
    "revenue": "0",
    "expenditure": "0",
}


def test_a38_no_annual_report_for_a_part_year(harness, clock):
    w = make_world(harness, clock, day=date(2026, 12, 15))
    aid = w.filed_agreement(start=date(2026, 12, 15), end=date(2028, 12, 14))["agreement"]["id"]
    set_day(clock, date(2027, 1, 10))
    r = w.post(f"agreements/{aid}/reports", "operator", REPORT | {"year": 2026}, expect=422)
    assert r["field"] == "year" and "entirely" in r["detail"]
    set_day(clock, date(2028, 1, 10))
    assert (
        w.post(f"agreements/{aid}/reports", "operator", REPORT | {"year": 2027}, expect=201)["year"] == 2027
    )
