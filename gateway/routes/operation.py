"""Authorized-operation routes (Annex 2): plans, expert review, approval, operator selection, agreements that
become grants, products, quality feedback and disputes, the annual cycle, and the public disclosures.

Management routes live under ``/api/v1/operation``; anonymous disclosure routes under ``/api/v1/public``.
The gateway wires the registry's verdict into the agreement service (A9) and checks source jobs against the
sandbox's job records, so ``policies`` imports neither. Every state change and its audit event commit in one
transaction. Request bodies forbid unknown fields: in particular no request can name a new organization for
an agreement or its grants — an authorization cannot be transferred (A18).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from common.errors import Forbidden, InvalidInput, NotFound
from common.types import DPMode, DPSettings, OrgKind, Principal, Role, Verdict
from gateway import identity
from gateway.auth import Ctx, Implementer, Public, Supervisor, VerifiedOperator, require, require_verified
from gateway.context import AppContext
from gateway.events import emit
from gateway.grading_view import (
    ColumnProtectionPublic,
    disclosed_exceptions,
    plan_protections,
    scope_protections,
)
from gateway.routes.grants import DPConfig, GrantPublic
from gateway.routes.grants import public as grant_public
from operation import agreements, annual, plans, products, quality
from operation import requests as operation_requests
from policies import grants
from registry.service import dataset_registration
from sandbox import jobs as sandbox_jobs

router = APIRouter(prefix="/api/v1", tags=["operation"])
OP = "/operation"
Reader = Annotated[Principal, require(Role.implementer, Role.supervisor, Role.operator)]
Overseer = Annotated[Principal, require(Role.implementer, Role.supervisor)]
# The data authority (市数据主管部门) acts through the supervisor role: it accepts or returns filings (A17).
Filer = Annotated[Principal, require(Role.supervisor)]
# The operator applies for termination (POST .../termination-requests); the implementer decides (A23).
Terminator = Implementer
Participant = Annotated[
    Principal, require(Role.operator, Role.data_source, Role.implementer, Role.supervisor)
]
Party = Annotated[Principal, require_verified(Role.operator, Role.data_source)]
Reporter = Annotated[Principal, require(Role.operator, Role.supervisor)]
SourceDept = Annotated[Principal, require_verified(Role.data_source)]
Text = Annotated[str, Field(min_length=1, max_length=5000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- schemas: plans -----------------------------------------------------------------------------------------


class PlanContent(Strict):
    """The 11 contents of an implementation plan (A10)."""

    necessity_feasibility: Text
    operator_conditions: Text = Field(description="operator selection conditions (A14-A15)")
    datasets: list[Annotated[str, Field(min_length=1, max_length=63)]] = Field(
        min_length=1, max_length=100, description="the data scope: catalog dataset names"
    )
    data_description: Text = Field(description="the data catalog of the scope")
    update_frequency: ShortText
    quality_requirements: Text
    term_months: int = Field(ge=1, le=36, description="operating term; at most 3 years (A16)")
    operation_content: Text
    safeguards: Text
    schedule: Text
    evaluation_criteria: Text
    exit_plan: Text
    asset_handling: Text
    public_good_products: list[ShortText] = Field(
        default_factory=list, max_length=100, description="products for public governance and public good"
    )
    industry_products: list[ShortText] = Field(
        default_factory=list, max_length=100, description="products for industry development"
    )
    cost_revenue_sharing: Text
    security_emergency: Text
    rights_duties: Text
    supervision_evaluation: Text
    other: str = Field(default="", max_length=5000)


class PlanCreate(Strict):
    name: ShortText
    mode: Literal["whole", "domain", "scenario"] = Field(description="authorization mode (A4)")
    mode_scope: str = Field(default="", max_length=200, description="the domain or scenario, unless whole")
    content: PlanContent


class PlanEdit(Strict):
    name: ShortText | None = None
    mode: Literal["whole", "domain", "scenario"] | None = None
    mode_scope: str | None = Field(default=None, max_length=200)
    content: PlanContent | None = None


class ReviewCreate(Strict):
    expert_name: Annotated[str, Field(min_length=1, max_length=100)]
    expert_affiliation: ShortText
    compliance: Literal["pass", "concern", "fail"]
    feasibility: Literal["pass", "concern", "fail"]
    security_risk: Literal["low", "medium", "high"]
    opinion: Text


class Conclusion(Strict):
    conclusion: Literal["feasible", "infeasible"]
    reason: Text


class Approval(Strict):
    reference: ShortText = Field(description="the approval document's number")


class Reason(Strict):
    reason: Text


class MajorChange(Strict):
    content: PlanContent
    reason: Text


class ReviewPublic(BaseModel):
    id: str
    version: int
    expert_name: str
    expert_affiliation: str
    compliance: str
    feasibility: str
    security_risk: str
    opinion: str


class PlanPublic(BaseModel):
    protection: dict[str, list[ColumnProtectionPublic]] | None = Field(
        default=None, description="per dataset, each column's protection required by its grade (A2, A35)"
    )
    id: str
    name: str
    mode: str
    mode_scope: str
    state: str
    state_reason: str
    current_version: int
    approved_version: int | None
    content: dict[str, Any]
    conclusion: str | None
    conclusion_reason: str
    approved_on: date | None
    approval_reference: str
    reviews: list[ReviewPublic]


class SelectionChecks(Strict):
    management_capability: bool
    technical_capability: bool
    good_standing: bool
    data_security: bool


class SelectionCreate(Strict):
    organization_id: str = Field(
        min_length=1, max_length=200, description="the operator organization (id or name)"
    )
    method: Literal["open_tender", "invited_tender", "negotiation"]
    checks: SelectionChecks
    notes: str = Field(default="", max_length=5000)


class SelectionPublic(BaseModel):
    id: str
    plan_id: str
    operator_org_id: str
    method: str
    checks: dict[str, bool]
    notes: str
    selected_on: date


# --- schemas: agreements ------------------------------------------------------------------------------------


class AgreementContent(Strict):
    """The 12 contents of an operating agreement (A16), besides the structured scope and term."""

    data_catalog: Text
    products_and_standards: Text = Field(description="product list with technical standards")
    security_review: Text
    asset_ownership: Text
    disclosure: Text
    accounting: Text
    security_emergency: Text
    evaluation_renewal_exit: Text
    liability: Text
    dispute_resolution: Text
    change_termination: Text
    other: str = Field(default="", max_length=5000)


class ScopeIn(Strict):
    """One dataset of the data scope: a rule per column (unlisted = deny); the window is the term."""

    purpose: Text
    columns: dict[str, dict[str, str]] = Field(description="table -> column -> rule")
    privacy_unit: str = Field(min_length=1, max_length=63)
    k: int = 10
    row_filters: dict[str, str] = Field(default_factory=dict)
    max_rows: int = 10_000
    allow_row_level: bool = False
    dp: DPConfig = DPConfig()


class AgreementTerms(Strict):
    title: ShortText
    term_start: date
    term_end: date = Field(description="the last day of the term; at most 3 years after term_start (A16)")
    content: AgreementContent
    scope: dict[str, ScopeIn] = Field(min_length=1, max_length=100, description="dataset -> terms")


class AgreementCreate(AgreementTerms):
    plan_id: str = Field(min_length=1, max_length=32)
    selection_id: str = Field(min_length=1, max_length=32)


class AgreementChange(AgreementTerms):
    reason: Text


class Filing(Strict):
    reference: ShortText = Field(description="the data authority's filing number")
    accept_late: bool = Field(default=False, description="accept a filing submitted after the deadline")
    reason: str = Field(default="", max_length=2000, description="required when accepting late")


class Termination(Strict):
    reason: Literal[
        "expiry",
        "operator_request",
        "breach",
        "security_hazard",
        "unqualified_evaluation",
        "policy_change",
        "other_violation",
    ]
    detail: str = Field(default="", max_length=2000)


class AgreementPublic(BaseModel):
    protection: dict[str, list[ColumnProtectionPublic]] | None = Field(
        default=None, description="per scope dataset, each column's effective protection (A2, A35)"
    )
    id: str
    plan_id: str
    plan_version: int
    selection_id: str
    operator_org_id: str
    state: str
    version: int
    title: str
    term_start: date
    term_end: date
    content: dict[str, str]
    scope: dict[str, dict[str, Any]]
    signed_on: date | None
    filing_due: date | None
    deadline_provisional: bool = False
    filed_on: date | None
    filing_reference: str
    filing_overdue: bool
    filed_late: bool
    terminated_on: date | None
    termination_reason: str | None
    termination_detail: str


class AgreementResult(BaseModel):
    agreement: AgreementPublic
    grants: list[GrantPublic]


# --- schemas: products, quality, annual ---------------------------------------------------------------------

Money = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=2)]


class PricingIn(Strict):
    mode: Literal["free", "conditionally_free", "government_guided"]
    conditions: str = Field(default="", max_length=2000)
    permitted_cost: Money | None = Field(default=None, description="yuan; government-guided prices only")
    reasonable_return: Money | None = Field(default=None, description="yuan; government-guided prices only")


class ProductCreate(Strict):
    agreement_id: str = Field(min_length=1, max_length=32)
    name: ShortText
    kind: Literal["dataset", "model", "component", "interface", "service", "report"]
    description: str = Field(default="", max_length=5000)
    product_class: Literal["public_good", "industry"]
    pricing: PricingIn
    source_jobs: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        min_length=1, max_length=100
    )


class EntityCreate(Strict):
    organization_id: str | None = Field(
        default=None, max_length=200, description="the business entity (default: the caller's organization)"
    )
    purpose: str = Field(default="", max_length=2000)


class ProductPublic(BaseModel):
    id: str
    agreement_id: str
    operator_org_id: str
    name: str
    kind: str
    description: str
    product_class: str
    pricing: str
    conditions: str
    permitted_cost: str | None
    reasonable_return: str | None
    price: str
    source_jobs: list[str]
    state: str
    business_entities: list[str]
    registration: str


class IssueCreate(Strict):
    dataset: str = Field(min_length=1, max_length=63)
    table: str | None = Field(default=None, max_length=63)
    column: str | None = Field(default=None, max_length=63)
    category: Literal["accuracy", "completeness", "consistency", "timeliness", "validity", "other"]
    description: Text


class Answer(Strict):
    answer: Text


class Outcome(Strict):
    outcome: Text


class DisputeCreate(Strict):
    against: str = Field(min_length=1, max_length=200, description="the other organization (id or name)")
    subject: Literal["supply", "quality"]
    description: Text


class DisputeRaise(Strict):
    description: Text


class IssuePublic(BaseModel):
    id: str
    dataset: str
    table: str | None
    column: str | None
    reporter_org_id: str
    source_org_id: str
    category: str
    description: str
    state: str
    reported_on: date
    answer_due: date
    overdue: bool
    deadline_provisional: bool = False
    answer: str
    answered_on: date | None
    outcome: str


class DisputePublic(BaseModel):
    id: str
    quality_issue_id: str | None
    raised_by_org_id: str
    against_org_id: str
    subject: str
    description: str
    state: str
    raised_on: date
    coordination_due: date
    overdue: bool
    deadline_provisional: bool = False
    outcome: str
    closed_on: date | None


class ReportContent(Strict):
    processing: Text
    analysis: Text
    fusion: Text
    market_operation: Text
    data_usage: Text


class ReportCreate(Strict):
    year: int = Field(ge=2000, le=2200)
    content: ReportContent
    cost: Money = Field(description="yuan (A37)")
    revenue: Money
    expenditure: Money


class ReportPublic(BaseModel):
    id: str
    agreement_id: str
    year: int
    content: dict[str, str]
    cost: str
    revenue: str
    expenditure: str
    submitted_on: date


class Findings(Strict):
    execution: Text
    product_effect: Text
    security: Text


class EvaluationCreate(Strict):
    year: int = Field(ge=2000, le=2200)
    result: Literal["excellent", "qualified", "unqualified"]
    findings: Findings


class EvaluationPublic(BaseModel):
    id: str
    agreement_id: str
    year: int
    result: str
    findings: dict[str, str]
    evaluated_on: date
    termination_offer: dict[str, str] | None


# --- conversions --------------------------------------------------------------------------------------------


def _plan(plan: plans.Plan) -> PlanPublic:
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


def _selection(s: plans.Selection) -> SelectionPublic:
    return SelectionPublic(
        id=s.id,
        plan_id=s.plan_id,
        operator_org_id=s.operator_org_id,
        method=s.method,
        checks=dict(s.checks),
        notes=s.notes,
        selected_on=s.selected_on,
    )


def _agreement(a: agreements.Agreement, today: date) -> AgreementPublic:
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


def _terms(body: AgreementTerms) -> agreements.Terms:
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


def _fen(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * 100)


def _product(session: Session, ctx: AppContext, p: products.Product) -> ProductPublic:
    shown = annual.public_product(p, _org_name(session))
    verdict = _product_registration(session, ctx, p.id)
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


def _issue(i: quality.Issue, today: date) -> IssuePublic:
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


def _dispute(d: quality.Dispute, today: date) -> DisputePublic:
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


def _report(r: annual.Report) -> ReportPublic:
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


def _evaluation(e: annual.Evaluation) -> EvaluationPublic:
    return EvaluationPublic(
        id=e.id,
        agreement_id=e.agreement_id,
        year=e.year,
        result=e.result,
        findings=dict(e.findings),
        evaluated_on=e.evaluated_on,
        termination_offer=e.termination_offer,
    )


# --- wiring -------------------------------------------------------------------------------------------------


def registration_of(session: Session, ctx: AppContext) -> Callable[[str], Verdict]:
    """The registry's verdict on a dataset today (A9), handed to the agreement service."""
    today = ctx.clock.today()
    return lambda name: dataset_registration(session, name, today)


def _product_registration(session: Session, ctx: AppContext, product_id: str) -> Verdict:
    from registry.service import product_registration

    return product_registration(session, product_id, ctx.clock.today())


def _org_name(session: Session) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def name(org_id: str) -> str:
        if org_id not in cache:
            cache[org_id] = identity.get_organization(session, org_id).name
        return cache[org_id]

    return name


def _catalog_for(session: Session, datasets) -> tuple[dict[str, str], Any]:
    """Dataset ids and the catalog snapshot for the scope; an unknown dataset is a 422 naming the field."""
    ids = {}
    for name in datasets:
        try:
            ids[name] = catalog_service.get_dataset(session, name).id
        except NotFound:
            raise InvalidInput("the scope names a dataset that is not in the catalog", field="scope")
    return ids, catalog_service.snapshot(session, set(ids))


def _operator_org(session: Session, ref: str) -> identity.Organization:
    try:
        org = identity.get_organization(session, ref)
    except NotFound:
        raise InvalidInput("no such organization", field="organization_id")
    if org.kind is not OrgKind.operator:
        raise InvalidInput("authorizations are given to operator organizations only", field="organization_id")
    return org


def _visible_agreement(session: Session, principal: Principal, agreement_id: str) -> agreements.Agreement:
    agreement = agreements.load(session, agreement_id)
    if (
        principal.has_role(Role.implementer, Role.supervisor)
        or agreement.operator_org_id == principal.organization_id
    ):
        return agreement
    raise Forbidden("this agreement belongs to another organization")


# --- plans (A4, A10-A13) ------------------------------------------------------------------------------------


@router.post(f"{OP}/plans", response_model=PlanPublic, status_code=201)
def create_plan(body: PlanCreate, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        _catalog_for(session, body.content.datasets)
        plan = plans.create(
            session,
            name=body.name,
            mode=body.mode,
            mode_scope=body.mode_scope,
            content=body.content.model_dump(),
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(session, ctx, principal, "operation.plan.created", "operation_plan", plan.id, mode=plan.mode)
        return _plan(plan)


@router.get(f"{OP}/plans", response_model=list[PlanPublic])
def list_plans(ctx: Ctx, _: Reader) -> list[PlanPublic]:
    with ctx.uow() as session:
        return [_plan(p) for p in plans.list_plans(session)]


@router.get(f"{OP}/plans/{{plan_id}}", response_model=PlanPublic)
def get_plan(plan_id: str, ctx: Ctx, _: Reader) -> PlanPublic:
    with ctx.uow() as session:
        plan = plans.load(session, plan_id)
        return _plan(plan).model_copy(
            update={"protection": plan_protections(session, plan.content["datasets"])}
        )


@router.patch(f"{OP}/plans/{{plan_id}}", response_model=PlanPublic)
def edit_plan(plan_id: str, body: PlanEdit, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        if body.content is not None:
            _catalog_for(session, body.content.datasets)
        plan = plans.edit(
            session,
            plan_id,
            name=body.name,
            mode=body.mode,
            mode_scope=body.mode_scope,
            content=body.content.model_dump() if body.content else None,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.plan.edited",
            "operation_plan",
            plan.id,
            fields=sorted(body.model_dump(exclude_none=True)),
        )
        return _plan(plan)


@router.post(f"{OP}/plans/{{plan_id}}/submit", response_model=PlanPublic)
def submit_plan(plan_id: str, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        plan = plans.submit(session, plan_id, ctx.clock.now())
        emit(
            session,
            ctx,
            principal,
            "operation.plan.submitted",
            "operation_plan",
            plan.id,
            version=plan.current_version,
        )
        return _plan(plan)


@router.post(f"{OP}/plans/{{plan_id}}/reviews", response_model=PlanPublic, status_code=201)
def add_review(plan_id: str, body: ReviewCreate, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        plan = plans.add_review(
            session, plan_id, **body.model_dump(), actor_id=principal.user_id, now=ctx.clock.now()
        )
        emit(
            session,
            ctx,
            principal,
            "operation.plan.reviewed",
            "operation_plan",
            plan.id,
            version=plan.current_version,
            compliance=body.compliance,
            feasibility=body.feasibility,
            security_risk=body.security_risk,
        )
        return _plan(plan)


@router.post(f"{OP}/plans/{{plan_id}}/conclusion", response_model=PlanPublic)
def conclude_plan(plan_id: str, body: Conclusion, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        plan = plans.conclude(
            session, plan_id, conclusion=body.conclusion, reason=body.reason, now=ctx.clock.now()
        )
        emit(
            session,
            ctx,
            principal,
            "operation.plan.concluded",
            "operation_plan",
            plan.id,
            version=plan.current_version,
            conclusion=body.conclusion,
            state=plan.state,
        )
        return _plan(plan)


@router.post(f"{OP}/plans/{{plan_id}}/approve", response_model=PlanPublic)
def approve_plan(plan_id: str, body: Approval, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        plan = plans.approve(
            session, plan_id, reference=body.reference, today=ctx.clock.today(), now=ctx.clock.now()
        )
        emit(
            session,
            ctx,
            principal,
            "operation.plan.approved",
            "operation_plan",
            plan.id,
            version=plan.approved_version,
        )
        return _plan(plan)


@router.post(f"{OP}/plans/{{plan_id}}/reject", response_model=PlanPublic)
def reject_plan(plan_id: str, body: Reason, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        plan = plans.reject(session, plan_id, reason=body.reason, now=ctx.clock.now())
        emit(
            session,
            ctx,
            principal,
            "operation.plan.rejected",
            "operation_plan",
            plan.id,
            version=plan.current_version,
            state=plan.state,
        )
        return _plan(plan)


@router.post(f"{OP}/plans/{{plan_id}}/changes", response_model=PlanPublic)
def change_plan(plan_id: str, body: MajorChange, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        _catalog_for(session, body.content.datasets)
        plan = plans.major_change(
            session,
            plan_id,
            content=body.content.model_dump(),
            reason=body.reason,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.plan.major_change",
            "operation_plan",
            plan.id,
            version=plan.current_version,
        )
        return _plan(plan)


@router.post(f"{OP}/plans/{{plan_id}}/selections", response_model=SelectionPublic, status_code=201)
def select_operator(plan_id: str, body: SelectionCreate, ctx: Ctx, principal: Implementer) -> SelectionPublic:
    with ctx.uow() as session:
        org = _operator_org(session, body.organization_id)
        selection = plans.select_operator(
            session,
            plan_id,
            operator_org_id=org.id,
            method=body.method,
            checks=body.checks.model_dump(),
            notes=body.notes,
            actor_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.operator.selected",
            "operation_selection",
            selection.id,
            plan_id=plan_id,
            organization_id=org.id,
            method=body.method,
        )
        return _selection(selection)


@router.get(f"{OP}/plans/{{plan_id}}/selections", response_model=list[SelectionPublic])
def list_selections(plan_id: str, ctx: Ctx, _: Overseer) -> list[SelectionPublic]:
    with ctx.uow() as session:
        return [_selection(s) for s in plans.selections(session, plan_id)]


# --- agreements (A9, A16-A18, A23-A24) ----------------------------------------------------------------------


@router.post(f"{OP}/agreements", response_model=AgreementPublic, status_code=201)
def create_agreement(body: AgreementCreate, ctx: Ctx, principal: Implementer) -> AgreementPublic:
    with ctx.uow() as session:
        _, catalog = _catalog_for(session, body.scope)
        agreement = agreements.create(
            session,
            plan_id=body.plan_id,
            selection_id=body.selection_id,
            terms=_terms(body),
            catalog=catalog,
            grants=grants,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.created",
            "operation_agreement",
            agreement.id,
            plan_id=agreement.plan_id,
            organization_id=agreement.operator_org_id,
            datasets=sorted(agreement.scope),
        )
        return _agreement(agreement, ctx.clock.today())


@router.get(f"{OP}/agreements", response_model=list[AgreementPublic])
def list_agreements(ctx: Ctx, principal: Reader) -> list[AgreementPublic]:
    owner = None if principal.has_role(Role.implementer, Role.supervisor) else principal.organization_id
    with ctx.uow() as session:
        return [_agreement(a, ctx.clock.today()) for a in agreements.list_agreements(session, owner)]


@router.get(f"{OP}/agreements/overdue-filings", response_model=list[AgreementPublic])
def overdue_filings(ctx: Ctx, _: Overseer) -> list[AgreementPublic]:
    """Signed agreements not filed within 5 PRC working days of signing (A17)."""
    today = ctx.clock.today()
    with ctx.uow() as session:
        return [_agreement(a, today) for a in agreements.overdue_filings(session, today)]


@router.post(f"{OP}/agreements/expire", response_model=list[str])
def expire_agreements(ctx: Ctx, principal: Implementer) -> list[str]:
    """Terminate (reason: expiry) filed agreements whose term has ended, revoking their grants (A23)."""
    with ctx.uow() as session:
        ended = agreements.expire_due(session, grants=grants, today=ctx.clock.today(), now=ctx.clock.now())
        for agreement_id in ended:
            emit(
                session,
                ctx,
                principal,
                "operation.agreement.terminated",
                "operation_agreement",
                agreement_id,
                reason="expiry",
            )
        return ended


@router.get(f"{OP}/agreements/{{agreement_id}}", response_model=AgreementPublic)
def get_agreement(agreement_id: str, ctx: Ctx, principal: Reader) -> AgreementPublic:
    with ctx.uow() as session:
        agreement = _visible_agreement(session, principal, agreement_id)
        view = _agreement(agreement, ctx.clock.today())
        return view.model_copy(update={"protection": scope_protections(session, agreement.scope)})


@router.get(f"{OP}/agreements/{{agreement_id}}/versions", response_model=list[AgreementPublic])
def agreement_versions(agreement_id: str, ctx: Ctx, principal: Reader) -> list[AgreementPublic]:
    with ctx.uow() as session:
        _visible_agreement(session, principal, agreement_id)
        return [_agreement(a, ctx.clock.today()) for a in agreements.versions(session, agreement_id)]


@router.get(f"{OP}/agreements/{{agreement_id}}/grants", response_model=list[GrantPublic])
def agreement_grants(agreement_id: str, ctx: Ctx, principal: Reader) -> list[GrantPublic]:
    with ctx.uow() as session:
        _visible_agreement(session, principal, agreement_id)
        return [grant_public(g) for g in agreements.grants_of(session, agreement_id, grants=grants)]


@router.put(f"{OP}/agreements/{{agreement_id}}", response_model=AgreementPublic)
def edit_agreement(
    agreement_id: str, body: AgreementTerms, ctx: Ctx, principal: Implementer
) -> AgreementPublic:
    with ctx.uow() as session:
        _, catalog = _catalog_for(session, body.scope)
        agreement = agreements.edit(
            session, agreement_id, terms=_terms(body), catalog=catalog, grants=grants, now=ctx.clock.now()
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.edited",
            "operation_agreement",
            agreement.id,
            datasets=sorted(agreement.scope),
        )
        return _agreement(agreement, ctx.clock.today())


@router.post(f"{OP}/agreements/{{agreement_id}}/sign", response_model=AgreementPublic)
def sign_agreement(agreement_id: str, ctx: Ctx, principal: Implementer) -> AgreementPublic:
    with ctx.uow() as session:
        agreement = agreements.sign(
            session,
            agreement_id,
            registration=registration_of(session, ctx),
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.signed",
            "operation_agreement",
            agreement.id,
            filing_due=agreement.filing_due.isoformat(),
        )
        return _agreement(agreement, ctx.clock.today())


@router.post(f"{OP}/agreements/{{agreement_id}}/abandon", response_model=AgreementPublic)
def abandon_agreement(agreement_id: str, body: Reason, ctx: Ctx, principal: Implementer) -> AgreementPublic:
    with ctx.uow() as session:
        agreement = agreements.abandon(session, agreement_id, reason=body.reason, now=ctx.clock.now())
        emit(session, ctx, principal, "operation.agreement.abandoned", "operation_agreement", agreement.id)
        return _agreement(agreement, ctx.clock.today())


@router.post(f"{OP}/agreements/{{agreement_id}}/file", response_model=AgreementResult)
def file_agreement(agreement_id: str, body: Filing, ctx: Ctx, principal: Filer) -> AgreementResult:
    """The data authority accepts the filing the implementer submitted (A17); the agreement's grants are
    created, one per dataset. A filing submitted late is accepted only with ``accept_late`` and a reason."""
    today = ctx.clock.today()
    with ctx.uow() as session:
        current = agreements.load(session, agreement_id)
        operation_requests.decide_filing(
            session,
            agreement_id,
            accept=True,
            accept_late=body.accept_late,
            reason=body.reason,
            user_id=principal.user_id,
            today=today,
            agreement_state=current.state,
        )
        ids, catalog = _catalog_for(session, current.scope)
        agreement, made = agreements.file(
            session,
            agreement_id,
            reference=body.reference,
            registration=registration_of(session, ctx),
            dataset_ids=ids,
            catalog=catalog,
            grants=grants,
            actor_id=principal.user_id,
            today=today,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.filed",
            "operation_agreement",
            agreement.id,
            late=agreement.filed_late,
            grants=[g.id for g in made],
        )
        for grant in made:
            emit(
                session,
                ctx,
                principal,
                "grant.created",
                "grant",
                grant.id,
                version=grant.version,
                organization_id=grant.organization_id,
                dataset=grant.dataset,
                agreement_id=agreement.id,
            )
        return AgreementResult(agreement=_agreement(agreement, today), grants=[grant_public(g) for g in made])


@router.post(f"{OP}/agreements/{{agreement_id}}/changes", response_model=AgreementResult)
def change_agreement(
    agreement_id: str, body: AgreementChange, ctx: Ctx, principal: Implementer
) -> AgreementResult:
    """A changed agreement writes new grant versions (the organization never changes, A18)."""
    with ctx.uow() as session:
        ids, catalog = _catalog_for(session, body.scope)
        agreement, touched = agreements.change(
            session,
            agreement_id,
            terms=_terms(body),
            reason=body.reason,
            registration=registration_of(session, ctx),
            dataset_ids=ids,
            catalog=catalog,
            grants=grants,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.changed",
            "operation_agreement",
            agreement.id,
            version=agreement.version,
            grants=[[g.id, g.version, g.status] for g in touched],
        )
        for grant in touched:
            kind = (
                "grant.revoked"
                if grant.status == "revoked"
                else ("grant.created" if grant.version == 1 else "grant.changed")
            )
            emit(
                session,
                ctx,
                principal,
                kind,
                "grant",
                grant.id,
                version=grant.version,
                agreement_id=agreement.id,
            )
        return AgreementResult(
            agreement=_agreement(agreement, ctx.clock.today()), grants=[grant_public(g) for g in touched]
        )


@router.post(f"{OP}/agreements/{{agreement_id}}/terminate", response_model=AgreementResult)
def terminate_agreement(
    agreement_id: str, body: Termination, ctx: Ctx, principal: Terminator
) -> AgreementResult:
    """End the agreement for an A23 reason; every grant of it is revoked at once (A24). The operator's own
    request goes through POST .../termination-requests, decided by the implementer."""
    with ctx.uow() as session:
        current = _visible_agreement(session, principal, agreement_id)
        agreement, revoked = agreements.terminate(
            session,
            current.id,
            reason=body.reason,
            detail=body.detail,
            grants=grants,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.agreement.terminated",
            "operation_agreement",
            agreement.id,
            reason=body.reason,
            grants=[g.id for g in revoked],
        )
        for grant in revoked:
            emit(
                session,
                ctx,
                principal,
                "grant.revoked",
                "grant",
                grant.id,
                version=grant.version,
                agreement_id=agreement.id,
                reason=body.reason,
            )
        return AgreementResult(
            agreement=_agreement(agreement, ctx.clock.today()), grants=[grant_public(g) for g in revoked]
        )


# --- annual cycle (A37-A39) ---------------------------------------------------------------------------------


@router.post(f"{OP}/agreements/{{agreement_id}}/reports", response_model=ReportPublic, status_code=201)
def submit_report(
    agreement_id: str, body: ReportCreate, ctx: Ctx, principal: VerifiedOperator
) -> ReportPublic:
    with ctx.uow() as session:
        agreement = _visible_agreement(session, principal, agreement_id)
        report = annual.submit_report(
            session,
            agreement.id,
            year=body.year,
            content=body.content.model_dump(),
            cost_fen=_fen(body.cost),
            revenue_fen=_fen(body.revenue),
            expenditure_fen=_fen(body.expenditure),
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
        return _report(report)


@router.get(f"{OP}/agreements/{{agreement_id}}/reports", response_model=list[ReportPublic])
def list_reports(agreement_id: str, ctx: Ctx, principal: Reader) -> list[ReportPublic]:
    with ctx.uow() as session:
        _visible_agreement(session, principal, agreement_id)
        return [_report(r) for r in annual.reports(session, agreement_id)]


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
        return _evaluation(evaluation)


@router.get(f"{OP}/agreements/{{agreement_id}}/evaluations", response_model=list[EvaluationPublic])
def list_evaluations(agreement_id: str, ctx: Ctx, principal: Reader) -> list[EvaluationPublic]:
    with ctx.uow() as session:
        _visible_agreement(session, principal, agreement_id)
        return [_evaluation(e) for e in annual.evaluations(session, agreement_id)]


# --- products (A3, A21, A28, A29) ---------------------------------------------------------------------------


@router.post(f"{OP}/products", response_model=ProductPublic, status_code=201)
def create_product(body: ProductCreate, ctx: Ctx, principal: VerifiedOperator) -> ProductPublic:
    with ctx.uow() as session:
        agreement = _visible_agreement(session, principal, body.agreement_id)
        if agreement.state != "filed":
            raise InvalidInput("products are built under an agreement in force (filed)", field="agreement_id")
        for job_id in body.source_jobs:
            try:
                job = sandbox_jobs.get(session, job_id)
            except NotFound:
                job = None
            if job is None or job.organization_id != principal.organization_id or job.state != "succeeded":
                raise InvalidInput(
                    "every source job must be a released (succeeded) job of your organization",
                    field="source_jobs",
                )
        pricing = products.Pricing(
            body.pricing.mode,
            body.pricing.conditions,
            _fen(body.pricing.permitted_cost),
            _fen(body.pricing.reasonable_return),
        )
        product = products.create(
            session,
            agreement_id=agreement.id,
            operator_org_id=principal.organization_id,
            name=body.name,
            kind=body.kind,
            description=body.description,
            product_class=body.product_class,
            pricing=pricing,
            source_jobs=body.source_jobs,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.product.listed",
            "operation_product",
            product.id,
            agreement_id=agreement.id,
            product_kind=product.kind,
            product_class=product.product_class,
            pricing=product.pricing.mode,
            price_fen=product.price_fen,
            source_jobs=list(product.source_jobs),
        )
        return _product(session, ctx, product)


@router.get(f"{OP}/products", response_model=list[ProductPublic])
def list_products(ctx: Ctx, principal: Reader) -> list[ProductPublic]:
    owner = None if principal.has_role(Role.implementer, Role.supervisor) else principal.organization_id
    with ctx.uow() as session:
        return [_product(session, ctx, p) for p in products.list_products(session, operator_org_id=owner)]


@router.get(f"{OP}/products/{{product_id}}", response_model=ProductPublic)
def get_product(product_id: str, ctx: Ctx, _: Reader) -> ProductPublic:
    with ctx.uow() as session:
        return _product(session, ctx, products.load(session, product_id))


@router.post(f"{OP}/products/{{product_id}}/withdraw", response_model=ProductPublic)
def withdraw_product(product_id: str, ctx: Ctx, principal: VerifiedOperator) -> ProductPublic:
    with ctx.uow() as session:
        if products.load(session, product_id).operator_org_id != principal.organization_id:
            raise Forbidden("only the operator that listed the product may withdraw it")
        product = products.withdraw(session, product_id, ctx.clock.now())
        emit(session, ctx, principal, "operation.product.withdrawn", "operation_product", product.id)
        return _product(session, ctx, product)


@router.post(f"{OP}/products/{{product_id}}/entities", response_model=ProductPublic, status_code=201)
def add_entity(product_id: str, body: EntityCreate, ctx: Ctx, principal: VerifiedOperator) -> ProductPublic:
    """Register a business entity re-developing the product (A21). The delivering operator may name another
    organization; any other operator registers itself."""
    with ctx.uow() as session:
        product = products.load(session, product_id)
        if body.organization_id is None:
            entity = principal.organization_id
        else:
            entity = _operator_org(session, body.organization_id).id
            if entity != principal.organization_id and principal.organization_id != product.operator_org_id:
                raise Forbidden("a business entity registers itself", field="organization_id")
        product = products.add_entity(
            session,
            product_id,
            organization_id=entity,
            related=identity.affiliations_of(session, product.operator_org_id),
            purpose=body.purpose,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.product.entity_registered",
            "operation_product",
            product.id,
            organization_id=entity,
        )
        return _product(session, ctx, product)


# --- quality feedback and disputes (A32-A33) ----------------------------------------------------------------


def _visible_issue(session: Session, principal: Principal, issue_id: str) -> quality.Issue:
    item = quality.issue(session, issue_id)
    if principal.has_role(Role.supervisor, Role.implementer) or principal.organization_id in (
        item.reporter_org_id,
        item.source_org_id,
    ):
        return item
    raise Forbidden("this quality issue concerns other organizations")


@router.post(f"{OP}/quality/issues", response_model=IssuePublic, status_code=201)
def report_issue(body: IssueCreate, ctx: Ctx, principal: VerifiedOperator) -> IssuePublic:
    today = ctx.clock.today()
    with ctx.uow() as session:
        try:
            dataset = catalog_service.get_dataset(session, body.dataset)
            if body.table is not None:
                table = catalog_service.get_table(session, dataset, body.table)
                if body.column is not None and not any(
                    c.name == body.column for c in catalog_service.columns_of(session, table)
                ):
                    raise InvalidInput("the table has no such column", field="column")
        except NotFound as error:
            raise InvalidInput(
                "no such dataset or table in the catalog", field=error.details.get("field", "dataset")
            )
        item = quality.report(
            session,
            dataset=dataset.name,
            table=body.table,
            column=body.column,
            reporter_org_id=principal.organization_id,
            source_org_id=dataset.source_org_id,
            category=body.category,
            description=body.description,
            today=today,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.quality.reported",
            "quality_issue",
            item.id,
            dataset=item.dataset,
            table=item.table,
            column=item.column,
            answer_due=item.answer_due.isoformat(),
        )
        return _issue(item, today)


@router.get(f"{OP}/quality/issues", response_model=list[IssuePublic])
def list_issues(
    ctx: Ctx,
    principal: Participant,
    overdue: Annotated[bool, Query(description="only open issues past their deadline")] = False,
) -> list[IssuePublic]:
    today = ctx.clock.today()
    owner = None if principal.has_role(Role.supervisor, Role.implementer) else principal.organization_id
    with ctx.uow() as session:
        return [
            _issue(i, today)
            for i in quality.list_issues(
                session, organization_id=owner, overdue_on=today if overdue else None
            )
        ]


@router.get(f"{OP}/quality/issues/{{issue_id}}", response_model=IssuePublic)
def get_issue(issue_id: str, ctx: Ctx, principal: Participant) -> IssuePublic:
    with ctx.uow() as session:
        return _issue(_visible_issue(session, principal, issue_id), ctx.clock.today())


@router.post(f"{OP}/quality/issues/{{issue_id}}/answer", response_model=IssuePublic)
def answer_issue(issue_id: str, body: Answer, ctx: Ctx, principal: SourceDept) -> IssuePublic:
    today = ctx.clock.today()
    with ctx.uow() as session:
        if quality.issue(session, issue_id).source_org_id != principal.organization_id:
            raise Forbidden("only the source department of the dataset answers")
        item = quality.answer(session, issue_id, text=body.answer, today=today, now=ctx.clock.now())
        emit(
            session,
            ctx,
            principal,
            "operation.quality.answered",
            "quality_issue",
            item.id,
            late=today > item.answer_due,
        )
        return _issue(item, today)


def _reporter_only(session: Session, principal: Principal, issue_id: str) -> None:
    if quality.issue(session, issue_id).reporter_org_id != principal.organization_id:
        raise Forbidden("only the reporting organization may do this")


@router.post(f"{OP}/quality/issues/{{issue_id}}/accept", response_model=IssuePublic)
def accept_answer(issue_id: str, ctx: Ctx, principal: VerifiedOperator) -> IssuePublic:
    with ctx.uow() as session:
        _reporter_only(session, principal, issue_id)
        item = quality.accept(session, issue_id, now=ctx.clock.now())
        emit(
            session, ctx, principal, "operation.quality.closed", "quality_issue", item.id, outcome="accepted"
        )
        return _issue(item, ctx.clock.today())


@router.post(f"{OP}/quality/issues/{{issue_id}}/dispute", response_model=DisputePublic, status_code=201)
def dispute_answer(issue_id: str, body: DisputeRaise, ctx: Ctx, principal: VerifiedOperator) -> DisputePublic:
    today = ctx.clock.today()
    with ctx.uow() as session:
        _reporter_only(session, principal, issue_id)
        item = quality.dispute_answer(
            session, issue_id, description=body.description, today=today, now=ctx.clock.now()
        )
        emit(
            session,
            ctx,
            principal,
            "operation.dispute.raised",
            "dispute",
            item.id,
            quality_issue_id=issue_id,
            subject=item.subject,
        )
        return _dispute(item, today)


@router.post(f"{OP}/quality/issues/{{issue_id}}/escalate", response_model=IssuePublic)
def escalate_issue(issue_id: str, ctx: Ctx, principal: Reporter) -> IssuePublic:
    today = ctx.clock.today()
    with ctx.uow() as session:
        if not principal.has_role(Role.supervisor):
            _reporter_only(session, principal, issue_id)
        item = quality.escalate(session, issue_id, today=today, now=ctx.clock.now())
        emit(
            session,
            ctx,
            principal,
            "operation.quality.escalated",
            "quality_issue",
            item.id,
            answer_due=item.answer_due.isoformat(),
        )
        return _issue(item, today)


@router.post(f"{OP}/quality/escalations", response_model=list[str])
def escalate_overdue(ctx: Ctx, principal: Supervisor) -> list[str]:
    """Escalate every open issue past its deadline to the data authority (A32)."""
    with ctx.uow() as session:
        ids = quality.escalate_overdue(session, today=ctx.clock.today(), now=ctx.clock.now())
        for issue_id in ids:
            emit(session, ctx, principal, "operation.quality.escalated", "quality_issue", issue_id)
        return ids


@router.post(f"{OP}/quality/issues/{{issue_id}}/resolve", response_model=IssuePublic)
def resolve_issue(issue_id: str, body: Outcome, ctx: Ctx, principal: Supervisor) -> IssuePublic:
    with ctx.uow() as session:
        item = quality.resolve(session, issue_id, outcome=body.outcome, now=ctx.clock.now())
        emit(
            session, ctx, principal, "operation.quality.closed", "quality_issue", item.id, outcome="resolved"
        )
        return _issue(item, ctx.clock.today())


@router.post(f"{OP}/disputes", response_model=DisputePublic, status_code=201)
def raise_dispute(body: DisputeCreate, ctx: Ctx, principal: Party) -> DisputePublic:
    """A supply or quality dispute between an operator and a source department (A33)."""
    today = ctx.clock.today()
    with ctx.uow() as session:
        try:
            other = identity.get_organization(session, body.against)
        except NotFound:
            raise InvalidInput("no such organization", field="against")
        kinds = {principal.organization_kind, other.kind}
        if kinds != {OrgKind.operator, OrgKind.data_source}:
            raise InvalidInput(
                "a dispute is between an operator and a source department (A33)", field="against"
            )
        item = quality.raise_dispute(
            session,
            raised_by_org_id=principal.organization_id,
            against_org_id=other.id,
            subject=body.subject,
            description=body.description,
            quality_issue_id=None,
            today=today,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.dispute.raised",
            "dispute",
            item.id,
            subject=item.subject,
            against=other.id,
        )
        return _dispute(item, today)


@router.get(f"{OP}/disputes", response_model=list[DisputePublic])
def list_disputes(ctx: Ctx, principal: Participant) -> list[DisputePublic]:
    owner = None if principal.has_role(Role.supervisor, Role.implementer) else principal.organization_id
    with ctx.uow() as session:
        return [_dispute(d, ctx.clock.today()) for d in quality.list_disputes(session, organization_id=owner)]


@router.post(f"{OP}/disputes/{{dispute_id}}/coordinate", response_model=DisputePublic)
def coordinate_dispute(dispute_id: str, body: Outcome, ctx: Ctx, principal: Supervisor) -> DisputePublic:
    today = ctx.clock.today()
    with ctx.uow() as session:
        item = quality.coordinate(session, dispute_id, outcome=body.outcome, today=today, now=ctx.clock.now())
        emit(session, ctx, principal, "operation.dispute.resolved", "dispute", item.id)
        return _dispute(item, today)


@router.post(f"{OP}/disputes/{{dispute_id}}/escalate", response_model=DisputePublic)
def escalate_dispute(dispute_id: str, body: Reason, ctx: Ctx, principal: Supervisor) -> DisputePublic:
    with ctx.uow() as session:
        item = quality.escalate_dispute(session, dispute_id, reason=body.reason, now=ctx.clock.now())
        emit(session, ctx, principal, "operation.dispute.escalated", "dispute", item.id)
        return _dispute(item, ctx.clock.today())


@router.post(f"{OP}/disputes/{{dispute_id}}/decide", response_model=DisputePublic)
def decide_dispute(dispute_id: str, body: Outcome, ctx: Ctx, principal: Supervisor) -> DisputePublic:
    today = ctx.clock.today()
    with ctx.uow() as session:
        item = quality.decide(session, dispute_id, outcome=body.outcome, today=today, now=ctx.clock.now())
        emit(session, ctx, principal, "operation.dispute.decided", "dispute", item.id)
        return _dispute(item, today)


# --- public disclosures (A25, A26, A28), anonymous ----------------------------------------------------------


@router.get("/public/operation/disclosures/{year}")
def annual_disclosure(year: Annotated[int, Path(ge=2000, le=2200)], ctx: Ctx, _: Public) -> dict[str, Any]:
    """The annual disclosure of authorizations (operator, content, scope, time limits) and of each operator's
    products and data usage (A25, A28), generated from the records."""
    with ctx.uow() as session:
        body = annual.disclosure(session, year, _org_name(session))
        # k-only exceptions to the grade-driven defaults are disclosed with their justification (A2, A35)
        body["k_only_exceptions"] = [
            e.model_dump() for e in disclosed_exceptions(session, year, _org_name(session))
        ]
        return body


@router.get("/public/operation/products")
def public_products(ctx: Ctx, _: Public) -> list[dict[str, Any]]:
    """The product and service list of every operator (A28), with its class and price (A29)."""
    with ctx.uow() as session:
        names = _org_name(session)
        return [annual.public_product(p, names) for p in products.list_products(session, state="listed")]


@router.get("/public/operation/catalog")
def operation_catalog(ctx: Ctx, _: Public) -> list[dict[str, Any]]:
    """The authorized-operation catalog (A26): datasets under agreements in force, with their operators and the
    business entities re-developing their products; updated as agreements and products change."""
    with ctx.uow() as session:
        names = _org_name(session)
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
