"""Attacks on the demo's k-only grant (enterprises: public company information, no DP by its grades) through
the real path: every differencing or tracker attempt is held for a supervisor or flagged, and the supervisor
sees it in the risk view (issue 11). The exact value never reaches the attacker.
"""

import shutil

import pytest
from attack_kit import demo, needs_auditor, quote, recovered

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
    needs_auditor,
]

SUM = "SELECT sum(registered_capital) AS s FROM enterprises WHERE "


def _target(d):
    """A company in a district with enough companies that both sums pass the k threshold."""
    return d.truth(
        "WITH big AS (SELECT district FROM enterprises GROUP BY district HAVING count(*) >= 11) "
        "SELECT e.name, e.district, e.registered_capital FROM enterprises e JOIN big USING (district) "
        "WHERE e.registered_capital > 0 ORDER BY e.uscc LIMIT 1"
    )[0]


def _attempt(d, first: str, second: str, true: float) -> list[dict]:
    """Run the pair; the second release must be held or the pair must be flagged, and never recovered."""
    _, job_a, rows_a = d.run(first)
    _, job_b, rows_b = d.run(second)
    released = [r for r in (rows_a, rows_b) if len(r) == 1]
    if len(released) == 2:
        assert not recovered(float(rows_a[0]["s"]) - float(rows_b[0]["s"]), true), "exact value recovered"
    return [job_a, job_b]


def _seen_by_supervisor(d, jobs: list[dict]) -> None:
    held = [j for j in jobs if j.get("state") == "held_for_review"]
    view = d.risk()
    signals = {s["signal"]: s for s in view["signals"]}
    assert held, [j.get("state") for j in jobs]
    assert signals["auditor_hits"]["value"] >= len(held) and "auditor_hits" in view["alerting"]
    queue = d.harness.client.get("/api/v1/reviews", headers=d.tokens["supervisor"]).json()
    assert {j["id"] for j in held} <= {j["id"] for j in queue}


def test_k_only_differencing_is_held_and_visible_in_the_risk_view(harness):
    d = demo(harness)
    name, district, capital = _target(d)
    jobs = _attempt(
        d,
        SUM + f"district = {quote(district)}",
        SUM + f"district = {quote(district)} AND name <> {quote(name)}",
        capital,
    )
    jobs += _attempt(
        d,
        SUM + f"district = {quote(district)}",
        SUM + f"district = {quote(district)} AND name NOT IN ({quote(name)})",
        capital,
    )
    _seen_by_supervisor(d, jobs)


def test_k_only_tracker_is_held_and_visible_in_the_risk_view(harness):
    d = demo(harness)
    name, district, capital = _target(d)
    other = d.truth(
        f"SELECT district FROM enterprises WHERE district <> {quote(district)} "
        "GROUP BY district HAVING count(*) >= 10 LIMIT 1"
    )[0][0]
    jobs = _attempt(
        d,
        SUM + f"name = {quote(name)} OR district = {quote(other)}",
        SUM + f"district = {quote(other)}",
        capital,
    )
    _seen_by_supervisor(d, jobs)
