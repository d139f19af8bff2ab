"""Registry routes (Annex 1): evidence, applications through the procedure, objections, certificates,
public notices, the registered catalog and statistics.

The gateway hands the registry plain values — the dataset's owner, its stored Parquet files, organization
names, affiliations — so the registry never imports another room. Every transition and its audit event
commit in one transaction. No request or response carries a fee: registration is free (R15).
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from common.errors import Forbidden, InvalidInput
from common.types import OrgKind, Principal, Role
from gateway import entrustments, identity
from gateway.auth import Authenticated, Ctx, Public, Registrar, require, require_verified
from gateway.context import AppContext
from gateway.events import emit
from operation import agreements, products
from registry import certificates, service, workflow
from registry import evidence as evidence_mod

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])
Registrant = Annotated[Principal, require_verified(Role.data_source, Role.operator)]
EvidenceMaker = Annotated[Principal, require_verified(Role.data_source, Role.operator, Role.third_party)]
Overseer = Annotated[Principal, require(Role.registrar, Role.supervisor)]
REGISTRANT_KINDS = {OrgKind.data_source, OrgKind.operator}


# --- schemas -------------------------------------------------------------------------------------------------


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


# --- helpers -------------------------------------------------------------------------------------------------


def _application(view: service.ApplicationView) -> ApplicationPublic:
    data = {k: getattr(view, k) for k in ApplicationPublic.model_fields if k != "objections"}
    return ApplicationPublic(**data, objections=[ObjectionPublic(**o.__dict__) for o in view.objections])


def _certificate(view: service.CertificateView) -> CertificatePublic:
    return CertificatePublic(**view.__dict__)


def _verification(result: service.Verification, request: Request | None = None) -> VerificationPublic:
    qr = _verify_url(request, result.code) + "/qr.svg" if request is not None and result.found else None
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
        certificate=_certificate(result.certificate) if result.certificate else None,
    )


def _verify_url(request: Request, code: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{router.prefix}/certificates/{code}"


def _party(session: Session, org_id_or_name: str) -> service.Party:
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


def _readable(session: Session, principal: Principal, application_id: str) -> None:
    if principal.has_role(Role.registrar, Role.supervisor):
        return
    if principal.organization_id not in service.registrant_ids(session, application_id):
        raise Forbidden(
            "only the registrants, the registration institution and supervisors see an application"
        )


def _signing_key(ctx: AppContext):
    return certificates.load_signing_key(ctx.settings)


# --- state machine -------------------------------------------------------------------------------------------


@router.get("/transitions")
def transitions(_: Public) -> list[dict[str, Any]]:
    """The procedure's allowed transitions (R16), as held by the registry."""
    return workflow.table()


# --- evidence (R12, R13) -------------------------------------------------------------------------------------


@router.post("/evidence", response_model=EvidencePublic, status_code=201)
def create_evidence(body: EvidenceCreate, ctx: Ctx, principal: EvidenceMaker) -> EvidencePublic:
    with ctx.uow() as session:
        dataset = catalog_service.get_dataset(session, body.dataset)
        if body.mode == "self":
            if dataset.source_org_id != principal.organization_id:
                raise Forbidden("self-evidence is made by the registrant holding the data", field="dataset")
        else:
            if not principal.has_role(Role.third_party):
                raise Forbidden(
                    "third-party evidence is issued by a third-party service institution", field="mode"
                )
            registrars = [o.id for o in identity.list_organizations(session) if o.kind is OrgKind.registrar]
            evidence_mod.check_third_party(
                principal.organization_id,
                registrants=[dataset.source_org_id],
                registrars=registrars,
                affiliations=identity.affiliations_of(session, principal.organization_id),
            )
            entrustments.require(  # Annex 1 Art. 12 ¶2: only under the registrant's entrustment
                session,
                registrant_org_id=dataset.source_org_id,
                third_party_org_id=principal.organization_id,
                today=ctx.clock.today(),
            )
        computed = current_evidence(session, ctx, dataset.name)
        view = service.record_evidence(
            session,
            computed,
            subject_type="dataset",
            subject_id=dataset.name,
            subject_version=dataset.version,
            mode=body.mode,
            registrant_org_id=dataset.source_org_id,
            issuer_org_id=principal.organization_id,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "registry.evidence.recorded",
            "dataset",
            dataset.name,
            evidence_id=view.id,
            mode=body.mode,
            sha256=view.sha256,
        )
        return EvidencePublic(**{k: getattr(view, k) for k in EvidencePublic.model_fields})


@router.get("/evidence/{evidence_id}", response_model=EvidencePublic)
def get_evidence(evidence_id: str, ctx: Ctx, _: Authenticated) -> EvidencePublic:
    with ctx.uow() as session:
        view = service.get_evidence(session, evidence_id)
        return EvidencePublic(**{k: getattr(view, k) for k in EvidencePublic.model_fields})


# --- applications --------------------------------------------------------------------------------------------


def _parse_application(text: str) -> ApplicationCreate:
    try:
        return ApplicationCreate.model_validate_json(text)
    except ValidationError as error:
        fields = [".".join(str(p) for p in e.get("loc", ())) or "application" for e in error.errors()]
        raise InvalidInput(
            f"invalid application: {', '.join(fields)}",
            field=f"application.{fields[0]}" if fields else "application",
            fields=[
                {"field": f"application.{f}", "problem": e.get("msg", "")}
                for f, e in zip(fields, error.errors())
            ],
        )


@router.post("/applications", response_model=ApplicationPublic, status_code=201)
async def create_application(
    ctx: Ctx,
    principal: Registrant,
    application: Annotated[str, Form(description="the application as JSON (ApplicationCreate)")],
    commitment_letter: Annotated[UploadFile, File(description="the signed commitment letter (承诺书)")],
) -> ApplicationPublic:
    body = _parse_application(application)
    letter = await commitment_letter.read(service.MAX_LETTER_BYTES + 1)
    filename = commitment_letter.filename or "commitment"
    # hashing the stored files for the evidence check is blocking work: keep it off the event loop
    return await asyncio.to_thread(_submit, ctx, principal, body, filename, letter)


def _product_authorization_end(session, principal: Principal, product_id: str):
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


def _submit(
    ctx: AppContext, principal: Principal, body: ApplicationCreate, filename: str, letter: bytes
) -> ApplicationPublic:
    today = ctx.clock.today()
    with ctx.uow() as session:
        current_sha = None
        if body.subject_type == "dataset":
            dataset = catalog_service.get_dataset(session, body.subject_id)
            if body.kind == "first" and dataset.source_org_id != principal.organization_id:
                raise Forbidden(
                    "the source department holding the dataset applies for its registration",
                    field="subject_id",
                )
            if body.kind in ("first", "change"):
                current_sha = current_evidence(session, ctx, dataset.name).sha256
        else:
            authorization_end = _product_authorization_end(session, principal, body.subject_id)
            if body.kind == "first" or body.authorization_end is None:
                body = body.model_copy(update={"authorization_end": authorization_end})
        co = []
        for ref in body.co_registrants:
            org = identity.get_organization(session, ref)
            if org.kind not in REGISTRANT_KINDS:
                raise InvalidInput(
                    "co-registrants are data source or operator organizations", field="co_registrants"
                )
            co.append(service.Party(org.id, org.name))
        spec = service.ApplicationSpec(
            kind=body.kind,
            subject_type=body.subject_type,
            subject_id=body.subject_id,
            content=body.content.model_dump(),
            commitment_filename=filename,
            commitment_letter=letter,
            certificate_code=body.certificate_code,
            evidence_id=body.evidence_id,
            authorization_end=body.authorization_end,
            co_registrants=tuple(co),
        )
        view = service.submit(
            session,
            spec,
            applicant=_party(session, principal.organization_id),
            user_id=principal.user_id,
            today=today,
            now=ctx.clock.now(),
            current_evidence_sha256=current_sha,
        )
        emit(
            session,
            ctx,
            principal,
            "registry.application.submitted",
            "registry_application",
            view.id,
            registration_type=view.kind,
            subject=f"{view.subject_type}:{view.subject_id}",
            co_registrants=len(co),
            acceptance_due=view.acceptance_due.isoformat(),
        )
        return _application(view)


@router.get("/applications", response_model=list[ApplicationPublic])
def list_applications(ctx: Ctx, principal: Authenticated) -> list[ApplicationPublic]:
    owner = None if principal.has_role(Role.registrar, Role.supervisor) else principal.organization_id
    with ctx.uow() as session:
        return [_application(v) for v in service.list_applications(session, ctx.clock.today(), owner)]


@router.get("/applications/{application_id}", response_model=ApplicationPublic)
def get_application(application_id: str, ctx: Ctx, principal: Authenticated) -> ApplicationPublic:
    with ctx.uow() as session:
        _readable(session, principal, application_id)
        return _application(service.application(session, application_id, ctx.clock.today()))


@router.post("/applications/{application_id}/consent", response_model=ApplicationPublic)
def consent(application_id: str, ctx: Ctx, principal: Registrant) -> ApplicationPublic:
    with ctx.uow() as session:
        view = service.consent(
            session,
            application_id,
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "registry.application.consented",
            "registry_application",
            view.id,
            organization_id=principal.organization_id,
        )
        return _application(view)


def _act(
    ctx: AppContext, principal: Principal, application_id: str, action: str, reason: str
) -> ApplicationPublic:
    with ctx.uow() as session:
        before = service.application(session, application_id, ctx.clock.today()).state
        view = service.act(
            session,
            application_id,
            action,
            actor_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
            reason=reason,
            organization_id=principal.organization_id,
        )
        emit(
            session,
            ctx,
            principal,
            f"registry.application.{action}",
            "registry_application",
            view.id,
            from_state=before,
            to_state=view.state,
        )
        return _application(view)


@router.post("/applications/{application_id}/accept", response_model=ApplicationPublic)
def accept(application_id: str, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    """Acceptance (受理), due within 3 working days of submission."""
    return _act(ctx, principal, application_id, "accept", "")


@router.post("/applications/{application_id}/return", response_model=ApplicationPublic)
def return_for_completion(
    application_id: str, body: RequiredReason, ctx: Ctx, principal: Registrar
) -> ApplicationPublic:
    return _act(ctx, principal, application_id, "return", body.reason)


@router.post("/applications/{application_id}/approve", response_model=ApplicationPublic)
def approve(application_id: str, body: Reason, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    return _act(ctx, principal, application_id, "approve", body.reason)


@router.post("/applications/{application_id}/reject", response_model=ApplicationPublic)
def reject(application_id: str, body: RequiredReason, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    return _act(ctx, principal, application_id, "reject", body.reason)


@router.post("/applications/{application_id}/publish", response_model=ApplicationPublic)
def publish(application_id: str, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    """Start the public notice (公示) of 10 working days."""
    return _act(ctx, principal, application_id, "publish", "")


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationPublic)
def withdraw(application_id: str, ctx: Ctx, principal: Registrant) -> ApplicationPublic:
    return _act(ctx, principal, application_id, "withdraw", "")


@router.post("/applications/{application_id}/resubmit", response_model=ApplicationPublic)
def resubmit(application_id: str, body: Resubmit, ctx: Ctx, principal: Registrant) -> ApplicationPublic:
    with ctx.uow() as session:
        view = service.resubmit(
            session,
            application_id,
            content=body.content.model_dump() if body.content else None,
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "registry.application.resubmit",
            "registry_application",
            view.id,
            to_state=view.state,
        )
        return _application(view)


@router.post("/applications/{application_id}/issue", response_model=ApplicationPublic)
def issue(application_id: str, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    """After the notice period: assign the code and issue the signed certificate (赋码发证)."""
    key = _signing_key(ctx)
    with ctx.uow() as session:
        view = service.issue(
            session,
            application_id,
            key=key,
            actor_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "registry.application.issue",
            "registry_application",
            view.id,
            to_state=view.state,
            certificate_code=view.certificate_code,
        )
        return _application(view)


@router.get("/applications/{application_id}/commitment-letter")
def commitment_letter(application_id: str, ctx: Ctx, principal: Authenticated) -> Response:
    with ctx.uow() as session:
        _readable(session, principal, application_id)
        _, content = service.commitment_letter(session, application_id)
        emit(
            session, ctx, principal, "registry.commitment_letter.read", "registry_application", application_id
        )
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="commitment-{application_id}"'},
    )


# --- objections ----------------------------------------------------------------------------------------------


@router.post("/applications/{application_id}/objections", response_model=ObjectionPublic, status_code=201)
def object_to(
    application_id: str, body: ObjectionCreate, ctx: Ctx, principal: Authenticated
) -> ObjectionPublic:
    """Object to a registration under public notice: issuance pauses until the registrar resolves it."""
    with ctx.uow() as session:
        view = service.file_objection(
            session,
            application_id,
            reason=body.reason,
            user_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "registry.objection.filed",
            "registry_application",
            application_id,
            objection_id=view.id,
        )
        return ObjectionPublic(**view.__dict__)


@router.post("/objections/{objection_id}/resolve", response_model=ApplicationPublic)
def resolve(objection_id: str, body: Resolution, ctx: Ctx, principal: Registrar) -> ApplicationPublic:
    with ctx.uow() as session:
        view = service.resolve_objection(
            session,
            objection_id,
            decision=body.decision,
            reason=body.reason,
            actor_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            f"registry.objection.{body.decision}",
            "registry_application",
            view.id,
            objection_id=objection_id,
            to_state=view.state,
        )
        return _application(view)


# --- certificates --------------------------------------------------------------------------------------------


@router.get("/public-key")
def public_key(ctx: Ctx, _: Public) -> dict[str, str]:
    key = _signing_key(ctx)
    return {
        "algorithm": "Ed25519",
        "key_id": certificates.key_id(key),
        "public_key_pem": certificates.public_pem(key),
    }


@router.get("/certificates/{code}", response_model=VerificationPublic)
def verify_certificate(code: str, request: Request, ctx: Ctx, _: Public) -> VerificationPublic:
    """Public verification without login: code check character, signature, status and validity today."""
    key = _signing_key(ctx)
    with ctx.uow() as session:
        return _verification(
            service.verify_certificate(session, code, key.public_key(), ctx.clock.today()), request
        )


@router.post("/certificates/{code}/verify", response_model=VerificationPublic)
def verify_document(
    code: str, body: PresentedDocument, request: Request, ctx: Ctx, _: Public
) -> VerificationPublic:
    """Verify a presented certificate document and signature (e.g. a downloaded copy)."""
    key = _signing_key(ctx)
    with ctx.uow() as session:
        return _verification(
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
    return Response(certificates.qr_svg(_verify_url(request, code)), media_type="image/svg+xml")


@router.post("/certificates/{code}/renew", response_model=CertificatePublic)
def renew(code: str, body: Renewal, ctx: Ctx, principal: Registrant) -> CertificatePublic:
    """Renew within the 60 days before expiry (R18)."""
    key = _signing_key(ctx)
    with ctx.uow() as session:
        authorization_end = body.authorization_end
        current = service.certificate(session, code, ctx.clock.today())
        if current.subject_type == "product":  # never beyond the agreement the product was developed under
            term_end = _product_authorization_end(session, principal, current.subject_id)
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
        return _certificate(view)


@router.post("/certificates/{code}/revoke", response_model=CertificatePublic)
def revoke(code: str, body: RequiredReason, ctx: Ctx, principal: Registrar) -> CertificatePublic:
    """Revoke for false materials, tampering or illegal use, with reasons (R23)."""
    with ctx.uow() as session:
        view = service.revoke(session, code, reason=body.reason, today=ctx.clock.today(), now=ctx.clock.now())
        emit(
            session, ctx, principal, "registry.certificate.revoked", "certificate", code, version=view.version
        )
        return _certificate(view)


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


@router.post("/sweep")
def sweep(ctx: Ctx, principal: Registrar) -> dict[str, list[str]]:
    return {"cancelled": sweep_and_audit(ctx, principal)}


# --- links to the catalog ------------------------------------------------------------------------------------


@router.get("/datasets/{name}/status", response_model=DatasetStatus)
def dataset_status(name: str, ctx: Ctx, _: Authenticated) -> DatasetStatus:
    """Registration of a dataset, and whether its stored data still matches the registered evidence."""
    today = ctx.clock.today()
    with ctx.uow() as session:
        dataset = catalog_service.get_dataset(session, name)
        verdict = service.dataset_registration(session, dataset.name, today)
        lineage = service.latest_certificate(session, "dataset", dataset.name, today)
        registered = service.registered_evidence(session, "dataset", dataset.name, today)
        try:
            current = current_evidence(session, ctx, dataset.name).sha256
        except InvalidInput:
            current = None
    matches = None if registered is None else registered == current
    action = None
    if not verdict.allowed:
        action = "registration required (R8, A9)"
    elif matches is False:
        action = "change registration required: the stored data no longer matches the registered evidence"
    return DatasetStatus(
        dataset=dataset.name,
        registered=verdict.allowed,
        reason=verdict.reason,
        certificate_code=lineage.code if lineage else None,
        certificate_state=lineage.state if lineage else None,
        valid_to=lineage.valid_to if lineage else None,
        registered_evidence_sha256=registered,
        current_evidence_sha256=current,
        evidence_matches=matches,
        action_required=action,
    )


# --- public pages --------------------------------------------------------------------------------------------


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
