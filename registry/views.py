"""The registry's values handed in and out: parties, application specs, and the views of evidence, objections,
applications and certificates. Constants every registry module shares live here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from registry import workflow

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
