"""What the registry routes, the workers, the CLI and the demo share: conversions from the registry's views to
API models, organization lookups, the evidence of a dataset as it is stored now, the signing key, and the
audited certificate sweep. The gateway hands the registry plain values (the dataset's owner, its stored
Parquet files, organization names, affiliations), so the registry never imports another room.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from common.errors import Forbidden
from common.types import Principal, Role
from gateway import identity
from gateway.context import AppContext
from gateway.events import emit
from gateway.registry_models import (
    PREFIX,
    ApplicationPublic,
    CertificatePublic,
    ObjectionPublic,
    VerificationPublic,
)
from operation import agreements, products
from registry import certificates, service
from registry import evidence as evidence_mod


def application_out(view: service.ApplicationView) -> ApplicationPublic:
    data = {k: getattr(view, k) for k in ApplicationPublic.model_fields if k != "objections"}
    return ApplicationPublic(**data, objections=[ObjectionPublic(**o.__dict__) for o in view.objections])


def certificate_out(view: service.CertificateView) -> CertificatePublic:
    return CertificatePublic(**view.__dict__)


def verification_out(result: service.Verification, request: Request | None = None) -> VerificationPublic:
    qr = verify_url(request, result.code) + "/qr.svg" if request is not None and result.found else None
    return VerificationPublic(
        code=result.code,
        code_valid=result.code_valid,
        found=result.found,
        signature_valid=result.signature_valid,
        state=result.state,
        valid=result.valid,
        reason=result.reason,
        versions=result.versions,
        qr_code=qr,
        certificate=certificate_out(result.certificate) if result.certificate else None,
    )


def verify_url(request: Request, code: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{PREFIX}/certificates/{code}"


def party_of(session: Session, org_id_or_name: str) -> service.Party:
    org = identity.get_organization(session, org_id_or_name)
    return service.Party(org.id, org.name)


def _with_sm3(ctx: AppContext) -> bool:
    """SM3 digests are added where configured (the platform's hash algorithm is SM3)."""
    return ctx.settings.audit.hash_algorithm == "sm3"


def current_evidence(session: Session, ctx: AppContext, dataset: str) -> evidence_mod.Evidence:
    """Evidence over the dataset's stored Parquet files as they are now."""
    sources = catalog_service.raw_sources(session, ctx.settings.domain_store_dir, dataset)
    return evidence_mod.compute(
        "dataset", dataset, {t: path for t, (_, path) in sources.items()}, with_sm3=_with_sm3(ctx)
    )


def require_readable(session: Session, principal: Principal, application_id: str) -> None:
    if principal.has_role(Role.registrar, Role.supervisor):
        return
    if principal.organization_id not in service.registrant_ids(session, application_id):
        raise Forbidden(
            "only the registrants, the registration institution and supervisors see an application"
        )


def signing_key(ctx: AppContext):
    return certificates.load_signing_key(ctx.settings)


def product_authorization_end(session, principal: Principal, product_id: str):
    """A product is registered by the operator that lists it; its certificate cannot outlive the agreement
    it was developed under (R17)."""
    if not principal.has_role(Role.operator):
        raise Forbidden(
            "products and services are registered by the operator developing them", field="subject_type"
        )
    product = products.load(session, product_id)
    if product.operator_org_id != principal.organization_id:
        raise Forbidden("only the operator that lists this product may register it", field="subject_id")
    return agreements.load(session, product.agreement_id).term_end


def sweep_and_audit(ctx: AppContext, actor: Principal | None = None) -> list[str]:
    """Cancel certificates not renewed in time and announce them (R18), auditing each in the same transaction.

    For the worker loop and ``shuyu registry sweep``."""
    with ctx.uow() as session:
        codes = service.sweep(session, ctx.clock.today())
        for code in codes:
            emit(
                session,
                ctx,
                actor,
                "registry.certificate.cancelled",
                "certificate",
                code,
                reason="not renewed before expiry (R18)",
            )
    return codes
