"""release: one lock row per unit space, so disclosure audits of one space run one at a time

Revision ID: release_0012
Revises: calendar_0011
"""

import sqlalchemy as sa
from alembic import op

revision = "release_0012"
down_revision = "calendar_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosure_locks",
        sa.Column("unit_space", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_space", name=op.f("pk_disclosure_locks")),
    )


def downgrade() -> None:
    op.drop_table("disclosure_locks")
