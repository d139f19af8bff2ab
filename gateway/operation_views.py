"""Conversions between the operation room's values (``operation.*`` dataclasses) and the API models of
``gateway.operation_models``: one function per entity, used by the ``gateway/routes/operation_*`` modules.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from common.types import DPMode, DPSettings
from gateway.context import AppContext
from gateway.operation_models import (
    AgreementPublic,
    AgreementTerms,
    DisputePublic,
    EvaluationPublic,
    IssuePublic,
    PlanPublic,
    ProductPublic,
    ReportPublic,
    ReviewPublic,
    SelectionPublic,
)
from gateway.operation_wiring import org_names, product_registration_of
from operation import agreements, annual, plans, products, quality

# --- values to API models and back --------------------------------------------------------------------------


def plan_out(plan: plans.Plan) -> PlanPublic:
    return PlanPublic(
        id=plan.id,
        name=plan.name,
        mode=plan.mode,
        mode_scope=plan.mode_scope,
        state=plan.state,
        state_reason=plan.state_reason,
        current_version=plan.current_version,
        approved_version=plan.approved_version,
        content=dict(plan.content),
        conclusion=plan.conclusion,
        conclusion_reason=plan.conclusion_reason,
        approved_on=plan.approved_on,
        approval_reference=plan.approval_reference,
        reviews=[ReviewPublic(**r.__dict__) for r in plan.reviews],
    )


def selection_out(s: plans.Selection) -> SelectionPublic:
    return SelectionPublic(
        id=s.id,
        plan_id=s.plan_id,
        operator_org_id=s.operator_org_id,
        method=s.method,
        checks=dict(s.checks),
        notes=s.notes,
        selected_on=s.selected_on,
    )


def agreement_out(a: agreements.Agreement, today: date) -> AgreementPublic:
    return AgreementPublic(
        id=a.id,
        plan_id=a.plan_id,
        plan_version=a.plan_version,
        selection_id=a.selection_id,
        operator_org_id=a.operator_org_id,
        state=a.state,
        version=a.version,
        title=a.title,
        term_start=a.term_start,
        term_end=a.term_end,
        content=dict(a.content),
        scope={d: s.to_json() for d, s in a.scope.items()},
        signed_on=a.signed_on,
        filing_due=a.filing_due,
        deadline_provisional=a.deadline_provisional,
        filed_on=a.filed_on,
        filing_reference=a.filing_reference,
        filing_overdue=a.filing_overdue(today),
        filed_late=a.filed_late,
        terminated_on=a.terminated_on,
        termination_reason=a.termination_reason,
        termination_detail=a.termination_detail,
    )


def terms_in(body: AgreementTerms) -> agreements.Terms:
    scope = {}
    for dataset, s in body.scope.items():
        dp = DPSettings(
            mode=DPMode(s.dp.mode),
            epsilon_budget=s.dp.epsilon_budget,
            default_epsilon=s.dp.default_epsilon,
            refresh=s.dp.refresh,
            max_contributions=s.dp.max_contributions,
        )
        scope[dataset] = agreements.ScopeTerms(
            purpose=s.purpose,
            columns=s.columns,
            privacy_unit=s.privacy_unit,
            k=s.k,
            row_filters=s.row_filters,
            max_rows=s.max_rows,
            allow_row_level=s.allow_row_level,
            dp=dp,
        )
    return agreements.Terms(
        title=body.title,
        term_start=body.term_start,
        term_end=body.term_end,
        content=body.content.model_dump(),
        scope=scope,
    )


def fen(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * 100)


def product_out(session: Session, ctx: AppContext, p: products.Product) -> ProductPublic:
    shown = annual.public_product(p, org_names(session))
    verdict = product_registration_of(session, ctx, p.id)
    return ProductPublic(
        id=p.id,
        agreement_id=p.agreement_id,
        operator_org_id=p.operator_org_id,
        name=p.name,
        kind=p.kind,
        description=p.description,
        product_class=p.product_class,
        pricing=p.pricing.mode,
        conditions=p.pricing.conditions,
        permitted_cost=shown["permitted_cost"],
        reasonable_return=shown["reasonable_return"],
        price=shown["price"],
        source_jobs=list(p.source_jobs),
        state=p.state,
        business_entities=[e.organization_id for e in p.entities],
        registration=verdict.reason,
    )


def issue_out(i: quality.Issue, today: date) -> IssuePublic:
    return IssuePublic(
        id=i.id,
        dataset=i.dataset,
        table=i.table,
        column=i.column,
        reporter_org_id=i.reporter_org_id,
        source_org_id=i.source_org_id,
        category=i.category,
        description=i.description,
        state=i.state,
        reported_on=i.reported_on,
        answer_due=i.answer_due,
        overdue=i.overdue(today),
        deadline_provisional=i.deadline_provisional,
        answer=i.answer,
        answered_on=i.answered_on,
        outcome=i.outcome,
    )


def dispute_out(d: quality.Dispute, today: date) -> DisputePublic:
    return DisputePublic(
        id=d.id,
        quality_issue_id=d.quality_issue_id,
        raised_by_org_id=d.raised_by_org_id,
        against_org_id=d.against_org_id,
        subject=d.subject,
        description=d.description,
        state=d.state,
        raised_on=d.raised_on,
        coordination_due=d.coordination_due,
        overdue=d.overdue(today),
        deadline_provisional=d.deadline_provisional,
        outcome=d.outcome,
        closed_on=d.closed_on,
    )


def report_out(r: annual.Report) -> ReportPublic:
    return ReportPublic(
        id=r.id,
        agreement_id=r.agreement_id,
        year=r.year,
        content=dict(r.content),
        cost=annual.yuan(r.cost_fen),
        revenue=annual.yuan(r.revenue_fen),
        expenditure=annual.yuan(r.expenditure_fen),
        submitted_on=r.submitted_on,
    )


def evaluation_out(e: annual.Evaluation) -> EvaluationPublic:
    return EvaluationPublic(
        id=e.id,
        agreement_id=e.agreement_id,
        year=e.year,
        result=e.result,
        findings=dict(e.findings),
        evaluated_on=e.evaluated_on,
        termination_offer=e.termination_offer,
    )
