"""Issue 10: a job that fails after the engine started is charged its epsilon like a released one (a
data-dependent failure is one bit of information), and the failure is audited with its class and the
checked SQL, never the engine's text. A job that never reached the engine is still refunded."""

import json
import shutil

import pytest
from test_dp_api import COUNT_BY_DISTRICT, budget, dp_grant, run_all, setup, submit  # noqa: F401

from audit.store import AuditEventRow
from sandbox.runner import RunOutcome

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


class EngineFails:
    """A sandbox whose engine fails on the query (e.g. a cast that fails for one hidden value)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.calls = 0

    def run(self, spec, cancelled=lambda: False) -> RunOutcome:
        self.calls += 1
        return RunOutcome(False, None, self.kind, "the query failed in the engine", 12.0, None)


@pytest.mark.parametrize(
    "kind, failure_class", [("Conversion", "query_error"), ("timeout", "resource_limit")]
)
def test_a_failure_after_the_engine_started_spends_the_epsilon(setup, kind, failure_class):  # noqa: F811
    harness, tokens, pool = setup
    grant = dp_grant(harness, tokens, budget=1.0, default=0.5)
    pool.runner = EngineFails(kind)
    job = submit(harness, tokens["operator"], COUNT_BY_DISTRICT).json()
    run_all(pool)
    failed = harness.client.get(f"/api/v1/jobs/{job['id']}", headers=tokens["operator"]).json()
    assert pool.runner.calls == 1 and failed["state"] == "failed" and failed["result_rows"] is None
    state = budget(harness, tokens, grant["id"])
    assert (state["spent"], state["reserved"], state["remaining"]) == (0.5, 0.0, 0.5)
    with harness.ctx.uow() as session:
        event = session.query(AuditEventRow).filter_by(kind="job.failed", subject_id=job["id"]).one()
        details = json.loads(event.details)
    assert details["failure_class"] == failure_class and details["engine_started"] is True
    assert details["checked_sql"] == failed["checked_sql"] and details["submitted_by"]
    assert "the query failed" not in event.details  # the engine's message is not audited
