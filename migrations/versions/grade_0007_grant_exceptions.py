"""grade: k-only exceptions recorded on grant versions (A2, A35)

Revision ID: grade_0007_grant_exceptions
Revises: 0006_merge
"""

import sqlalchemy as sa
from alembic import op

import common.db

revision = "grade_0007_grant_exceptions"
down_revision = "0006_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grant_exceptions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("column_name", sa.String(length=63), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_grant_exceptions_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_exceptions")),
        sa.UniqueConstraint("grant_id", "version", "table_name", "column_name", name="grant_exception"),
    )
    with op.batch_alter_table("grant_exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_exceptions_grant_id"), ["grant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grant_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_exceptions_grant_id"))
    op.drop_table("grant_exceptions")
