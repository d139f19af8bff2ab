"""calendar (issue 12): account applications (R11) and entrustments of third-party institutions (R12/R13)

Revision ID: calendar_0008
Revises: calendar_0007
"""

import sqlalchemy as sa
from alembic import op

import common.db

revision = "calendar_0008"
down_revision = "calendar_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_applications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=False),
        sa.Column("organization_kind", sa.String(length=20), nullable=False),
        sa.Column("unified_code", sa.String(length=18), nullable=False),
        sa.Column("district", sa.String(length=50), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("real_name", sa.String(length=100), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("claim_digest", sa.String(length=64), nullable=False),
        sa.Column("client_digest", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_applications")),
    )
    with op.batch_alter_table("account_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_account_applications_client", ["client_digest", "submitted_at"], unique=False
        )
    op.create_table(
        "entrustments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("registrant_org_id", sa.String(length=32), nullable=False),
        sa.Column("third_party_org_id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", common.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["registrant_org_id"],
            ["organizations.id"],
            name=op.f("fk_entrustments_registrant_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["third_party_org_id"],
            ["organizations.id"],
            name=op.f("fk_entrustments_third_party_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entrustments")),
    )
    with op.batch_alter_table("entrustments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entrustments_registrant_org_id"), ["registrant_org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_entrustments_third_party_org_id"), ["third_party_org_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("entrustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entrustments_third_party_org_id"))
        batch_op.drop_index(batch_op.f("ix_entrustments_registrant_org_id"))
    op.drop_table("entrustments")
    with op.batch_alter_table("account_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_account_applications_client")
    op.drop_table("account_applications")
