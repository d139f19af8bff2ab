"""Shared fixtures: a fresh metadata store per test on SQLite, and on PostgreSQL when
``SHUYU_TEST_POSTGRES_URL`` is set (each test in its own schema, dropped afterwards).

``SHUYU_TEST_TODAY=YYYY-MM-DD`` runs the whole suite with the real clock moved to that Beijing day (noon,
ticking), from configuration on, so collection and module fixtures see it too: no test may depend on today's
date, and ``SHUYU_TEST_TODAY=2028-12-31 bash scripts/test.sh`` proves it for a given day.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, text

from common.clock import FixedClock
from common.settings import Settings

POSTGRES_URL = os.environ.get("SHUYU_TEST_POSTGRES_URL")
TEST_TODAY = os.environ.get("SHUYU_TEST_TODAY")
_traveller = None


def pytest_configure(config):
    global _traveller
    if TEST_TODAY and _traveller is None:
        import time_machine

        day = date.fromisoformat(TEST_TODAY)
        # 04:00 UTC is noon in Beijing: the Beijing date and the UTC date agree.
        _traveller = time_machine.travel(datetime(day.year, day.month, day.day, 4, tzinfo=UTC), tick=True)
        _traveller.start()


def pytest_unconfigure(config):
    global _traveller
    if _traveller is not None:
        _traveller.stop()
        _traveller = None


def pytest_report_header(config):
    if TEST_TODAY:
        return f"real clock moved to {TEST_TODAY} (SHUYU_TEST_TODAY)"
    return None


def _postgres_schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A migrated-from-empty database URL for each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shuyu.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("SHUYU_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(POSTGRES_URL, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path, db_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@dataclass
class Harness:
    """An app with a client and helpers to make organizations, users and tokens."""

    app: object
    client: object
    ctx: object

    def user(
        self,
        kind: str,
        *,
        username: str | None = None,
        org: str | None = None,
        verified: bool = True,
        roles: list[str] | None = None,
    ) -> str:
        from gateway import identity

        username = username or f"{kind.replace('_', '')}{uuid.uuid4().hex[:6]}"
        org_name = org or f"{kind} org {username}"
        with self.ctx.uow() as session:
            try:
                identity.get_organization(session, org_name)
            except Exception:
                identity.create_organization(session, name=org_name, kind=kind, now=self.ctx.clock.now())
            identity.create_user(
                session,
                username=username,
                organization=org_name,
                roles=roles or [kind],
                verified=verified,
                now=self.ctx.clock.now(),
            )
            return identity.create_token(session, username, name="test", now=self.ctx.clock.now())

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def harness(settings, clock):
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from migrations import upgrade

    settings.ensure_dirs()
    upgrade(settings.database_url)
    app = create_app(settings, clock=clock, start_workers=False)
    with TestClient(app) as client:
        yield Harness(app=app, client=client, ctx=app.state.ctx)
