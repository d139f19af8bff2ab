"""Catalog operations over a Session. The caller (gateway) owns the transaction and the audit event.

Public views carry metadata only — names, types, classifications, declared bounds — never data values (R7, A26).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.store import ColumnRow, DatasetRow, TableRow, VersionRow
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.types import CatalogSnapshot, ColumnInfo, Level, Principal, TableInfo

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# DuckDB schema names the sandbox worker could confuse with its own catalogs.
RESERVED_NAMES = frozenset({"main", "temp", "system", "information_schema", "pg_catalog", "memory"})
FREQUENCIES = ("realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular", "static")
OPEN_ATTRIBUTES = ("unconditional", "conditional", "not_open")  # 无条件开放 / 有条件开放 / 不予开放


def check_identifier(value: str, field: str) -> str:
    if not IDENTIFIER.match(value or "") or value in RESERVED_NAMES:
        raise InvalidInput(
            f"{field} must be a lower-case identifier ([a-z][a-z0-9_]*, at most 63 characters, "
            f"not {', '.join(sorted(RESERVED_NAMES))})",
            field=field,
        )
    return value


def _choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(allowed)}", field=field)
    return value


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    description: str
    update_frequency: str
    sector: str
    open_attribute: str


def create_dataset(session: Session, spec: DatasetSpec, owner: Principal, now: datetime) -> DatasetRow:
    check_identifier(spec.name, "name")
    _choice(spec.update_frequency, FREQUENCIES, "update_frequency")
    _choice(spec.open_attribute, OPEN_ATTRIBUTES, "open_attribute")
    if session.scalar(select(DatasetRow.id).where(DatasetRow.name == spec.name)):
        raise Conflict("a dataset with this name exists", field="name")
    row = DatasetRow(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        source_org_id=owner.organization_id,
        update_frequency=spec.update_frequency,
        sector=spec.sector,
        open_attribute=spec.open_attribute,
        version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_dataset(session: Session, name: str) -> DatasetRow:
    row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
    if row is None:
        raise NotFound("no such dataset", field="dataset")
    return row


def owned_dataset(session: Session, name: str, principal: Principal) -> DatasetRow:
    """The dataset, if the caller's organization is its source department."""
    row = get_dataset(session, name)
    if row.source_org_id != principal.organization_id:
        raise Forbidden("only the source department that owns this dataset may change it")
    return row


def list_datasets(session: Session) -> list[DatasetRow]:
    return list(session.scalars(select(DatasetRow).order_by(DatasetRow.name)))


def create_table(
    session: Session, dataset: DatasetRow, name: str, description: str, now: datetime
) -> TableRow:
    check_identifier(name, "name")
    if session.scalar(select(TableRow.id).where(TableRow.dataset_id == dataset.id, TableRow.name == name)):
        raise Conflict("this dataset already has a table with this name", field="name")
    row = TableRow(
        dataset_id=dataset.id,
        name=name,
        description=description,
        current_version=0,
        schema_confirmed=False,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_table(session: Session, dataset: DatasetRow, name: str) -> TableRow:
    row = session.scalar(select(TableRow).where(TableRow.dataset_id == dataset.id, TableRow.name == name))
    if row is None:
        raise NotFound("no such table in this dataset", field="table")
    return row


def tables_of(session: Session, dataset: DatasetRow) -> list[TableRow]:
    return list(
        session.scalars(select(TableRow).where(TableRow.dataset_id == dataset.id).order_by(TableRow.name))
    )


def columns_of(session: Session, table: TableRow) -> list[ColumnRow]:
    return list(
        session.scalars(select(ColumnRow).where(ColumnRow.table_id == table.id).order_by(ColumnRow.position))
    )


def column_info(row: ColumnRow) -> ColumnInfo:
    return ColumnInfo(
        name=row.name,
        type=row.type,
        description=row.description,
        level=Level(row.level),
        personal=row.personal,
        pii_tags=tuple(t for t in row.pii_tags.split(",") if t),
        lower=row.lower,
        upper=row.upper,
    )


def table_info(session: Session, dataset: DatasetRow, table: TableRow) -> TableInfo:
    latest = latest_version(session, table)
    return TableInfo(
        dataset=dataset.name,
        name=table.name,
        columns=tuple(column_info(c) for c in columns_of(session, table)),
        version=table.current_version,
        row_count=latest.rows if latest else None,
    )


def latest_version(session: Session, table: TableRow) -> VersionRow | None:
    return session.scalar(
        select(VersionRow).where(VersionRow.table_id == table.id, VersionRow.version == table.current_version)
    )


def versions_of(session: Session, table: TableRow) -> list[VersionRow]:
    return list(
        session.scalars(
            select(VersionRow).where(VersionRow.table_id == table.id).order_by(VersionRow.version)
        )
    )


def snapshot(
    session: Session, dataset_names: set[str] | None = None, social: frozenset[str] = frozenset()
) -> CatalogSnapshot:
    """The catalog as the checker sees it: confirmed schemas of tables that have data. Tables of the
    ``social`` datasets (operators' own uploads) are marked so the checker treats their columns as labels."""
    tables: dict[tuple[str, str], TableInfo] = {}
    for dataset in list_datasets(session):
        if dataset_names is not None and dataset.name not in dataset_names:
            continue
        for table in tables_of(session, dataset):
            if table.current_version and table.schema_confirmed:
                info = table_info(session, dataset, table)
                if dataset.name in social:
                    info = replace(info, origin="social")
                tables[(dataset.name, table.name)] = info
    return CatalogSnapshot(tables=tables)


def raw_sources(session: Session, domain_dir: Path, dataset_name: str) -> dict[str, tuple[TableInfo, Path]]:
    """For the sandbox's scope step only: each usable table's info and raw Parquet path (never served)."""
    dataset = get_dataset(session, dataset_name)
    sources = {}
    for table in tables_of(session, dataset):
        version = latest_version(session, table)
        if version is not None and table.schema_confirmed:
            sources[table.name] = (table_info(session, dataset, table), domain_dir / version.path)
    return sources


def next_version_number(session: Session, table: TableRow) -> int:
    return (
        session.scalar(select(func.max(VersionRow.version)).where(VersionRow.table_id == table.id)) or 0
    ) + 1


def update_dataset(session: Session, row: DatasetRow, spec: DatasetSpec, now: datetime) -> DatasetRow:
    _choice(spec.update_frequency, FREQUENCIES, "update_frequency")
    _choice(spec.open_attribute, OPEN_ATTRIBUTES, "open_attribute")
    row.title, row.description, row.sector = spec.title, spec.description, spec.sector
    row.update_frequency, row.open_attribute, row.updated_at = spec.update_frequency, spec.open_attribute, now
    session.flush()
    return row
