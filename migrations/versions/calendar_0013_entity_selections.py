"""calendar (issue 12): business-entity selections by the implementer, with method and basis (Annex 2 Art. 21)

Revision ID: calendar_0013
Revises: calendar_0012
"""

import sqlalchemy as sa
from alembic import op

import common.db

revision = "calendar_0013"
down_revision = "calendar_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operation_entity_selections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("selected_by", sa.String(length=32), nullable=False),
        sa.Column("selected_on", sa.Date(), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_operation_entity_selections_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["operation_products.id"],
            name=op.f("fk_operation_entity_selections_product_id_operation_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_entity_selections")),
    )
    with op.batch_alter_table("operation_entity_selections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operation_entity_selections_product_id"), ["product_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("operation_entity_selections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operation_entity_selections_product_id"))
    op.drop_table("operation_entity_selections")
