"""The typed job plan (issue 17): one codec, validated, failing closed; job states as an enum table."""

import json
import shutil

import pytest

from common.errors import InvalidJobPlan, InvalidTransition
from common.job_plan import JobPlan
from common.types import JobState
from gateway.demo import seed
from gateway.workers import WorkerPool
from sandbox import jobs
from sandbox.store import JobRow

PLAN = JobPlan(
    grants=(("g1", 2),),
    tables=(("population", "persons"),),
    output_columns=("district", "n"),
    unit_columns=("__shuyu_units_0",),
    is_aggregate=True,
    k=10,
    row_cap=1000,
    population_columns=("__shuyu_pop_0",),
    unit_space="person_id",
)


def test_round_trip_keeps_every_field_and_types():
    again = JobPlan.parse(PLAN.to_json())
    assert again == PLAN
    assert again.grants == (("g1", 2),) and isinstance(again.grants[0], tuple)
    assert again.version == 1 and again.k_only_aggregate


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"version": 2}, "version 2"),
        ({"version": None}, "version missing"),
        ({"k": 0}, "k"),
        ({"k": "10"}, "k"),  # no silent coercion of a string
        ({"grants": [["g1"]]}, "grants"),
        ({"unit_columns": ["visible"]}, "unit_columns"),
        ({"unit_columns": []}, "plan"),  # a k-only aggregate without unit counts
        ({"surprise": 1}, "surprise"),
    ],
)
def test_malformed_or_unknown_plans_fail_closed_with_a_clear_error(change, problem):
    raw = {**json.loads(PLAN.to_json()), **change}
    if change.get("version", 1) is None:
        raw.pop("version")
    with pytest.raises(InvalidJobPlan) as caught:
        JobPlan.parse(json.dumps(raw))
    assert problem in caught.value.message


@pytest.mark.parametrize("text", ["", "[]", "{", "null"])
def test_non_object_plans_fail_closed(text):
    with pytest.raises(InvalidJobPlan):
        JobPlan.parse(text)


def test_plans_are_immutable():
    with pytest.raises(ValueError):
        PLAN.k = 1  # type: ignore[misc]


def test_transition_table_is_data_over_the_enum():
    assert set(jobs.TRANSITIONS) == set(JobState)
    assert jobs.TRANSITIONS[JobState.succeeded] == frozenset()
    row = JobRow(state="succeeded")
    with pytest.raises(InvalidTransition):
        jobs.transition(row, JobState.failed, None)


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_job_whose_stored_plan_was_tampered_with_fails_closed_and_nothing_runs(harness):
    tokens = seed(harness.ctx, scale=500)
    operator = harness.auth(tokens["operator"])
    sql = "SELECT district, count(*) AS n FROM persons GROUP BY district"
    job_id = harness.client.post("/api/v1/jobs", json={"sql": sql}, headers=operator).json()["id"]
    with harness.ctx.uow() as session:
        row = jobs.get(session, job_id, for_update=True)
        raw = json.loads(row.plan)
        raw["version"] = 7
        row.plan = json.dumps(raw)
    pool = WorkerPool(harness.ctx, 1)
    while pool.run_once("test-worker"):
        pass
    job = harness.client.get(f"/api/v1/jobs/{job_id}", headers=operator).json()
    assert job["state"] == "failed" and job["error_kind"] == "invalid_job_plan"
    assert "version 7" in job["error_message"] and job["result_rows"] is None
    assert not list(harness.ctx.settings.results_dir.rglob("*.parquet"))
