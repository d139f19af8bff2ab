"""Registry routes for evidence (存证, R12, R13) and for a catalog dataset's registration status."""

from __future__ import annotations

from fastapi import APIRouter

from catalog import service as catalog_service
from common.errors import Forbidden, InvalidInput
from common.types import OrgKind, Role
from gateway import entrustments, identity
from gateway.auth import Authenticated, Ctx
from gateway.events import emit
from gateway.registry_models import PREFIX, DatasetStatus, EvidenceCreate, EvidenceMaker, EvidencePublic
from gateway.registry_wiring import current_evidence
from registry import evidence as evidence_mod
from registry import service

router = APIRouter(prefix=PREFIX, tags=["registry"])


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
