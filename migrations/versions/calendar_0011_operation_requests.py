"""calendar (issue 12): filings submitted to the data authority (A17) and termination requests (A23)

Revision ID: calendar_0011
Revises: merge_0010
"""

import sqlalchemy as sa
from alembic import op

import common.db

revision = "calendar_0011"
down_revision = "merge_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operation_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("agreement_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("submitted_by", sa.String(length=32), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("late_accepted", sa.Boolean(), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["operation_agreements.id"],
            name=op.f("fk_operation_requests_agreement_id_operation_agreements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_requests")),
    )
    with op.batch_alter_table("operation_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operation_requests_agreement_id"), ["agreement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("operation_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operation_requests_agreement_id"))
    op.drop_table("operation_requests")
