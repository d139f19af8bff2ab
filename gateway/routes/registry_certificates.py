"""Registry routes for certificates (R10, R17-R22): the public key, verification by code and by presented
document, the QR code, renewal, revocation and the sweep; and the public pages: notices, the registered
catalog, statistics.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from common.errors import InvalidInput
from gateway.auth import Ctx, Public, Registrar
from gateway.events import emit
from gateway.registry_models import (
    PREFIX,
    CertificatePublic,
    Overseer,
    PresentedDocument,
    Registrant,
    Renewal,
    RequiredReason,
    VerificationPublic,
)
from gateway.registry_wiring import (
    certificate_out,
    product_authorization_end,
    signing_key,
    sweep_and_audit,
    verification_out,
    verify_url,
)
from registry import certificates, service

router = APIRouter(prefix=PREFIX, tags=["registry"])


@router.get("/public-key")
def public_key(ctx: Ctx, _: Public) -> dict[str, str]:
    key = signing_key(ctx)
    return {
        "algorithm": "Ed25519",
        "key_id": certificates.key_id(key),
        "public_key_pem": certificates.public_pem(key),
    }


@router.get("/certificates/{code}", response_model=VerificationPublic)
def verify_certificate(code: str, request: Request, ctx: Ctx, _: Public) -> VerificationPublic:
    """Public verification without login: code check character, signature, status and validity today."""
    key = signing_key(ctx)
    with ctx.uow() as session:
        return verification_out(
            service.verify_certificate(session, code, key.public_key(), ctx.clock.today()), request
        )


@router.post("/certificates/{code}/verify", response_model=VerificationPublic)
def verify_document(
    code: str, body: PresentedDocument, request: Request, ctx: Ctx, _: Public
) -> VerificationPublic:
    """Verify a presented certificate document and signature (e.g. a downloaded copy)."""
    key = signing_key(ctx)
    with ctx.uow() as session:
        return verification_out(
            service.verify_certificate(
                session,
                code,
                key.public_key(),
                ctx.clock.today(),
                document=body.document,
                signature=body.signature,
            ),
            request,
        )


@router.get("/certificates/{code}/qr.svg")
def certificate_qr(code: str, request: Request, _: Public) -> Response:
    if not certificates.code_is_valid(code):
        raise InvalidInput("malformed certificate code: the check character does not match", field="code")
    return Response(certificates.qr_svg(verify_url(request, code)), media_type="image/svg+xml")


@router.post("/certificates/{code}/renew", response_model=CertificatePublic)
def renew(code: str, body: Renewal, ctx: Ctx, principal: Registrant) -> CertificatePublic:
    """Renew within the 60 days before expiry (R18)."""
    key = signing_key(ctx)
    with ctx.uow() as session:
        authorization_end = body.authorization_end
        current = service.certificate(session, code, ctx.clock.today())
        if current.subject_type == "product":  # never beyond the agreement the product was developed under
            term_end = product_authorization_end(session, principal, current.subject_id)
            authorization_end = min(authorization_end or term_end, term_end)
        view = service.renew(
            session,
            code,
            organization_id=principal.organization_id,
            key=key,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
            valid_to=body.valid_to,
            authorization_end=authorization_end,
        )
        emit(
            session,
            ctx,
            principal,
            "registry.certificate.renewed",
            "certificate",
            code,
            version=view.version,
            valid_to=view.valid_to.isoformat(),
        )
        return certificate_out(view)


@router.post("/certificates/{code}/revoke", response_model=CertificatePublic)
def revoke(code: str, body: RequiredReason, ctx: Ctx, principal: Registrar) -> CertificatePublic:
    """Revoke for false materials, tampering or illegal use, with reasons (R23)."""
    with ctx.uow() as session:
        view = service.revoke(session, code, reason=body.reason, today=ctx.clock.today(), now=ctx.clock.now())
        emit(
            session, ctx, principal, "registry.certificate.revoked", "certificate", code, version=view.version
        )
        return certificate_out(view)


@router.post("/sweep")
def sweep(ctx: Ctx, principal: Registrar) -> dict[str, list[str]]:
    return {"cancelled": sweep_and_audit(ctx, principal)}


@router.get("/notices")
def notices(ctx: Ctx, _: Public) -> dict[str, list[dict[str, Any]]]:
    """Registrations under public notice, and announcements of cancellations and revocations."""
    with ctx.uow() as session:
        return service.notices(session, ctx.clock.today())


@router.get("/catalog")
def registered_catalog(ctx: Ctx, _: Public) -> list[dict[str, Any]]:
    """The public data resource catalog built from registration information (R7)."""
    with ctx.uow() as session:
        return service.public_catalog(session, ctx.clock.today())


@router.get("/statistics")
def statistics(ctx: Ctx, principal: Overseer) -> dict[str, Any]:
    """Statistics over registration data: registrar and supervisors only (R19)."""
    with ctx.uow() as session:
        result = service.statistics(session, ctx.clock.today())
        emit(session, ctx, principal, "registry.statistics.read", "registry", None)
        return result
