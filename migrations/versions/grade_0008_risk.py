"""grade: supervisor risk alerts and analyst suspensions (issue 11)

Revision ID: grade_0008_risk
Revises: grade_0007_grant_exceptions
"""

import sqlalchemy as sa
from alembic import op

import common.db

revision = "grade_0008_risk"
down_revision = "grade_0007_grant_exceptions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_alerts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("signal", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_alerts")),
    )
    with op.batch_alter_table("risk_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_alerts_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_alerts_organization_id"), ["organization_id"], unique=False)
    op.create_table(
        "analyst_suspensions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("suspended_by", sa.String(length=32), nullable=False),
        sa.Column("suspended_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.Column("lifted_by", sa.String(length=32), nullable=True),
        sa.Column("lifted_at", common.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_analyst_suspensions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analyst_suspensions")),
    )
    with op.batch_alter_table("analyst_suspensions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analyst_suspensions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_analyst_suspensions_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("analyst_suspensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analyst_suspensions_organization_id"))
        batch_op.drop_index(batch_op.f("ix_analyst_suspensions_user_id"))
    op.drop_table("analyst_suspensions")
    with op.batch_alter_table("risk_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_alerts_organization_id"))
        batch_op.drop_index(batch_op.f("ix_risk_alerts_subject_id"))
    op.drop_table("risk_alerts")
