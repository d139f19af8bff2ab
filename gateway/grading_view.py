"""The grade-driven protection as the API shows it (A2, A35): one view for grants, agreements and plans,
and the audit events of recorded k-only exceptions."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel
from sqlalchemy.orm import Session

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


def scope_protection(dataset: str, terms: grants.DatasetTerms, catalog: CatalogSnapshot):
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
