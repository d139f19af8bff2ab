"""What the registry publishes (R19-R21): the notices in force, the public catalog of registered resources,
and the statistics.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import workdays
from registry import deadlines
from registry.lineages import effective_state
from registry.store import (
    ApplicationRow,
    CertificateRow,
    CodeRow,
    NoticeRow,
    ObjectionRow,
)
from registry.views import CONTENT_FIELDS


def notices(session: Session, today: date) -> dict[str, list[dict]]:
    """Public: registrations under notice (or paused by an objection), and cancellation/revocation
    announcements."""
    in_progress, announcements = [], []
    for row in session.scalars(
        select(NoticeRow).order_by(NoticeRow.published_on.desc(), NoticeRow.created_at)
    ):
        item = {
            "id": row.id,
            "kind": row.kind,
            "registration_type": row.registration_type,
            "data_name": row.data_name,
            "registrants": json.loads(row.registrants),
            "summary": row.summary,
            "certificate_code": row.certificate_code,
            "published_on": row.published_on.isoformat(),
            "ends_on": row.ends_on.isoformat() if row.ends_on else None,
            "application_id": row.application_id,
        }
        if row.kind == "registration":
            app = session.get(ApplicationRow, row.application_id)
            if app is not None and app.state in ("in_notice", "objected"):
                item.update(state=app.state, ends_on=app.notice_end.isoformat() if app.notice_end else None)
                in_progress.append(item)
        else:
            announcements.append(item)
    return {"in_progress": in_progress, "announcements": announcements}


def public_catalog(session: Session, today: date) -> list[dict]:
    """The registered public data resource catalog (R7): live certificates and their registered content."""
    items = []
    query = (
        select(CertificateRow, CodeRow)
        .join(CodeRow, CodeRow.code == CertificateRow.code)
        .where(CertificateRow.version == CodeRow.current_version, CertificateRow.state == "issued")
        .order_by(CodeRow.subject_type, CodeRow.subject_id)
    )
    for cert, lineage in session.execute(query):
        if effective_state(cert, today) != "issued":
            continue
        app_id = session.scalar(
            select(ApplicationRow.id)
            .where(
                ApplicationRow.certificate_code == cert.code,
                ApplicationRow.state == "issued",
                ApplicationRow.kind != "cancellation",
            )
            .order_by(ApplicationRow.updated_at.desc())
        )
        content = json.loads(session.get(ApplicationRow, app_id).content) if app_id else {}
        items.append(
            {
                "code": cert.code,
                "version": cert.version,
                "subject_type": lineage.subject_type,
                "subject_id": lineage.subject_id,
                "holders": [h["name"] for h in json.loads(cert.holders)],
                "valid_to": cert.valid_to.isoformat(),
                **{k: content.get(k) for k in CONTENT_FIELDS},
            }
        )
    return items


def statistics(session: Session, today: date) -> dict:
    """Registration statistics for the registrar and supervisors only (R19), with service metrics (R21)."""
    by_state = dict(
        session.execute(select(ApplicationRow.state, func.count()).group_by(ApplicationRow.state)).all()
    )
    by_kind = dict(
        session.execute(select(ApplicationRow.kind, func.count()).group_by(ApplicationRow.kind)).all()
    )
    accepted = session.execute(
        select(ApplicationRow.submitted_on, ApplicationRow.accepted_on, ApplicationRow.acceptance_due).where(
            ApplicationRow.accepted_on.is_not(None)
        )
    ).all()
    late = sum(1 for _, on, due in accepted if on > due)
    waiting = session.scalars(
        select(ApplicationRow.acceptance_due).where(ApplicationRow.state == "submitted")
    ).all()
    certs = {}
    for cert in session.scalars(
        select(CertificateRow)
        .join(CodeRow, CodeRow.code == CertificateRow.code)
        .where(CertificateRow.version == CodeRow.current_version)
    ):
        state = effective_state(cert, today)
        certs[state] = certs.get(state, 0) + 1
    days = [deadlines.working_days_between(s, a, workdays.of(session)) for s, a, _ in accepted]
    return {
        "applications_by_state": by_state,
        "applications_by_kind": by_kind,
        "certificates_by_state": certs,
        "accepted_late": late,
        "awaiting_acceptance_overdue": sum(1 for due in waiting if today > due),
        "mean_acceptance_working_days": round(sum(days) / len(days), 2) if days else None,
        "objections": session.scalar(select(func.count()).select_from(ObjectionRow)) or 0,
    }
