"""Operation routes for quality feedback on source data and disputes (A32-A33): issues answered by the
source department within a deadline, accepted or disputed, escalated, and resolved by a supervisor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from common.errors import Forbidden, InvalidInput, NotFound
from common.types import OrgKind, Principal, Role
from gateway import identity
from gateway.auth import Ctx, Supervisor, VerifiedOperator
from gateway.events import emit
from gateway.operation_models import (
    OP,
    Answer,
    DisputeCreate,
    DisputePublic,
    DisputeRaise,
    IssueCreate,
    IssuePublic,
    Outcome,
    Participant,
    Party,
    Reason,
    Reporter,
    SourceDept,
)
from gateway.operation_views import dispute_out, issue_out
from operation import quality

router = APIRouter(prefix="/api/v1", tags=["operation"])


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
        return issue_out(item, today)


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
            issue_out(i, today)
            for i in quality.list_issues(
                session, organization_id=owner, overdue_on=today if overdue else None
            )
        ]


@router.get(f"{OP}/quality/issues/{{issue_id}}", response_model=IssuePublic)
def get_issue(issue_id: str, ctx: Ctx, principal: Participant) -> IssuePublic:
    with ctx.uow() as session:
        return issue_out(_visible_issue(session, principal, issue_id), ctx.clock.today())


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
        return issue_out(item, today)


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
        return issue_out(item, ctx.clock.today())


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
        return dispute_out(item, today)


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
        return issue_out(item, today)


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
        return issue_out(item, ctx.clock.today())


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
        return dispute_out(item, today)


@router.get(f"{OP}/disputes", response_model=list[DisputePublic])
def list_disputes(ctx: Ctx, principal: Participant) -> list[DisputePublic]:
    owner = None if principal.has_role(Role.supervisor, Role.implementer) else principal.organization_id
    with ctx.uow() as session:
        return [
            dispute_out(d, ctx.clock.today()) for d in quality.list_disputes(session, organization_id=owner)
        ]


@router.post(f"{OP}/disputes/{{dispute_id}}/coordinate", response_model=DisputePublic)
def coordinate_dispute(dispute_id: str, body: Outcome, ctx: Ctx, principal: Supervisor) -> DisputePublic:
    today = ctx.clock.today()
    with ctx.uow() as session:
        item = quality.coordinate(session, dispute_id, outcome=body.outcome, today=today, now=ctx.clock.now())
        emit(session, ctx, principal, "operation.dispute.resolved", "dispute", item.id)
        return dispute_out(item, today)


@router.post(f"{OP}/disputes/{{dispute_id}}/escalate", response_model=DisputePublic)
def escalate_dispute(dispute_id: str, body: Reason, ctx: Ctx, principal: Supervisor) -> DisputePublic:
    with ctx.uow() as session:
        item = quality.escalate_dispute(session, dispute_id, reason=body.reason, now=ctx.clock.now())
        emit(session, ctx, principal, "operation.dispute.escalated", "dispute", item.id)
        return dispute_out(item, ctx.clock.today())


@router.post(f"{OP}/disputes/{{dispute_id}}/decide", response_model=DisputePublic)
def decide_dispute(dispute_id: str, body: Outcome, ctx: Ctx, principal: Supervisor) -> DisputePublic:
    today = ctx.clock.today()
    with ctx.uow() as session:
        item = quality.decide(session, dispute_id, outcome=body.outcome, today=today, now=ctx.clock.now())
        emit(session, ctx, principal, "operation.dispute.decided", "dispute", item.id)
        return dispute_out(item, today)
