"""release: the disclosure auditor's population ledger (one row per released k-only value)

Revision ID: release_0007_disclosure
Revises: 0006_merge
"""

import sqlalchemy as sa
from alembic import op

import common.db

revision = "release_0007_disclosure"
down_revision = "0006_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosure_populations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("unit_space", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("cardinality", sa.BigInteger(), nullable=False),
        sa.Column("bitmap", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_populations")),
    )
    with op.batch_alter_table("disclosure_populations", schema=None) as batch_op:
        batch_op.create_index("ix_disclosure_space_cardinality", ["unit_space", "cardinality"], unique=False)
        batch_op.create_index(batch_op.f("ix_disclosure_populations_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_disclosure_populations_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("disclosure_populations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_populations_created_at"))
        batch_op.drop_index(batch_op.f("ix_disclosure_populations_job_id"))
        batch_op.drop_index("ix_disclosure_space_cardinality")
    op.drop_table("disclosure_populations")
