"""Join the calendar/registry branch and the disclosure-auditor branch into one head.

Revision ID: merge_0010
Revises: calendar_0009, release_0007_disclosure
"""

revision = "merge_0010"
down_revision = ("calendar_0009", "release_0007_disclosure")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
