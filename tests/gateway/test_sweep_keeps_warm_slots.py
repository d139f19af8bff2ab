"""The stale-job sweep removes orphaned job scopes but never a runner's spare sandbox slot (``.warm-*``):
removing it failed every job after the first on a served demo ("the sandbox could not prepare the engine")."""

from gateway.workers import WorkerPool


def test_sweep_removes_orphan_job_scopes_but_keeps_warm_slots(harness):
    root = harness.ctx.settings.scoped_dir / "jobs"
    (root / ".warm-abc123").mkdir(parents=True)
    (root / "0123456789abcdef0123456789abcdef").mkdir()
    WorkerPool(harness.ctx, 1).sweep()
    assert sorted(p.name for p in root.iterdir()) == [".warm-abc123"]
