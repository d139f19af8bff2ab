"""calendar (issue 12): contact details of objections filed by the public (R16)

Revision ID: calendar_0009
Revises: calendar_0008
"""

import sqlalchemy as sa
from alembic import op

import common.db

revision = "calendar_0009"
down_revision = "calendar_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_objection_contacts",
        sa.Column("objection_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("client_digest", sa.String(length=64), nullable=False),
        sa.Column("filed_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["objection_id"],
            ["registry_objections.id"],
            name=op.f("fk_registry_objection_contacts_objection_id_registry_objections"),
        ),
        sa.PrimaryKeyConstraint("objection_id", name=op.f("pk_registry_objection_contacts")),
    )
    with op.batch_alter_table("registry_objection_contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_objection_contacts_client", ["client_digest", "filed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_objection_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_registry_objection_contacts_client")
    op.drop_table("registry_objection_contacts")
