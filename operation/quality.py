"""Data quality feedback (A32) and supply/quality disputes (A33), with working-day deadlines and escalation.

An operator reports a problem on a dataset, table or column; the source department must answer within
``ANSWER_WORKING_DAYS`` PRC working days. Unanswered past the deadline, the issue can be escalated to the data
authority, which records an outcome. A reporter who does not accept the answer raises a dispute, coordinated
by the data authority within ``COORDINATION_WORKING_DAYS``; unresolved, it escalates to the city government,
whose decision the data authority records. Closing a dispute closes its issue with the same outcome.

Issue states (``ISSUE_TRANSITIONS``)::

    open ──answer──> answered ──accept──> closed
      │                  └──dispute──> disputed ──settle──> closed
      └──escalate (overdue only)──> escalated ──resolve──> closed  (or ──answer──> answered)

Dispute states (``DISPUTE_TRANSITIONS``): open ──resolve──> resolved; open ──escalate──> escalated ──decide──>
decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import workdays
from common.clock import add_working_days
from common.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from operation.store import DisputeRow, QualityIssueRow

ANSWER_WORKING_DAYS = 10
COORDINATION_WORKING_DAYS = 15
CATEGORIES = ("accuracy", "completeness", "consistency", "timeliness", "validity", "other")
SUBJECTS = ("supply", "quality")
ISSUE_TRANSITIONS: Mapping[str, Mapping[str, str]] = {
    "open": {"answer": "answered", "escalate": "escalated"},
    "escalated": {"answer": "answered", "resolve": "closed"},
    "answered": {"accept": "closed", "dispute": "disputed"},
    "disputed": {"settle": "closed"},
    "closed": {},
}
DISPUTE_TRANSITIONS: Mapping[str, Mapping[str, str]] = {
    "open": {"resolve": "resolved", "escalate": "escalated"},
    "escalated": {"decide": "decided"},
    "resolved": {},
    "decided": {},
}


@dataclass(frozen=True)
class Issue:
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
    answer: str
    answered_on: date | None
    outcome: str
    # True while the deadline depends on a year whose official schedule is not loaded (statutory rules only).
    deadline_provisional: bool = False

    def overdue(self, today: date) -> bool:
        return self.state == "open" and today > self.answer_due


@dataclass(frozen=True)
class Dispute:
    id: str
    quality_issue_id: str | None
    raised_by_org_id: str
    against_org_id: str
    subject: str
    description: str
    state: str
    raised_on: date
    coordination_due: date
    outcome: str
    closed_on: date | None
    deadline_provisional: bool = False

    def overdue(self, today: date) -> bool:
        return self.state == "open" and today > self.coordination_due


def _next(table: Mapping[str, Mapping[str, str]], noun: str, state: str, action: str) -> str:
    try:
        return table[state][action]
    except KeyError:
        raise InvalidTransition(f"a {state} {noun} does not allow {action}", current_state=state)


def _text(value: str, field: str, what: str) -> str:
    if not value or not value.strip():
        raise InvalidInput(f"{what} is required", field=field)
    return value.strip()


def report(
    session: Session,
    *,
    dataset: str,
    table: str | None,
    column: str | None,
    reporter_org_id: str,
    source_org_id: str,
    category: str,
    description: str,
    today: date,
    now: datetime,
) -> Issue:
    """The caller has resolved ``dataset``/``table``/``column`` against the catalog and its source department."""
    if category not in CATEGORIES:
        raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}", field="category")
    if column is not None and table is None:
        raise InvalidInput("a column is named together with its table", field="table")
    row = QualityIssueRow(
        dataset=dataset,
        table_name=table,
        column_name=column,
        reporter_org_id=reporter_org_id,
        source_org_id=source_org_id,
        category=category,
        description=_text(description, "description", "a description"),
        state="open",
        reported_on=today,
        answer_due=add_working_days(today, ANSWER_WORKING_DAYS, workdays.of(session)),
        answer="",
        outcome="",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return issue(session, row.id)


def answer(session: Session, issue_id: str, *, text: str, today: date, now: datetime) -> Issue:
    """The source department's answer (its fix, or why it is not a problem)."""
    row = _issue_row(session, issue_id)
    state = _next(ISSUE_TRANSITIONS, "quality issue", row.state, "answer")
    row.answer, row.answered_on = _text(text, "answer", "an answer"), today
    row.state, row.updated_at = state, now
    session.flush()
    return issue(session, issue_id)


def accept(session: Session, issue_id: str, *, now: datetime) -> Issue:
    row = _issue_row(session, issue_id)
    row.state = _next(ISSUE_TRANSITIONS, "quality issue", row.state, "accept")
    row.outcome, row.updated_at = "answer accepted by the reporter", now
    session.flush()
    return issue(session, issue_id)


def escalate(session: Session, issue_id: str, *, today: date, now: datetime) -> Issue:
    """Escalate an unanswered issue past its deadline to the data authority."""
    row = _issue_row(session, issue_id)
    state = _next(ISSUE_TRANSITIONS, "quality issue", row.state, "escalate")
    if today <= row.answer_due:
        raise Conflict(
            f"the source department has until {row.answer_due.isoformat()} to answer",
            field="issue_id",
            answer_due=row.answer_due.isoformat(),
        )
    row.state, row.updated_at = state, now
    session.flush()
    return issue(session, issue_id)


def escalate_overdue(session: Session, *, today: date, now: datetime) -> list[str]:
    ids = list(
        session.scalars(
            select(QualityIssueRow.id)
            .where(QualityIssueRow.state == "open", QualityIssueRow.answer_due < today)
            .order_by(QualityIssueRow.answer_due)
        )
    )
    for issue_id in ids:
        escalate(session, issue_id, today=today, now=now)
    return ids


def resolve(session: Session, issue_id: str, *, outcome: str, now: datetime) -> Issue:
    """The data authority's outcome on an escalated issue."""
    row = _issue_row(session, issue_id)
    state = _next(ISSUE_TRANSITIONS, "quality issue", row.state, "resolve")
    row.outcome = _text(outcome, "outcome", "an outcome")
    row.state, row.updated_at = state, now
    session.flush()
    return issue(session, issue_id)


def dispute_answer(
    session: Session, issue_id: str, *, description: str, today: date, now: datetime
) -> Dispute:
    """The reporter does not accept the answer: a quality dispute against the source department (A33)."""
    row = _issue_row(session, issue_id)
    state = _next(ISSUE_TRANSITIONS, "quality issue", row.state, "dispute")
    row.state, row.updated_at = state, now
    return raise_dispute(
        session,
        raised_by_org_id=row.reporter_org_id,
        against_org_id=row.source_org_id,
        subject="quality",
        description=description,
        quality_issue_id=row.id,
        today=today,
        now=now,
    )


def raise_dispute(
    session: Session,
    *,
    raised_by_org_id: str,
    against_org_id: str,
    subject: str,
    description: str,
    quality_issue_id: str | None,
    today: date,
    now: datetime,
) -> Dispute:
    if subject not in SUBJECTS:
        raise InvalidInput(f"subject must be one of {', '.join(SUBJECTS)}", field="subject")
    if raised_by_org_id == against_org_id:
        raise InvalidInput("a dispute is between two organizations", field="against")
    row = DisputeRow(
        quality_issue_id=quality_issue_id,
        raised_by_org_id=raised_by_org_id,
        against_org_id=against_org_id,
        subject=subject,
        description=_text(description, "description", "a description"),
        state="open",
        raised_on=today,
        coordination_due=add_working_days(today, COORDINATION_WORKING_DAYS, workdays.of(session)),
        outcome="",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return dispute(session, row.id)


def _close_dispute(
    session: Session, dispute_id: str, action: str, outcome: str, today: date, now: datetime
) -> Dispute:
    row = _dispute_row(session, dispute_id)
    state = _next(DISPUTE_TRANSITIONS, "dispute", row.state, action)
    row.outcome = _text(outcome, "outcome", "an outcome")
    row.state, row.closed_on, row.updated_at = state, today, now
    if row.quality_issue_id is not None:
        linked = _issue_row(session, row.quality_issue_id)
        linked.state = _next(ISSUE_TRANSITIONS, "quality issue", linked.state, "settle")
        linked.outcome, linked.updated_at = row.outcome, now
    session.flush()
    return dispute(session, dispute_id)


def coordinate(session: Session, dispute_id: str, *, outcome: str, today: date, now: datetime) -> Dispute:
    """The data authority coordinated the dispute to an outcome (A33)."""
    return _close_dispute(session, dispute_id, "resolve", outcome, today, now)


def escalate_dispute(session: Session, dispute_id: str, *, reason: str, now: datetime) -> Dispute:
    """Unresolved by coordination: escalated to the city government (A33)."""
    row = _dispute_row(session, dispute_id)
    state = _next(DISPUTE_TRANSITIONS, "dispute", row.state, "escalate")
    row.outcome = f"escalated to the city government: {_text(reason, 'reason', 'a reason')}"
    row.state, row.updated_at = state, now
    session.flush()
    return dispute(session, dispute_id)


def decide(session: Session, dispute_id: str, *, outcome: str, today: date, now: datetime) -> Dispute:
    """The city government's decision, recorded by the data authority."""
    return _close_dispute(session, dispute_id, "decide", outcome, today, now)


def issue(session: Session, issue_id: str) -> Issue:
    r = _issue_row(session, issue_id)
    return Issue(
        id=r.id,
        dataset=r.dataset,
        table=r.table_name,
        column=r.column_name,
        reporter_org_id=r.reporter_org_id,
        source_org_id=r.source_org_id,
        category=r.category,
        description=r.description,
        state=r.state,
        reported_on=r.reported_on,
        answer_due=r.answer_due,
        answer=r.answer,
        answered_on=r.answered_on,
        outcome=r.outcome,
        deadline_provisional=workdays.of(session).is_provisional(r.reported_on, r.answer_due),
    )


def dispute(session: Session, dispute_id: str) -> Dispute:
    r = _dispute_row(session, dispute_id)
    return Dispute(
        id=r.id,
        quality_issue_id=r.quality_issue_id,
        raised_by_org_id=r.raised_by_org_id,
        against_org_id=r.against_org_id,
        subject=r.subject,
        description=r.description,
        state=r.state,
        raised_on=r.raised_on,
        coordination_due=r.coordination_due,
        outcome=r.outcome,
        closed_on=r.closed_on,
        deadline_provisional=workdays.of(session).is_provisional(r.raised_on, r.coordination_due),
    )


def list_issues(
    session: Session, *, organization_id: str | None = None, overdue_on: date | None = None
) -> list[Issue]:
    """Issues the organization reported or must answer (all, if None); only overdue ones with ``overdue_on``."""
    query = select(QualityIssueRow.id).order_by(QualityIssueRow.reported_on, QualityIssueRow.created_at)
    if organization_id is not None:
        query = query.where(
            (QualityIssueRow.reporter_org_id == organization_id)
            | (QualityIssueRow.source_org_id == organization_id)
        )
    if overdue_on is not None:
        query = query.where(QualityIssueRow.state == "open", QualityIssueRow.answer_due < overdue_on)
    return [issue(session, i) for i in session.scalars(query)]


def list_disputes(session: Session, *, organization_id: str | None = None) -> list[Dispute]:
    query = select(DisputeRow.id).order_by(DisputeRow.raised_on, DisputeRow.created_at)
    if organization_id is not None:
        query = query.where(
            (DisputeRow.raised_by_org_id == organization_id) | (DisputeRow.against_org_id == organization_id)
        )
    return [dispute(session, d) for d in session.scalars(query)]


def _issue_row(session: Session, issue_id: str) -> QualityIssueRow:
    row = session.get(QualityIssueRow, issue_id)
    if row is None:
        raise NotFound("no such quality issue", field="issue_id")
    return row


def _dispute_row(session: Session, dispute_id: str) -> DisputeRow:
    row = session.get(DisputeRow, dispute_id)
    if row is None:
        raise NotFound("no such dispute", field="dispute_id")
    return row
