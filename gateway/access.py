"""From a caller to a checked query: which grants it holds, whether each may be used today, and the verdict.

The checker sees every grant of the caller's organization (so the scope check names tables precisely);
afterwards each grant the query actually uses must be usable today — active, inside its window, and on a
dataset whose registration is valid (R8, A9). A refusal names the grant and the reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from catalog.synthetic import DISTRICTS
from common.errors import Forbidden, PolicyViolation
from common.types import CatalogSnapshot, CheckedQuery, Grant, Principal, Verdict
from gateway import identity
from gateway.context import AppContext
from gateway.events import emit
from policies import dp as dp_planner
from policies import grants, ledger
from policies.checker import check
from registry.service import dataset_registration


@dataclass(frozen=True)
class Scope:
    grants: tuple[Grant, ...]
    catalog: CatalogSnapshot


def scope_of(session: Session, organization_id: str) -> Scope:
    """The organization's grants (with the current dataset version) and the catalog they cover."""
    held = grants.list_grants(session, organization_id)
    datasets = {g.dataset for g in held}
    versions = {name: catalog_service.get_dataset(session, name).version for name in datasets}
    held = [dataclasses.replace(g, dataset_version=versions[g.dataset]) for g in held]
    social = frozenset(n for n in datasets if _operator_owned(session, n))
    catalog = catalog_service.snapshot(session, datasets, social=social)
    # Grades decide what a stored grant may still reach (A2, A35): violations are denied, failing closed.
    return Scope(grants=grants.enforced(session, held, catalog), catalog=catalog)


def _operator_owned(session: Session, dataset: str) -> bool:
    """An operator's own (social) dataset: the checker treats its columns as labels chosen per person."""
    row = catalog_service.get_dataset(session, dataset)
    return identity.get_organization(session, row.source_org_id).kind.value == "operator"


def grant_verdict(session: Session, ctx: AppContext, grant: Grant) -> Verdict:
    today = ctx.clock.today()
    verdict = grants.usable(grant, today, dataset_registration(session, grant.dataset, today))
    if not verdict.allowed and grant.status != "active":
        reason = grants.status_reason(session, grant.id)
        return Verdict(False, f"{verdict.reason}: {reason}" if reason else verdict.reason)
    return verdict


def check_query(
    session: Session, ctx: AppContext, principal: Principal, sql: str, dp: Mapping[str, Any] | None = None
) -> tuple[CheckedQuery, Scope]:
    """Check ``sql`` for ``principal``; raises PolicyViolation or Forbidden (with the grant's reason).

    ``dp`` is the analyst's differential-privacy request (``{"epsilon": 0.5}``) or None. A query on a grant in
    DP mode ``required`` always runs under DP (epsilon: the request's, else the grant's default); ``optional``
    grants run it when asked. Under DP the returned query's ``sql`` is the planner's trusted rewrite and
    ``dp`` the plan (see ``policies/dp.py``)."""
    scope = scope_of(session, principal.organization_id)
    if not scope.grants:
        raise PolicyViolation(
            "no_grant",
            "your organization holds no grant; ask the implementation institution for an operating agreement",
            clause=None,
        )
    # The scope check is about SQL: every grant counts as active there; usability is decided below.
    as_active = [dataclasses.replace(g, status="active") for g in scope.grants]
    policy = ctx.settings.policy
    checked = check(
        sql, as_active, scope.catalog, max_chars=policy.max_sql_chars, max_depth=policy.max_sql_depth
    )
    by_id = {g.id: g for g in scope.grants}
    for grant_id, _ in checked.grants:
        verdict = grant_verdict(session, ctx, by_id[grant_id])
        if not verdict.allowed:
            raise Forbidden(
                f"this query needs a grant that cannot be used now: {verdict.reason}", grant_id=grant_id
            )
    return _with_dp(checked, scope, [by_id[g] for g, _ in checked.grants], dp), scope


# ------------------------------------------------------------------------------------------------ DP

# Keys that are public knowledge, so a DP GROUP BY on these columns may release them without the grant
# declaring them: Chongqing's 38 district-level divisions and the two recorded genders (demo catalog).
PUBLIC_KEY_DOMAINS: Mapping[str, tuple[str, ...]] = {
    "district": tuple(d[0] for d in DISTRICTS),
    "gender": ("女", "男"),
}


def public_key_domains(catalog: CatalogSnapshot) -> dict[str, tuple[str, ...]]:
    return {
        f"{dataset}.{table}.{column.name.lower()}": PUBLIC_KEY_DOMAINS[column.name.lower()]
        for (dataset, table), info in catalog.tables.items()
        for column in info.columns
        if column.name.lower() in PUBLIC_KEY_DOMAINS
    }


def _with_dp(
    checked: CheckedQuery, scope: Scope, used: list[Grant], request: Mapping[str, Any] | None
) -> CheckedQuery:
    requested = request is not None
    if not any(dp_planner.wants_dp(g, requested) for g in used):
        return checked
    if len(used) != 1:
        raise PolicyViolation(
            "dp_join",
            "a differentially private query reads one dataset under one grant",
            hint="query one table",
        )
    grant = used[0]
    plan = dp_planner.plan(
        checked,
        grant,
        scope.catalog,
        epsilon=(request or {}).get("epsilon"),
        public_domains=public_key_domains(scope.catalog),
    )
    return dataclasses.replace(
        checked,
        sql=plan.sql,
        unit_columns=(),
        dp={**plan.to_dict(), "split": plan.split(), "grant_version": grant.version},
    )


def reserve_dp(
    session: Session, ctx: AppContext, principal: Principal, checked: CheckedQuery, job_id: str
) -> None:
    """Reserve the job's epsilon in the caller's transaction (the one creating the job); BudgetExceeded if not."""
    if not checked.dp:
        return
    grant = grants.load(session, str(checked.dp["grant_id"]), int(checked.dp["grant_version"]))
    _reconcile(session, ctx, grant)
    entry = ledger.reserve(
        session,
        grant,
        float(checked.dp["epsilon"]),
        job_id=job_id,
        now=ctx.clock.now(),
        today=ctx.clock.today(),
    )
    emit(
        session,
        ctx,
        principal,
        "dp.budget.reserved",
        "grant",
        grant.id,
        job_id=job_id,
        epsilon=entry.epsilon,
        period=entry.period,
        entry_id=entry.id,
    )


def settle_dp(
    session: Session, ctx: AppContext, job_id: str, outcome: str, actor: Principal | None = None
) -> None:
    """Commit (a noisy result left the sandbox host) or refund (nothing was released) the job's reservation."""
    for entry in ledger.settle(session, job_id, outcome, ctx.clock.now()):
        emit(
            session,
            ctx,
            actor,
            f"dp.budget.{outcome}",
            "grant",
            entry.grant_id,
            job_id=job_id,
            epsilon=entry.epsilon,
            period=entry.period,
            entry_id=entry.id,
        )


def _reconcile(session: Session, ctx: AppContext, grant: Grant) -> None:
    """Refund reservations of jobs that ended without releasing anything by a path that did not settle them
    (e.g. a worker that died: the sweep fails its job)."""
    from sandbox.store import JobRow

    held = ledger.reserved_job_ids(session, [grant.id])
    if not held:
        return
    ended = session.scalars(
        select(JobRow.id).where(JobRow.id.in_(held), JobRow.state.in_(("failed", "cancelled")))
    )
    for job_id in list(ended):
        settle_dp(session, ctx, job_id, ledger.REFUNDED)


def budget_of(session: Session, ctx: AppContext, grant: Grant) -> dict[str, Any]:
    _reconcile(session, ctx, grant)
    return ledger.budget(session, grant, ctx.clock.today()).to_dict()
