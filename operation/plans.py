"""Implementation plans (实施方案, A10-A13), their expert committee review and approval, and operator
selection (A14-A15).

A plan carries the 11 contents of A10 as structured fields and an authorization mode (A4). Its states form a
table of allowed transitions (``TRANSITIONS``)::

    draft ──submit──> in_review ──conclude_feasible──> reviewed ──approve──> approved
      ^                  │  ^                              └──reject──> rejected
      └─conclude_infeasible                                 approved ──major_change──> in_review (version n+1)

An approved plan is never edited: a major change writes the next version and goes through expert review and
approval again, while the previously approved version stays in force (``approved_version``). A refused change
(``change_infeasible`` / ``refuse_change``) returns the plan to ``approved`` with the old version in force.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from operation.store import ExpertReviewRow, PlanRow, PlanVersionRow, SelectionRow

MODES = ("whole", "domain", "scenario")  # A4: whole authorization, by domain, by scenario
TRANSITIONS: Mapping[str, Mapping[str, str]] = {
    "draft": {"edit": "draft", "submit": "in_review"},
    "in_review": {
        "review": "in_review",
        "conclude_feasible": "reviewed",
        "conclude_infeasible": "draft",
        "change_infeasible": "approved",
    },
    "reviewed": {"approve": "approved", "reject": "rejected", "refuse_change": "approved"},
    "approved": {"major_change": "in_review"},
    "rejected": {},
}
# The 11 contents of A10 (text fields; the data scope and product list are structured, see ``validate_content``).
TEXT_CONTENTS = (
    "necessity_feasibility",
    "operator_conditions",
    "data_description",
    "update_frequency",
    "quality_requirements",
    "operation_content",
    "safeguards",
    "schedule",
    "evaluation_criteria",
    "exit_plan",
    "asset_handling",
    "cost_revenue_sharing",
    "security_emergency",
    "rights_duties",
    "supervision_evaluation",
)
MIN_REVIEWS = 3  # an expert committee: at least three members review each version
REVIEW_GRADES = ("pass", "concern", "fail")
RISK_GRADES = ("low", "medium", "high")
SELECTION_METHODS = ("open_tender", "invited_tender", "negotiation")  # A14
SELECTION_CHECKS = ("management_capability", "technical_capability", "good_standing", "data_security")  # A15
MAX_TERM_MONTHS = 36


@dataclass(frozen=True)
class Review:
    id: str
    version: int
    expert_name: str
    expert_affiliation: str
    compliance: str
    feasibility: str
    security_risk: str
    opinion: str


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    mode: str
    mode_scope: str
    state: str
    state_reason: str
    current_version: int
    approved_version: int | None
    content: Mapping[str, Any]  # of the current version
    conclusion: str | None
    conclusion_reason: str
    approved_on: date | None
    approval_reference: str
    reviews: tuple[Review, ...]  # of the current version

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(self.content.get("datasets", ()))


@dataclass(frozen=True)
class Selection:
    id: str
    plan_id: str
    operator_org_id: str
    method: str
    checks: Mapping[str, bool]
    notes: str
    selected_on: date


def next_state(state: str, action: str) -> str:
    try:
        return TRANSITIONS[state][action]
    except KeyError:
        raise InvalidTransition(
            f"a {state} plan does not allow {action.replace('_', ' ')}", current_state=state
        )


def validate_content(content: Mapping[str, Any]) -> dict[str, Any]:
    """The 11 contents of A10: every text present, a data scope, and a product list in two classes."""
    clean: dict[str, Any] = {}
    for name in TEXT_CONTENTS:
        value = content.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"the plan needs {name.replace('_', ' ')} (A10)", field=f"content.{name}")
        clean[name] = value.strip()
    datasets = content.get("datasets")
    if (
        not isinstance(datasets, (list, tuple))
        or not datasets
        or not all(isinstance(d, str) for d in datasets)
    ):
        raise InvalidInput(
            "the plan's data scope names at least one catalog dataset (A10)", field="content.datasets"
        )
    clean["datasets"] = sorted(set(datasets))
    products = {cls: list(content.get(f"{cls}_products") or []) for cls in ("public_good", "industry")}
    if not any(products.values()):
        raise InvalidInput(
            "the plan lists at least one product or service, as public_good or industry (A10)",
            field="content.public_good_products",
        )
    for cls, items in products.items():
        if not all(isinstance(p, str) and p.strip() for p in items):
            raise InvalidInput("product names must be non-empty text", field=f"content.{cls}_products")
        clean[f"{cls}_products"] = [p.strip() for p in items]
    term = content.get("term_months")
    if not isinstance(term, int) or not 1 <= term <= MAX_TERM_MONTHS:
        raise InvalidInput(
            "term_months must be 1-36: an operating term is at most 3 years (A16)",
            field="content.term_months",
        )
    clean["term_months"] = term
    clean["other"] = str(content.get("other") or "").strip()
    return clean


def _mode(mode: str, mode_scope: str) -> tuple[str, str]:
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {', '.join(MODES)} (A4)", field="mode")
    if mode != "whole" and not mode_scope.strip():
        raise InvalidInput(
            "an authorization by domain or by scenario names its domain or scenario (A4)", field="mode_scope"
        )
    return mode, mode_scope.strip() if mode != "whole" else ""


def create(
    session: Session,
    *,
    name: str,
    mode: str,
    mode_scope: str,
    content: Mapping[str, Any],
    actor_id: str,
    now: datetime,
) -> Plan:
    if not name.strip():
        raise InvalidInput("the plan needs a name", field="name")
    mode, mode_scope = _mode(mode, mode_scope)
    clean = validate_content(content)
    row = PlanRow(
        name=name.strip(),
        mode=mode,
        mode_scope=mode_scope,
        state="draft",
        current_version=1,
        approved_version=None,
        state_reason="",
        created_by=actor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    session.add(
        PlanVersionRow(
            plan_id=row.id, version=1, content=_dump(clean), change_reason="created", created_at=now
        )
    )
    session.flush()
    return load(session, row.id)


def edit(
    session: Session,
    plan_id: str,
    *,
    name: str | None,
    mode: str | None,
    mode_scope: str | None,
    content: Mapping[str, Any] | None,
    now: datetime,
) -> Plan:
    """Edit a draft in place (never an approved plan: that takes a major change, A13)."""
    row = _row(session, plan_id)
    next_state(row.state, "edit")
    if name is not None:
        if not name.strip():
            raise InvalidInput("the plan needs a name", field="name")
        row.name = name.strip()
    if mode is not None or mode_scope is not None:
        row.mode, row.mode_scope = _mode(
            mode or row.mode, row.mode_scope if mode_scope is None else mode_scope
        )
    if content is not None:
        clean = _dump(validate_content(content))
        current = _version(session, row, row.current_version)
        if current.conclusion is None:
            current.content = clean
        else:  # a reviewed version is a record: the revision is the next version, reviewed afresh
            _new_version(session, row, clean, "revised after the expert committee's conclusion", now)
    row.updated_at = now
    session.flush()
    return load(session, plan_id)


def _move(row: PlanRow, action: str, reason: str, now: datetime) -> None:
    row.state = next_state(row.state, action)
    row.state_reason = reason
    row.updated_at = now


def _new_version(session: Session, row: PlanRow, content: str, reason: str, now: datetime) -> None:
    row.current_version += 1
    session.add(
        PlanVersionRow(
            plan_id=row.id, version=row.current_version, content=content, change_reason=reason, created_at=now
        )
    )
    session.flush()


def submit(session: Session, plan_id: str, now: datetime) -> Plan:
    """Submit the current draft for expert review. A draft whose version was already concluded infeasible
    is resubmitted as the next version, so the experts review it afresh (issue 12 defect 1)."""
    row = _row(session, plan_id)
    next_state(row.state, "submit")
    current = _version(session, row, row.current_version)
    if current.conclusion is not None:
        _new_version(
            session, row, current.content, "resubmitted after the expert committee's conclusion", now
        )
    _move(row, "submit", "submitted for expert review", now)
    session.flush()
    return load(session, plan_id)


def add_review(
    session: Session,
    plan_id: str,
    *,
    expert_name: str,
    expert_affiliation: str,
    compliance: str,
    feasibility: str,
    security_risk: str,
    opinion: str,
    actor_id: str,
    now: datetime,
) -> Plan:
    """Record one expert committee member's review of the version under review (A10-A12)."""
    row = _row(session, plan_id)
    next_state(row.state, "review")
    for field, value, allowed in (
        ("compliance", compliance, REVIEW_GRADES),
        ("feasibility", feasibility, REVIEW_GRADES),
        ("security_risk", security_risk, RISK_GRADES),
    ):
        if value not in allowed:
            raise InvalidInput(f"{field} must be one of {', '.join(allowed)}", field=field)
    if not expert_name.strip():
        raise InvalidInput("the expert needs a name", field="expert_name")
    if not opinion.strip():
        raise InvalidInput("the review needs an opinion", field="opinion")
    if session.scalar(
        select(ExpertReviewRow.id).where(
            ExpertReviewRow.plan_id == plan_id,
            ExpertReviewRow.plan_version == row.current_version,
            ExpertReviewRow.expert_name == expert_name.strip(),
        )
    ):
        raise Conflict("this expert already reviewed this version", field="expert_name")
    session.add(
        ExpertReviewRow(
            plan_id=plan_id,
            plan_version=row.current_version,
            expert_name=expert_name.strip(),
            expert_affiliation=expert_affiliation.strip(),
            compliance=compliance,
            feasibility=feasibility,
            security_risk=security_risk,
            opinion=opinion.strip(),
            recorded_by=actor_id,
            created_at=now,
        )
    )
    row.updated_at = now
    session.flush()
    return load(session, plan_id)


def conclude(session: Session, plan_id: str, *, conclusion: str, reason: str, now: datetime) -> Plan:
    """The expert committee's conclusion on the version under review.

    ``feasible`` needs at least ``MIN_REVIEWS`` reviews, no compliance failure, no high security risk, and a
    majority finding it feasible. ``infeasible`` returns a first draft for revision, or refuses a major change.
    """
    row = _row(session, plan_id)
    if conclusion not in ("feasible", "infeasible"):
        raise InvalidInput("conclusion must be feasible or infeasible", field="conclusion")
    if not reason.strip():
        raise InvalidInput("the conclusion needs a reason", field="reason")
    is_change = row.approved_version is not None
    action = (
        "conclude_feasible"
        if conclusion == "feasible"
        else "change_infeasible"
        if is_change
        else "conclude_infeasible"
    )
    next_state(row.state, action)
    reviews = _reviews(session, plan_id, row.current_version)
    if conclusion == "feasible":
        if len(reviews) < MIN_REVIEWS:
            raise Conflict(
                f"the expert committee needs at least {MIN_REVIEWS} reviews; this version has {len(reviews)}",
                field="conclusion",
            )
        if any(r.compliance == "fail" for r in reviews):
            raise Conflict(
                "an expert found the plan non-compliant: it cannot be concluded feasible", field="conclusion"
            )
        if any(r.security_risk == "high" for r in reviews):
            raise Conflict(
                "an expert rated the security risk high: it cannot be concluded feasible", field="conclusion"
            )
        if sum(r.feasibility == "pass" for r in reviews) * 2 <= len(reviews):
            raise Conflict("a majority of the experts must find the plan feasible", field="conclusion")
    version = _version(session, row, row.current_version)
    version.conclusion, version.conclusion_reason = conclusion, reason.strip()
    _move(row, action, f"expert committee: {conclusion}", now)
    session.flush()
    return load(session, plan_id)


def approve(session: Session, plan_id: str, *, reference: str, today: date, now: datetime) -> Plan:
    """City government approval of the reviewed version (A13); it comes into force."""
    row = _row(session, plan_id)
    if not reference.strip():
        raise InvalidInput("record the approval's reference (document number)", field="reference")
    _move(row, "approve", "approved", now)
    version = _version(session, row, row.current_version)
    version.approved_on, version.approval_reference = today, reference.strip()
    row.approved_version = row.current_version
    session.flush()
    return load(session, plan_id)


def reject(session: Session, plan_id: str, *, reason: str, now: datetime) -> Plan:
    row = _row(session, plan_id)
    if not reason.strip():
        raise InvalidInput("a rejection needs a reason", field="reason")
    _move(row, "refuse_change" if row.approved_version is not None else "reject", reason.strip(), now)
    session.flush()
    return load(session, plan_id)


def major_change(
    session: Session, plan_id: str, *, content: Mapping[str, Any], reason: str, actor_id: str, now: datetime
) -> Plan:
    """A major change of an approved plan: the next version goes through review and approval again (A13)."""
    row = _row(session, plan_id)
    if not reason.strip():
        raise InvalidInput("a major change needs a reason", field="reason")
    clean = validate_content(content)
    _move(row, "major_change", reason.strip(), now)
    _new_version(session, row, _dump(clean), reason.strip(), now)
    return load(session, plan_id)


def in_force(session: Session, plan_id: str) -> tuple[Plan, int, Mapping[str, Any]]:
    """The plan, its approved version number and that version's content; refuses a plan never approved."""
    plan = load(session, plan_id)
    if plan.approved_version is None:
        raise InvalidTransition(
            "the plan has not been approved; agreements and selections need an approved plan (A13)",
            current_state=plan.state,
        )
    content = json.loads(_version(session, _row(session, plan_id), plan.approved_version).content)
    return plan, plan.approved_version, content


def load(session: Session, plan_id: str) -> Plan:
    row = _row(session, plan_id)
    version = _version(session, row, row.current_version)
    return Plan(
        id=row.id,
        name=row.name,
        mode=row.mode,
        mode_scope=row.mode_scope,
        state=row.state,
        state_reason=row.state_reason,
        current_version=row.current_version,
        approved_version=row.approved_version,
        content=json.loads(version.content),
        conclusion=version.conclusion,
        conclusion_reason=version.conclusion_reason,
        approved_on=version.approved_on,
        approval_reference=version.approval_reference,
        reviews=tuple(_reviews(session, plan_id, row.current_version)),
    )


def list_plans(session: Session) -> list[Plan]:
    return [load(session, pid) for pid in session.scalars(select(PlanRow.id).order_by(PlanRow.created_at))]


def _reviews(session: Session, plan_id: str, version: int) -> list[Review]:
    rows = session.scalars(
        select(ExpertReviewRow)
        .where(ExpertReviewRow.plan_id == plan_id, ExpertReviewRow.plan_version == version)
        .order_by(ExpertReviewRow.created_at, ExpertReviewRow.expert_name)
    )
    return [
        Review(
            r.id,
            r.plan_version,
            r.expert_name,
            r.expert_affiliation,
            r.compliance,
            r.feasibility,
            r.security_risk,
            r.opinion,
        )
        for r in rows
    ]


def _row(session: Session, plan_id: str) -> PlanRow:
    row = session.get(PlanRow, plan_id)
    if row is None:
        raise NotFound("no such plan", field="plan_id")
    return row


def _version(session: Session, row: PlanRow, version: int) -> PlanVersionRow:
    return session.scalar(
        select(PlanVersionRow).where(PlanVersionRow.plan_id == row.id, PlanVersionRow.version == version)
    )


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# --- operator selection (A14-A15) ----------------------------------------------------------------------------


def select_operator(
    session: Session,
    plan_id: str,
    *,
    operator_org_id: str,
    method: str,
    checks: Mapping[str, bool],
    notes: str,
    actor_id: str,
    today: date,
    now: datetime,
) -> Selection:
    """Record how the operator was selected; every capability check of A15 must hold."""
    in_force(session, plan_id)
    if method not in SELECTION_METHODS:
        raise InvalidInput(f"method must be one of {', '.join(SELECTION_METHODS)} (A14)", field="method")
    unknown = set(checks) - set(SELECTION_CHECKS)
    if unknown:
        raise InvalidInput(f"unknown checks; expected {', '.join(SELECTION_CHECKS)}", field="checks")
    failed = [c for c in SELECTION_CHECKS if checks.get(c) is not True]
    if failed:
        raise Conflict(
            f"the operator does not meet the selection requirements (A15): {', '.join(failed)}",
            field="checks",
            failed_checks=failed,
        )
    row = SelectionRow(
        plan_id=plan_id,
        operator_org_id=operator_org_id,
        method=method,
        checks=_dump({c: True for c in SELECTION_CHECKS}),
        notes=notes.strip(),
        selected_on=today,
        recorded_by=actor_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _selection(row)


def get_selection(session: Session, selection_id: str) -> Selection:
    row = session.get(SelectionRow, selection_id)
    if row is None:
        raise NotFound("no such operator selection", field="selection_id")
    return _selection(row)


def selections(session: Session, plan_id: str) -> list[Selection]:
    _row(session, plan_id)
    return [
        _selection(r)
        for r in session.scalars(
            select(SelectionRow).where(SelectionRow.plan_id == plan_id).order_by(SelectionRow.created_at)
        )
    ]


def _selection(row: SelectionRow) -> Selection:
    return Selection(
        id=row.id,
        plan_id=row.plan_id,
        operator_org_id=row.operator_org_id,
        method=row.method,
        checks=json.loads(row.checks),
        notes=row.notes,
        selected_on=row.selected_on,
    )
