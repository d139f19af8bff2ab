"""calendar (issue 12): products delisted when their agreement ends, recorded publicly (A23-A24, A28)

Revision ID: calendar_0012
Revises: merge_0013
"""

import sqlalchemy as sa
from alembic import op

import common.db

revision = "calendar_0012"
down_revision = "merge_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operation_delistings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("agreement_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("delisted_on", sa.Date(), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["operation_products.id"],
            name=op.f("fk_operation_delistings_product_id_operation_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_delistings")),
        sa.UniqueConstraint("product_id", name=op.f("uq_operation_delistings_product_id")),
    )
    with op.batch_alter_table("operation_delistings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operation_delistings_agreement_id"), ["agreement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("operation_delistings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operation_delistings_agreement_id"))
    op.drop_table("operation_delistings")
