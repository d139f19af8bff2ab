"""Operation routes for plans (A4, A10-A13): drafting, expert review, conclusion, approval or rejection,
major changes, and the selection of an operator under an approved plan (A14-A15).
"""

from __future__ import annotations

from fastapi import APIRouter

from gateway.auth import Ctx, Implementer
from gateway.events import emit
from gateway.grading_view import plan_protections
from gateway.operation_models import (
    OP,
    Approval,
    Conclusion,
    MajorChange,
    Overseer,
    PlanCreate,
    PlanEdit,
    PlanPublic,
    Reader,
    Reason,
    ReviewCreate,
    SelectionCreate,
    SelectionPublic,
)
from gateway.operation_views import plan_out, selection_out
from gateway.operation_wiring import catalog_for, operator_org
from operation import plans

router = APIRouter(prefix="/api/v1", tags=["operation"])


# --- plans (A4, A10-A13) ------------------------------------------------------------------------------------


@router.post(f"{OP}/plans", response_model=PlanPublic, status_code=201)
def create_plan(body: PlanCreate, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        catalog_for(session, body.content.datasets)
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
        return plan_out(plan)


@router.get(f"{OP}/plans", response_model=list[PlanPublic])
def list_plans(ctx: Ctx, _: Reader) -> list[PlanPublic]:
    with ctx.uow() as session:
        return [plan_out(p) for p in plans.list_plans(session)]


@router.get(f"{OP}/plans/{{plan_id}}", response_model=PlanPublic)
def get_plan(plan_id: str, ctx: Ctx, _: Reader) -> PlanPublic:
    with ctx.uow() as session:
        plan = plans.load(session, plan_id)
        return plan_out(plan).model_copy(
            update={"protection": plan_protections(session, plan.content["datasets"])}
        )


@router.patch(f"{OP}/plans/{{plan_id}}", response_model=PlanPublic)
def edit_plan(plan_id: str, body: PlanEdit, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        if body.content is not None:
            catalog_for(session, body.content.datasets)
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
        return plan_out(plan)


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
        return plan_out(plan)


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
        return plan_out(plan)


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
        return plan_out(plan)


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
        return plan_out(plan)


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
        return plan_out(plan)


@router.post(f"{OP}/plans/{{plan_id}}/changes", response_model=PlanPublic)
def change_plan(plan_id: str, body: MajorChange, ctx: Ctx, principal: Implementer) -> PlanPublic:
    with ctx.uow() as session:
        catalog_for(session, body.content.datasets)
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
        return plan_out(plan)


@router.post(f"{OP}/plans/{{plan_id}}/selections", response_model=SelectionPublic, status_code=201)
def select_operator(plan_id: str, body: SelectionCreate, ctx: Ctx, principal: Implementer) -> SelectionPublic:
    with ctx.uow() as session:
        org = operator_org(session, body.organization_id)
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
        return selection_out(selection)


@router.get(f"{OP}/plans/{{plan_id}}/selections", response_model=list[SelectionPublic])
def list_selections(plan_id: str, ctx: Ctx, _: Overseer) -> list[SelectionPublic]:
    with ctx.uow() as session:
        return [selection_out(s) for s in plans.selections(session, plan_id)]
