"""Certificates and the registration verdicts other rooms rely on (R9, R10, R17-R22): issuing a certificate
for an approved application, reading, renewing, revoking and verifying it, the daily sweep, and whether a
dataset or product is registered today (handed to grants and agreements as a ``Verdict``).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.db import utcnow
from common.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from common.types import Verdict
from registry import certificates, deadlines, workflow
from registry.applications import application, application_row, move, post_notice, registrants_of
from registry.lineages import (
    certificate_view,
    code_row,
    current_row,
    effective_state,
    lineage_start,
    lineages_of,
    live_lineage,
    new_code,
    new_version,
    post_announcement,
    set_state,
    state_sentence,
)
from registry.store import (
    CertificateRow,
    CodeRow,
    EvidenceRow,
)
from registry.views import ApplicationView, CertificateView, Verification


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
    row = application_row(session, application_id, lock=True)
    to_state = workflow.target("issue", row.state, row.kind)
    if row.notice_end is None or today <= row.notice_end:
        raise InvalidTransition(
            f"the public notice runs until {row.notice_end.isoformat()}"
            if row.notice_end
            else "the public notice has not started",
            current_state=row.state,
        )
    registrants = registrants_of(session, row.id)
    content = json.loads(row.content)
    evidence = session.get(EvidenceRow, row.evidence_id) if row.evidence_id else None
    if row.kind == "first":
        code = new_code(session, row.subject_type, row.subject_id, today, now)
        cert = new_version(
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
        current = current_row(session, row.certificate_code, lock=True)
        set_state(current, "supersede", f"{row.kind} registration", today)
        code = code_row(session, row.certificate_code)
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
        cert = new_version(
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
        current = current_row(session, row.certificate_code, lock=True)
        set_state(current, "cancel", "cancellation registration", today)
        post_notice(session, "cancellation", row, today, now, code=current.code)
        cert = current
    row.certificate_id = cert.id
    row.certificate_code = cert.code
    move(session, row, "issue", to_state, actor_id, "", today, now)
    return application(session, row.id, today)


def certificate(session: Session, code: str, today: date, version: int | None = None) -> CertificateView:
    lineage = code_row(session, code)
    row = session.scalar(
        select(CertificateRow).where(
            CertificateRow.code == code, CertificateRow.version == (version or lineage.current_version)
        )
    )
    if row is None:
        raise NotFound("no such certificate version", field="version")
    return certificate_view(row, lineage, today)


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
    current = current_row(session, code, lock=True)
    lineage = code_row(session, code)
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
    set_state(current, "supersede", "renewal", today)
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
    row = new_version(
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
    return certificate_view(row, lineage, today)


def revoke(session: Session, code: str, *, reason: str, today: date, now: datetime) -> CertificateView:
    """Revoke for fraud, false materials or illegal use, with reasons; the revocation is announced (R23)."""
    if not reason.strip() or len(reason) > 2000:
        raise InvalidInput("a revocation needs a reason of at most 2000 characters", field="reason")
    current = current_row(session, code, lock=True)
    set_state(current, "revoke", reason.strip(), today)
    post_announcement(session, "revocation", current, today, now, f"revoked: {reason.strip()}")
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
        set_state(row, "cancel", reason, today)
        post_announcement(session, "cancellation", row, today, utcnow(), f"cancelled: {reason}")
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
    current = current_row(session, code, lock=True)
    versions = list(
        session.scalars(
            select(CertificateRow).where(CertificateRow.code == code).order_by(CertificateRow.version)
        )
    )
    presented = document is not None
    doc, sig = (document, signature or "") if presented else (current.document, current.signature)
    signature_valid = certificates.verify(public_key, doc, sig)
    matched = next((v for v in versions if v.document == doc and v.signature == sig), None)
    view = certificate_view(current, lineage, today)
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
        reason = f"valid from {lineage_start(versions).isoformat()} to {current.valid_to.isoformat()}"
    else:
        reason = state_sentence(current, state)
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


def registration(session: Session, subject_type: str, subject_id: str, today: date) -> Verdict:
    """Is the subject registered today? Allowed only with an issued, unexpired certificate (R8, A9)."""
    lineages = lineages_of(session, subject_type, subject_id)
    for current in lineages:
        if effective_state(current, today) == "issued":
            return Verdict(True, f"certificate {current.code} is valid until {current.valid_to.isoformat()}")
    if not lineages:
        noun = "dataset" if subject_type == "dataset" else "product or service"
        return Verdict(False, f"{noun} is not registered (R8, A9)")
    latest = lineages[0]
    return Verdict(False, state_sentence(latest, effective_state(latest, today)))


def dataset_registration(session: Session, dataset_name: str, today: date) -> Verdict:
    """The registry's verdict on a catalog dataset; feeds ``policies.grants.usable`` (R8, A9)."""
    return registration(session, "dataset", dataset_name, today)


def product_registration(session: Session, product_id: str, today: date) -> Verdict:
    return registration(session, "product", product_id, today)


def latest_certificate(
    session: Session, subject_type: str, subject_id: str, today: date
) -> CertificateView | None:
    """The live certificate of the subject, else the most recent one it held, else None."""
    lineages = lineages_of(session, subject_type, subject_id)
    if not lineages:
        return None
    live = live_lineage(session, subject_type, subject_id, today)
    row = live or lineages[0]
    return certificate_view(row, code_row(session, row.code), today)


def registered_evidence(session: Session, subject_type: str, subject_id: str, today: date) -> str | None:
    """The evidence digest on the subject's live certificate, if any."""
    live = live_lineage(session, subject_type, subject_id, today)
    return live.evidence_sha256 if live is not None else None
