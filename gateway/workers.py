"""Job workers: threads that claim queued jobs from the metadata store and execute them.

Several gateway replicas (or ``shuyu worker`` processes) may run pools against one PostgreSQL database; each
claim is transactional. Every pool beats for the jobs it runs once a second (a thread of its own, so a long
scoping step or a busy sandbox never looks dead) and sweeps every few seconds: a running job whose heartbeat
is older than ``sandbox.lost_worker_seconds`` lost its worker (crash, kill -9, restart). It is failed with a
reason, its DP reservation refunded, both audited in one transaction, and its scoped copy removed; it no
longer counts against its organization's concurrency limit. A crash therefore frees the queue within
seconds, not after the job's whole wall-clock budget.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from datetime import timedelta

from common.errors import SandboxUnavailable
from gateway.access import settle_dp
from gateway.checkpointing import sign_checkpoint
from gateway.context import AppContext
from gateway.events import emit
from gateway.execution import execute, fail_unexpected
from gateway.registry_wiring import sweep_and_audit
from sandbox import jobs
from sandbox.runner import make_runner

log = logging.getLogger("shuyu.workers")
HEARTBEAT_SECONDS = 1.0
REGISTRY_SWEEP_SECONDS = 3600.0


class Heartbeat:
    """The runner's cancel probe: refreshes the job's heartbeat at most once a second."""

    def __init__(self, ctx: AppContext, job_id: str, worker_id: str) -> None:
        self.ctx, self.job_id, self.worker_id = ctx, job_id, worker_id
        self.last = 0.0
        self.cancel = False

    def __call__(self) -> bool:
        if time.monotonic() - self.last >= HEARTBEAT_SECONDS:
            self.last = time.monotonic()
            with self.ctx.uow() as session:
                self.cancel = jobs.heartbeat(session, self.job_id, self.worker_id, self.ctx.clock.now())
        return self.cancel


class WorkerPool:
    def __init__(self, ctx: AppContext, count: int, poll_seconds: float = 0.2) -> None:
        self.ctx = ctx
        self.count = count
        self.poll_seconds = poll_seconds
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.runner = make_runner(ctx.settings.sandbox)  # raises SandboxUnavailable: never run unsandboxed
        self.stale_after = timedelta(seconds=ctx.settings.sandbox.lost_worker_seconds)
        self.sweep_seconds = max(0.5, ctx.settings.sandbox.lost_worker_seconds / 3)
        self.active: dict[str, str] = {}  # job id -> worker id, for the heartbeat thread
        self.active_lock = threading.Lock()

    def start(self) -> None:
        base = f"{socket.gethostname()}:{os.getpid()}"
        for index in range(self.count):
            thread = threading.Thread(
                target=self._loop, args=(f"{base}:{index}",), daemon=True, name=f"shuyu-worker-{index}"
            )
            thread.start()
            self.threads.append(thread)
        beat = threading.Thread(target=self._beat_loop, daemon=True, name="shuyu-worker-heartbeat")
        beat.start()
        self.threads.append(beat)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.ctx.job_submitted.set()
        for thread in self.threads:
            thread.join(timeout)
        close = getattr(self.runner, "close", None)
        if close is not None:
            close()

    def run_once(self, worker_id: str) -> bool:
        """Claim and execute one job; False when nothing was queued."""
        with self.ctx.uow() as session:
            job = jobs.claim(
                session, worker_id, self.ctx.clock.now(), self.ctx.settings.sandbox.per_org_concurrency
            )
            job_id = job.id if job else None
        if job_id is None:
            return False
        with self.active_lock:
            self.active[job_id] = worker_id
        try:
            execute(self.ctx, job_id, worker_id, self.runner, Heartbeat(self.ctx, job_id, worker_id))
        except Exception:
            log.exception("job %s failed unexpectedly", job_id)
            fail_unexpected(self.ctx, job_id)
        finally:
            with self.active_lock:
                self.active.pop(job_id, None)
        self.ctx.announce_settled()
        return True

    def beat(self) -> None:
        """Refresh the heartbeat of every job this pool is running."""
        with self.active_lock:
            running = dict(self.active)
        if not running:
            return
        with self.ctx.uow() as session:
            for job_id, worker_id in running.items():
                jobs.heartbeat(session, job_id, worker_id, self.ctx.clock.now())

    def sweep(self) -> list[str]:
        """Fail jobs whose worker died, return their DP reservations, and audit both in one transaction;
        then remove the scoped copies of jobs that no longer run. Safe to run from every pool at once: a
        lost job is failed (and refunded) by exactly one sweep."""
        with self.ctx.uow() as session:
            failed = jobs.fail_stale(session, self.ctx.clock.now(), self.stale_after)
            for job_id in failed:
                emit(session, self.ctx, None, "job.failed", "job", job_id, error_kind="worker_lost")
                settle_dp(session, self.ctx, job_id, "refunded")
        self._remove_orphan_scopes()
        return failed

    def _remove_orphan_scopes(self) -> None:
        """A job's scoped copy lives in ``scoped/jobs/<id>`` while it runs; a lost worker leaves it behind."""
        root = self.ctx.settings.scoped_dir / "jobs"
        if not root.is_dir():
            return
        present = [p.name for p in root.iterdir()]
        if not present:
            return
        with self.ctx.uow() as session:
            running = set(jobs.running_among(session, present))
        for name in present:
            # ".warm-*" is a runner's spare sandbox slot (sandbox/runner.py), not a job: removing it breaks
            # the spare's bind mount and fails the next job with "could not prepare the engine".
            if name not in running and not name.startswith("."):
                shutil.rmtree(root / name, ignore_errors=True)

    def _beat_loop(self) -> None:
        while not self.stop_event.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
            except Exception:  # a database hiccup: the next beat retries well before the job looks lost
                log.exception("heartbeat failed")

    def _loop(self, worker_id: str) -> None:
        last_sweep = last_registry_sweep = last_checkpoint = 0.0
        while not self.stop_event.is_set():
            try:
                if time.monotonic() - last_sweep > self.sweep_seconds:
                    last_sweep = time.monotonic()
                    self.sweep()
                if (
                    worker_id.endswith(":0")
                    and time.monotonic() - last_registry_sweep > REGISTRY_SWEEP_SECONDS
                ):
                    last_registry_sweep = time.monotonic()
                    sweep_and_audit(self.ctx)  # R18: certificates not renewed in time are cancelled
                if (
                    worker_id.endswith(":0")
                    and time.monotonic() - last_checkpoint > self.ctx.settings.audit.checkpoint_seconds
                ):
                    last_checkpoint = time.monotonic()
                    sign_checkpoint(self.ctx)  # holders of a checkpoint can detect a later truncation
                if not self.run_once(worker_id):
                    if self.ctx.job_submitted.wait(self.poll_seconds):
                        self.ctx.job_submitted.clear()
            except Exception:  # the loop must survive a database hiccup
                log.exception("worker %s loop error", worker_id)
                self.stop_event.wait(1.0)


def start_pool(ctx: AppContext) -> WorkerPool | None:
    """Start the configured workers; None when there are none or the sandbox is unavailable (logged)."""
    if ctx.settings.sandbox.workers == 0:
        return None
    try:
        pool = WorkerPool(ctx, ctx.settings.sandbox.workers)
    except SandboxUnavailable as error:
        ctx.services["sandbox_unavailable"] = error
        log.error("jobs cannot run: %s", error.message)
        return None
    pool.start()
    return pool
