"""Certificate lineages (R10, R17, R18, R22): a code per subject, versions under it, their states and the
state a version is in on a given day, and the revocation notice. Applications and renewals build on these.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.errors import Conflict, NotFound
from registry import certificates, workflow
from registry.evidence import canonical
from registry.store import (
    ApplicationRow,
    CertificateRow,
    CodeRow,
    EvidenceRow,
    NoticeRow,
)
from registry.views import ISSUER, CertificateView


def new_code(session: Session, subject_type: str, subject_id: str, today: date, now: datetime) -> CodeRow:
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


def new_version(
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


def set_state(row: CertificateRow, action: str, reason: str, today: date) -> None:
    row.state = workflow.certificate_target(row.state, action, effective_state(row, today))
    row.state_reason, row.state_changed_on = reason, today


def code_row(session: Session, code: str, lock: bool = False) -> CodeRow:
    query = select(CodeRow).where(CodeRow.code == code)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("no such certificate", field="code")
    return row


def current_row(session: Session, code: str, lock: bool = False) -> CertificateRow:
    lineage = code_row(session, code, lock=lock)
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


def live_lineage(session: Session, subject_type: str, subject_id: str, today: date) -> CertificateRow | None:
    for current in lineages_of(session, subject_type, subject_id):
        if effective_state(current, today) == "issued":
            return current
    return None


def lineages_of(session: Session, subject_type: str, subject_id: str) -> list[CertificateRow]:
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


def certificate_view(row: CertificateRow, lineage: CodeRow, today: date) -> CertificateView:
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


def lineage_start(versions: Sequence[CertificateRow]) -> date:
    return min(v.issued_on for v in versions)


def state_sentence(row: CertificateRow, state: str) -> str:
    if state == "expired":
        return f"certificate {row.code} expired on {row.valid_to.isoformat()}"
    when = row.state_changed_on.isoformat() if row.state_changed_on else "an unknown date"
    return f"certificate {row.code} was {state} on {when}: {row.state_reason}"


def post_announcement(
    session: Session, kind: str, cert: CertificateRow, today: date, now: datetime, summary: str
) -> None:
    lineage = code_row(session, cert.code)
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
