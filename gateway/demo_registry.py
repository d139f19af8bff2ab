"""Registration of the demo datasets through the real procedure (used by ``shuyu demo``).

Each dataset is self-evidenced by its source department, applied for, accepted, approved, put under public
notice and issued a signed certificate. The demo has no time to wait 10 working days, so the procedure is
dated back: the application is dated on the latest day whose notice period (PRC working days, holidays
skipped) ends before today, and the certificate is issued today. Every step is audited as it happens.
Idempotent: a dataset that already holds a valid certificate keeps it.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from catalog import service as catalog_service
from common.types import OrgKind, Principal
from gateway import identity
from gateway.context import AppContext
from gateway.events import emit
from gateway.registry_wiring import current_evidence
from registry import certificates, deadlines, service

LETTER = (
    "承诺书 (commitment letter)\n本单位承诺所提交的公共数据资源登记材料真实、完整、合法、有效。\n"
    "We declare the registration materials true, complete, lawful and valid.\n"
)


def _principal(session: Session, username: str) -> Principal:
    user = identity.get_user(session, username)
    org = identity.get_organization(session, user.organization_id)
    return Principal(
        user_id=user.id,
        username=user.username,
        organization_id=org.id,
        organization_kind=org.kind,
        roles=user.roles,
        verified=user.verified,
    )


def backdated_submission(today: date) -> date:
    """The latest working day whose acceptance and 10-working-day notice both end before ``today``."""
    day = today - timedelta(days=1)
    while not (deadlines.notice_end(day) < today and deadlines.is_working_day(day)):
        day -= timedelta(days=1)
    return day


def register_demo_datasets(
    ctx: AppContext, *, registrar_user: str, source_user: str, dataset_names: list[str]
) -> list[str]:
    """Register each dataset (if not registered yet) and return the certificate codes, in order."""
    key = certificates.load_signing_key(ctx.settings)
    today = ctx.clock.today()
    codes = []
    for name in dataset_names:
        with ctx.uow() as session:
            live = service.latest_certificate(session, "dataset", name, today)
            if live is not None and live.state == "issued":
                codes.append(live.code)
                continue
            codes.append(_register(ctx, session, key, name, registrar_user, source_user, today))
    return codes


def _register(
    ctx: AppContext, session: Session, key, name: str, registrar_user: str, source_user: str, today: date
) -> str:
    now = ctx.clock.now()
    registrar, source = _principal(session, registrar_user), _principal(session, source_user)
    dataset = catalog_service.get_dataset(session, name)
    source_org = identity.get_organization(session, dataset.source_org_id)
    # The registrant holds the data: a source department, or an operator for its own social data (R3, A34).
    if (
        source_org.kind not in (OrgKind.data_source, OrgKind.operator)
        or source.organization_id != source_org.id
    ):
        raise ValueError(f"{source_user} does not belong to the organization that holds {name}")
    computed = current_evidence(session, ctx, name)
    proof = service.record_evidence(
        session,
        computed,
        subject_type="dataset",
        subject_id=name,
        subject_version=dataset.version,
        mode="self",
        registrant_org_id=source_org.id,
        issuer_org_id=source_org.id,
        actor_id=source.user_id,
        now=now,
    )
    emit(
        session,
        ctx,
        source,
        "registry.evidence.recorded",
        "dataset",
        name,
        evidence_id=proof.id,
        mode="self",
        sha256=proof.sha256,
    )
    tables = computed.manifest["tables"]
    content = {
        "name": dataset.title,
        "holder": source_org.name,
        "source": source_org.name,
        "scale": f"{len(tables)} tables, {sum(t['rows'] for t in tables)} rows",
        "update_frequency": dataset.update_frequency,
        "format": "Apache Parquet",
        "open_attribute": dataset.open_attribute,
        "storage": "Shuyu domain store (数据不出域)",
        "description": dataset.description or dataset.title,
    }
    submitted = backdated_submission(today)
    spec = service.ApplicationSpec(
        kind="first",
        subject_type="dataset",
        subject_id=name,
        content=content,
        commitment_filename="commitment-letter.txt",
        commitment_letter=LETTER.encode(),
        evidence_id=proof.id,
    )
    app = service.submit(
        session,
        spec,
        applicant=service.Party(source_org.id, source_org.name),
        user_id=source.user_id,
        today=submitted,
        now=now,
        current_evidence_sha256=computed.sha256,
    )
    emit(
        session,
        ctx,
        source,
        "registry.application.submitted",
        "registry_application",
        app.id,
        registration_type="first",
        dataset=name,
        acceptance_due=app.acceptance_due.isoformat(),
    )
    for action in ("accept", "approve", "publish"):
        view = service.act(session, app.id, action, actor_id=registrar.user_id, today=submitted, now=now)
        emit(
            session,
            ctx,
            registrar,
            f"registry.application.{action}",
            "registry_application",
            app.id,
            to_state=view.state,
            dated=submitted.isoformat(),
        )
    view = service.issue(session, app.id, key=key, actor_id=registrar.user_id, today=today, now=now)
    emit(
        session,
        ctx,
        registrar,
        "registry.application.issue",
        "registry_application",
        app.id,
        to_state=view.state,
        certificate_code=view.certificate_code,
    )
    return view.certificate_code
