"""The grade-driven protection as the API shows it (A2, A35): one view for grants, agreements and plans,
and the audit events of recorded k-only exceptions."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from common.errors import NotFound
from common.grant_terms import DatasetTerms
from common.types import CatalogSnapshot, ColumnRule, DPMode, Grant, Principal
from gateway.context import AppContext
from gateway.events import emit
from policies import grading, grants


class ColumnProtectionPublic(BaseModel):
    table: str
    column: str
    level: str
    personal: bool
    pii_tags: list[str]
    rule: str
    protection: str  # denied | key_only | dp | k_only | k_only_exception | row_level
    needs_dp: bool
    justification: str = ""


def protection_view(
    dataset: str,
    columns: Mapping[str, Mapping[str, str | ColumnRule]],
    dp_mode: DPMode,
    allow_row_level: bool,
    exceptions: Mapping[str, str],
    catalog: CatalogSnapshot,
) -> list[ColumnProtectionPublic]:
    return [
        ColumnProtectionPublic(
            table=p.table,
            column=p.column,
            level=p.level.value,
            personal=p.personal,
            pii_tags=list(p.pii_tags),
            rule=p.rule,
            protection=p.protection.value,
            needs_dp=p.needs_dp,
            justification=p.justification,
        )
        for p in grading.protections(dataset, columns, dp_mode, allow_row_level, exceptions, catalog)
    ]


def scope_protection(dataset: str, terms: DatasetTerms, catalog: CatalogSnapshot):
    """An agreement scope's per-column protection (its terms before any grant exists)."""
    return protection_view(
        dataset,
        terms.columns,
        terms.dp.mode,
        terms.allow_row_level,
        grants.exceptions_of_spec(terms),
        catalog,
    )


def emit_exceptions(session: Session, ctx: AppContext, principal: Principal | None, grant: Grant) -> None:
    """One audit event per k-only exception a grant version carries (the justification is the implementer's
    text, never data)."""
    for key, text in sorted(grants.exceptions_of(session, grant.id, grant.version).items()):
        emit(
            session,
            ctx,
            principal,
            "grant.exception.recorded",
            "grant",
            grant.id,
            version=grant.version,
            dataset=grant.dataset,
            column=key,
            justification=text,
        )


def scope_protections(session: Session, scope: Mapping[str, DatasetTerms]) -> dict[str, list]:
    """An agreement's data scope, dataset by dataset, with each column's effective protection."""
    catalog = catalog_service.snapshot(session, set(scope))
    return {name: scope_protection(name, terms, catalog) for name, terms in sorted(scope.items())}


def plan_protections(session: Session, datasets: list[str]) -> dict[str, list]:
    """A plan's datasets with the protection their grades require by default: ``dp`` for personal
    information at 重要/核心 and every 核心 column, ``k_only`` otherwise (a plan has no column rules yet)."""
    known = []
    for name in datasets:
        try:
            known.append(catalog_service.get_dataset(session, name).name)
        except NotFound:
            continue  # the plan may name a dataset not yet published
    catalog = catalog_service.snapshot(session, set(known))
    out = {}
    for name in sorted(known):
        tables = {table: {} for (dataset, table) in catalog.tables if dataset == name.lower()}
        views = protection_view(name, tables, DPMode.off, False, {}, catalog)
        out[name] = [
            v.model_copy(update={"rule": "(default)", "protection": "dp" if v.needs_dp else "k_only"})
            for v in views
        ]
    return out


class ExceptionDisclosed(BaseModel):
    operator: str
    dataset: str
    column: str
    justification: str
    valid_from: str
    valid_to: str


def disclosed_exceptions(session: Session, year: int, org_name) -> list[ExceptionDisclosed]:
    """The k-only exceptions in force during ``year``, for the annual public disclosure (A25, A35)."""
    return [
        ExceptionDisclosed(
            operator=org_name(e.organization_id),
            dataset=e.dataset,
            column=f"{e.table}.{e.column}",
            justification=e.justification,
            valid_from=e.valid_from.isoformat(),
            valid_to=e.valid_to.isoformat(),
        )
        for e in grants.list_exceptions(session)
        if e.valid_from.year <= year <= e.valid_to.year and e.status != "revoked"
    ]
