"""calendar: the official working-day schedule per year (holidays and make-up working days), seeded from
chinese-calendar (up to 2026, official) and python-holidays (2027: statutory rules until the official
schedule is loaded)

Revision ID: calendar_0007
Revises: 0006_merge
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import common.db

revision = "calendar_0007"
down_revision = "0006_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    years = op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("official", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )
    days = op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["year"], ["calendar_years.year"], name=op.f("fk_calendar_days_year_calendar_years")
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_days_year", ["year"], unique=False)

    from common.calendar_store import seed_rows

    year_rows, day_rows = seed_rows(now=datetime.now(UTC))
    op.bulk_insert(years, year_rows)
    op.bulk_insert(days, day_rows)


def downgrade() -> None:
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_days_year")
    op.drop_table("calendar_days")
    op.drop_table("calendar_years")
