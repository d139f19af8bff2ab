"""Registry operations over a Session. The caller (gateway) owns the transaction and the audit event.

Everything the registry needs from other rooms (dataset owners, file paths, organization names and
affiliations) is handed in as plain values. Messages name fields, codes and states, never data values.
Registration is free of charge: nothing here records a fee (R15).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common import workdays
from common.db import utcnow
from common.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from common.types import Verdict
from registry import certificates, deadlines, workflow
from registry.evidence import Evidence, canonical
from registry.store import (
    ApplicationRow,
    CertificateRow,
    CodeRow,
    EvidenceRow,
    NoticeRow,
    ObjectionRow,
    RegistrantRow,
    TransitionRow,
)

SUBJECT_TYPES = ("dataset", "product")
CONTENT_FIELDS = (
    "name",
    "holder",
    "source",
    "scale",
    "update_frequency",
    "format",
    "open_attribute",
    "storage",
    "description",
)
MAX_LETTER_BYTES = 5 * 1024 * 1024
ISSUER = "重庆市公共数据资源登记机构 (Chongqing public data resource registration institution)"
OPEN_STATES = frozenset(workflow.STATES - workflow.TERMINAL)


# --- values handed in and out --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """An organization as the registry records it: id and the name at the time."""

    id: str
    name: str


@dataclass(frozen=True)
class ApplicationSpec:
    kind: str  # first | change | correction | cancellation
    subject_type: str  # dataset | product
    subject_id: str  # dataset name, or the product's id (authorized-operation seam)
    content: Mapping[str, str]
    commitment_filename: str
    commitment_letter: bytes
    certificate_code: str | None = None
    evidence_id: str | None = None
    authorization_end: date | None = None  # required for products (R17)
    co_registrants: tuple[Party, ...] = ()


@dataclass(frozen=True)
class EvidenceView:
    id: str
    subject_type: str
    subject_id: str
    subject_version: int
    mode: str
    registrant_org_id: str
    issuer_org_id: str
    sha256: str
    sm3: str | None
    manifest: dict
    created_at: datetime


@dataclass(frozen=True)
class ObjectionView:
    id: str
    application_id: str
    state: str
    reason: str
    filed_on: date
    resolution: str
    resolved_on: date | None


@dataclass(frozen=True)
class ApplicationView:
    id: str
    kind: str
    subject_type: str
    subject_id: str
    certificate_code: str | None
    state: str
    next_step: str
    content: dict
    evidence_id: str | None
    authorization_end: date | None
    applicant_org_id: str
    registrants: list[dict]
    commitment_filename: str
    commitment_sha256: str
    submitted_on: date
    acceptance_due: date
    acceptance_overdue: bool
    accepted_on: date | None
    notice_start: date | None
    notice_end: date | None
    decision_reason: str
    objections: list[ObjectionView]
    history: list[dict]
    # True while the deadline depends on a year whose official schedule is not loaded (statutory rules only).
    deadline_provisional: bool = False


@dataclass(frozen=True)
class CertificateView:
    code: str
    version: int
    state: str  # issued | expired | superseded | cancelled | revoked
    subject_type: str
    subject_id: str
    registration_type: str
    issued_on: date
    valid_from: date
    valid_to: date
    authorization_end: date | None
    holders: list[dict]
    state_reason: str
    state_changed_on: date | None
    document: str
    signature: str
    key_id: str


@dataclass(frozen=True)
class Verification:
    code: str
    code_valid: bool
    found: bool
    signature_valid: bool
    state: str | None
    valid: bool
    reason: str
    certificate: CertificateView | None = None
    versions: list[dict] = field(default_factory=list)


# --- evidence (R12, R13) -------------------------------------------------------------------------------------


def record_evidence(
    session: Session,
    evidence: Evidence,
    *,
    subject_type: str,
    subject_id: str,
    subject_version: int,
    mode: str,
    registrant_org_id: str,
    issuer_org_id: str,
    actor_id: str,
    now: datetime,
) -> EvidenceView:
    """Keep computed evidence. For ``third_party`` the caller has already run ``evidence.check_third_party``."""
    _subject_type(subject_type)
    if mode not in ("self", "third_party"):
        raise InvalidInput("mode must be self or third_party", field="mode")
    if mode == "self" and issuer_org_id != registrant_org_id:
        raise InvalidInput("self-evidence is issued by the registrant itself", field="mode")
    row = EvidenceRow(
        subject_type=subject_type,
        subject_id=subject_id,
        subject_version=subject_version,
        mode=mode,
        registrant_org_id=registrant_org_id,
        issuer_org_id=issuer_org_id,
        sha256=evidence.sha256,
        sm3=evidence.sm3,
        manifest=evidence.manifest_json,
        created_by=actor_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _evidence(row)


def get_evidence(session: Session, evidence_id: str) -> EvidenceView:
    return _evidence(_evidence_row(session, evidence_id))


def _evidence_row(session: Session, evidence_id: str) -> EvidenceRow:
    row = session.get(EvidenceRow, evidence_id)
    if row is None:
        raise NotFound("no such evidence", field="evidence_id")
    return row


def _evidence(row: EvidenceRow) -> EvidenceView:
    return EvidenceView(
        id=row.id,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        subject_version=row.subject_version,
        mode=row.mode,
        registrant_org_id=row.registrant_org_id,
        issuer_org_id=row.issuer_org_id,
        sha256=row.sha256,
        sm3=row.sm3,
        manifest=json.loads(row.manifest),
        created_at=row.created_at,
    )


# --- applications --------------------------------------------------------------------------------------------


def _subject_type(value: str) -> str:
    if value not in SUBJECT_TYPES:
        raise InvalidInput(f"subject_type must be one of {', '.join(SUBJECT_TYPES)}", field="subject_type")
    return value


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
    _subject_type(spec.subject_type)
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
    live = _live_lineage(session, spec.subject_type, spec.subject_id, today)
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
        evidence = _evidence_row(session, evidence_id)
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
    current = _current(session, spec.certificate_code)
    code = _code_row(session, spec.certificate_code)
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
    row = _application_row(session, application_id, lock=True)
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
    """accept, return, approve, reject, publish, withdraw — the registrar's steps and the applicant's withdrawal.

    ``organization_id`` is the applicant's organization for applicant actions (withdraw)."""
    row = _application_row(session, application_id, lock=True)
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
        _notice(session, "registration", row, today, now, ends_on=row.notice_end, code=row.certificate_code)
    if action in ("approve", "reject", "return"):
        row.decision_reason = reason.strip()
    _move(session, row, action, to_state, actor_id, reason, today, now)
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
    row = _application_row(session, application_id, lock=True)
    if organization_id != row.applicant_org_id:  # before the state check, whose 409 names the state
        raise Forbidden("only the applicant may do this")
    to_state = workflow.target("resubmit", row.state, row.kind)
    if content is not None:
        row.content = canonical(_validate_content(content))
    row.submitted_on, row.acceptance_due = today, deadlines.acceptance_due(today, workdays.of(session))
    _move(session, row, "resubmit", to_state, user_id, "", today, now)
    return application(session, row.id, today)


def file_objection(
    session: Session, application_id: str, *, reason: str, user_id: str, today: date, now: datetime
) -> ObjectionView:
    """Object during the public notice: issuance pauses until the registrar resolves it (R16)."""
    row = _application_row(session, application_id, lock=True)
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
    _move(session, row, "object", to_state, user_id, "", today, now)
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
    row = _application_row(session, objection.application_id, lock=True)
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
        _move(session, row, "uphold", to_state, actor_id, reason, today, now)
    elif not _open_objections(session, row.id):
        to_state = workflow.target("dismiss", row.state, row.kind)
        row.notice_end = deadlines.notice_end(today, row.notice_remaining or 0, workdays.of(session))
        row.notice_remaining = None
        _move(session, row, "dismiss", to_state, actor_id, reason, today, now)
    return application(session, row.id, today)


def _open_objections(session: Session, application_id: str) -> list[ObjectionRow]:
    return list(
        session.scalars(
            select(ObjectionRow).where(
                ObjectionRow.application_id == application_id, ObjectionRow.state == "open"
            )
        )
    )


def issue(
    session: Session,
    application_id: str,
    *,
    key: Ed25519PrivateKey,
    actor_id: str,
    today: date,
    now: datetime,
) -> ApplicationView:
    """After the notice period: assign the code and issue the signed certificate (first), a new certificate
    version under the same code (change, correction), or cancel the certificate (cancellation)."""
    row = _application_row(session, application_id, lock=True)
    to_state = workflow.target("issue", row.state, row.kind)
    if row.notice_end is None or today <= row.notice_end:
        raise InvalidTransition(
            f"the public notice runs until {row.notice_end.isoformat()}"
            if row.notice_end
            else "the public notice has not started",
            current_state=row.state,
        )
    registrants = _registrants(session, row.id)
    content = json.loads(row.content)
    evidence = session.get(EvidenceRow, row.evidence_id) if row.evidence_id else None
    if row.kind == "first":
        code = _new_code(session, row.subject_type, row.subject_id, today, now)
        cert = _new_version(
            session,
            key,
            code,
            1,
            row,
            "first",
            registrants,
            content,
            today,
            today,
            deadlines.validity_end(today, row.authorization_end),
            evidence,
            now,
        )
    elif row.kind in ("change", "correction"):
        current = _current(session, row.certificate_code, lock=True)
        _set_state(current, "supersede", f"{row.kind} registration", today)
        code = _code_row(session, row.certificate_code)
        valid_to = (
            current.valid_to
            if row.authorization_end is None
            else min(current.valid_to, row.authorization_end)
        )
        if evidence is None and current.evidence_sha256:  # a correction keeps the registered evidence
            evidence = session.scalar(
                select(EvidenceRow)
                .where(EvidenceRow.sha256 == current.evidence_sha256)
                .order_by(EvidenceRow.created_at.desc())
            )
        cert = _new_version(
            session,
            key,
            code,
            code.current_version + 1,
            row,
            row.kind,
            registrants,
            content,
            today,
            today,
            valid_to,
            evidence,
            now,
            authorization_end=row.authorization_end or current.authorization_end,
        )
    else:
        current = _current(session, row.certificate_code, lock=True)
        _set_state(current, "cancel", "cancellation registration", today)
        _notice(session, "cancellation", row, today, now, code=current.code)
        cert = current
    row.certificate_id = cert.id
    row.certificate_code = cert.code
    _move(session, row, "issue", to_state, actor_id, "", today, now)
    return application(session, row.id, today)


# --- certificates --------------------------------------------------------------------------------------------


def _new_code(session: Session, subject_type: str, subject_id: str, today: date, now: datetime) -> CodeRow:
    serial = (session.scalar(select(func.max(CodeRow.serial)).where(CodeRow.year == today.year)) or 0) + 1
    row = CodeRow(
        code=certificates.make_code(today.year, subject_type, serial),
        year=today.year,
        serial=serial,
        subject_type=subject_type,
        subject_id=subject_id,
        current_version=0,
        created_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another issuance took the serial concurrently
        raise Conflict("a certificate code was assigned concurrently; try again")
    return row


def _new_version(
    session: Session,
    key: Ed25519PrivateKey,
    code: CodeRow,
    version: int,
    app: ApplicationRow | None,
    reason: str,
    holders: list[dict],
    content: dict,
    issued_on: date,
    valid_from: date,
    valid_to: date,
    evidence: EvidenceRow | None,
    now: datetime,
    authorization_end: date | None = None,
) -> CertificateRow:
    authorization_end = authorization_end or (app.authorization_end if app is not None else None)
    holder_list = [{"id": h["id"], "name": h["name"]} for h in holders]
    document = canonical(
        {
            "certificate": "公共数据资源登记证书 (public data resource registration certificate)",
            "code": code.code,
            "version": version,
            "registration_type": reason,
            "subject_type": code.subject_type,
            "subject_id": code.subject_id,
            "data_name": content.get("name", ""),
            "holders": [h["name"] for h in holder_list],
            "issued_on": issued_on.isoformat(),
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat(),
            "authorization_end": authorization_end.isoformat() if authorization_end else None,
            "evidence": {"sha256": evidence.sha256, "sm3": evidence.sm3} if evidence is not None else None,
            "issuer": ISSUER,
            "key_id": certificates.key_id(key),
        }
    )
    row = CertificateRow(
        code=code.code,
        version=version,
        application_id=app.id if app is not None else None,
        reason=reason,
        state="issued",
        issued_on=issued_on,
        valid_from=valid_from,
        valid_to=valid_to,
        authorization_end=authorization_end,
        holders=canonical(holder_list),
        evidence_sha256=evidence.sha256 if evidence is not None else None,
        document=document,
        signature=certificates.sign(key, document),
        key_id=certificates.key_id(key),
        state_reason="",
        created_at=now,
    )
    session.add(row)
    code.current_version = version
    session.flush()
    return row


def _set_state(row: CertificateRow, action: str, reason: str, today: date) -> None:
    row.state = workflow.certificate_target(row.state, action, effective_state(row, today))
    row.state_reason, row.state_changed_on = reason, today


def _code_row(session: Session, code: str, lock: bool = False) -> CodeRow:
    query = select(CodeRow).where(CodeRow.code == code)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("no such certificate", field="code")
    return row


def _current(session: Session, code: str, lock: bool = False) -> CertificateRow:
    lineage = _code_row(session, code, lock=lock)
    return session.scalar(
        select(CertificateRow).where(
            CertificateRow.code == code, CertificateRow.version == lineage.current_version
        )
    )


def effective_state(row: CertificateRow, today: date) -> str:
    """issued, expired (issued but past valid_to, not yet swept), superseded, cancelled or revoked."""
    if row.state == "issued" and today > row.valid_to:
        return "expired"
    return row.state


def _live_lineage(session: Session, subject_type: str, subject_id: str, today: date) -> CertificateRow | None:
    for current in _lineages(session, subject_type, subject_id):
        if effective_state(current, today) == "issued":
            return current
    return None


def _lineages(session: Session, subject_type: str, subject_id: str) -> list[CertificateRow]:
    """The current version of every code the subject ever held, newest first."""
    return list(
        session.scalars(
            select(CertificateRow)
            .join(CodeRow, CodeRow.code == CertificateRow.code)
            .where(
                CodeRow.subject_type == subject_type,
                CodeRow.subject_id == subject_id,
                CertificateRow.version == CodeRow.current_version,
            )
            .order_by(CodeRow.created_at.desc(), CodeRow.serial.desc())
        )
    )


def certificate(session: Session, code: str, today: date, version: int | None = None) -> CertificateView:
    lineage = _code_row(session, code)
    row = session.scalar(
        select(CertificateRow).where(
            CertificateRow.code == code, CertificateRow.version == (version or lineage.current_version)
        )
    )
    if row is None:
        raise NotFound("no such certificate version", field="version")
    return _certificate(row, lineage, today)


def _certificate(row: CertificateRow, lineage: CodeRow, today: date) -> CertificateView:
    return CertificateView(
        code=row.code,
        version=row.version,
        state=effective_state(row, today),
        subject_type=lineage.subject_type,
        subject_id=lineage.subject_id,
        registration_type=row.reason,
        issued_on=row.issued_on,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        authorization_end=row.authorization_end,
        holders=json.loads(row.holders),
        state_reason=row.state_reason,
        state_changed_on=row.state_changed_on,
        document=row.document,
        signature=row.signature,
        key_id=row.key_id,
    )


def renew(
    session: Session,
    code: str,
    *,
    organization_id: str,
    key: Ed25519PrivateKey,
    today: date,
    now: datetime,
    valid_to: date | None = None,
    authorization_end: date | None = None,
) -> CertificateView:
    """Renew within the 60 days before expiry: at most 3 years, never beyond the authorization period, counted
    from the day after the previous expiry (R18). Writes a new signed certificate version."""
    current = _current(session, code, lock=True)
    lineage = _code_row(session, code)
    state = effective_state(current, today)
    if state != "issued":
        raise InvalidTransition(f"cannot renew a certificate that is {state}", current_state=state)
    if organization_id not in {h["id"] for h in json.loads(current.holders)}:
        raise Forbidden("only a holder of the certificate may renew it")
    opens, closes = deadlines.renewal_window(current.valid_to)
    if not opens <= today <= closes:
        raise InvalidTransition(
            f"renewal is possible from {opens.isoformat()} to {closes.isoformat()} (R18)", current_state=state
        )
    start = current.valid_to + timedelta(days=1)
    if lineage.subject_type == "product":
        authorization_end = authorization_end or current.authorization_end
        if authorization_end is None or authorization_end < start:
            raise InvalidInput(
                "the authorization ends before the renewed term would start: renew the "
                "authorization first (R18)",
                field="authorization_end",
            )
    elif authorization_end is not None:
        raise InvalidInput("only products and services have an authorization end", field="authorization_end")
    longest = deadlines.validity_end(start, authorization_end)
    if valid_to is None:
        valid_to = longest
    elif valid_to < start:
        raise InvalidInput(f"valid_to must be on or after {start.isoformat()}", field="valid_to")
    elif valid_to > longest:
        raise InvalidInput(
            f"a renewal may run at most to {longest.isoformat()}: 3 years from the day after the "
            "previous expiry and within the authorization period (R18)",
            field="valid_to",
        )
    _set_state(current, "supersede", "renewal", today)
    evidence = (
        session.scalar(
            select(EvidenceRow)
            .where(EvidenceRow.sha256 == current.evidence_sha256)
            .order_by(EvidenceRow.created_at.desc())
        )
        if current.evidence_sha256
        else None
    )
    content = {"name": json.loads(current.document).get("data_name", "")}
    row = _new_version(
        session,
        key,
        lineage,
        lineage.current_version + 1,
        None,
        "renewal",
        json.loads(current.holders),
        content,
        today,
        start,
        valid_to,
        evidence,
        now,
        authorization_end=authorization_end,
    )
    return _certificate(row, lineage, today)


def revoke(session: Session, code: str, *, reason: str, today: date, now: datetime) -> CertificateView:
    """Revoke for fraud, false materials or illegal use, with reasons; the revocation is announced (R23)."""
    if not reason.strip() or len(reason) > 2000:
        raise InvalidInput("a revocation needs a reason of at most 2000 characters", field="reason")
    current = _current(session, code, lock=True)
    _set_state(current, "revoke", reason.strip(), today)
    _announce(session, "revocation", current, today, now, f"revoked: {reason.strip()}")
    return certificate(session, code, today)


def sweep(session: Session, today: date) -> list[str]:
    """Cancel every certificate whose validity ended without renewal, and announce it (R18). Returns codes."""
    cancelled = []
    rows = session.scalars(
        select(CertificateRow)
        .join(CodeRow, CodeRow.code == CertificateRow.code)
        .where(
            CertificateRow.version == CodeRow.current_version,
            CertificateRow.state == "issued",
            CertificateRow.valid_to < today,
        )
        .order_by(CertificateRow.code)
        .with_for_update(of=CertificateRow, skip_locked=True)
    )  # concurrent sweeps skip each other's rows
    for row in list(rows):
        reason = f"not renewed before expiry on {row.valid_to.isoformat()} (R18)"
        _set_state(row, "cancel", reason, today)
        _announce(session, "cancellation", row, today, utcnow(), f"cancelled: {reason}")
        cancelled.append(row.code)
    session.flush()
    return cancelled


def verify_certificate(
    session: Session,
    code: str,
    public_key: Ed25519PublicKey,
    today: date,
    document: str | None = None,
    signature: str | None = None,
) -> Verification:
    """Public verification: code check character, signature over the stored (or presented) document,
    whether a presented document is the registered one, and the status and validity today."""
    code_valid = certificates.code_is_valid(code)
    lineage = session.scalar(select(CodeRow).where(CodeRow.code == code)) if code_valid else None
    if lineage is None:
        return Verification(
            code=code,
            code_valid=code_valid,
            found=False,
            signature_valid=False,
            state=None,
            valid=False,
            reason="malformed code: the check character does not match"
            if not code_valid
            else "no certificate has this code",
        )
    current = _current(session, code, lock=True)
    versions = list(
        session.scalars(
            select(CertificateRow).where(CertificateRow.code == code).order_by(CertificateRow.version)
        )
    )
    presented = document is not None
    doc, sig = (document, signature or "") if presented else (current.document, current.signature)
    signature_valid = certificates.verify(public_key, doc, sig)
    matched = next((v for v in versions if v.document == doc and v.signature == sig), None)
    view = _certificate(current, lineage, today)
    state = view.state
    if not signature_valid:
        reason = "the signature does not match the document: it was altered or not issued by this institution"
    elif presented and matched is None:
        reason = "validly signed but not a registered version of this certificate"
    elif presented and matched is not current:
        reason = (
            f"an earlier version ({matched.version}); the current version is {current.version} and is {state}"
        )
    elif state == "issued":
        reason = f"valid from {_lineage_start(versions).isoformat()} to {current.valid_to.isoformat()}"
    else:
        reason = _state_sentence(current, state)
    valid = signature_valid and state == "issued" and (not presented or matched is current)
    return Verification(
        code=code,
        code_valid=True,
        found=True,
        signature_valid=signature_valid,
        state=state,
        valid=valid,
        reason=reason,
        certificate=view,
        versions=[
            {
                "version": v.version,
                "registration_type": v.reason,
                "state": effective_state(v, today),
                "issued_on": v.issued_on.isoformat(),
                "valid_to": v.valid_to.isoformat(),
            }
            for v in versions
        ],
    )


def _lineage_start(versions: Sequence[CertificateRow]) -> date:
    return min(v.issued_on for v in versions)


def _state_sentence(row: CertificateRow, state: str) -> str:
    if state == "expired":
        return f"certificate {row.code} expired on {row.valid_to.isoformat()}"
    when = row.state_changed_on.isoformat() if row.state_changed_on else "an unknown date"
    return f"certificate {row.code} was {state} on {when}: {row.state_reason}"


def registration(session: Session, subject_type: str, subject_id: str, today: date) -> Verdict:
    """Is the subject registered today? Allowed only with an issued, unexpired certificate (R8, A9)."""
    lineages = _lineages(session, subject_type, subject_id)
    for current in lineages:
        if effective_state(current, today) == "issued":
            return Verdict(True, f"certificate {current.code} is valid until {current.valid_to.isoformat()}")
    if not lineages:
        noun = "dataset" if subject_type == "dataset" else "product or service"
        return Verdict(False, f"{noun} is not registered (R8, A9)")
    latest = lineages[0]
    return Verdict(False, _state_sentence(latest, effective_state(latest, today)))


def dataset_registration(session: Session, dataset_name: str, today: date) -> Verdict:
    """The registry's verdict on a catalog dataset; feeds ``policies.grants.usable`` (R8, A9)."""
    return registration(session, "dataset", dataset_name, today)


def product_registration(session: Session, product_id: str, today: date) -> Verdict:
    return registration(session, "product", product_id, today)


def latest_certificate(
    session: Session, subject_type: str, subject_id: str, today: date
) -> CertificateView | None:
    """The live certificate of the subject, else the most recent one it held, else None."""
    lineages = _lineages(session, subject_type, subject_id)
    if not lineages:
        return None
    live = _live_lineage(session, subject_type, subject_id, today)
    row = live or lineages[0]
    return _certificate(row, _code_row(session, row.code), today)


def commitment_letter(session: Session, application_id: str) -> tuple[str, bytes]:
    row = _application_row(session, application_id)
    return row.commitment_filename, row.commitment_letter


def registered_evidence(session: Session, subject_type: str, subject_id: str, today: date) -> str | None:
    """The evidence digest on the subject's live certificate, if any."""
    live = _live_lineage(session, subject_type, subject_id, today)
    return live.evidence_sha256 if live is not None else None


# --- notices, catalog, statistics ----------------------------------------------------------------------------


def _notice(
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
            registrants=canonical([r["name"] for r in _registrants(session, app.id)]),
            registration_type=app.kind,
            data_name=content.get("name", ""),
            summary=content.get("description", "")[:1000],
            published_on=today,
            ends_on=ends_on,
            created_at=now,
        )
    )
    session.flush()


def _announce(
    session: Session, kind: str, cert: CertificateRow, today: date, now: datetime, summary: str
) -> None:
    lineage = _code_row(session, cert.code)
    data_name = json.loads(cert.document).get("data_name", "") or lineage.subject_id
    session.add(
        NoticeRow(
            kind=kind,
            application_id=cert.application_id,
            certificate_code=cert.code,
            registrants=canonical([h["name"] for h in json.loads(cert.holders)]),
            registration_type=kind,
            data_name=data_name,
            summary=summary[:1000],
            published_on=today,
            ends_on=None,
            created_at=now,
        )
    )
    session.flush()


def notices(session: Session, today: date) -> dict[str, list[dict]]:
    """Public: registrations under notice (or paused by an objection), and cancellation/revocation announcements."""
    in_progress, announcements = [], []
    for row in session.scalars(
        select(NoticeRow).order_by(NoticeRow.published_on.desc(), NoticeRow.created_at)
    ):
        item = {
            "id": row.id,
            "kind": row.kind,
            "registration_type": row.registration_type,
            "data_name": row.data_name,
            "registrants": json.loads(row.registrants),
            "summary": row.summary,
            "certificate_code": row.certificate_code,
            "published_on": row.published_on.isoformat(),
            "ends_on": row.ends_on.isoformat() if row.ends_on else None,
            "application_id": row.application_id,
        }
        if row.kind == "registration":
            app = session.get(ApplicationRow, row.application_id)
            if app is not None and app.state in ("in_notice", "objected"):
                item.update(state=app.state, ends_on=app.notice_end.isoformat() if app.notice_end else None)
                in_progress.append(item)
        else:
            announcements.append(item)
    return {"in_progress": in_progress, "announcements": announcements}


def public_catalog(session: Session, today: date) -> list[dict]:
    """The registered public data resource catalog (R7): live certificates and their registered content."""
    items = []
    query = (
        select(CertificateRow, CodeRow)
        .join(CodeRow, CodeRow.code == CertificateRow.code)
        .where(CertificateRow.version == CodeRow.current_version, CertificateRow.state == "issued")
        .order_by(CodeRow.subject_type, CodeRow.subject_id)
    )
    for cert, lineage in session.execute(query):
        if effective_state(cert, today) != "issued":
            continue
        app_id = session.scalar(
            select(ApplicationRow.id)
            .where(
                ApplicationRow.certificate_code == cert.code,
                ApplicationRow.state == "issued",
                ApplicationRow.kind != "cancellation",
            )
            .order_by(ApplicationRow.updated_at.desc())
        )
        content = json.loads(session.get(ApplicationRow, app_id).content) if app_id else {}
        items.append(
            {
                "code": cert.code,
                "version": cert.version,
                "subject_type": lineage.subject_type,
                "subject_id": lineage.subject_id,
                "holders": [h["name"] for h in json.loads(cert.holders)],
                "valid_to": cert.valid_to.isoformat(),
                **{k: content.get(k) for k in CONTENT_FIELDS},
            }
        )
    return items


def statistics(session: Session, today: date) -> dict:
    """Registration statistics for the registrar and supervisors only (R19), with service metrics (R21)."""
    by_state = dict(
        session.execute(select(ApplicationRow.state, func.count()).group_by(ApplicationRow.state)).all()
    )
    by_kind = dict(
        session.execute(select(ApplicationRow.kind, func.count()).group_by(ApplicationRow.kind)).all()
    )
    accepted = session.execute(
        select(ApplicationRow.submitted_on, ApplicationRow.accepted_on, ApplicationRow.acceptance_due).where(
            ApplicationRow.accepted_on.is_not(None)
        )
    ).all()
    late = sum(1 for _, on, due in accepted if on > due)
    waiting = session.scalars(
        select(ApplicationRow.acceptance_due).where(ApplicationRow.state == "submitted")
    ).all()
    certs = {}
    for cert in session.scalars(
        select(CertificateRow)
        .join(CodeRow, CodeRow.code == CertificateRow.code)
        .where(CertificateRow.version == CodeRow.current_version)
    ):
        state = effective_state(cert, today)
        certs[state] = certs.get(state, 0) + 1
    days = [deadlines.working_days_between(s, a, workdays.of(session)) for s, a, _ in accepted]
    return {
        "applications_by_state": by_state,
        "applications_by_kind": by_kind,
        "certificates_by_state": certs,
        "accepted_late": late,
        "awaiting_acceptance_overdue": sum(1 for due in waiting if today > due),
        "mean_acceptance_working_days": round(sum(days) / len(days), 2) if days else None,
        "objections": session.scalar(select(func.count()).select_from(ObjectionRow)) or 0,
    }


# --- application views ---------------------------------------------------------------------------------------


def _application_row(session: Session, application_id: str, lock: bool = False) -> ApplicationRow:
    """The application; with ``lock`` its row is locked until commit (concurrent transitions serialize)."""
    row = session.get(ApplicationRow, application_id, with_for_update=lock or None)
    if row is None:
        raise NotFound("no such application", field="application_id")
    return row


def _registrants(session: Session, application_id: str) -> list[dict]:
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
    return frozenset(r["id"] for r in _registrants(session, _application_row(session, application_id).id))


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
    row = _application_row(session, application_id)
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
        registrants=_registrants(session, row.id),
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


def _move(
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
