"""The registry's front door: every operation the gateway, the CLI and the demo call, re-exported from the
modules that implement them. The caller (gateway) owns the transaction and the audit event.

Everything the registry needs from other rooms (dataset owners, file paths, organization names and
affiliations) is handed in as plain values. Messages name fields, codes and states, never data values.
Registration is free of charge: nothing here records a fee (R15).

- ``registry.views``: the values handed in and out;
- ``registry.evidence_records``: evidence for a subject;
- ``registry.applications``: the application procedure and its views;
- ``registry.lineages``: certificate codes, versions and states;
- ``registry.registrations``: issuing, renewing, revoking, verifying certificates; registration verdicts;
- ``registry.public``: notices, the public catalog, statistics.
"""

from registry.applications import (
    act,
    application,
    commitment_letter,
    consent,
    file_objection,
    list_applications,
    registrant_ids,
    resolve_objection,
    resubmit,
    submit,
)
from registry.evidence_records import get_evidence, record_evidence
from registry.lineages import effective_state
from registry.public import notices, public_catalog, statistics
from registry.registrations import (
    certificate,
    dataset_registration,
    issue,
    latest_certificate,
    product_registration,
    registered_evidence,
    registration,
    renew,
    revoke,
    sweep,
    verify_certificate,
)
from registry.views import (
    CONTENT_FIELDS,
    ISSUER,
    MAX_LETTER_BYTES,
    SUBJECT_TYPES,
    ApplicationSpec,
    ApplicationView,
    CertificateView,
    EvidenceView,
    ObjectionView,
    Party,
    Verification,
)

__all__ = [
    "ApplicationSpec",
    "ApplicationView",
    "CONTENT_FIELDS",
    "CertificateView",
    "EvidenceView",
    "ISSUER",
    "MAX_LETTER_BYTES",
    "ObjectionView",
    "Party",
    "SUBJECT_TYPES",
    "Verification",
    "act",
    "application",
    "certificate",
    "commitment_letter",
    "consent",
    "dataset_registration",
    "effective_state",
    "file_objection",
    "get_evidence",
    "issue",
    "latest_certificate",
    "list_applications",
    "notices",
    "product_registration",
    "public_catalog",
    "record_evidence",
    "registered_evidence",
    "registrant_ids",
    "registration",
    "renew",
    "resolve_objection",
    "resubmit",
    "revoke",
    "statistics",
    "submit",
    "sweep",
    "verify_certificate",
]
