"""Alembic migrations: the only way the schema changes.

``upgrade(url)`` runs ``alembic upgrade head`` programmatically (used by the CLI, the demo and tests);
``alembic -c migrations/alembic.ini upgrade head`` with ``SHUYU_DATABASE_URL`` set does the same by hand.
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


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
