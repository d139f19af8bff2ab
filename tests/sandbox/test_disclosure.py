"""The disclosure auditor's rule and ledger (sandbox/disclosure.py) against the metadata store: across
operator organizations, inside one result, with retention, deduplication and failing closed."""

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from common.job_plan import JobPlan
from sandbox import disclosure
from sandbox.gate import GatePolicy, gate
from sandbox.store import DisclosureLockRow, DisclosurePopulationRow

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def plan(k: int = 10, populations=("__shuyu_pop_0",)) -> JobPlan:
    return JobPlan(
        grants=(("g", 1),),
        tables=(("population", "persons"),),
        output_columns=("part", "s"),
        unit_columns=("__shuyu_units_0",),
        is_aggregate=True,
        k=k,
        row_cap=1000,
        population_columns=populations,
        unit_space="person_id",
    )


def result(*populations: list) -> pa.Table:
    return pa.table(
        {
            "part": [f"p{i}" for i in range(len(populations))],
            "s": [float(len(p)) for p in populations],
            "__shuyu_units_0": pa.array([len(set(p)) for p in populations], pa.int64()),
            "__shuyu_pop_0": pa.array([list(p) for p in populations]),
        }
    )


def audit(harness, table, *, job="j1", org="org-a", k=10, now=NOW, pl=None):
    pl = pl or plan(k)
    _, report = gate(table, GatePolicy.for_plan(pl, max_bytes=1 << 24))
    with harness.ctx.uow() as session:
        return disclosure.review(
            session, job_id=job, organization_id=org, plan=pl, table=table, report=report, now=now
        )


def test_a_difference_of_one_person_across_operators_is_held(harness):
    first = audit(harness, result(list(range(1, 51))), job="j1", org="org-a")
    assert first.report.decision == "released" and first.stored == 1 and not first.hits
    second = audit(harness, result(list(range(2, 51))), job="j2", org="org-b")
    assert second.report.decision == "held_for_review"
    assert [(h.other_job_id, h.other_organization_id, h.difference) for h in second.hits] == [
        ("j1", "org-a", 1)
    ]
    assert not any(ch.isdigit() for ch in second.report.reasons[-1])  # no count for the operator


def test_differences_of_k_or_more_and_equal_populations_pass(harness):
    audit(harness, result(list(range(1, 51))), job="j1")
    far = audit(harness, result(list(range(11, 51))), job="j2")  # 10 people apart, k = 10
    assert far.report.decision == "released" and not far.hits
    same = audit(harness, result(list(range(1, 51))), job="j3")
    assert same.report.decision == "released" and not same.hits and same.stored == 0  # not stored twice


def test_the_larger_k_of_the_two_releases_applies(harness):
    audit(harness, result(list(range(1, 51))), job="j1", k=20)
    later = audit(harness, result(list(range(16, 51))), job="j2", k=10)  # 15 apart: < 20
    assert later.report.decision == "held_for_review" and later.hits[0].difference == 15


def test_two_values_of_one_result_are_compared(harness):
    review = audit(harness, result(list(range(1, 31)), list(range(1, 30))))
    assert review.report.decision == "held_for_review"
    assert [(h.row_index, h.other_row_index, h.other_job_id) for h in review.hits] == [(1, 0, "j1")]


def test_text_and_large_ids_are_hashed_consistently(harness):
    ids = [f"P{i:06d}" for i in range(40)]
    audit(harness, result(ids), job="j1")
    assert audit(harness, result(ids[1:]), job="j2").hits
    big = [2**40 + i for i in range(40)] + [-5]
    audit(harness, result(big), job="j3")
    assert audit(harness, result(big[:-1]), job="j4").hits


def test_releases_older_than_the_retention_window_are_forgotten(harness):
    audit(harness, result(list(range(1, 51))), job="j1", now=NOW - disclosure.RETENTION - timedelta(days=1))
    assert not audit(harness, result(list(range(2, 51))), job="j2").hits
    with harness.ctx.uow() as session:
        assert session.scalar(select(func.count()).select_from(DisclosurePopulationRow)) == 1
        assert session.get(DisclosureLockRow, "person_id").version == 2  # each audit took the space's lock


@pytest.mark.parametrize("populations", [(), ("__shuyu_pop_9",)])
def test_missing_populations_fail_closed(harness, populations):
    review = audit(harness, result(list(range(1, 51))), pl=plan(populations=populations))
    assert review.report.decision == "held_for_review" and review.stored == 0


def test_withheld_rows_are_neither_compared_nor_stored(harness):
    review = audit(harness, result(list(range(1, 51)), [1, 2, 3]))
    assert review.stored == 1 and not review.hits
