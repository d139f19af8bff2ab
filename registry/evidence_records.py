"""Recording evidence (存证, R12, R13) for a subject and reading it back as an ``EvidenceView``. The digest
and the conflict check themselves are in ``registry.evidence``.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from common.errors import InvalidInput, NotFound
from registry.evidence import Evidence
from registry.store import (
    EvidenceRow,
)
from registry.views import SUBJECT_TYPES, EvidenceView


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
    """Keep computed evidence. For ``third_party`` the caller has already run
    ``evidence.check_third_party``."""
    check_subject_type(subject_type)
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
    return _evidence(evidence_row(session, evidence_id))


def evidence_row(session: Session, evidence_id: str) -> EvidenceRow:
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


def check_subject_type(value: str) -> str:
    if value not in SUBJECT_TYPES:
        raise InvalidInput(f"subject_type must be one of {', '.join(SUBJECT_TYPES)}", field="subject_type")
    return value
