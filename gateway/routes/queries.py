"""Dry run: the checker's verdict, the columns used per clause, and the SQL that would run. Nothing runs."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from common.errors import Forbidden, PolicyViolation
from gateway.access import budget_of, check_query
from gateway.auth import Ctx, Operator
from gateway.risk import NotSuspended
from gateway.routes.jobs import DPRequest
from policies import grants

router = APIRouter(prefix="/api/v1/queries", tags=["queries"])


class QueryCheck(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000)
    dp: DPRequest | None = None


class CheckVerdict(BaseModel):
    verdict: str  # allowed | denied
    violation: dict[str, Any] | None = None
    rewritten_sql: str | None = None
    output_columns: list[str] = []
    columns_by_clause: dict[str, list[str]] = {}
    is_aggregate: bool | None = None
    k: int | None = None
    row_cap: int | None = None
    grants: list[dict[str, Any]] = []
    dp: dict[str, Any] | None = None


@router.post("/check", response_model=CheckVerdict)
def check(body: QueryCheck, ctx: Ctx, principal: Operator, _active: NotSuspended) -> CheckVerdict:
    try:
        with ctx.uow() as session:
            checked, _ = check_query(
                session, ctx, principal, body.sql, dp=body.dp.model_dump() if body.dp is not None else None
            )
            dp = _dp_cost(session, ctx, checked)
    except (PolicyViolation, Forbidden) as refusal:
        return CheckVerdict(verdict="denied", violation=refusal.to_dict())
    return CheckVerdict(
        verdict="allowed",
        rewritten_sql=checked.sql,
        output_columns=list(checked.output_columns),
        columns_by_clause={k: list(v) for k, v in checked.columns_by_clause.items()},
        is_aggregate=checked.is_aggregate,
        k=checked.k,
        row_cap=checked.row_cap,
        grants=[{"id": g, "version": v} for g, v in checked.grants],
        dp=dp,
    )


def _dp_cost(session, ctx, checked) -> dict[str, Any] | None:
    """What a DP query would spend, its split per aggregate, and the budget it would draw on (nothing
    reserved)."""
    if not checked.dp:
        return None
    plan = checked.dp
    grant = grants.load(session, plan["grant_id"], plan["grant_version"])
    budget = budget_of(session, ctx, grant)
    return {
        "epsilon": plan["epsilon"],
        "split": plan["split"],
        "max_contributions": plan["max_contributions"],
        "groups": math.prod(len(d) for d in plan["domains"]),
        "released_columns": plan["released_columns"],
        "budget": budget,
        "fits": plan["epsilon"] <= budget["remaining"] + 1e-9
        and (budget["org_remaining"] is None or plan["epsilon"] <= budget["org_remaining"] + 1e-9)
        and (budget.get("max_queries") is None or budget["queries"] < budget["max_queries"]),
    }
