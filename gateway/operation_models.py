"""The request and response models of the authorized-operation API (Annex 2), and the role aliases its routes
share. Request bodies forbid unknown fields: in particular no request can name a new organization for an
agreement or its grants — an authorization cannot be transferred (A18).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from common.types import Principal, Role
from gateway.auth import Implementer, require, require_verified
from gateway.grading_view import ColumnProtectionPublic
from gateway.routes.grants import DPConfig, GrantPublic

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
    organization_id: str = Field(max_length=200, description="the selected business entity (id or name)")
    purpose: str = Field(default="", max_length=2000)
    method: Literal["open_call", "invited", "negotiation"] = Field(
        description="how it was selected (Art. 21)"
    )
    basis: str = Field(min_length=1, max_length=2000, description="the basis of the selection, published")


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
