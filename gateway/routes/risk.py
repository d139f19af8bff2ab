"""Supervisor risk view (issue 11): signals per organization and per analyst, alerts, and suspensions.

Reading a view refreshes its signals (and raises any alert newly crossed). A supervisor may suspend an
analyst's submissions pending review and lift the suspension, each with a reason; both are audited.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from common.errors import InvalidInput
from gateway import identity
from gateway import risk as gathering
from gateway.auth import Ctx, Supervisor
from gateway.events import emit
from policies import risk, risk_store

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])


class SignalPublic(BaseModel):
    signal: str
    value: float
    threshold: float
    crossed: bool
    detail: str


class ReportPublic(BaseModel):
    subject_type: str
    subject_id: str
    name: str
    window_start: datetime
    window_end: datetime
    jobs: int
    signals: list[SignalPublic]
    alerting: list[str] = Field(description="the signals whose thresholds are crossed")
    suspended: bool = False


class OrganizationRisk(ReportPublic):
    analysts: list[ReportPublic]


class AlertPublic(BaseModel):
    id: str
    subject_type: str
    subject_id: str
    organization_id: str
    signal: str
    value: float
    threshold: float
    detail: str
    raised_at: datetime


class SuspensionPublic(BaseModel):
    id: str
    user_id: str
    organization_id: str
    state: str
    reason: str
    suspended_by: str
    suspended_at: datetime
    lift_reason: str | None
    lifted_by: str | None
    lifted_at: datetime | None


class Reason(BaseModel):
    reason: str = Field(min_length=5, max_length=2000)


def _report(report: risk.RiskReport, name: str, suspended: bool = False) -> dict:
    return dict(
        subject_type=report.subject_type,
        subject_id=report.subject_id,
        name=name,
        window_start=report.window_start,
        window_end=report.window_end,
        jobs=report.jobs,
        signals=[
            SignalPublic(
                signal=s.signal.value,
                value=s.value,
                threshold=s.threshold,
                crossed=s.crossed,
                detail=s.detail,
            )
            for s in report.signals
        ],
        alerting=[s.signal.value for s in report.crossed],
        suspended=suspended,
    )


def _analyst(session, ctx, user_id: str, organization_id: str) -> ReportPublic:
    user = gathering.find_user(session, user_id)
    report = gathering.assess(session, ctx, "analyst", user.id, organization_id)
    return ReportPublic(
        **_report(report, user.username, risk_store.active_suspension(session, user.id) is not None)
    )


def _organization(session, ctx, org) -> OrganizationRisk:
    report = gathering.assess(session, ctx, "organization", org.id, org.id)
    start, _ = gathering.window(ctx)
    analysts = [_analyst(session, ctx, u, org.id) for u in gathering.analysts_of(session, org.id, start)]
    return OrganizationRisk(**_report(report, org.name), analysts=analysts)


@router.get("/organizations", response_model=list[OrganizationRisk])
def organizations(ctx: Ctx, principal: Supervisor) -> list[OrganizationRisk]:
    """Every operator organization's signals over the window, with its analysts'."""
    with ctx.uow() as session:
        orgs = [o for o in identity.list_organizations(session) if o.kind.value == "operator"]
        return [_organization(session, ctx, o) for o in orgs]


@router.get("/organizations/{organization_id}", response_model=OrganizationRisk)
def organization(organization_id: str, ctx: Ctx, principal: Supervisor) -> OrganizationRisk:
    with ctx.uow() as session:
        return _organization(session, ctx, identity.get_organization(session, organization_id))


@router.get("/analysts/{user_id}", response_model=ReportPublic)
def analyst(user_id: str, ctx: Ctx, principal: Supervisor) -> ReportPublic:
    with ctx.uow() as session:
        user = gathering.find_user(session, user_id)
        return _analyst(session, ctx, user.id, user.organization_id)


@router.get("/alerts", response_model=list[AlertPublic])
def alerts(ctx: Ctx, principal: Supervisor) -> list[AlertPublic]:
    with ctx.uow() as session:
        return [AlertPublic(**dataclasses.asdict(a)) for a in risk_store.list_alerts(session)]


@router.get("/suspensions", response_model=list[SuspensionPublic])
def suspensions(ctx: Ctx, principal: Supervisor) -> list[SuspensionPublic]:
    with ctx.uow() as session:
        return [SuspensionPublic(**dataclasses.asdict(s)) for s in risk_store.list_suspensions(session)]


@router.post("/analysts/{user_id}/suspend", response_model=SuspensionPublic, status_code=201)
def suspend(user_id: str, body: Reason, ctx: Ctx, principal: Supervisor) -> SuspensionPublic:
    """Stop the analyst's submissions (jobs and dry runs) pending review."""
    with ctx.uow() as session:
        user = gathering.find_user(session, user_id)
        org = identity.get_organization(session, user.organization_id)
        if org.kind.value != "operator":
            raise InvalidInput("only an operator's analysts submit queries", field="user_id")
        made = risk_store.suspend(
            session,
            user_id=user.id,
            organization_id=org.id,
            reason=body.reason,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "risk.analyst.suspended",
            "user",
            user.id,
            organization_id=org.id,
            suspension_id=made.id,
            reason=made.reason,
        )
        return SuspensionPublic(**dataclasses.asdict(made))


@router.post("/analysts/{user_id}/lift", response_model=SuspensionPublic)
def lift(user_id: str, body: Reason, ctx: Ctx, principal: Supervisor) -> SuspensionPublic:
    with ctx.uow() as session:
        user = gathering.find_user(session, user_id)
        lifted = risk_store.lift(
            session, user_id=user.id, reason=body.reason, actor_id=principal.user_id, now=ctx.clock.now()
        )
        emit(
            session,
            ctx,
            principal,
            "risk.analyst.suspension_lifted",
            "user",
            user.id,
            organization_id=lifted.organization_id,
            suspension_id=lifted.id,
            reason=lifted.lift_reason,
        )
        return SuspensionPublic(**dataclasses.asdict(lifted))
