"""Alembic migrations: the only way the schema changes.

Each room adds its tables in its own revision after the shared base (identity, audit, catalog, grants), so
the history may have several heads; ``upgrade(url)`` runs ``alembic upgrade heads`` programmatically (used
by the CLI, the demo and tests);
``alembic -c migrations/alembic.ini upgrade heads`` with ``SHUYU_DATABASE_URL`` set does the same by hand.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    config = Config(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_locations", str(HERE / "versions"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
