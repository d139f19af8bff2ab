"""Running one claimed job end to end: scope → sandbox → gate → store, each stage audited.

The gate runs here, in the trusted host, never in the analyst's sandbox. A result is written to disk before
the transaction that marks it released commits; if that commit fails the file is removed, so a job is never
half-released.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from pathlib import Path

import pyarrow as pa

from catalog import service as catalog_service
from common.errors import DomainError, InvalidJobPlan
from common.job_plan import JobPlan
from common.types import Grant, JobState
from gateway.access import grant_verdict, settle_dp
from gateway.context import AppContext
from gateway.events import emit
from policies import grants
from sandbox import disclosure, jobs
from sandbox.gate import HELD_FOR_REVIEW, REJECTED, GatePolicy, gate, to_parquet_bytes
from sandbox.runner import RunOutcome, RunSpec
from sandbox.scope import ScopedData, materialize

log = logging.getLogger("shuyu.jobs")


def execute(ctx: AppContext, job_id: str, worker_id: str, runner, cancelled) -> None:
    """Run a job this worker has claimed (state running). Never raises for job-level failures."""
    try:
        with ctx.uow() as session:
            job = jobs.get(session, job_id)
            plan = jobs.plan_of(job)  # fails closed (InvalidJobPlan) on an unknown version or malformed plan
            used = _usable_grants(session, ctx, plan)
            sources = {
                g.id: catalog_service.raw_sources(session, ctx.settings.domain_store_dir, g.dataset)
                for g in used
            }
            checked_sql = job.checked_sql
        scoped = _job_scope(ctx, job_id, used, sources)
    except DomainError as error:
        kind = error.code if isinstance(error, InvalidJobPlan) else "not_runnable"
        _finish_failed(ctx, job_id, kind, error.message, engine_started=False)
        return
    try:
        # Aggregates may hold many small groups the gate will withhold: the sandbox's own cap applies there,
        # and the gate trims what is released to the grant's row cap after suppression.
        cap = None if plan.is_aggregate else plan.row_cap
        outcome = runner.run(
            RunSpec.from_settings(
                ctx.settings.sandbox, job_id=job_id, sql=checked_sql, scoped=scoped, max_output_rows=cap
            ),
            cancelled=cancelled,
        )
    finally:
        shutil.rmtree(scoped.root, ignore_errors=True)
    _settle(ctx, job_id, plan, outcome)


def _usable_grants(session, ctx: AppContext, plan: JobPlan) -> list[Grant]:
    used = []
    for grant_id, version in plan.grants:
        grant = grants.load(session, grant_id, version)
        verdict = grant_verdict(session, ctx, grant)
        if not verdict.allowed:
            raise DomainError(f"the grant this job ran under cannot be used now: {verdict.reason}")
        dataset = catalog_service.get_dataset(session, grant.dataset)
        used.append(_with_dataset_version(grant, dataset.version))
    return used


def _with_dataset_version(grant: Grant, version: int) -> Grant:
    return dataclasses.replace(grant, dataset_version=version)


def _job_scope(ctx: AppContext, job_id: str, used: list[Grant], sources: dict) -> ScopedData:
    """Materialize each grant's scope (cached) and hard-link the files into one per-job mount."""
    job_root = ctx.settings.scoped_dir / "jobs" / job_id
    shutil.rmtree(job_root, ignore_errors=True)
    tables: dict[tuple[str, str], Path] = {}
    for grant in used:
        scoped = materialize(grant, sources[grant.id], ctx.settings.scoped_dir)
        for key, path in scoped.tables.items():
            target = job_root / key[0] / f"{key[1]}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
            tables[key] = target
    return ScopedData(root=job_root, tables=tables)


def fail_unexpected(ctx: AppContext, job_id: str) -> None:
    """An internal error: fail the job if it is still running, releasing nothing.

    It may have struck after the engine ran, so the job is charged like any failure after the start."""
    with ctx.uow() as session:
        job = jobs.get(session, job_id, for_update=True)
        if job.state == JobState.running:
            message = "an internal error stopped this job; nothing was released"
            _fail(ctx, session, job, "internal_error", message, JobState.failed, engine_started=True)


def _finish_failed(
    ctx: AppContext,
    job_id: str,
    kind: str,
    message: str,
    state: JobState = JobState.failed,
    *,
    engine_started: bool,
) -> None:
    with ctx.uow() as session:
        job = jobs.get(session, job_id, for_update=True)
        _fail(ctx, session, job, kind, message, state, engine_started=engine_started)


def _fail(ctx, session, job, kind: str, message: str, state: JobState, *, engine_started: bool) -> None:
    """Fail (or cancel) a job: audited with its failure class and the checked SQL, never a data value.

    Once the engine started, whether and how a job fails can depend on the data (a cast that fails for
    some values, a timeout on a large group): that is one bit of information per job, so such a job's
    epsilon is spent exactly as if it had released (issue 10). Only a job that never reached the engine
    gets its reservation back."""
    jobs.transition(job, state, ctx.clock.now(), error_kind=kind, error_message=message)
    settle_dp(session, ctx, job.id, "committed" if engine_started else "refunded")
    emit(
        session,
        ctx,
        None,
        f"job.{state.value}",
        "job",
        job.id,
        error_kind=kind,
        failure_class=jobs.failure_class(kind).value,
        engine_started=engine_started,
        organization_id=job.organization_id,
        submitted_by=job.submitted_by,
        checked_sql=job.checked_sql,
    )


def _settle(ctx: AppContext, job_id: str, plan: JobPlan, outcome: RunOutcome) -> None:
    if not outcome.ok:
        state = JobState.cancelled if outcome.error_kind == "cancelled" else JobState.failed
        _finish_failed(
            ctx,
            job_id,
            outcome.error_kind or "failed",
            outcome.error_message or "the job failed",
            state,
            engine_started=True,
        )
        return
    policy = GatePolicy.for_plan(plan, max_bytes=ctx.settings.sandbox.max_output_bytes)
    released, report = gate(outcome.table, policy)
    path = None
    try:
        with ctx.uow() as session:
            job = jobs.get(session, job_id, for_update=True)
            if report.decision != REJECTED and plan.k_only_aggregate:
                # Before a k-only result leaves: compare its populations with earlier releases (issue 11).
                report = _audit_disclosure(ctx, session, job, plan, outcome.table, report)
            if report.decision != REJECTED:
                path = _write_result(ctx, job_id, released, held=report.decision == HELD_FOR_REVIEW)
            _record_decision(ctx, session, job, report, path, released, outcome)
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)  # never half-released: the file goes if the decision did not commit
        raise


def _audit_disclosure(ctx, session, job, plan: JobPlan, table: pa.Table, report):
    """Run the disclosure auditor; one audited ``disclosure.auditor.hit`` per pair found (supervisors' risk
    signals count them). The details name the releases compared and their difference, never a value."""
    started = time.perf_counter()
    review = disclosure.review(
        session,
        job_id=job.id,
        organization_id=job.organization_id,
        plan=plan,
        table=table,
        report=report,
        now=ctx.clock.now(),
    )
    for hit in review.hits:
        emit(
            session,
            ctx,
            None,
            "disclosure.auditor.hit",
            "job",
            job.id,
            organization_id=job.organization_id,
            submitted_by=job.submitted_by,
            unit_space=plan.unit_space,
            row=hit.row_index,
            other_job_id=hit.other_job_id,
            other_row=hit.other_row_index,
            cross_operator=hit.other_organization_id != job.organization_id,
            difference=hit.difference,
            k=plan.k,
            checked_sql=job.checked_sql,
        )
    log.info(
        "disclosure auditor: job %s, %d hit(s), %d population(s) stored (%d bytes) in %.1f ms",
        job.id,
        len(review.hits),
        review.stored,
        review.stored_bytes,
        (time.perf_counter() - started) * 1000,
    )
    return review.report


def _record_decision(ctx, session, job, report, path, released: pa.Table, outcome: RunOutcome) -> None:
    fields = dict(gate_report=json.dumps(report.operator_view(), sort_keys=True), run_ms=int(outcome.wall_ms))
    if report.decision == REJECTED:
        message = "the output gate refused the result: " + "; ".join(report.reasons)
        for name, value in fields.items():
            setattr(job, name, value)
        _fail(ctx, session, job, "gate_rejected", message, JobState.failed, engine_started=True)
    else:
        state = JobState.held_for_review if report.decision == HELD_FOR_REVIEW else JobState.succeeded
        jobs.transition(
            job,
            state,
            ctx.clock.now(),
            result_path=str(path.relative_to(ctx.settings.results_dir)),
            result_sha256=report.sha256,
            result_rows=released.num_rows,
            **fields,
        )
        # Values now exist outside the sandbox (released, or shown to a reviewer): the epsilon is spent.
        settle_dp(session, ctx, job.id, "committed")
    emit(
        session,
        ctx,
        None,
        "gate.decision",
        "job",
        job.id,
        organization_id=job.organization_id,
        submitted_by=job.submitted_by,
        checked_sql=job.checked_sql,
        **report.audit_details(),
    )


def _write_result(ctx: AppContext, job_id: str, table: pa.Table, *, held: bool) -> Path:
    folder = ctx.settings.results_dir / ("held" if held else "released")
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{job_id}.parquet"
    temp = folder / f".{job_id}.parquet.tmp"
    temp.write_bytes(to_parquet_bytes(table))
    os.replace(temp, final)
    return final
