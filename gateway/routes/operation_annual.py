"""Operation routes for the annual cycle (A37-A39: reports and evaluations) and the anonymous public
disclosures generated from the records (A25, A26, A28).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from catalog import service as catalog_service
from gateway.auth import Ctx, Implementer, Public, VerifiedOperator
from gateway.events import emit
from gateway.grading_view import disclosed_exceptions
from gateway.operation_models import (
    OP,
    EvaluationCreate,
    EvaluationPublic,
    Reader,
    ReportCreate,
    ReportPublic,
)
from gateway.operation_views import evaluation_out, fen, report_out
from gateway.operation_wiring import org_names, visible_agreement
from operation import agreements, annual, products

router = APIRouter(prefix="/api/v1", tags=["operation"])


# --- annual cycle (A37-A39) ---------------------------------------------------------------------------------


@router.post(f"{OP}/agreements/{{agreement_id}}/reports", response_model=ReportPublic, status_code=201)
def submit_report(
    agreement_id: str, body: ReportCreate, ctx: Ctx, principal: VerifiedOperator
) -> ReportPublic:
    with ctx.uow() as session:
        agreement = visible_agreement(session, principal, agreement_id)
        report = annual.submit_report(
            session,
            agreement.id,
            year=body.year,
            content=body.content.model_dump(),
            cost_fen=fen(body.cost),
            revenue_fen=fen(body.revenue),
            expenditure_fen=fen(body.expenditure),
            actor_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.report.submitted",
            "operation_agreement",
            agreement.id,
            year=body.year,
            report_id=report.id,
        )
        return report_out(report)


@router.get(f"{OP}/agreements/{{agreement_id}}/reports", response_model=list[ReportPublic])
def list_reports(agreement_id: str, ctx: Ctx, principal: Reader) -> list[ReportPublic]:
    with ctx.uow() as session:
        visible_agreement(session, principal, agreement_id)
        return [report_out(r) for r in annual.reports(session, agreement_id)]


@router.post(
    f"{OP}/agreements/{{agreement_id}}/evaluations", response_model=EvaluationPublic, status_code=201
)
def evaluate(agreement_id: str, body: EvaluationCreate, ctx: Ctx, principal: Implementer) -> EvaluationPublic:
    """Annual evaluation (A39); an unqualified result offers termination with that reason (A23)."""
    with ctx.uow() as session:
        evaluation = annual.evaluate(
            session,
            agreement_id,
            year=body.year,
            result=body.result,
            findings=body.findings.model_dump(),
            actor_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.evaluation.recorded",
            "operation_agreement",
            agreement_id,
            year=body.year,
            result=body.result,
            evaluation_id=evaluation.id,
        )
        return evaluation_out(evaluation)


@router.get(f"{OP}/agreements/{{agreement_id}}/evaluations", response_model=list[EvaluationPublic])
def list_evaluations(agreement_id: str, ctx: Ctx, principal: Reader) -> list[EvaluationPublic]:
    with ctx.uow() as session:
        visible_agreement(session, principal, agreement_id)
        return [evaluation_out(e) for e in annual.evaluations(session, agreement_id)]


# --- public disclosures (A25, A26, A28), anonymous ----------------------------------------------------------


@router.get("/public/operation/disclosures/{year}")
def annual_disclosure(year: Annotated[int, Path(ge=2000, le=2200)], ctx: Ctx, _: Public) -> dict[str, Any]:
    """The annual disclosure of authorizations (operator, content, scope, time limits) and of each operator's
    products and data usage (A25, A28), generated from the records."""
    with ctx.uow() as session:
        body = annual.disclosure(session, year, org_names(session))
        # k-only exceptions to the grade-driven defaults are disclosed with their justification (A2, A35)
        body["k_only_exceptions"] = [
            e.model_dump() for e in disclosed_exceptions(session, year, org_names(session))
        ]
        return body


@router.get("/public/operation/products")
def public_products(ctx: Ctx, _: Public) -> list[dict[str, Any]]:
    """The product and service list of every operator (A28), with its class and price (A29)."""
    with ctx.uow() as session:
        names = org_names(session)
        return [annual.public_product(p, names) for p in products.list_products(session, state="listed")]


@router.get("/public/operation/catalog")
def operation_catalog(ctx: Ctx, _: Public) -> list[dict[str, Any]]:
    """The authorized-operation catalog (A26): datasets under agreements in force, with their operators and
    the business entities re-developing their products; updated as agreements and products change."""
    with ctx.uow() as session:
        names = org_names(session)
        entries: dict[str, dict[str, set]] = {}
        for agreement in agreements.list_agreements(session, states=("filed",)):
            entities = {
                names(e.organization_id)
                for p in products.list_products(session, agreement_id=agreement.id, state="listed")
                for e in p.entities
            }
            for dataset in agreement.scope:
                entry = entries.setdefault(dataset, {"operators": set(), "business_entities": set()})
                entry["operators"].add(names(agreement.operator_org_id))
                entry["business_entities"] |= entities
        result = []
        for dataset, entry in sorted(entries.items()):
            row = catalog_service.get_dataset(session, dataset)
            result.append(
                {
                    "dataset": dataset,
                    "title": row.title,
                    "sector": row.sector,
                    "operators": sorted(entry["operators"]),
                    "business_entities": sorted(entry["business_entities"]),
                }
            )
        return result
