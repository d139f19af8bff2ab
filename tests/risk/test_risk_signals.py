"""Risk signals from job facts (issue 11): pure assessment with pinned times, and SQL fingerprints."""

from datetime import UTC, datetime, timedelta

from common.settings import RiskSettings
from policies.risk import JobFact, Signal, assess, fingerprint

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def fact(i, minutes, state="succeeded", sql="SELECT count(*) FROM persons", epsilon=0.0, held=False):
    return JobFact(
        f"j{i}", "org", "u", state, T0 + timedelta(minutes=minutes), fingerprint(sql), epsilon, held
    )


def signals(facts, **settings):
    report = assess(
        facts,
        RiskSettings(**settings),
        subject_type="analyst",
        subject_id="u",
        start=T0,
        end=T0 + timedelta(hours=24),
    )
    return {s.signal: s for s in report.signals}


def test_a_burst_of_failures_crosses_only_inside_the_span():
    spread = [fact(i, i * 11, "failed") for i in range(5)]  # one every 11 minutes: never 2 within 10
    assert signals(spread, failed_jobs=3)[Signal.failed_burst].value == 1
    burst = [fact(i, i, "failed") for i in range(3)] + [fact(9, 100)]
    got = signals(burst, failed_jobs=3)[Signal.failed_burst]
    assert got.value == 3 and got.crossed


def test_tracker_and_differencing_variants_share_one_fingerprint():
    base = "SELECT sum(income) FROM persons WHERE street = '{s}' AND person_id <> '{p}'"
    facts = [fact(i, i, sql=base.format(s=f"S{i}", p=f"P{i}")) for i in range(4)]
    facts.append(fact(9, 9, sql="SELECT avg(age) FROM persons"))
    got = signals(facts, near_duplicates=4)[Signal.near_duplicates]
    assert got.value == 4 and got.crossed and "1 repeated shape" in got.detail


def test_rate_burn_and_auditor_hits():
    facts = [fact(i, i, epsilon=0.5, held=(i == 0)) for i in range(8)]
    got = signals(facts, queries_per_hour=8, epsilon_spent=4.0, auditor_hits=1)
    assert got[Signal.query_rate].value == 8 and got[Signal.query_rate].crossed
    assert got[Signal.dp_burn].value == 4.0 and got[Signal.dp_burn].crossed
    assert got[Signal.auditor_hits].value == 1 and got[Signal.auditor_hits].crossed
    quiet = signals(facts[1:4], queries_per_hour=8, epsilon_spent=4.0, auditor_hits=1)
    assert not any(s.crossed for s in quiet.values())


def test_jobs_outside_the_window_do_not_count():
    old = [fact(i, -60 - i, "failed") for i in range(10)]
    got = signals(old, failed_jobs=2)
    assert got[Signal.failed_burst].value == 0 and got[Signal.query_rate].value == 0
