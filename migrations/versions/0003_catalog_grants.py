"""catalog datasets, tables, columns, versions; grants and grant versions

Revision ID: 0003_catalog_grants
Revises: 0002_audit
Create Date: 2026-11-27 05:39:10.873345
"""

import sqlalchemy as sa
from alembic import op

import common.db

revision = "0003_catalog_grants"
down_revision = "0002_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_datasets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_org_id", sa.String(length=32), nullable=False),
        sa.Column("update_frequency", sa.String(length=20), nullable=False),
        sa.Column("sector", sa.String(length=100), nullable=False),
        sa.Column("open_attribute", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_org_id"],
            ["organizations.id"],
            name=op.f("fk_catalog_datasets_source_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_datasets")),
        sa.UniqueConstraint("name", name=op.f("uq_catalog_datasets_name")),
    )
    with op.batch_alter_table("catalog_datasets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_datasets_source_org_id"), ["source_org_id"], unique=False
        )

    op.create_table(
        "catalog_tables",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("schema_confirmed", sa.Boolean(), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["catalog_datasets.id"],
            name=op.f("fk_catalog_tables_dataset_id_catalog_datasets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_tables")),
        sa.UniqueConstraint("dataset_id", "name", name="dataset_table"),
    )
    with op.batch_alter_table("catalog_tables", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_tables_dataset_id"), ["dataset_id"], unique=False)

    op.create_table(
        "grants",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("dataset_name", sa.String(length=63), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("agreement_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["catalog_datasets.id"], name=op.f("fk_grants_dataset_id_catalog_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_grants_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_agreement_id"), ["agreement_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "catalog_columns",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("table_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("personal", sa.Boolean(), nullable=False),
        sa.Column("pii_tags", sa.Text(), nullable=False),
        sa.Column("lower", sa.Float(), nullable=True),
        sa.Column("upper", sa.Float(), nullable=True),
        sa.Column("suggested_level", sa.String(length=20), nullable=True),
        sa.Column("suggested_personal", sa.Boolean(), nullable=True),
        sa.Column("suggested_tags", sa.Text(), nullable=True),
        sa.Column("suggested_lower", sa.Float(), nullable=True),
        sa.Column("suggested_upper", sa.Float(), nullable=True),
        sa.Column("suggestion_reason", sa.Text(), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"], ["catalog_tables.id"], name=op.f("fk_catalog_columns_table_id_catalog_tables")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_columns")),
        sa.UniqueConstraint("table_id", "name", name="table_column"),
    )
    with op.batch_alter_table("catalog_columns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_columns_table_id"), ["table_id"], unique=False)

    op.create_table(
        "catalog_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("table_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("source_filename", sa.String(length=255), nullable=False),
        sa.Column("uploaded_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"], ["catalog_tables.id"], name=op.f("fk_catalog_versions_table_id_catalog_tables")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
        sa.UniqueConstraint("table_id", "version", name="table_version"),
    )
    with op.batch_alter_table("catalog_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_versions_table_id"), ["table_id"], unique=False)

    op.create_table(
        "grant_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("privacy_unit", sa.String(length=63), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("row_filters", sa.Text(), nullable=False),
        sa.Column("max_rows", sa.Integer(), nullable=False),
        sa.Column("allow_row_level", sa.Boolean(), nullable=False),
        sa.Column("dp", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("change_reason", sa.Text(), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_grant_versions_grant_id_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_versions")),
        sa.UniqueConstraint("grant_id", "version", name="grant_version"),
    )
    with op.batch_alter_table("grant_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_versions_grant_id"), ["grant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grant_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_versions_grant_id"))

    op.drop_table("grant_versions")
    with op.batch_alter_table("catalog_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_versions_table_id"))

    op.drop_table("catalog_versions")
    with op.batch_alter_table("catalog_columns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_columns_table_id"))

    op.drop_table("catalog_columns")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_organization_id"))
        batch_op.drop_index(batch_op.f("ix_grants_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_grants_agreement_id"))

    op.drop_table("grants")
    with op.batch_alter_table("catalog_tables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_tables_dataset_id"))

    op.drop_table("catalog_tables")
    with op.batch_alter_table("catalog_datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_datasets_source_org_id"))

    op.drop_table("catalog_datasets")
