"""Lost workers (issue 16 item 3): a job claimed by a worker that died stops blocking its organization's
queue within seconds (by heartbeat), is failed once with its DP reservation refunded and audited, and its
scoped copy is removed. A live pool's jobs are never mistaken for lost ones.

The old code waited ``wall_seconds + 60`` (180 s by default) before failing a dead worker's job.
"""

import shutil

import pytest

from gateway.demo import seed
from gateway.workers import WorkerPool
from sandbox import jobs as job_lifecycle

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

SQL = "SELECT district, count(*) AS persons FROM persons GROUP BY district"


@pytest.fixture
def demo(harness):
    tokens = seed(harness.ctx, scale=500)
    harness.ctx.settings.sandbox.per_org_concurrency = 1
    pool = WorkerPool(harness.ctx, 1)
    return harness, {role: harness.auth(token) for role, token in tokens.items()}, pool


def submit(harness, headers) -> str:
    response = harness.client.post("/api/v1/jobs", json={"sql": SQL}, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def claim(harness, clock, worker: str):
    with harness.ctx.uow() as session:
        job = job_lifecycle.claim(
            session, worker, clock.now(), harness.ctx.settings.sandbox.per_org_concurrency
        )
        return job.id if job else None


def test_a_dead_workers_job_frees_the_queue_within_seconds(demo, clock):
    harness, tokens, pool = demo
    lost, waiting = submit(harness, tokens["operator"]), submit(harness, tokens["operator"])
    assert claim(harness, clock, "dead-worker") == lost
    scoped = harness.ctx.settings.scoped_dir / "jobs" / lost  # what the dead worker had materialized
    scoped.mkdir(parents=True)
    (scoped / "persons.parquet").write_bytes(b"PAR1")
    assert claim(harness, clock, "live-worker") is None  # the organization's one slot is taken

    clock.advance(seconds=harness.ctx.settings.sandbox.lost_worker_seconds + 1)  # 11 s, not 180 s
    assert pool.sweep() == [lost]
    assert not scoped.exists()
    assert claim(harness, clock, "live-worker") == waiting

    job = harness.client.get(f"/api/v1/jobs/{lost}", headers=tokens["operator"]).json()
    assert job["state"] == "failed" and job["error_kind"] == "worker_lost"
    assert pool.sweep() == []  # idempotent: failed, audited and refunded once
    events = harness.client.get(f"/api/v1/audit/events?job={lost}", headers=tokens["supervisor"]).json()
    assert [e["kind"] for e in events].count("job.failed") == 1


def test_a_live_pools_job_is_kept_alive_by_its_heartbeat(demo, clock):
    harness, tokens, pool = demo
    job_id = submit(harness, tokens["operator"])
    assert claim(harness, clock, "pool-worker:0") == job_id
    pool.active[job_id] = "pool-worker:0"  # what run_once records while the job executes
    scoped = harness.ctx.settings.scoped_dir / "jobs" / job_id
    scoped.mkdir(parents=True)
    for _ in range(5):  # 40 s of a long job, beating as the heartbeat thread does
        clock.advance(seconds=8)
        pool.beat()
        assert pool.sweep() == []
    assert scoped.exists()
    pool.active.clear()  # the pool dies with the job running
    clock.advance(seconds=harness.ctx.settings.sandbox.lost_worker_seconds + 1)
    assert pool.sweep() == [job_id] and not scoped.exists()


def test_scoped_copies_of_finished_jobs_are_removed(demo, clock):
    harness, tokens, pool = demo
    job_id = submit(harness, tokens["operator"])
    with harness.ctx.uow() as session:  # another replica already failed it, its host's copy stayed behind
        job_lifecycle.transition(job_lifecycle.get(session, job_id), "failed", clock.now())
    scoped = harness.ctx.settings.scoped_dir / "jobs" / job_id
    scoped.mkdir(parents=True)
    assert pool.sweep() == [] and not scoped.exists()
