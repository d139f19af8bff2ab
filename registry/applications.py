"""Registration applications (R11-R16): submission with consent of every registrant, the procedure's actions
(``registry.workflow`` holds the transition table), resubmission, objections during the public notice, and
the application views. The caller (gateway) owns the transaction and the audit event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import workdays
from common.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from registry import deadlines, workflow
from registry.evidence import canonical
from registry.evidence_records import check_subject_type, evidence_row
from registry.lineages import code_row, current_row, effective_state, live_lineage
from registry.store import (
    ApplicationRow,
    CertificateRow,
    NoticeRow,
    ObjectionRow,
    RegistrantRow,
    TransitionRow,
)
from registry.views import (
    CONTENT_FIELDS,
    MAX_LETTER_BYTES,
    OPEN_STATES,
    ApplicationSpec,
    ApplicationView,
    ObjectionView,
    Party,
)


def _validate_content(content: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(content) - set(CONTENT_FIELDS))
    if unknown:
        raise InvalidInput(
            f"unknown content field {unknown[0]}; expected {', '.join(CONTENT_FIELDS)}",
            field=f"content.{unknown[0]}",
        )
    cleaned = {}
    for name in CONTENT_FIELDS:
        value = content.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"content.{name} is required", field=f"content.{name}")
        limit = 5000 if name == "description" else 200
        if len(value) > limit:
            raise InvalidInput(f"content.{name} may have at most {limit} characters", field=f"content.{name}")
        cleaned[name] = value.strip()
    return cleaned


def submit(
    session: Session,
    spec: ApplicationSpec,
    *,
    applicant: Party,
    user_id: str,
    today: date,
    now: datetime,
    current_evidence_sha256: str | None = None,
) -> ApplicationView:
    """Apply for a registration (R9, R13, R16). ``current_evidence_sha256`` is the digest of the subject's
    stored data now (datasets): the application's evidence must match it."""
    if spec.kind not in workflow.KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(workflow.KINDS)}", field="kind")
    check_subject_type(spec.subject_type)
    if not spec.subject_id or len(spec.subject_id) > 100:
        raise InvalidInput("subject_id must be 1-100 characters", field="subject_id")
    content = _validate_content(spec.content)
    if not spec.commitment_letter:
        raise InvalidInput("the commitment letter is required", field="commitment_letter")
    if len(spec.commitment_letter) > MAX_LETTER_BYTES:
        raise InvalidInput("the commitment letter may be at most 5 MB", field="commitment_letter")
    if spec.subject_type == "product":
        if spec.authorization_end is None:
            raise InvalidInput(
                "a product or service needs its authorization end date (R17)", field="authorization_end"
            )
        if spec.authorization_end <= today:
            raise InvalidInput("the authorization has already ended", field="authorization_end")
    co_ids = [p.id for p in spec.co_registrants]
    if len(set(co_ids)) != len(co_ids) or applicant.id in co_ids:
        raise InvalidInput(
            "co-registrants must be distinct organizations other than the applicant", field="co_registrants"
        )
    open_app = session.scalar(
        select(ApplicationRow.id).where(
            ApplicationRow.subject_type == spec.subject_type,
            ApplicationRow.subject_id == spec.subject_id,
            ApplicationRow.state.in_(OPEN_STATES),
        )
    )
    if open_app:
        raise Conflict(
            "this subject already has an application in progress", field="subject_id", application_id=open_app
        )
    live = live_lineage(session, spec.subject_type, spec.subject_id, today)
    if spec.kind == "first":
        if spec.certificate_code:
            raise InvalidInput("a first registration has no certificate code", field="certificate_code")
        if live is not None:
            raise Conflict(
                f"already registered under certificate {live.code}; apply for a change, correction or "
                "cancellation instead",
                field="kind",
            )
    else:
        target = _target_certificate(session, spec, applicant, today)
    evidence_id = spec.evidence_id
    if spec.kind in ("first", "change") or (spec.kind == "correction" and evidence_id):
        if not evidence_id:
            raise InvalidInput(
                "evidence the data before applying (R13): give evidence_id", field="evidence_id"
            )
        evidence = evidence_row(session, evidence_id)
        if (evidence.subject_type, evidence.subject_id) != (spec.subject_type, spec.subject_id):
            raise InvalidInput("the evidence is for another subject", field="evidence_id")
        if evidence.registrant_org_id not in {applicant.id, *co_ids}:
            raise InvalidInput("the evidence was made for another registrant", field="evidence_id")
        if current_evidence_sha256 is not None and evidence.sha256 != current_evidence_sha256:
            raise Conflict(
                "the evidence no longer matches the stored data: evidence the current version",
                field="evidence_id",
            )
    elif spec.kind == "correction":
        evidence_id = None
    if spec.kind == "cancellation":
        evidence_id = None
    row = ApplicationRow(
        kind=spec.kind,
        subject_type=spec.subject_type,
        subject_id=spec.subject_id,
        certificate_code=None if spec.kind == "first" else target.code,
        state="submitted",
        content=canonical(content),
        evidence_id=evidence_id,
        authorization_end=spec.authorization_end,
        applicant_org_id=applicant.id,
        applicant_user_id=user_id,
        commitment_filename=(spec.commitment_filename or "commitment")[:255],
        commitment_sha256=hashlib.sha256(spec.commitment_letter).hexdigest(),
        commitment_letter=spec.commitment_letter,
        submitted_on=today,
        acceptance_due=deadlines.acceptance_due(today, workdays.of(session)),
        decision_reason="",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    session.add(
        RegistrantRow(
            application_id=row.id,
            organization_id=applicant.id,
            organization_name=applicant.name,
            lead=True,
            consented_by=user_id,
            consented_at=now,
        )
    )
    for party in spec.co_registrants:
        session.add(
            RegistrantRow(
                application_id=row.id, organization_id=party.id, organization_name=party.name, lead=False
            )
        )
    _history(session, row, "submit", "new", "submitted", user_id, "", today, now)
    return application(session, row.id, today)


def _target_certificate(
    session: Session, spec: ApplicationSpec, applicant: Party, today: date
) -> CertificateRow:
    if not spec.certificate_code:
        raise InvalidInput(
            f"a {spec.kind} registration names the certificate it changes", field="certificate_code"
        )
    current = current_row(session, spec.certificate_code)
    code = code_row(session, spec.certificate_code)
    if (code.subject_type, code.subject_id) != (spec.subject_type, spec.subject_id):
        raise InvalidInput("the certificate is for another subject", field="certificate_code")
    state = effective_state(current, today)
    if state != "issued":
        raise InvalidTransition(
            f"certificate {current.code} is {state}; apply for a first registration instead",
            current_state=state,
        )
    if applicant.id not in {h["id"] for h in json.loads(current.holders)}:
        raise Forbidden("only a holder of the certificate may change, correct or cancel it")
    return current


def consent(
    session: Session, application_id: str, *, organization_id: str, user_id: str, today: date, now: datetime
) -> ApplicationView:
    """A co-registrant records its consent to a joint application (R9)."""
    row = application_row(session, application_id, lock=True)
    if row.state in workflow.TERMINAL:
        raise InvalidTransition(
            f"cannot consent to an application that is {row.state}", current_state=row.state
        )
    registrant = session.scalar(
        select(RegistrantRow).where(
            RegistrantRow.application_id == row.id, RegistrantRow.organization_id == organization_id
        )
    )
    if registrant is None:
        raise Forbidden("your organization is not a registrant of this application")
    if registrant.consented_at is None:
        registrant.consented_by, registrant.consented_at = user_id, now
        _history(session, row, "consent", row.state, row.state, user_id, "", today, now)
    session.flush()
    return application(session, row.id, today)


def act(
    session: Session,
    application_id: str,
    action: str,
    *,
    actor_id: str,
    today: date,
    now: datetime,
    reason: str = "",
    organization_id: str | None = None,
) -> ApplicationView:
    """accept, return, approve, reject, publish, withdraw — the registrar's steps and the applicant's
    withdrawal.

    ``organization_id`` is the applicant's organization for applicant actions (withdraw)."""
    row = application_row(session, application_id, lock=True)
    # Authorization first: a refused transition's 409 would tell another organization the state.
    if workflow.actor_of(action) == "applicant" and organization_id != row.applicant_org_id:
        raise Forbidden("only the applicant may do this")
    to_state = workflow.target(action, row.state, row.kind)
    if action in ("return", "reject") and not reason.strip():
        raise InvalidInput(f"{action} needs a reason", field="reason")
    if action == "accept":
        waiting = session.scalar(
            select(func.count())
            .select_from(RegistrantRow)
            .where(RegistrantRow.application_id == row.id, RegistrantRow.consented_at.is_(None))
        )
        if waiting:
            raise InvalidTransition(
                f"waiting for the consent of {waiting} co-registrant(s) (R9)", current_state=row.state
            )
        row.accepted_on = today
    if action == "publish":
        row.notice_start, row.notice_end = today, deadlines.notice_end(today, calendar=workdays.of(session))
        post_notice(
            session, "registration", row, today, now, ends_on=row.notice_end, code=row.certificate_code
        )
    if action in ("approve", "reject", "return"):
        row.decision_reason = reason.strip()
    move(session, row, action, to_state, actor_id, reason, today, now)
    return application(session, row.id, today)


def resubmit(
    session: Session,
    application_id: str,
    *,
    content: Mapping[str, str] | None,
    organization_id: str,
    user_id: str,
    today: date,
    now: datetime,
) -> ApplicationView:
    """The applicant completes a returned application; the acceptance deadline runs again."""
    row = application_row(session, application_id, lock=True)
    if organization_id != row.applicant_org_id:  # before the state check, whose 409 names the state
        raise Forbidden("only the applicant may do this")
    to_state = workflow.target("resubmit", row.state, row.kind)
    if content is not None:
        row.content = canonical(_validate_content(content))
    row.submitted_on, row.acceptance_due = today, deadlines.acceptance_due(today, workdays.of(session))
    move(session, row, "resubmit", to_state, user_id, "", today, now)
    return application(session, row.id, today)


def file_objection(
    session: Session, application_id: str, *, reason: str, user_id: str, today: date, now: datetime
) -> ObjectionView:
    """Object during the public notice: issuance pauses until the registrar resolves it (R16)."""
    row = application_row(session, application_id, lock=True)
    to_state = workflow.target("object", row.state, row.kind)
    if not reason.strip() or len(reason) > 5000:
        raise InvalidInput("an objection needs a reason of at most 5000 characters", field="reason")
    if row.notice_end is not None and today > row.notice_end and row.state == "in_notice":
        raise InvalidTransition(
            f"the public notice ended on {row.notice_end.isoformat()}", current_state=row.state
        )
    if row.state == "in_notice":
        row.notice_remaining = max(
            deadlines.working_days_between(today, row.notice_end, workdays.of(session)), 0
        )
    objection = ObjectionRow(
        application_id=row.id, state="open", reason=reason.strip(), filed_by=user_id, filed_on=today
    )
    session.add(objection)
    move(session, row, "object", to_state, user_id, "", today, now)
    return _objection(objection)


def resolve_objection(
    session: Session,
    objection_id: str,
    *,
    decision: str,
    reason: str,
    actor_id: str,
    today: date,
    now: datetime,
) -> ApplicationView:
    """upheld → the application is rejected; dismissed → the notice resumes for its remaining working days."""
    objection = session.get(ObjectionRow, objection_id)
    if objection is None:
        raise NotFound("no such objection", field="objection_id")
    if decision not in ("upheld", "dismissed"):
        raise InvalidInput("decision must be upheld or dismissed", field="decision")
    if not reason.strip():
        raise InvalidInput("a resolution needs a reason", field="reason")
    if objection.state != "open":
        raise InvalidTransition(f"the objection is already {objection.state}", current_state=objection.state)
    row = application_row(session, objection.application_id, lock=True)
    objection.state, objection.resolution = decision, reason.strip()
    objection.resolved_by, objection.resolved_on = actor_id, today
    session.flush()
    if decision == "upheld":
        to_state = workflow.target("uphold", row.state, row.kind)
        for other in _open_objections(session, row.id):
            other.state, other.resolution, other.resolved_by, other.resolved_on = (
                "moot",
                "another objection was upheld",
                actor_id,
                today,
            )
        row.decision_reason = reason.strip()
        move(session, row, "uphold", to_state, actor_id, reason, today, now)
    elif not _open_objections(session, row.id):
        to_state = workflow.target("dismiss", row.state, row.kind)
        row.notice_end = deadlines.notice_end(today, row.notice_remaining or 0, workdays.of(session))
        row.notice_remaining = None
        move(session, row, "dismiss", to_state, actor_id, reason, today, now)
    return application(session, row.id, today)


def _open_objections(session: Session, application_id: str) -> list[ObjectionRow]:
    return list(
        session.scalars(
            select(ObjectionRow).where(
                ObjectionRow.application_id == application_id, ObjectionRow.state == "open"
            )
        )
    )


def commitment_letter(session: Session, application_id: str) -> tuple[str, bytes]:
    row = application_row(session, application_id)
    return row.commitment_filename, row.commitment_letter


def post_notice(
    session: Session,
    kind: str,
    app: ApplicationRow,
    today: date,
    now: datetime,
    *,
    ends_on: date | None = None,
    code: str | None = None,
) -> None:
    content = json.loads(app.content)
    session.add(
        NoticeRow(
            kind=kind,
            application_id=app.id,
            certificate_code=code,
            registrants=canonical([r["name"] for r in registrants_of(session, app.id)]),
            registration_type=app.kind,
            data_name=content.get("name", ""),
            summary=content.get("description", "")[:1000],
            published_on=today,
            ends_on=ends_on,
            created_at=now,
        )
    )
    session.flush()


def application_row(session: Session, application_id: str, lock: bool = False) -> ApplicationRow:
    """The application; with ``lock`` its row is locked until commit (concurrent transitions serialize)."""
    row = session.get(ApplicationRow, application_id, with_for_update=lock or None)
    if row is None:
        raise NotFound("no such application", field="application_id")
    return row


def registrants_of(session: Session, application_id: str) -> list[dict]:
    rows = session.scalars(
        select(RegistrantRow)
        .where(RegistrantRow.application_id == application_id)
        .order_by(RegistrantRow.lead.desc(), RegistrantRow.organization_name)
    )
    return [
        {
            "id": r.organization_id,
            "name": r.organization_name,
            "lead": r.lead,
            "consented": r.consented_at is not None,
        }
        for r in rows
    ]


def registrant_ids(session: Session, application_id: str) -> frozenset[str]:
    return frozenset(r["id"] for r in registrants_of(session, application_row(session, application_id).id))


def _objection(row: ObjectionRow) -> ObjectionView:
    return ObjectionView(
        id=row.id,
        application_id=row.application_id,
        state=row.state,
        reason=row.reason,
        filed_on=row.filed_on,
        resolution=row.resolution,
        resolved_on=row.resolved_on,
    )


def application(session: Session, application_id: str, today: date) -> ApplicationView:
    row = application_row(session, application_id)
    objections = session.scalars(
        select(ObjectionRow)
        .where(ObjectionRow.application_id == row.id)
        .order_by(ObjectionRow.filed_on, ObjectionRow.id)
    )
    history = session.scalars(
        select(TransitionRow).where(TransitionRow.application_id == row.id).order_by(TransitionRow.seq)
    )
    return ApplicationView(
        id=row.id,
        kind=row.kind,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        certificate_code=row.certificate_code,
        state=row.state,
        next_step=workflow.NEXT_STEP[row.state],
        content=json.loads(row.content),
        evidence_id=row.evidence_id,
        authorization_end=row.authorization_end,
        applicant_org_id=row.applicant_org_id,
        registrants=registrants_of(session, row.id),
        commitment_filename=row.commitment_filename,
        commitment_sha256=row.commitment_sha256,
        submitted_on=row.submitted_on,
        acceptance_due=row.acceptance_due,
        acceptance_overdue=row.state == "submitted" and today > row.acceptance_due,
        accepted_on=row.accepted_on,
        notice_start=row.notice_start,
        notice_end=row.notice_end,
        deadline_provisional=workdays.of(session).is_provisional(
            row.submitted_on, row.notice_end or row.acceptance_due
        ),
        decision_reason=row.decision_reason,
        objections=[_objection(o) for o in objections],
        history=[
            {
                "action": h.action,
                "from": h.from_state,
                "to": h.to_state,
                "on": h.on_day.isoformat(),
                "reason": h.reason,
            }
            for h in history
        ],
    )


def list_applications(
    session: Session, today: date, organization_id: str | None = None
) -> list[ApplicationView]:
    query = select(ApplicationRow.id).order_by(ApplicationRow.created_at)
    if organization_id is not None:
        query = query.where(
            ApplicationRow.id.in_(
                select(RegistrantRow.application_id).where(RegistrantRow.organization_id == organization_id)
            )
        )
    return [application(session, app_id, today) for app_id in session.scalars(query)]


def move(
    session: Session,
    row: ApplicationRow,
    action: str,
    to_state: str,
    actor_id: str,
    reason: str,
    today: date,
    now: datetime,
) -> None:
    from_state = row.state
    row.state, row.updated_at = to_state, now
    _history(session, row, action, from_state, to_state, actor_id, reason, today, now)


def _history(
    session: Session,
    row: ApplicationRow,
    action: str,
    from_state: str,
    to_state: str,
    actor_id: str,
    reason: str,
    today: date,
    now: datetime,
) -> None:
    seq = (
        session.scalar(select(func.max(TransitionRow.seq)).where(TransitionRow.application_id == row.id)) or 0
    ) + 1
    session.add(
        TransitionRow(
            application_id=row.id,
            seq=seq,
            action=action,
            from_state=from_state,
            to_state=to_state,
            actor_id=actor_id,
            reason=reason.strip(),
            on_day=today,
            created_at=now,
        )
    )
    session.flush()
