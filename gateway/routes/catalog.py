"""Catalog routes: source departments publish datasets; anyone reads the metadata (R7, A26).

Public responses are metadata only: names, descriptions, types, classification, declared bounds. Never rows,
samples, observed minima/maxima or profiling evidence.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, Field

from catalog import convert, ingest, service, uploads
from catalog.store import ColumnRow, DatasetRow, TableRow, VersionRow
from common.errors import Forbidden
from common.types import Principal, Role
from gateway import identity
from gateway.auth import Ctx, Public, VerifiedDataSource, VerifiedOperator, require, require_verified
from gateway.context import AppContext
from gateway.events import emit

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])
Steward = Annotated[Principal, require(Role.data_source, Role.registrar, Role.implementer, Role.supervisor)]
# Source departments publish public data; operators may bring their own social data into the domain (A34).
# Either way only the owning organization changes a dataset (service.owned_dataset).
Publisher = Annotated[Principal, require_verified(Role.data_source, Role.operator)]


class DatasetCreate(BaseModel):
    name: str = Field(description="identifier used in SQL, e.g. population", max_length=63)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    update_frequency: str = Field(description=", ".join(service.FREQUENCIES))
    sector: str = Field(min_length=1, max_length=100)
    open_attribute: str = Field(description=", ".join(service.OPEN_ATTRIBUTES))


class DatasetUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    update_frequency: str | None = None
    sector: str | None = Field(default=None, min_length=1, max_length=100)
    open_attribute: str | None = None


class TableCreate(BaseModel):
    name: str = Field(max_length=63)
    description: str = Field(default="", max_length=5000)


class ColumnPublic(BaseModel):
    name: str
    type: str
    description: str
    level: str
    personal: bool
    pii_tags: list[str]
    lower: float | None
    upper: float | None
    confirmed: bool


class ColumnSuggestion(BaseModel):
    name: str
    type: str
    suggested_level: str | None
    suggested_personal: bool | None
    suggested_pii_tags: list[str]
    suggested_lower: float | None
    suggested_upper: float | None
    reason: str | None


class TablePublic(BaseModel):
    name: str
    description: str
    version: int
    schema_confirmed: bool
    row_count: int | None
    columns: list[ColumnPublic]


class DatasetPublic(BaseModel):
    name: str
    origin: str = Field(
        description="public (a source department's public data) or social (an operator's own "
        "data brought into the domain, A34)"
    )
    title: str
    description: str
    source_organization_id: str
    update_frequency: str
    sector: str
    open_attribute: str
    version: int
    tables: list[TablePublic]


class VersionPublic(BaseModel):
    version: int
    rows: int
    bytes: int
    sha256: str
    source_filename: str
    created_at: str


class UploadResult(BaseModel):
    dataset: str
    table: str
    version: VersionPublic
    schema_confirmed: bool
    suggestions: list[ColumnSuggestion]


class ColumnConfirm(BaseModel):
    name: str
    description: str | None = Field(default=None, max_length=2000)
    level: str | None = None
    personal: bool | None = None
    pii_tags: list[str] | None = None
    lower: float | None = None
    upper: float | None = None


def _column(row: ColumnRow) -> ColumnPublic:
    return ColumnPublic(
        name=row.name,
        type=row.type,
        description=row.description,
        level=row.level,
        personal=row.personal,
        pii_tags=[t for t in row.pii_tags.split(",") if t],
        lower=row.lower if row.confirmed else None,
        upper=row.upper if row.confirmed else None,
        confirmed=row.confirmed,
    )


def _table(session, table: TableRow) -> TablePublic:
    latest = service.latest_version(session, table)
    return TablePublic(
        name=table.name,
        description=table.description,
        version=table.current_version,
        schema_confirmed=table.schema_confirmed,
        row_count=latest.rows if latest else None,
        columns=[_column(c) for c in service.columns_of(session, table)],
    )


def _dataset(session, row: DatasetRow) -> DatasetPublic:
    owner = identity.get_organization(session, row.source_org_id)
    return DatasetPublic(
        name=row.name,
        origin="social" if owner.kind.value == "operator" else "public",
        title=row.title,
        description=row.description,
        source_organization_id=row.source_org_id,
        update_frequency=row.update_frequency,
        sector=row.sector,
        open_attribute=row.open_attribute,
        version=row.version,
        tables=[_table(session, t) for t in service.tables_of(session, row)],
    )


def _version(row: VersionRow) -> VersionPublic:
    return VersionPublic(
        version=row.version,
        rows=row.rows,
        bytes=row.bytes,
        sha256=row.sha256,
        source_filename=row.source_filename,
        created_at=row.created_at.isoformat(),
    )


def _suggestion(row: ColumnRow) -> ColumnSuggestion:
    return ColumnSuggestion(
        name=row.name,
        type=row.type,
        suggested_level=row.suggested_level,
        suggested_personal=row.suggested_personal,
        suggested_pii_tags=[t for t in (row.suggested_tags or "").split(",") if t],
        suggested_lower=row.suggested_lower,
        suggested_upper=row.suggested_upper,
        reason=row.suggestion_reason,
    )


@router.get("/datasets", response_model=list[DatasetPublic])
def list_datasets(ctx: Ctx, _: Public) -> list[DatasetPublic]:
    with ctx.uow() as session:
        return [_dataset(session, d) for d in service.list_datasets(session)]


@router.get("/datasets/{name}", response_model=DatasetPublic)
def get_dataset(name: str, ctx: Ctx, _: Public) -> DatasetPublic:
    with ctx.uow() as session:
        return _dataset(session, service.get_dataset(session, name))


@router.post("/datasets", response_model=DatasetPublic, status_code=201)
def create_dataset(body: DatasetCreate, ctx: Ctx, principal: VerifiedDataSource) -> DatasetPublic:
    with ctx.uow() as session:
        row = service.create_dataset(
            session, service.DatasetSpec(**body.model_dump()), principal, ctx.clock.now()
        )
        emit(session, ctx, principal, "catalog.dataset.created", "dataset", row.name)
        return _dataset(session, row)


@router.post("/social-datasets", response_model=DatasetPublic, status_code=201)
def create_social_dataset(body: DatasetCreate, ctx: Ctx, principal: VerifiedOperator) -> DatasetPublic:
    """An operator brings its own lawfully obtained data into the domain (A34). It is owned by the operator,
    gets its own column rules through a grant, and every output still passes the gate."""
    with ctx.uow() as session:
        row = service.create_dataset(
            session, service.DatasetSpec(**body.model_dump()), principal, ctx.clock.now()
        )
        emit(session, ctx, principal, "catalog.social_dataset.created", "dataset", row.name)
        return _dataset(session, row)


@router.patch("/datasets/{name}", response_model=DatasetPublic)
def update_dataset(name: str, body: DatasetUpdate, ctx: Ctx, principal: Publisher) -> DatasetPublic:
    changes = body.model_dump(exclude_none=True)
    with ctx.uow() as session:
        row = service.owned_dataset(session, name, principal)
        spec = service.DatasetSpec(
            name=row.name,
            title=row.title,
            description=row.description,
            update_frequency=row.update_frequency,
            sector=row.sector,
            open_attribute=row.open_attribute,
        )
        service.update_dataset(session, row, spec.__class__(**{**spec.__dict__, **changes}), ctx.clock.now())
        emit(session, ctx, principal, "catalog.dataset.updated", "dataset", row.name, fields=sorted(changes))
        return _dataset(session, row)


@router.post("/datasets/{name}/tables", response_model=TablePublic, status_code=201)
def create_table(name: str, body: TableCreate, ctx: Ctx, principal: Publisher) -> TablePublic:
    with ctx.uow() as session:
        dataset = service.owned_dataset(session, name, principal)
        table = service.create_table(session, dataset, body.name, body.description, ctx.clock.now())
        emit(session, ctx, principal, "catalog.table.created", "table", f"{dataset.name}.{table.name}")
        return _table(session, table)


@router.put("/datasets/{name}/tables/{table}/data", response_model=UploadResult, status_code=201)
async def upload(
    name: str,
    table: str,
    ctx: Ctx,
    principal: Publisher,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or Parquet")],
) -> UploadResult:
    with ctx.uow() as session:  # fail fast on ownership before reading any bytes
        service.get_table(session, service.owned_dataset(session, name, principal), table)
    settings = ctx.settings
    staged = await ingest.astream_to_staging(
        _chunks(file), settings.staging_dir, settings.catalog.max_upload_bytes
    )
    try:
        return await asyncio.to_thread(_ingest, ctx, principal, name, table, staged, file)
    finally:
        staged.unlink(missing_ok=True)


async def _chunks(file: UploadFile):
    while chunk := await file.read(1024 * 1024):
        yield chunk


def _ingest(
    ctx: AppContext, principal: Principal, name: str, table_name: str, staged: Path, file: UploadFile
) -> UploadResult:
    # Streamed conversion: memory stays bounded whatever the file's size (issue 16); the profiler sees a
    # uniform sample, and numeric bounds come from the whole column's observed range.
    converted = convert.convert_upload(
        staged,
        file.filename or "",
        file.content_type,
        ctx.settings.staging_dir,
        sample_rows=ctx.settings.catalog.profile_sample_rows,
    )
    try:
        suggestions = convert.suggest(converted, sample_rows=ctx.settings.catalog.profile_sample_rows)
        return _record(ctx, principal, name, table_name, converted, suggestions, file.filename or "")
    finally:
        converted.path.unlink(missing_ok=True)  # placed already on success; on failure nothing stays


def _record(ctx, principal, name, table_name, converted, suggestions, filename) -> UploadResult:
    written = None
    try:
        with ctx.uow() as session:
            dataset = service.owned_dataset(session, name, principal)
            table = service.get_table(session, dataset, table_name)
            version = service.next_version_number(session, table)
            rel = Path(dataset.name) / table.name / f"v{version}-{ctx.clock.now():%Y%m%dT%H%M%S%f}.parquet"
            written = convert.place(converted, ctx.settings.domain_store_dir / rel)
            row = uploads.record_upload(
                session,
                dataset,
                table,
                version=version,
                inferred=converted.columns,
                suggestions=suggestions,
                path=str(rel),
                sha256=written.sha256,
                size=written.bytes,
                rows=written.rows,
                filename=filename,
                uploaded_by=principal.user_id,
                now=ctx.clock.now(),
            )
            emit(
                session,
                ctx,
                principal,
                "catalog.version.uploaded",
                "table",
                f"{dataset.name}.{table.name}",
                version=version,
                rows=written.rows,
                sha256=written.sha256,
            )
            result = UploadResult(
                dataset=dataset.name,
                table=table.name,
                version=_version(row),
                schema_confirmed=table.schema_confirmed,
                suggestions=[_suggestion(c) for c in service.columns_of(session, table)],
            )
    except BaseException:
        if written is not None:  # the rows were not committed: the file must not stay behind either
            written.path.unlink(missing_ok=True)
        raise
    return result


@router.get("/datasets/{name}/tables/{table}/suggestions", response_model=list[ColumnSuggestion])
def suggestions(name: str, table: str, ctx: Ctx, principal: Publisher) -> list[ColumnSuggestion]:
    with ctx.uow() as session:
        row = service.get_table(session, service.owned_dataset(session, name, principal), table)
        return [_suggestion(c) for c in service.columns_of(session, row)]


@router.put("/datasets/{name}/tables/{table}/columns", response_model=TablePublic)
def confirm_columns(
    name: str, table: str, body: list[ColumnConfirm], ctx: Ctx, principal: Publisher
) -> TablePublic:
    with ctx.uow() as session:
        dataset = service.owned_dataset(session, name, principal)
        row = service.get_table(session, dataset, table)
        updates = [
            uploads.ColumnUpdate(
                name=c.name,
                description=c.description,
                level=c.level,
                personal=c.personal,
                pii_tags=tuple(c.pii_tags) if c.pii_tags is not None else None,
                lower=c.lower,
                upper=c.upper,
            )
            for c in body
        ]
        uploads.confirm_columns(session, row, updates)
        dataset.version += 1  # classification changes alter what scoped copies may contain
        emit(
            session,
            ctx,
            principal,
            "catalog.schema.confirmed",
            "table",
            f"{dataset.name}.{row.name}",
            columns=len(body),
        )
        return _table(session, row)


@router.get("/datasets/{name}/tables/{table}/versions", response_model=list[VersionPublic])
def versions(name: str, table: str, ctx: Ctx, principal: Steward) -> list[VersionPublic]:
    with ctx.uow() as session:
        dataset = service.get_dataset(session, name)
        if principal.has_role(Role.data_source) and not principal.has_role(
            Role.registrar, Role.implementer, Role.supervisor
        ):
            if dataset.source_org_id != principal.organization_id:
                raise Forbidden("only the owning source department sees its versions")
        return [_version(v) for v in service.versions_of(session, service.get_table(session, dataset, table))]
