"""Catalog tables: datasets, their tables and columns, and the uploaded versions. Private to catalog/."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import Base, UTCDateTime, new_id


class DatasetRow(Base):
    __tablename__ = "catalog_datasets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    source_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    update_frequency: Mapped[str] = mapped_column(String(20))
    sector: Mapped[str] = mapped_column(String(100))
    open_attribute: Mapped[str] = mapped_column(String(20))
    # Bumped by every upload; scoped copies are cached per (grant version, dataset version).
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TableRow(Base):
    __tablename__ = "catalog_tables"
    __table_args__ = (UniqueConstraint("dataset_id", "name", name="dataset_table"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("catalog_datasets.id"), index=True)
    name: Mapped[str] = mapped_column(String(63))
    description: Mapped[str] = mapped_column(Text, default="")
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    schema_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ColumnRow(Base):
    __tablename__ = "catalog_columns"
    __table_args__ = (UniqueConstraint("table_id", "name", name="table_column"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    table_id: Mapped[str] = mapped_column(ForeignKey("catalog_tables.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(63))
    type: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(20), default="general")
    personal: Mapped[bool] = mapped_column(Boolean, default=False)
    pii_tags: Mapped[str] = mapped_column(Text, default="")
    lower: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    # What profiling suggested on upload; the department confirms or overrides it.
    suggested_level: Mapped[str | None] = mapped_column(String(20))
    suggested_personal: Mapped[bool | None] = mapped_column(Boolean)
    suggested_tags: Mapped[str | None] = mapped_column(Text)
    suggested_lower: Mapped[float | None] = mapped_column(Float)
    suggested_upper: Mapped[float | None] = mapped_column(Float)
    suggestion_reason: Mapped[str | None] = mapped_column(Text)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)


class VersionRow(Base):
    __tablename__ = "catalog_versions"
    __table_args__ = (UniqueConstraint("table_id", "version", name="table_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    table_id: Mapped[str] = mapped_column(ForeignKey("catalog_tables.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)  # relative to the domain store
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    source_filename: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
