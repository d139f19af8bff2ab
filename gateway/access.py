"""From a caller to a checked query: which grants it holds, whether each may be used today, and the verdict.

The checker sees every grant of the caller's organization (so the scope check names tables precisely);
afterwards each grant the query actually uses must be usable today — active, inside its window, and on a
dataset whose registration is valid (R8, A9). A refusal names the grant and the reason.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy.orm import Session

from catalog import service as catalog_service
from common.errors import Forbidden, PolicyViolation
from common.types import CatalogSnapshot, CheckedQuery, Grant, Principal, Verdict
from gateway.context import AppContext
from policies import grants
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
    return Scope(grants=tuple(held), catalog=catalog_service.snapshot(session, datasets))


def grant_verdict(session: Session, ctx: AppContext, grant: Grant) -> Verdict:
    today = ctx.clock.today()
    verdict = grants.usable(grant, today, dataset_registration(session, grant.dataset, today))
    if not verdict.allowed and grant.status != "active":
        reason = grants.status_reason(session, grant.id)
        return Verdict(False, f"{verdict.reason}: {reason}" if reason else verdict.reason)
    return verdict


def check_query(session: Session, ctx: AppContext, principal: Principal, sql: str) -> tuple[CheckedQuery, Scope]:
    """Check ``sql`` for ``principal``; raises PolicyViolation or Forbidden (with the grant's reason)."""
    scope = scope_of(session, principal.organization_id)
    if not scope.grants:
        raise PolicyViolation("no_grant", "your organization holds no grant; ask the implementation "
                              "institution for an operating agreement", clause=None)
    # The scope check is about SQL: every grant counts as active there; usability is decided below.
    as_active = [dataclasses.replace(g, status="active") for g in scope.grants]
    policy = ctx.settings.policy
    checked = check(sql, as_active, scope.catalog, max_chars=policy.max_sql_chars, max_depth=policy.max_sql_depth)
    by_id = {g.id: g for g in scope.grants}
    for grant_id, _ in checked.grants:
        verdict = grant_verdict(session, ctx, by_id[grant_id])
        if not verdict.allowed:
            raise Forbidden(f"this query needs a grant that cannot be used now: {verdict.reason}",
                            grant_id=grant_id)
    return checked, scope
