"""Gate properties that one-line bugs in ``sandbox/gate.py`` used to survive (issue 19 mutants).

- A personal-information scan that fails must hold the result for review, never release it (fail closed).
- A privacy-unit count column that appears twice must reject the result: otherwise which copy the k-threshold
  reads is up to the query, and a second copy with large counts would let small groups through.
"""

from __future__ import annotations

import shutil

import pyarrow as pa
import pytest

from sandbox.gate import GatePolicy, gate

U1 = "__shuyu_units_0"


def policy(**kw) -> GatePolicy:
    base = {"k": 10, "unit_columns": (U1,), "is_aggregate": True, "max_rows": 10_000, "max_bytes": 1 << 26}
    return GatePolicy(**(base | kw))


def broken_scanner(values):
    raise RuntimeError("the recognizer crashed")


def test_a_failed_pii_scan_holds_the_result_for_review(monkeypatch):
    import common.pii

    table = pa.table({"district": ["渝中区", "江北区"], "n": [120, 130], U1: pa.array([50, 60], pa.int64())})
    _, clean = gate(table, policy())
    assert clean.decision == "released"  # the same result with a working scanner
    monkeypatch.setattr(common.pii, "scan_values", broken_scanner)
    out, report = gate(table, policy())
    assert report.decision == "held_for_review" and not report.releasable
    assert "the personal-information scan failed: held for supervisor review" in report.reasons
    assert report.pii_entities == {}  # nothing was found: the hold is for the failure, and says so
    assert out.num_rows == 2  # kept for the supervisor, not discarded


def test_a_failed_pii_scan_holds_row_level_results_too(monkeypatch):
    import common.pii

    monkeypatch.setattr(common.pii, "scan_values", broken_scanner)
    rows = pa.table({"street": ["解放碑街道"], "note": ["x"]})
    _, report = gate(rows, policy(is_aggregate=False, unit_columns=()))
    assert report.decision == "held_for_review" and not report.releasable


@pytest.mark.parametrize("order", ["small_first", "large_first"])
def test_a_duplicated_unit_count_column_rejects_the_result(order):
    small, large = pa.array([1, 2], pa.int64()), pa.array([500, 500], pa.int64())
    first, second = (small, large) if order == "small_first" else (large, small)
    table = pa.table(
        [pa.array(["渝中区", "江北区"]), pa.array([1, 2], pa.int64()), first, second],
        names=["district", "n", U1, U1],
    )
    out, report = gate(table, policy())
    assert report.decision == "rejected" and not report.releasable
    assert out.num_rows == 0 and report.rows_out == 0
    assert report.reasons[0] == "a privacy-unit count column appears more than once: the gate fails closed"


def test_a_duplicated_extra_unit_count_column_rejects_the_result():
    """A unit column the policy does not name is still checked (stricter, never looser)."""
    extra = "__shuyu_units_1"
    table = pa.table(
        [
            pa.array(["渝中区"]),
            pa.array([50], pa.int64()),
            pa.array([1], pa.int64()),
            pa.array([1], pa.int64()),
        ],
        names=["district", U1, extra, extra],
    )
    out, report = gate(table, policy())
    assert report.decision == "rejected" and out.num_rows == 0


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_failed_pii_scan_holds_a_real_job(harness, monkeypatch):
    """The real path: checker → sandbox → gate → release. With the scanner broken the job is held, the
    operator gets no result, and the supervisor's review queue has it."""
    import common.pii
    from gateway.demo import seed
    from gateway.workers import WorkerPool

    tokens = {role: harness.auth(token) for role, token in seed(harness.ctx, scale=3000).items()}
    monkeypatch.setattr(common.pii, "scan_values", broken_scanner)
    sql = "SELECT district, count(*) AS persons FROM persons GROUP BY district"
    submitted = harness.client.post("/api/v1/jobs", json={"sql": sql}, headers=tokens["operator"])
    assert submitted.status_code == 202, submitted.text
    pool = WorkerPool(harness.ctx, 1)
    while pool.run_once("test-worker"):
        pass
    job_id = submitted.json()["id"]
    job = harness.client.get(f"/api/v1/jobs/{job_id}", headers=tokens["operator"]).json()
    assert job["state"] == "held_for_review", job
    assert "the personal-information scan failed: held for supervisor review" in job["gate"]["reasons"]
    result = harness.client.get(f"/api/v1/jobs/{job_id}/result", headers=tokens["operator"])
    assert result.status_code == 409
    review = harness.client.get("/api/v1/reviews", headers=tokens["supervisor"]).json()
    assert [j["id"] for j in review] == [job_id]
