"""Migrations build the whole schema from empty, match the ORM exactly, and unwind cleanly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from gateway.schema import metadata
from migrations import downgrade, upgrade


def test_upgrade_from_empty_matches_the_models(db_url):
    upgrade(db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert set(metadata.tables) <= tables


def test_downgrade_to_base_removes_every_table(db_url):
    upgrade(db_url)
    downgrade(db_url, "base")
    engine = create_engine(db_url)
    with engine.connect() as conn:
        remaining = set(inspect(conn).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert remaining == set()
