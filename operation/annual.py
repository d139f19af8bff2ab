"""The annual cycle: operator reports (A37-A38), evaluations (A39) and public disclosure (A25, A28).

Each full year the operator reports processing, analysis, fusion, market operation and data usage, with cost,
revenue and expenditure (in fen). The implementation institution evaluates agreement execution, product effect
and security: excellent / qualified / unqualified; an unqualified result offers termination with that reason
(A23). The public disclosure is generated from the records only: each authorization in force during the year
(operator, content, scope, time limits), each operator's products and its reported data usage. It names
organizations, datasets and tables, never users, column rules or data values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from operation import agreements, plans, products
from operation.store import AnnualReportRow, EvaluationRow

REPORT_CONTENTS = ("processing", "analysis", "fusion", "market_operation", "data_usage")  # A38, A28
RESULTS = ("excellent", "qualified", "unqualified")  # A39
FINDINGS = ("execution", "product_effect", "security")  # A39
MAX_FEN = 10**15


@dataclass(frozen=True)
class Report:
    id: str
    agreement_id: str
    operator_org_id: str
    year: int
    content: Mapping[str, str]
    cost_fen: int
    revenue_fen: int
    expenditure_fen: int
    submitted_on: date


@dataclass(frozen=True)
class Evaluation:
    id: str
    agreement_id: str
    year: int
    result: str
    findings: Mapping[str, str]
    evaluated_on: date

    @property
    def termination_offer(self) -> dict[str, str] | None:
        """An unqualified evaluation offers termination of the agreement with that reason (A23, A39)."""
        if self.result != "unqualified":
            return None
        return {
            "reason": "unqualified_evaluation",
            "action": f"/api/v1/operation/agreements/{self.agreement_id}/terminate",
            "detail": f"annual evaluation {self.year}: unqualified",
        }


def _in_force_during(agreement: agreements.Agreement, year: int) -> bool:
    start, end = date(year, 1, 1), date(year, 12, 31)
    return (
        agreement.filed_on is not None
        and agreement.filed_on <= end
        and agreement.term_start <= end
        and agreement.term_end >= start
        and (agreement.terminated_on is None or agreement.terminated_on >= start)
    )


def submit_report(
    session: Session,
    agreement_id: str,
    *,
    year: int,
    content: Mapping[str, str],
    cost_fen: int,
    revenue_fen: int,
    expenditure_fen: int,
    actor_id: str,
    today: date,
    now: datetime,
) -> Report:
    agreement = agreements.load(session, agreement_id)
    if year >= today.year:
        raise InvalidInput("an annual report covers a full year that has ended (A38)", field="year")
    if not _in_force_during(agreement, year):
        raise InvalidTransition(
            "the agreement was not in force during that year", current_state=agreement.state
        )
    clean = {}
    for name in REPORT_CONTENTS:
        value = content.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"the report needs {name.replace('_', ' ')} (A38)", field=f"content.{name}")
        clean[name] = value.strip()
    for name, value in (
        ("cost_fen", cost_fen),
        ("revenue_fen", revenue_fen),
        ("expenditure_fen", expenditure_fen),
    ):
        if not 0 <= value <= MAX_FEN:
            raise InvalidInput("amounts are non-negative (A37)", field=name)
    if session.scalar(
        select(AnnualReportRow.id).where(
            AnnualReportRow.agreement_id == agreement_id, AnnualReportRow.year == year
        )
    ):
        raise Conflict("the report for this year is already submitted", field="year")
    row = AnnualReportRow(
        agreement_id=agreement_id,
        operator_org_id=agreement.operator_org_id,
        year=year,
        content=json.dumps(clean, sort_keys=True, ensure_ascii=False),
        cost_fen=cost_fen,
        revenue_fen=revenue_fen,
        expenditure_fen=expenditure_fen,
        submitted_by=actor_id,
        submitted_on=today,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _report(row)


def evaluate(
    session: Session,
    agreement_id: str,
    *,
    year: int,
    result: str,
    findings: Mapping[str, str],
    actor_id: str,
    today: date,
    now: datetime,
) -> Evaluation:
    """The implementation institution's annual evaluation (A39), on the operator's report for that year."""
    agreements.load(session, agreement_id)
    if result not in RESULTS:
        raise InvalidInput(f"result must be one of {', '.join(RESULTS)} (A39)", field="result")
    clean = {}
    for name in FINDINGS:
        value = findings.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(
                f"the evaluation covers {name.replace('_', ' ')} (A39)", field=f"findings.{name}"
            )
        clean[name] = value.strip()
    if not session.scalar(
        select(AnnualReportRow.id).where(
            AnnualReportRow.agreement_id == agreement_id, AnnualReportRow.year == year
        )
    ):
        raise Conflict("the operator has not submitted its annual report for that year (A38)", field="year")
    if session.scalar(
        select(EvaluationRow.id).where(EvaluationRow.agreement_id == agreement_id, EvaluationRow.year == year)
    ):
        raise Conflict("this year is already evaluated", field="year")
    row = EvaluationRow(
        agreement_id=agreement_id,
        year=year,
        result=result,
        findings=json.dumps(clean, sort_keys=True, ensure_ascii=False),
        evaluated_by=actor_id,
        evaluated_on=today,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _evaluation(row)


def reports(session: Session, agreement_id: str) -> list[Report]:
    return [
        _report(r)
        for r in session.scalars(
            select(AnnualReportRow)
            .where(AnnualReportRow.agreement_id == agreement_id)
            .order_by(AnnualReportRow.year)
        )
    ]


def evaluations(session: Session, agreement_id: str) -> list[Evaluation]:
    return [
        _evaluation(r)
        for r in session.scalars(
            select(EvaluationRow)
            .where(EvaluationRow.agreement_id == agreement_id)
            .order_by(EvaluationRow.year)
        )
    ]


def get_evaluation(session: Session, evaluation_id: str) -> Evaluation:
    row = session.get(EvaluationRow, evaluation_id)
    if row is None:
        raise NotFound("no such evaluation", field="evaluation_id")
    return _evaluation(row)


def _report(row: AnnualReportRow) -> Report:
    return Report(
        id=row.id,
        agreement_id=row.agreement_id,
        operator_org_id=row.operator_org_id,
        year=row.year,
        content=json.loads(row.content),
        cost_fen=row.cost_fen,
        revenue_fen=row.revenue_fen,
        expenditure_fen=row.expenditure_fen,
        submitted_on=row.submitted_on,
    )


def _evaluation(row: EvaluationRow) -> Evaluation:
    return Evaluation(
        id=row.id,
        agreement_id=row.agreement_id,
        year=row.year,
        result=row.result,
        findings=json.loads(row.findings),
        evaluated_on=row.evaluated_on,
    )


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def disclosure(session: Session, year: int, org_name: Callable[[str], str]) -> dict[str, Any]:
    """The public annual disclosure (A25, A28), generated from the records."""
    authorizations, operators = [], {}
    for agreement in agreements.list_agreements(session, states=("filed", "terminated")):
        if not _in_force_during(agreement, year):
            continue
        plan = plans.load(session, agreement.plan_id)
        tables = {d: sorted(s.columns) for d, s in sorted(agreement.scope.items())}
        authorizations.append(
            {
                "operator": org_name(agreement.operator_org_id),
                "agreement": agreement.title,
                "plan": plan.name,
                "mode": plan.mode,
                "mode_scope": plan.mode_scope,
                "content": {
                    "purposes": sorted({s.purpose for s in agreement.scope.values()}),
                    "products_and_standards": agreement.content.get("products_and_standards", ""),
                },
                "scope": [{"dataset": d, "tables": t} for d, t in tables.items()],
                "term_start": agreement.term_start.isoformat(),
                "term_end": agreement.term_end.isoformat(),
                "filed_on": agreement.filed_on.isoformat() if agreement.filed_on else None,
                "state": agreement.state,
                "terminated_on": agreement.terminated_on.isoformat() if agreement.terminated_on else None,
                "termination_reason": agreement.termination_reason,
            }
        )
        entry = operators.setdefault(
            agreement.operator_org_id,
            {
                "operator": org_name(agreement.operator_org_id),
                "datasets": set(),
                "products": [],
                "data_usage": [],
            },
        )
        entry["datasets"].update(tables)
        for product in products.list_products(session, agreement_id=agreement.id):
            if product.created_at.year > year:
                continue
            entry["products"].append(public_product(product, org_name))
        report = session.scalar(
            select(AnnualReportRow).where(
                AnnualReportRow.agreement_id == agreement.id, AnnualReportRow.year == year
            )
        )
        if report is not None:
            entry["data_usage"].append(
                {"agreement": agreement.title, "usage": json.loads(report.content)["data_usage"]}
            )
    return {
        "year": year,
        "authorizations": authorizations,
        "operators": [{**e, "datasets": sorted(e["datasets"])} for e in operators.values()],
    }


def public_product(product: products.Product, org_name: Callable[[str], str]) -> dict[str, Any]:
    """What the public sees of a product (A28, A29): no source job ids, no users."""
    return {
        "id": product.id,
        "name": product.name,
        "kind": product.kind,
        "class": product.product_class,
        "operator": org_name(product.operator_org_id),
        "description": product.description,
        "pricing": product.pricing.mode,
        "conditions": product.pricing.conditions,
        "permitted_cost": None
        if product.pricing.permitted_cost_fen is None
        else yuan(product.pricing.permitted_cost_fen),
        "reasonable_return": (
            None
            if product.pricing.reasonable_return_fen is None
            else yuan(product.pricing.reasonable_return_fen)
        ),
        "price": yuan(product.price_fen),
        "state": product.state,
        "business_entities": [org_name(e.organization_id) for e in product.entities],
    }
