"""Grants: what one operator organization may do with one dataset, versioned.

A change never edits a version: it writes the next one, so every job can name the exact rules it ran under.
Statuses form a small state machine (``TRANSITIONS``); revoked is final. Whether a grant may be *used* also
depends on its validity window and on the dataset's registration, which the registry decides: the caller
passes that verdict in (``usable``), so this module never imports the registry.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.errors import InvalidInput, InvalidTransition, NotFound
from common.grant_terms import DatasetTerms, GrantSpec  # noqa: F401 (re-exported: grants speak these)
from common.types import CatalogSnapshot, ColumnRule, DPMode, DPSettings, Grant, Rule, Verdict
from policies import grading
from policies.row_filter import row_filter
from policies.store import GrantExceptionRow, GrantRow, GrantVersionRow

MAX_TERM_YEARS = 3  # A16: the operating term is at most three years
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "active": frozenset({"suspended", "revoked"}),
    "suspended": frozenset({"active", "revoked"}),
    "revoked": frozenset(),
}


def validate(spec: GrantSpec, dataset: str, catalog: CatalogSnapshot) -> tuple[dict, dict]:
    """Check a spec against the catalog; return parsed rules and regenerated row filters."""
    if not spec.purpose.strip():
        raise InvalidInput("a grant needs a purpose", field="purpose")
    if spec.valid_to <= spec.valid_from:
        raise InvalidInput("valid_to must be after valid_from", field="valid_to")
    if spec.valid_to > _plus_years(spec.valid_from, MAX_TERM_YEARS):
        raise InvalidInput("the validity window may not exceed 3 years (A16)", field="valid_to")
    if not 2 <= spec.k <= 10_000:
        raise InvalidInput("k must be between 2 and 10000", field="k")
    if not 1 <= spec.max_rows <= 1_000_000:
        raise InvalidInput("max_rows must be between 1 and 1000000", field="max_rows")
    if not spec.columns:
        raise InvalidInput("a grant must name at least one table", field="columns")
    rules = {
        table: _table_rules(dataset, table, cols, spec.privacy_unit, catalog)
        for table, cols in spec.columns.items()
    }
    filters = {}
    for table, predicate in (spec.row_filters or {}).items():
        if table not in rules:
            raise InvalidInput(
                f"row filter for table {table} which the grant does not cover", field="row_filters"
            )
        info = catalog.table(dataset, table)
        try:
            filters[table] = row_filter(predicate, {c.name for c in info.columns})
        except ValueError as error:
            raise InvalidInput(f"row filter for {table}: {error}", field="row_filters")
    _validate_dp(spec.dp)
    _validate_grades(spec, dataset, rules, catalog)
    return rules, filters


def _validate_grades(spec: GrantSpec, dataset: str, rules: dict, catalog: CatalogSnapshot) -> None:
    """The column grades decide what the grant may allow (A2, A35); the first violation is refused."""
    found = grading.violations(dataset, rules, spec.dp.mode, exceptions_of_spec(spec), catalog)
    if found:
        first = found[0]
        raise InvalidInput(
            f"{dataset}.{first.table}.{first.column}: {first.reason} (A2, A35)",
            field="columns",
            hint=first.hint,
        )


def exceptions_of_spec(spec: DatasetTerms) -> dict[str, str]:
    return {k.lower(): v.strip() for k, v in (spec.k_only_exceptions or {}).items()}


def _plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _table_rules(
    dataset: str, table: str, columns: Mapping[str, str], unit: str, catalog: CatalogSnapshot
) -> dict[str, str]:
    info = catalog.table(dataset, table)
    if info is None:
        raise InvalidInput(f"dataset {dataset} has no table {table} with confirmed data", field="columns")
    parsed = {}
    for column, text in columns.items():
        if info.column(column) is None:
            raise InvalidInput(f"table {dataset}.{table} has no column {column}", field="columns")
        try:
            parsed[column.lower()] = str(ColumnRule.parse(text))
        except ValueError as error:
            raise InvalidInput(f"{dataset}.{table}.{column}: {error}", field="columns")
    if info.column(unit) is None:
        raise InvalidInput(
            f"the privacy unit {unit} is not a column of {dataset}.{table}", field="privacy_unit"
        )
    if ColumnRule.parse(parsed.get(unit.lower(), "deny")).rule is Rule.deny:
        raise InvalidInput(
            f"the privacy unit {unit} must be granted (as join) in {table}: the output gate counts "
            "distinct privacy units per row",
            field="privacy_unit",
        )
    return parsed


def _validate_dp(dp: DPSettings) -> None:
    if dp.mode is not DPMode.off and dp.epsilon_budget <= 0:
        raise InvalidInput("a DP grant needs a positive epsilon budget", field="dp.epsilon_budget")
    if dp.default_epsilon <= 0 or dp.max_contributions < 1:
        raise InvalidInput("default_epsilon must be > 0 and max_contributions >= 1", field="dp")
    if dp.default_epsilon < dp.min_epsilon or dp.max_queries < 0:
        raise InvalidInput("default_epsilon must be at least min_epsilon; max_queries >= 0", field="dp")
    if dp.refresh not in {"none", "monthly", "yearly"}:
        raise InvalidInput("dp.refresh must be none, monthly or yearly", field="dp.refresh")


def create(
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
) -> Grant:
    rules, filters = validate(spec, dataset, catalog)
    row = GrantRow(
        organization_id=organization_id,
        dataset_id=dataset_id,
        dataset_name=dataset,
        current_version=1,
        status="active",
        status_reason="",
        salt=secrets.token_hex(16),
        agreement_id=agreement_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    _add_version(session, row, 1, spec, rules, filters, actor_id, "created", now)
    return load(session, row.id)


def change(
    session: Session,
    grant_id: str,
    spec: GrantSpec,
    *,
    catalog: CatalogSnapshot,
    actor_id: str,
    reason: str,
    now: datetime,
) -> Grant:
    row = _row(session, grant_id)
    if row.status == "revoked":
        raise InvalidTransition("a revoked grant cannot change", current_state=row.status)
    rules, filters = validate(spec, row.dataset_name, catalog)
    row.current_version += 1
    row.updated_at = now
    _add_version(session, row, row.current_version, spec, rules, filters, actor_id, reason, now)
    return load(session, row.id)


def _add_version(session, row, version, spec, rules, filters, actor_id, reason, now) -> None:
    session.add(
        GrantVersionRow(
            grant_id=row.id,
            version=version,
            purpose=spec.purpose,
            valid_from=spec.valid_from,
            valid_to=spec.valid_to,
            rules=json.dumps(rules, sort_keys=True, ensure_ascii=False),
            privacy_unit=spec.privacy_unit.lower(),
            k=spec.k,
            row_filters=json.dumps(filters, sort_keys=True, ensure_ascii=False),
            max_rows=spec.max_rows,
            allow_row_level=spec.allow_row_level,
            dp=json.dumps(asdict(spec.dp), sort_keys=True),
            created_by=actor_id,
            change_reason=reason,
            created_at=now,
        )
    )
    for key, text in sorted(exceptions_of_spec(spec).items()):
        table, _, column = key.partition(".")
        session.add(
            GrantExceptionRow(
                grant_id=row.id,
                version=version,
                table_name=table,
                column_name=column,
                justification=text,
                created_by=actor_id,
                created_at=now,
            )
        )
    session.flush()


def set_status(session: Session, grant_id: str, status: str, reason: str, now: datetime) -> Grant:
    row = _row(session, grant_id)
    if status not in TRANSITIONS[row.status]:
        raise InvalidTransition(f"a {row.status} grant cannot become {status}", current_state=row.status)
    row.status, row.status_reason, row.updated_at = status, reason, now
    session.flush()
    return load(session, grant_id)


def _row(session: Session, grant_id: str) -> GrantRow:
    row = session.get(GrantRow, grant_id)
    if row is None:
        raise NotFound("no such grant", field="grant_id")
    return row


def load(session: Session, grant_id: str, version: int | None = None) -> Grant:
    row = _row(session, grant_id)
    number = version or row.current_version
    v = session.scalar(
        select(GrantVersionRow).where(GrantVersionRow.grant_id == grant_id, GrantVersionRow.version == number)
    )
    if v is None:
        raise NotFound("no such grant version", field="version")
    return _value(row, v)


def _value(row: GrantRow, v: GrantVersionRow, dataset_version: int = 0) -> Grant:
    dp = json.loads(v.dp)
    return Grant(
        id=row.id,
        version=v.version,
        organization_id=row.organization_id,
        dataset=row.dataset_name,
        purpose=v.purpose,
        valid_from=v.valid_from,
        valid_to=v.valid_to,
        columns={
            t: {c: ColumnRule.parse(r) for c, r in cols.items()} for t, cols in json.loads(v.rules).items()
        },
        privacy_unit=v.privacy_unit,
        k=v.k,
        row_filters=json.loads(v.row_filters),
        max_rows=v.max_rows,
        allow_row_level=v.allow_row_level,
        status=row.status,
        salt=row.salt,
        dp=DPSettings(**{**dp, "mode": DPMode(dp["mode"])}),
        dataset_version=dataset_version,
    )


def versions(session: Session, grant_id: str) -> list[Grant]:
    row = _row(session, grant_id)
    rows = session.scalars(
        select(GrantVersionRow).where(GrantVersionRow.grant_id == grant_id).order_by(GrantVersionRow.version)
    )
    return [_value(row, v) for v in rows]


def list_grants(session: Session, organization_id: str | None = None) -> list[Grant]:
    query = select(GrantRow).order_by(GrantRow.created_at)
    if organization_id is not None:
        query = query.where(GrantRow.organization_id == organization_id)
    return [load(session, row.id) for row in session.scalars(query)]


def status_reason(session: Session, grant_id: str) -> str:
    return _row(session, grant_id).status_reason


def usable(grant: Grant, today: date, registration: Verdict) -> Verdict:
    """May this grant be used today? ``registration`` is the registry's verdict on the dataset (R8, A9)."""
    if grant.status != "active":
        return Verdict(False, f"grant {grant.id} is {grant.status}")
    if today < grant.valid_from:
        return Verdict(False, f"grant {grant.id} is valid from {grant.valid_from.isoformat()}")
    if today > grant.valid_to:
        return Verdict(False, f"grant {grant.id} expired on {grant.valid_to.isoformat()}")
    if not registration.allowed:
        return Verdict(False, f"dataset {grant.dataset}: {registration.reason}")
    return Verdict(True, "active, inside its validity window, dataset registration valid")


def of_agreement(session: Session, agreement_id: str) -> list[Grant]:
    """The grants an operating agreement materialized, by dataset name (any status)."""
    ids = session.scalars(
        select(GrantRow.id).where(GrantRow.agreement_id == agreement_id).order_by(GrantRow.dataset_name)
    )
    return [load(session, grant_id) for grant_id in ids]


# ------------------------------------------------------------------------------- grade exceptions


@dataclass(frozen=True)
class GrantException:
    """A recorded k-only exception, as supervisors and the annual disclosure see it."""

    grant_id: str
    version: int
    organization_id: str
    dataset: str
    table: str
    column: str
    justification: str
    created_by: str
    created_at: datetime
    valid_from: date
    valid_to: date
    status: str


def exceptions_of(session: Session, grant_id: str, version: int) -> dict[str, str]:
    rows = session.scalars(
        select(GrantExceptionRow).where(
            GrantExceptionRow.grant_id == grant_id, GrantExceptionRow.version == version
        )
    )
    return {f"{r.table_name}.{r.column_name}": r.justification for r in rows}


def list_exceptions(session: Session, organization_id: str | None = None) -> list[GrantException]:
    """The exceptions of every grant's current version (oldest grant first)."""
    query = (
        select(GrantExceptionRow, GrantRow, GrantVersionRow)
        .join(GrantRow, GrantRow.id == GrantExceptionRow.grant_id)
        .join(
            GrantVersionRow,
            (GrantVersionRow.grant_id == GrantRow.id) & (GrantVersionRow.version == GrantRow.current_version),
        )
        .where(GrantExceptionRow.version == GrantRow.current_version)
        .order_by(GrantRow.created_at, GrantExceptionRow.table_name, GrantExceptionRow.column_name)
    )
    if organization_id is not None:
        query = query.where(GrantRow.organization_id == organization_id)
    return [
        GrantException(
            grant_id=g.id,
            version=e.version,
            organization_id=g.organization_id,
            dataset=g.dataset_name,
            table=e.table_name,
            column=e.column_name,
            justification=e.justification,
            created_by=e.created_by,
            created_at=e.created_at,
            valid_from=v.valid_from,
            valid_to=v.valid_to,
            status=g.status,
        )
        for e, g, v in session.execute(query)
    ]


def enforced(
    session: Session, held: list[Grant] | tuple[Grant, ...], catalog: CatalogSnapshot
) -> tuple[Grant, ...]:
    """The grants as the checker may see them (A2, A35): each stored grant re-checked against today's grades,
    offending columns denied (fail closed); a non-DP grant cannot reach what a DP-required grant of the same
    organization protects on the same dataset."""
    shielded: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for grant in held:
        key = (grant.organization_id, grant.dataset.lower())
        shielded.setdefault(key, set()).update(grading.dp_protected(grant, catalog))
    out = []
    for grant in held:
        exceptions = exceptions_of(session, grant.id, grant.version)
        effective, _ = grading.enforce(
            grant, catalog, exceptions, shielded.get((grant.organization_id, grant.dataset.lower()), ())
        )
        out.append(effective)
    return tuple(out)
