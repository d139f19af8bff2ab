"""Join the grading/risk, audit-checkpoint and disclosure-lock branches into one head.

Revision ID: merge_0013
Revises: grade_0008_risk, harden_0011, release_0012
"""

revision = "merge_0013"
down_revision = ("grade_0008_risk", "harden_0011", "release_0012")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
