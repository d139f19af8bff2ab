"""dp: the epsilon ledger (per-(organization, dataset) lock rows and per-job entries)

Revision ID: 0005_dp
Revises: 0004_jobs
"""

import sqlalchemy as sa
from alembic import op

import common.db

revision = "0005_dp"
down_revision = "0004_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dp_ledger_locks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("dataset_name", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dp_ledger_locks")),
        sa.UniqueConstraint("organization_id", "dataset_name", name="dp_ledger_lock_scope"),
    )
    op.create_table(
        "dp_ledger_entries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("grant_version", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("dataset_name", sa.String(length=63), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", common.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_dp_ledger_entries_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dp_ledger_entries")),
    )
    with op.batch_alter_table("dp_ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_dp_ledger_grant_period", ["grant_id", "period", "state"], unique=False)
        batch_op.create_index(
            "ix_dp_ledger_org_dataset", ["organization_id", "dataset_name", "period", "state"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dp_ledger_entries_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dp_ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dp_ledger_entries_job_id"))
        batch_op.drop_index("ix_dp_ledger_org_dataset")
        batch_op.drop_index("ix_dp_ledger_grant_period")
    op.drop_table("dp_ledger_entries")
    op.drop_table("dp_ledger_locks")
