"""Join the rooms' branches (registry, operation, jobs + DP) into one head.

Revision ID: 0006_merge
Revises: 0004_registry, 0004_operation, 0005_dp
"""

revision = "0006_merge"
down_revision = ("0004_registry", "0004_operation", "0005_dp")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
