"""Operating agreements (授权运营协议, A16-A18, A23-A24): the only source of grants.

An agreement binds the operator selected under an approved plan to a data scope (catalog datasets with a rule
per column), for a term of at most 3 years, with the 12 contents of A16. States (``TRANSITIONS``)::

    draft ──sign──> signed ──file──> filed ──change──> filed (next version, new grant versions)
      │               │                └──terminate──> terminated (every grant revoked at once)
      └──abandon──> abandoned             signed ──terminate──> terminated

Signing starts the filing deadline: 5 PRC working days (A17); signed agreements past it are *overdue* and
listed for supervisors. Filing **materializes** one grant per dataset through the caller's ``GrantBook``
(the gateway passes ``policies.grants``; each grant is tagged with the agreement id); a change writes the next
grant versions, adds grants for new datasets and revokes grants for dropped ones. Every dataset must hold a valid
registration certificate when signing, filing and changing (A9): the caller passes the registry's verdict as
``registration(dataset) -> Verdict``, so this module never imports the registry or ``policies``.
The operator organization is fixed at creation: nothing here changes it (A18).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import workdays
from common.clock import add_working_days
from common.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from common.grant_terms import DatasetTerms, GrantSpec
from common.types import CatalogSnapshot, DPMode, DPSettings, Grant, Verdict
from common.workdays import WorkingCalendar
from operation import plans
from operation.store import AgreementRow, AgreementVersionRow, EvaluationRow

TRANSITIONS: Mapping[str, Mapping[str, str]] = {
    "draft": {"edit": "draft", "sign": "signed", "abandon": "abandoned"},
    "signed": {"file": "filed", "terminate": "terminated"},
    "filed": {"change": "filed", "terminate": "terminated"},
    "terminated": {},
    "abandoned": {},
}
FILING_WORKING_DAYS = 5  # A17
MAX_TERM_YEARS = 3  # A16
# A23: the recorded reasons an agreement ends.
TERMINATION_REASONS = (
    "expiry",
    "operator_request",
    "breach",
    "security_hazard",
    "unqualified_evaluation",
    "policy_change",
    "other_violation",
)
# The 12 contents of A16 (the data scope and the term are structured fields of their own).
TEXT_CONTENTS = (
    "data_catalog",
    "products_and_standards",
    "security_review",
    "asset_ownership",
    "disclosure",
    "accounting",
    "security_emergency",
    "evaluation_renewal_exit",
    "liability",
    "dispute_resolution",
    "change_termination",
)


class GrantBook(Protocol):
    """The grant operations an agreement needs, handed in by the caller (the gateway passes
    ``policies.grants``). Grants live in ``policies``; rooms never import each other, so this room names only
    what it calls."""

    def validate(self, spec: GrantSpec, dataset: str, catalog: CatalogSnapshot) -> object: ...

    def create(
        self,
        session: Session,
        *,
        organization_id: str,
        dataset_id: str,
        dataset: str,
        spec: GrantSpec,
        catalog: CatalogSnapshot,
        actor_id: str,
        now: datetime,
        agreement_id: str | None = None,
    ) -> Grant: ...

    def change(
        self,
        session: Session,
        grant_id: str,
        spec: GrantSpec,
        *,
        catalog: CatalogSnapshot,
        actor_id: str,
        reason: str,
        now: datetime,
    ) -> Grant: ...

    def set_status(
        self, session: Session, grant_id: str, status: str, reason: str, now: datetime
    ) -> Grant: ...

    def of_agreement(self, session: Session, agreement_id: str) -> list[Grant]: ...


@dataclass(frozen=True)
class ScopeTerms(DatasetTerms):
    """One dataset of the data scope: the grant terms without the window (the window is the term)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "columns": {t: dict(c) for t, c in self.columns.items()},
            "privacy_unit": self.privacy_unit,
            "k": self.k,
            "row_filters": dict(self.row_filters or {}),
            "max_rows": self.max_rows,
            "allow_row_level": self.allow_row_level,
            "dp": {
                "mode": self.dp.mode.value,
                "epsilon_budget": self.dp.epsilon_budget,
                "default_epsilon": self.dp.default_epsilon,
                "refresh": self.dp.refresh,
                "max_contributions": self.dp.max_contributions,
                "key_domains": {k: list(v) for k, v in self.dp.key_domains.items()},
                "org_cap": self.dp.org_cap,
            },
            "k_only_exceptions": dict(self.k_only_exceptions or {}),  # grade exceptions (A2, A35)
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScopeTerms:
        dp = dict(data["dp"])
        return cls(
            purpose=data["purpose"],
            columns=data["columns"],
            privacy_unit=data["privacy_unit"],
            k=data["k"],
            row_filters=data["row_filters"],
            max_rows=data["max_rows"],
            allow_row_level=data["allow_row_level"],
            dp=DPSettings(**{**dp, "mode": DPMode(dp["mode"])}),
            k_only_exceptions=data.get("k_only_exceptions") or None,
        )


@dataclass(frozen=True)
class Terms:
    """What one version of an agreement says."""

    title: str
    term_start: date
    term_end: date  # the last day of the term
    content: Mapping[str, str]
    scope: Mapping[str, ScopeTerms]


@dataclass(frozen=True)
class Agreement:
    id: str
    plan_id: str
    plan_version: int
    selection_id: str
    operator_org_id: str
    state: str
    version: int
    title: str
    term_start: date
    term_end: date
    content: Mapping[str, str]
    scope: Mapping[str, ScopeTerms]
    signed_on: date | None
    filing_due: date | None
    filed_on: date | None
    filing_reference: str
    terminated_on: date | None
    termination_reason: str | None
    termination_detail: str
    # True while the deadline depends on a year whose official schedule is not loaded (statutory rules only).
    deadline_provisional: bool = False

    def filing_overdue(self, today: date) -> bool:
        return self.state == "signed" and self.filing_due is not None and today > self.filing_due

    @property
    def filed_late(self) -> bool:
        return self.filed_on is not None and self.filing_due is not None and self.filed_on > self.filing_due


def next_state(state: str, action: str) -> str:
    try:
        return TRANSITIONS[state][action]
    except KeyError:
        raise InvalidTransition(f"a {state} agreement does not allow {action}", current_state=state)


def term_limit(start: date) -> date:
    """The last day a term starting on ``start`` may run: 3 years, the anniversary itself excluded (A16)."""
    try:
        anniversary = start.replace(year=start.year + MAX_TERM_YEARS)
    except ValueError:  # 29 February
        anniversary = start.replace(year=start.year + MAX_TERM_YEARS, month=3, day=1)
    return anniversary - timedelta(days=1)


def filing_due(signed_on: date, calendar: WorkingCalendar | None = None) -> date:
    """Filing is due within 5 PRC working days of signing (A17; holidays and make-up days counted)."""
    return add_working_days(signed_on, FILING_WORKING_DAYS, calendar)


def validate_terms(
    terms: Terms, *, plan_datasets: tuple[str, ...], catalog: CatalogSnapshot, grants: GrantBook
) -> None:
    if not terms.title.strip():
        raise InvalidInput("the agreement needs a title", field="title")
    if terms.term_end <= terms.term_start:
        raise InvalidInput("term_end must be after term_start", field="term_end")
    if terms.term_end > term_limit(terms.term_start):
        raise InvalidInput(
            f"the operating term may not exceed {MAX_TERM_YEARS} years (A16): from this start it "
            f"ends on {term_limit(terms.term_start).isoformat()} at the latest",
            field="term_end",
        )
    for name in TEXT_CONTENTS:
        value = terms.content.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"the agreement needs {name.replace('_', ' ')} (A16)", field=f"content.{name}")
    if not terms.scope:
        raise InvalidInput("the data scope names at least one dataset", field="scope")
    outside = sorted(set(terms.scope) - set(plan_datasets))
    if outside:
        raise InvalidInput(
            f"datasets outside the approved plan's data scope: {', '.join(outside)}", field="scope"
        )
    for dataset, scope in terms.scope.items():
        try:
            grants.validate(scope.spec(terms.term_start, terms.term_end), dataset, catalog)
        except InvalidInput as error:
            where = error.details.get("field", "")
            raise InvalidInput(
                f"scope.{dataset}: {error.message}", field=f"scope.{dataset}.{where}".rstrip(".")
            )


def require_registration(
    datasets: Mapping[str, Any] | list[str], registration: Callable[[str], Verdict]
) -> None:
    """Every dataset in the scope must hold a valid registration certificate (A9)."""
    refused = [(name, registration(name)) for name in sorted(datasets)]
    refused = [(name, verdict) for name, verdict in refused if not verdict.allowed]
    if refused:
        reasons = "; ".join(f"{name}: {verdict.reason}" for name, verdict in refused)
        raise Conflict(
            f"datasets in the scope must be registered (A9): {reasons}",
            field="scope",
            datasets=[name for name, _ in refused],
        )


def create(
    session: Session,
    *,
    plan_id: str,
    selection_id: str,
    terms: Terms,
    catalog: CatalogSnapshot,
    grants: GrantBook,
    actor_id: str,
    now: datetime,
) -> Agreement:
    _, version, content = plans.in_force(session, plan_id)
    selection = plans.get_selection(session, selection_id)
    if selection.plan_id != plan_id:
        raise InvalidInput("the operator selection belongs to another plan", field="selection_id")
    validate_terms(terms, plan_datasets=tuple(content["datasets"]), catalog=catalog, grants=grants)
    row = AgreementRow(
        plan_id=plan_id,
        plan_version=version,
        selection_id=selection_id,
        operator_org_id=selection.operator_org_id,
        state="draft",
        current_version=1,
        filing_reference="",
        termination_detail="",
        created_by=actor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    _add_version(session, row, 1, terms, "created", actor_id, now)
    return load(session, row.id)


def edit(
    session: Session,
    agreement_id: str,
    *,
    terms: Terms,
    catalog: CatalogSnapshot,
    grants: GrantBook,
    now: datetime,
) -> Agreement:
    """Edit a draft in place (a signed agreement changes only through ``change`` once filed)."""
    row = _row(session, agreement_id)
    next_state(row.state, "edit")
    _, _, content = plans.in_force(session, row.plan_id)
    validate_terms(terms, plan_datasets=tuple(content["datasets"]), catalog=catalog, grants=grants)
    version = _version(session, row, row.current_version)
    version.title, version.term_start, version.term_end = (
        terms.title.strip(),
        terms.term_start,
        terms.term_end,
    )
    version.content, version.scope = _content(terms), _scope(terms)
    row.updated_at = now
    session.flush()
    return load(session, agreement_id)


def sign(
    session: Session, agreement_id: str, *, registration: Callable[[str], Verdict], today: date, now: datetime
) -> Agreement:
    row = _row(session, agreement_id)
    state = next_state(row.state, "sign")
    current = load(session, agreement_id)
    require_registration(list(current.scope), registration)
    row.state, row.signed_on, row.filing_due, row.updated_at = (
        state,
        today,
        filing_due(today, workdays.of(session)),
        now,
    )
    session.flush()
    return load(session, agreement_id)


def abandon(session: Session, agreement_id: str, *, reason: str, now: datetime) -> Agreement:
    row = _row(session, agreement_id)
    row.state = next_state(row.state, "abandon")
    row.termination_detail, row.updated_at = reason, now
    session.flush()
    return load(session, agreement_id)


def file(
    session: Session,
    agreement_id: str,
    *,
    reference: str,
    registration: Callable[[str], Verdict],
    dataset_ids: Mapping[str, str],
    catalog: CatalogSnapshot,
    grants: GrantBook,
    actor_id: str,
    today: date,
    now: datetime,
) -> tuple[Agreement, list[Grant]]:
    """Record the filing with the data authority (A17) and materialize one grant per dataset."""
    row = _row(session, agreement_id)
    state = next_state(row.state, "file")
    if not reference.strip():
        raise InvalidInput("record the filing reference", field="reference")
    current = load(session, agreement_id)
    require_registration(list(current.scope), registration)
    made = []
    for dataset, scope in sorted(current.scope.items()):
        made.append(
            grants.create(
                session,
                organization_id=row.operator_org_id,
                dataset_id=dataset_ids[dataset],
                dataset=dataset,
                spec=scope.spec(current.term_start, current.term_end),
                catalog=catalog,
                actor_id=actor_id,
                now=now,
                agreement_id=row.id,
            )
        )
    row.state, row.filed_on, row.filing_reference, row.updated_at = state, today, reference.strip(), now
    session.flush()
    return load(session, agreement_id), made


def change(
    session: Session,
    agreement_id: str,
    *,
    terms: Terms,
    reason: str,
    registration: Callable[[str], Verdict],
    dataset_ids: Mapping[str, str],
    catalog: CatalogSnapshot,
    grants: GrantBook,
    actor_id: str,
    now: datetime,
) -> tuple[Agreement, list[Grant]]:
    """A changed (filed) agreement: the next version, new grant versions, grants for added datasets, and
    dropped datasets' grants revoked. The organization never changes (A18)."""
    row = _row(session, agreement_id)
    next_state(row.state, "change")
    if not reason.strip():
        raise InvalidInput("a change needs a reason", field="reason")
    _, _, content = plans.in_force(session, row.plan_id)
    validate_terms(terms, plan_datasets=tuple(content["datasets"]), catalog=catalog, grants=grants)
    require_registration(list(terms.scope), registration)
    row.current_version += 1
    row.updated_at = now
    _add_version(session, row, row.current_version, terms, reason.strip(), actor_id, now)
    existing = {g.dataset: g for g in grants.of_agreement(session, agreement_id) if g.status != "revoked"}
    result = []
    for dataset, scope in sorted(terms.scope.items()):
        spec = scope.spec(terms.term_start, terms.term_end)
        if dataset in existing:
            result.append(
                grants.change(
                    session,
                    existing[dataset].id,
                    spec,
                    catalog=catalog,
                    actor_id=actor_id,
                    reason=f"agreement {agreement_id} v{row.current_version}: {reason.strip()}",
                    now=now,
                )
            )
        else:
            result.append(
                grants.create(
                    session,
                    organization_id=row.operator_org_id,
                    dataset_id=dataset_ids[dataset],
                    dataset=dataset,
                    spec=spec,
                    catalog=catalog,
                    actor_id=actor_id,
                    now=now,
                    agreement_id=row.id,
                )
            )
    for dataset, grant in existing.items():
        if dataset not in terms.scope:
            result.append(
                grants.set_status(
                    session,
                    grant.id,
                    "revoked",
                    f"dataset removed from agreement {agreement_id} by a change",
                    now,
                )
            )
    session.flush()
    return load(session, agreement_id), result


def terminate(
    session: Session,
    agreement_id: str,
    *,
    reason: str,
    detail: str,
    grants: GrantBook,
    today: date,
    now: datetime,
) -> tuple[Agreement, list[Grant]]:
    """End the agreement for one of the A23 reasons and revoke every grant it materialized, at once (A24).

    Running jobs finish; new jobs are refused because their grants are revoked, with this reason.
    """
    row = _row(session, agreement_id)
    state = next_state(row.state, "terminate")
    if reason not in TERMINATION_REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(TERMINATION_REASONS)} (A23)", field="reason")
    if reason == "unqualified_evaluation" and not session.scalar(
        select(EvaluationRow.id).where(
            EvaluationRow.agreement_id == agreement_id, EvaluationRow.result == "unqualified"
        )
    ):
        raise Conflict(
            "no unqualified annual evaluation is recorded for this agreement (A39)", field="reason"
        )
    if reason == "expiry" and today <= _version(session, row, row.current_version).term_end:
        raise Conflict("the term has not expired yet", field="reason")
    text = f"agreement {agreement_id} terminated ({reason.replace('_', ' ')})"
    if detail.strip():
        text += f": {detail.strip()}"
    revoked = [
        grants.set_status(session, g.id, "revoked", text, now)
        for g in grants.of_agreement(session, agreement_id)
        if g.status != "revoked"
    ]
    row.state, row.terminated_on, row.termination_reason = state, today, reason
    row.termination_detail, row.updated_at = detail.strip(), now
    session.flush()
    return load(session, agreement_id), revoked


def expire_due(session: Session, *, grants: GrantBook, today: date, now: datetime) -> list[str]:
    """Terminate (reason: expiry) every filed agreement whose term ended before ``today``."""
    ended = []
    for row in session.scalars(
        select(AgreementRow).where(AgreementRow.state == "filed").order_by(AgreementRow.created_at)
    ):
        if _version(session, row, row.current_version).term_end < today:
            terminate(session, row.id, reason="expiry", detail="", grants=grants, today=today, now=now)
            ended.append(row.id)
    return ended


def overdue_filings(session: Session, today: date) -> list[Agreement]:
    """Signed agreements not filed within 5 working days (A17): flagged to supervisors."""
    rows = session.scalars(
        select(AgreementRow.id)
        .where(AgreementRow.state == "signed", AgreementRow.filing_due < today)
        .order_by(AgreementRow.filing_due)
    )
    return [load(session, agreement_id) for agreement_id in rows]


def grants_of(session: Session, agreement_id: str, *, grants: GrantBook) -> list[Grant]:
    _row(session, agreement_id)
    return grants.of_agreement(session, agreement_id)


def load(session: Session, agreement_id: str, version: int | None = None) -> Agreement:
    row = _row(session, agreement_id)
    v = _version(session, row, version or row.current_version)
    if v is None:
        raise NotFound("no such agreement version", field="version")
    return Agreement(
        id=row.id,
        plan_id=row.plan_id,
        plan_version=row.plan_version,
        selection_id=row.selection_id,
        operator_org_id=row.operator_org_id,
        state=row.state,
        version=v.version,
        title=v.title,
        term_start=v.term_start,
        term_end=v.term_end,
        content=json.loads(v.content),
        scope={d: ScopeTerms.from_json(s) for d, s in json.loads(v.scope).items()},
        signed_on=row.signed_on,
        filing_due=row.filing_due,
        filed_on=row.filed_on,
        filing_reference=row.filing_reference,
        terminated_on=row.terminated_on,
        termination_reason=row.termination_reason,
        termination_detail=row.termination_detail,
        deadline_provisional=row.filing_due is not None
        and workdays.of(session).is_provisional(row.signed_on or row.filing_due, row.filing_due),
    )


def versions(session: Session, agreement_id: str) -> list[Agreement]:
    row = _row(session, agreement_id)
    return [load(session, agreement_id, n) for n in range(1, row.current_version + 1)]


def list_agreements(
    session: Session, operator_org_id: str | None = None, states: tuple[str, ...] | None = None
) -> list[Agreement]:
    query = select(AgreementRow.id).order_by(AgreementRow.created_at)
    if operator_org_id is not None:
        query = query.where(AgreementRow.operator_org_id == operator_org_id)
    if states is not None:
        query = query.where(AgreementRow.state.in_(states))
    return [load(session, agreement_id) for agreement_id in session.scalars(query)]


def _row(session: Session, agreement_id: str) -> AgreementRow:
    row = session.get(AgreementRow, agreement_id)
    if row is None:
        raise NotFound("no such agreement", field="agreement_id")
    return row


def _version(session: Session, row: AgreementRow, version: int) -> AgreementVersionRow | None:
    return session.scalar(
        select(AgreementVersionRow).where(
            AgreementVersionRow.agreement_id == row.id, AgreementVersionRow.version == version
        )
    )


def _content(terms: Terms) -> str:
    clean = {name: terms.content[name].strip() for name in TEXT_CONTENTS}
    clean["other"] = str(terms.content.get("other") or "").strip()
    return json.dumps(clean, sort_keys=True, ensure_ascii=False)


def _scope(terms: Terms) -> str:
    return json.dumps({d: s.to_json() for d, s in terms.scope.items()}, sort_keys=True, ensure_ascii=False)


def _add_version(
    session: Session, row: AgreementRow, version: int, terms: Terms, reason: str, actor_id: str, now: datetime
) -> None:
    session.add(
        AgreementVersionRow(
            agreement_id=row.id,
            version=version,
            title=terms.title.strip(),
            term_start=terms.term_start,
            term_end=terms.term_end,
            content=_content(terms),
            scope=_scope(terms),
            change_reason=reason,
            created_by=actor_id,
            created_at=now,
        )
    )
    session.flush()
