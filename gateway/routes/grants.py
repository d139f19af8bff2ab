"""Grant routes: the implementer creates, changes, suspends and revokes; an operator lists its own.

There is deliberately no way to change a grant's organization: an authorization cannot be transferred (A18).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from common.errors import Forbidden, InvalidInput
from common.types import DPMode, DPSettings, Grant, Principal, Role
from gateway import identity
from gateway.access import budget_of
from gateway.auth import Ctx, Implementer, require
from gateway.events import emit
from gateway.grading_view import ColumnProtectionPublic, emit_exceptions, protection_view
from policies import grants, ledger

router = APIRouter(prefix="/api/v1/grants", tags=["grants"])
Reader = Annotated[Principal, require(Role.implementer, Role.supervisor, Role.operator)]
Overseer = Annotated[Principal, require(Role.implementer, Role.supervisor)]


class DPConfig(BaseModel):
    mode: Literal["off", "optional", "required"] = "off"
    epsilon_budget: float = Field(default=0.0, ge=0, le=100)
    default_epsilon: float = Field(default=0.5, gt=0, le=10)
    refresh: Literal["none", "monthly", "yearly"] = "none"
    max_contributions: int = Field(default=1, ge=1, le=1000)
    key_domains: dict[str, list[Annotated[str, Field(max_length=200)]]] = Field(
        default_factory=dict,
        max_length=50,
        description='"table.column" -> the group keys a DP query may release '
        "(keys outside are never released)",
    )
    org_cap: float = Field(
        default=0.0,
        ge=0,
        le=100,
        description="epsilon cap for the operator organization "
        "across its grants on this dataset per period; 0 = none",
    )
    min_epsilon: float = Field(default=0.01, ge=0.001, le=10, description="smallest epsilon per query")
    max_queries: int = Field(default=0, ge=0, le=1_000_000, description="DP queries per period; 0 = no cap")


class GrantTerms(BaseModel):
    purpose: str = Field(min_length=1, max_length=2000)
    valid_from: date
    valid_to: date
    columns: dict[str, dict[str, str]] = Field(
        description="table -> column -> rule (deny, join, compare, group, "
        "aggregate, masked:<fn>, plain); unlisted = deny"
    )
    privacy_unit: str = Field(min_length=1, max_length=63)
    k: int = 10
    row_filters: dict[str, str] = Field(default_factory=dict)
    max_rows: int = 10_000
    allow_row_level: bool = False
    dp: DPConfig = DPConfig()
    k_only_exceptions: dict[str, Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=dict,
        max_length=200,
        description='"table.column" -> written justification for aggregating, without DP, a column whose '
        "grade requires DP (personal information at 重要/核心); audited and disclosed (A2, A35)",
    )


class GrantCreate(GrantTerms):
    organization_id: str = Field(description="the operator organization (id or name)")
    dataset: str


class GrantChange(GrantTerms):
    reason: str = Field(min_length=1, max_length=2000)


class StatusChange(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class GrantPublic(BaseModel):
    id: str
    version: int
    organization_id: str
    dataset: str
    purpose: str
    valid_from: date
    valid_to: date
    status: str
    columns: dict[str, dict[str, str]]
    privacy_unit: str
    k: int
    row_filters: dict[str, str]
    max_rows: int
    allow_row_level: bool
    dp: DPConfig
    k_only_exceptions: dict[str, str] | None = None
    protection: list[ColumnProtectionPublic] | None = Field(
        default=None,
        description="each column of the granted tables with its effective protection under its grade",
    )


def public(grant: Grant, session: Session | None = None) -> GrantPublic:
    """The grant as the API shows it; with a session, also its exceptions and per-column protection."""
    exceptions = grants.exceptions_of(session, grant.id, grant.version) if session else None
    protection = None
    if session is not None:
        catalog = catalog_service.snapshot(session, {grant.dataset})
        protection = protection_view(
            grant.dataset, grant.columns, grant.dp.mode, grant.allow_row_level, exceptions, catalog
        )
    return GrantPublic(
        id=grant.id,
        version=grant.version,
        organization_id=grant.organization_id,
        dataset=grant.dataset,
        purpose=grant.purpose,
        valid_from=grant.valid_from,
        valid_to=grant.valid_to,
        status=grant.status,
        columns={t: {c: str(r) for c, r in cols.items()} for t, cols in grant.columns.items()},
        privacy_unit=grant.privacy_unit,
        k=grant.k,
        row_filters=dict(grant.row_filters),
        max_rows=grant.max_rows,
        allow_row_level=grant.allow_row_level,
        dp=DPConfig(
            mode=grant.dp.mode.value,
            epsilon_budget=grant.dp.epsilon_budget,
            default_epsilon=grant.dp.default_epsilon,
            refresh=grant.dp.refresh,
            max_contributions=grant.dp.max_contributions,
            key_domains={k: list(v) for k, v in grant.dp.key_domains.items()},
            org_cap=grant.dp.org_cap,
            min_epsilon=grant.dp.min_epsilon,
            max_queries=grant.dp.max_queries,
        ),
        k_only_exceptions=exceptions,
        protection=protection,
    )


def spec_of(terms: GrantTerms) -> grants.GrantSpec:
    dp = DPSettings(
        mode=DPMode(terms.dp.mode),
        epsilon_budget=terms.dp.epsilon_budget,
        default_epsilon=terms.dp.default_epsilon,
        refresh=terms.dp.refresh,
        max_contributions=terms.dp.max_contributions,
        key_domains=_key_domains(terms),
        org_cap=terms.dp.org_cap,
        min_epsilon=terms.dp.min_epsilon,
        max_queries=terms.dp.max_queries,
    )
    return grants.GrantSpec(
        purpose=terms.purpose,
        valid_from=terms.valid_from,
        valid_to=terms.valid_to,
        columns=terms.columns,
        privacy_unit=terms.privacy_unit,
        k=terms.k,
        row_filters=terms.row_filters,
        max_rows=terms.max_rows,
        allow_row_level=terms.allow_row_level,
        dp=dp,
        k_only_exceptions=terms.k_only_exceptions,
    )


def _key_domains(terms: GrantTerms) -> dict[str, tuple[str, ...]]:
    domains = {}
    for key, values in terms.dp.key_domains.items():
        table, _, column = key.lower().partition(".")
        if not column or column not in {c.lower() for c in terms.columns.get(table, {})}:
            raise InvalidInput(
                f'dp.key_domains names {key!r}: expected "table.column" of a granted column',
                field="dp.key_domains",
            )
        if not values or len(values) > 10_000:
            raise InvalidInput(f"dp.key_domains[{key!r}] needs 1 to 10000 keys", field="dp.key_domains")
        domains[f"{table}.{column}"] = tuple(dict.fromkeys(values))
    return domains


def _visible(principal: Principal, grant: Grant) -> Grant:
    if (
        principal.has_role(Role.implementer, Role.supervisor)
        or grant.organization_id == principal.organization_id
    ):
        return grant
    raise Forbidden("this grant belongs to another organization")


@router.post("", response_model=GrantPublic, status_code=201)
def create_grant(body: GrantCreate, ctx: Ctx, principal: Implementer) -> GrantPublic:
    with ctx.uow() as session:
        org = identity.get_organization(session, body.organization_id)
        if org.kind.value != "operator":
            raise Forbidden("grants are given to operator organizations only")
        dataset = catalog_service.get_dataset(session, body.dataset)
        grant = grants.create(
            session,
            organization_id=org.id,
            dataset_id=dataset.id,
            dataset=dataset.name,
            spec=spec_of(body),
            catalog=catalog_service.snapshot(session, {dataset.name}),
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "grant.created",
            "grant",
            grant.id,
            version=grant.version,
            organization_id=org.id,
            dataset=dataset.name,
        )
        # Issue 12: agreements are the source of grants (A16, A17); a grant without plan, agreement and
        # filing is an exception the supervisors list (GET /api/v1/audit/events?kind=grant.direct_exception).
        emit(session, ctx, principal, "grant.direct_exception", "grant", grant.id, dataset=dataset.name)
        emit_exceptions(session, ctx, principal, grant)
        return public(grant, session)


class ExceptionPublic(BaseModel):
    grant_id: str
    version: int
    organization_id: str
    dataset: str
    table: str
    column: str
    justification: str
    created_by: str
    created_at: datetime
    valid_from: date
    valid_to: date
    status: str


@router.get("/exceptions", response_model=list[ExceptionPublic])
def list_exceptions(ctx: Ctx, principal: Overseer) -> list[ExceptionPublic]:
    """Every k-only exception in force on a grant's current version: the column's grade requires DP and the
    implementer recorded why this grant aggregates it without (A2, A35)."""
    with ctx.uow() as session:
        return [ExceptionPublic(**dataclasses.asdict(e)) for e in grants.list_exceptions(session)]


@router.get("", response_model=list[GrantPublic])
def list_grants(ctx: Ctx, principal: Reader) -> list[GrantPublic]:
    owner = None if principal.has_role(Role.implementer, Role.supervisor) else principal.organization_id
    with ctx.uow() as session:
        return [public(g, session) for g in grants.list_grants(session, owner)]


@router.get("/{grant_id}", response_model=GrantPublic)
def get_grant(grant_id: str, ctx: Ctx, principal: Reader) -> GrantPublic:
    with ctx.uow() as session:
        return public(_visible(principal, grants.load(session, grant_id)), session)


@router.get("/{grant_id}/versions", response_model=list[GrantPublic])
def grant_versions(grant_id: str, ctx: Ctx, principal: Reader) -> list[GrantPublic]:
    with ctx.uow() as session:
        _visible(principal, grants.load(session, grant_id))
        return [public(g, session) for g in grants.versions(session, grant_id)]


class BudgetPublic(BaseModel):
    grant_id: str
    period: str  # all | YYYY | YYYY-MM
    period_start: date | None
    period_end: date | None
    budget: float
    spent: float
    reserved: float
    remaining: float
    org_cap: float | None
    org_used: float
    org_remaining: float | None
    queries: int  # DP queries charged or in flight this period
    max_queries: int | None
    mode: str
    default_epsilon: float
    queries_left_at_default: int


@router.get("/{grant_id}/budget", response_model=BudgetPublic)
def grant_budget(grant_id: str, ctx: Ctx, principal: Reader) -> BudgetPublic:
    """The grant's epsilon budget in the current period: spent (released), reserved (jobs in flight),
    remaining."""
    with ctx.uow() as session:
        grant = _visible(principal, grants.load(session, grant_id))
        state = budget_of(session, ctx, grant)
    left = (
        state["remaining"]
        if state["org_remaining"] is None
        else min(state["remaining"], state["org_remaining"])
    )
    return BudgetPublic(
        **state,
        mode=grant.dp.mode.value,
        default_epsilon=grant.dp.default_epsilon,
        queries_left_at_default=int((left + 1e-9) // grant.dp.default_epsilon),
    )


@router.put("/{grant_id}", response_model=GrantPublic)
def change_grant(grant_id: str, body: GrantChange, ctx: Ctx, principal: Implementer) -> GrantPublic:
    with ctx.uow() as session:
        current = grants.load(session, grant_id)
        grant = grants.change(
            session,
            grant_id,
            spec_of(body),
            catalog=catalog_service.snapshot(session, {current.dataset}),
            actor_id=principal.user_id,
            reason=body.reason,
            now=ctx.clock.now(),
        )
        changed = ledger.dp_changes(current.dp, grant.dp)  # DP changes are audited with their reason
        emit(
            session,
            ctx,
            principal,
            "grant.changed",
            "grant",
            grant.id,
            version=grant.version,
            reason=body.reason,
            **({"dp_changes": changed} if changed else {}),
        )
        emit_exceptions(session, ctx, principal, grant)
        return public(grant, session)


def _transition(grant_id: str, status: str, body: StatusChange, ctx, principal) -> GrantPublic:
    with ctx.uow() as session:
        grant = grants.set_status(session, grant_id, status, body.reason, ctx.clock.now())
        emit(session, ctx, principal, f"grant.{status}", "grant", grant.id, version=grant.version)
        return public(grant, session)


@router.post("/{grant_id}/suspend", response_model=GrantPublic)
def suspend(grant_id: str, body: StatusChange, ctx: Ctx, principal: Implementer) -> GrantPublic:
    return _transition(grant_id, "suspended", body, ctx, principal)


@router.post("/{grant_id}/resume", response_model=GrantPublic)
def resume(grant_id: str, body: StatusChange, ctx: Ctx, principal: Implementer) -> GrantPublic:
    return _transition(grant_id, "active", body, ctx, principal)


@router.post("/{grant_id}/revoke", response_model=GrantPublic)
def revoke(grant_id: str, body: StatusChange, ctx: Ctx, principal: Implementer) -> GrantPublic:
    return _transition(grant_id, "revoked", body, ctx, principal)
