"""The request and response models of the registry API (Annex 1), and the role aliases its routes share.
No request or response carries a fee: registration is free (R15).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from common.types import OrgKind, Principal, Role
from gateway.auth import require, require_verified

PREFIX = "/api/v1/registry"


Registrant = Annotated[Principal, require_verified(Role.data_source, Role.operator)]


EvidenceMaker = Annotated[Principal, require_verified(Role.data_source, Role.operator, Role.third_party)]


Overseer = Annotated[Principal, require(Role.registrar, Role.supervisor)]


REGISTRANT_KINDS = {OrgKind.data_source, OrgKind.operator}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvidenceCreate(Strict):
    dataset: str = Field(min_length=1, max_length=63)
    mode: Literal["self", "third_party"] = "self"


class EvidencePublic(BaseModel):
    id: str
    subject_type: str
    subject_id: str
    subject_version: int
    mode: str
    registrant_org_id: str
    issuer_org_id: str
    sha256: str
    sm3: str | None
    manifest: dict[str, Any]


class Content(Strict):
    name: str = Field(min_length=1, max_length=200, description="data resource name")
    holder: str = Field(min_length=1, max_length=200, description="the unit holding or managing the data")
    source: str = Field(min_length=1, max_length=200)
    scale: str = Field(min_length=1, max_length=200, description="e.g. '2 tables, 1.2 million rows'")
    update_frequency: str = Field(min_length=1, max_length=200)
    format: str = Field(min_length=1, max_length=200)
    open_attribute: str = Field(min_length=1, max_length=200)
    storage: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=5000)


class ApplicationCreate(Strict):
    kind: Literal["first", "change", "correction", "cancellation"]
    subject_type: Literal["dataset", "product"] = "dataset"
    subject_id: str = Field(min_length=1, max_length=100, description="dataset name, or product id")
    content: Content
    certificate_code: str | None = Field(default=None, max_length=40)
    evidence_id: str | None = Field(default=None, max_length=32)
    authorization_end: date | None = None
    co_registrants: list[str] = Field(
        default_factory=list, max_length=20, description="organization ids or names of joint registrants (R9)"
    )


class ObjectionPublic(BaseModel):
    id: str
    application_id: str
    state: str
    reason: str
    filed_on: date
    resolution: str
    resolved_on: date | None


class ApplicationPublic(BaseModel):
    id: str
    kind: str
    subject_type: str
    subject_id: str
    certificate_code: str | None
    state: str
    next_step: str
    content: dict[str, str]
    evidence_id: str | None
    authorization_end: date | None
    applicant_org_id: str
    registrants: list[dict[str, Any]]
    commitment_filename: str
    commitment_sha256: str
    submitted_on: date
    acceptance_due: date
    acceptance_overdue: bool
    accepted_on: date | None
    notice_start: date | None
    notice_end: date | None
    decision_reason: str
    objections: list[ObjectionPublic]
    history: list[dict[str, Any]]
    deadline_provisional: bool = False


class Reason(Strict):
    reason: str = Field(default="", max_length=2000)


class RequiredReason(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class Resubmit(Strict):
    content: Content | None = None


class ObjectionCreate(Strict):
    reason: str = Field(min_length=1, max_length=5000)


class Resolution(Strict):
    decision: Literal["upheld", "dismissed"]
    reason: str = Field(min_length=1, max_length=2000)


class Renewal(Strict):
    valid_to: date | None = Field(default=None, description="default: the longest term allowed (R18)")
    authorization_end: date | None = Field(
        default=None, description="products: the renewed authorization's end"
    )


class CertificatePublic(BaseModel):
    code: str
    version: int
    state: str
    subject_type: str
    subject_id: str
    registration_type: str
    issued_on: date
    valid_from: date
    valid_to: date
    authorization_end: date | None
    holders: list[dict[str, str]]
    state_reason: str
    state_changed_on: date | None
    document: str
    signature: str
    key_id: str


class VerificationPublic(BaseModel):
    code: str
    code_valid: bool
    found: bool
    signature_valid: bool
    state: str | None
    valid: bool
    reason: str
    certificate: CertificatePublic | None
    versions: list[dict[str, Any]]
    qr_code: str | None = None


class PresentedDocument(Strict):
    document: str = Field(min_length=1, max_length=100_000)
    signature: str = Field(min_length=1, max_length=256)


class DatasetStatus(BaseModel):
    dataset: str
    registered: bool
    reason: str
    certificate_code: str | None
    certificate_state: str | None
    valid_to: date | None
    registered_evidence_sha256: str | None
    current_evidence_sha256: str | None
    evidence_matches: bool | None
    action_required: str | None
