"""Authorized-operation tables (Annex 2): plans and their versions, expert reviews, operator selections,
operating agreements and their versions, products, business entities, quality issues, disputes, annual
reports and evaluations.

Structured contents (the 11 plan contents of A10, the 12 agreement contents of A16, the data scope) are JSON
text, like the grant rules. Money is kept in fen (integer hundredths of a yuan), never floats. Source jobs of a
product are job ids without a foreign key (the jobs table belongs to the sandbox room).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import Base, UTCDateTime, new_id


class PlanRow(Base):
    __tablename__ = "operation_plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(20))  # whole | domain | scenario (A4)
    mode_scope: Mapped[str] = mapped_column(String(200), default="")  # the domain or scenario
    state: Mapped[str] = mapped_column(String(20))  # see operation.plans.TRANSITIONS
    current_version: Mapped[int] = mapped_column(Integer)
    approved_version: Mapped[int | None] = mapped_column(Integer)  # the version in force, if any
    state_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlanVersionRow(Base):
    __tablename__ = "operation_plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version", name="plan_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(ForeignKey("operation_plans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)  # JSON: the 11 contents of A10
    change_reason: Mapped[str] = mapped_column(Text, default="")
    conclusion: Mapped[str | None] = mapped_column(String(20))  # feasible | infeasible (expert committee)
    conclusion_reason: Mapped[str] = mapped_column(Text, default="")
    approved_on: Mapped[date | None] = mapped_column(Date)
    approval_reference: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExpertReviewRow(Base):
    __tablename__ = "operation_expert_reviews"
    __table_args__ = (UniqueConstraint("plan_id", "plan_version", "expert_name", name="plan_expert"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(ForeignKey("operation_plans.id"), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    expert_name: Mapped[str] = mapped_column(String(100))
    expert_affiliation: Mapped[str] = mapped_column(String(200))
    compliance: Mapped[str] = mapped_column(String(20))  # pass | concern | fail
    feasibility: Mapped[str] = mapped_column(String(20))  # pass | concern | fail
    security_risk: Mapped[str] = mapped_column(String(20))  # low | medium | high
    opinion: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SelectionRow(Base):
    __tablename__ = "operation_selections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(ForeignKey("operation_plans.id"), index=True)
    operator_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # open_tender | invited_tender | negotiation (A14)
    checks: Mapped[str] = mapped_column(Text)  # JSON {check: true} — all of A14-A15 must hold
    notes: Mapped[str] = mapped_column(Text, default="")
    selected_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AgreementRow(Base):
    __tablename__ = "operation_agreements"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(ForeignKey("operation_plans.id"), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    selection_id: Mapped[str] = mapped_column(ForeignKey("operation_selections.id"))
    # Fixed at creation: no code path changes it, so an authorization cannot be transferred (A18).
    operator_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))  # see operation.agreements.TRANSITIONS
    current_version: Mapped[int] = mapped_column(Integer)
    signed_on: Mapped[date | None] = mapped_column(Date)
    filing_due: Mapped[date | None] = mapped_column(Date)
    filed_on: Mapped[date | None] = mapped_column(Date)
    filing_reference: Mapped[str] = mapped_column(String(200), default="")
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(String(40))
    termination_detail: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AgreementVersionRow(Base):
    __tablename__ = "operation_agreement_versions"
    __table_args__ = (UniqueConstraint("agreement_id", "version", name="agreement_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("operation_agreements.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)  # last day of the term, at most 3 years (A16)
    content: Mapped[str] = mapped_column(Text)  # JSON: the 12 contents of A16
    scope: Mapped[str] = mapped_column(Text)  # JSON {dataset: grant terms without the window}
    change_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProductRow(Base):
    __tablename__ = "operation_products"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("operation_agreements.id"), index=True)
    operator_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(
        String(20)
    )  # dataset | model | component | interface | service | report
    description: Mapped[str] = mapped_column(Text, default="")
    product_class: Mapped[str] = mapped_column(String(20))  # public_good | industry (A10, A29)
    pricing: Mapped[str] = mapped_column(String(30))  # free | conditionally_free | government_guided
    price_conditions: Mapped[str] = mapped_column(Text, default="")
    permitted_cost_fen: Mapped[int | None] = mapped_column(BigInteger)
    reasonable_return_fen: Mapped[int | None] = mapped_column(BigInteger)
    price_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    source_jobs: Mapped[str] = mapped_column(Text)  # JSON list of job ids (lineage to the audit log)
    state: Mapped[str] = mapped_column(String(20))  # listed | withdrawn
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BusinessEntityRow(Base):
    __tablename__ = "operation_business_entities"
    __table_args__ = (UniqueConstraint("product_id", "organization_id", name="product_entity"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    product_id: Mapped[str] = mapped_column(ForeignKey("operation_products.id"), index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text, default="")
    registered_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QualityIssueRow(Base):
    __tablename__ = "operation_quality_issues"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    dataset: Mapped[str] = mapped_column(String(63), index=True)
    table_name: Mapped[str | None] = mapped_column(String(63))
    column_name: Mapped[str | None] = mapped_column(String(63))
    reporter_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    source_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    category: Mapped[str] = mapped_column(
        String(20)
    )  # accuracy | completeness | consistency | timeliness | ...
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))  # see operation.quality.ISSUE_TRANSITIONS
    reported_on: Mapped[date] = mapped_column(Date)
    answer_due: Mapped[date] = mapped_column(Date)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DisputeRow(Base):
    __tablename__ = "operation_disputes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    quality_issue_id: Mapped[str | None] = mapped_column(
        ForeignKey("operation_quality_issues.id"), index=True
    )
    raised_by_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    against_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    subject: Mapped[str] = mapped_column(String(20))  # supply | quality
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))  # see operation.quality.DISPUTE_TRANSITIONS
    raised_on: Mapped[date] = mapped_column(Date)
    coordination_due: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text, default="")
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnnualReportRow(Base):
    __tablename__ = "operation_annual_reports"
    __table_args__ = (UniqueConstraint("agreement_id", "year", name="agreement_year"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("operation_agreements.id"), index=True)
    operator_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(
        Text
    )  # JSON: processing, analysis, fusion, market operation, usage (A38)
    cost_fen: Mapped[int] = mapped_column(BigInteger)  # A37
    revenue_fen: Mapped[int] = mapped_column(BigInteger)
    expenditure_fen: Mapped[int] = mapped_column(BigInteger)
    submitted_by: Mapped[str] = mapped_column(String(32))
    submitted_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EvaluationRow(Base):
    __tablename__ = "operation_evaluations"
    __table_args__ = (UniqueConstraint("agreement_id", "year", name="evaluation_year"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("operation_agreements.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(20))  # excellent | qualified | unqualified (A39)
    findings: Mapped[str] = mapped_column(Text)  # JSON: execution, product effect, security
    evaluated_by: Mapped[str] = mapped_column(String(32))
    evaluated_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
