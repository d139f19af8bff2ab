"""The audit tables alone, on each backend of the shared ``db_url`` fixture (tests/conftest.py): SQLite always,
PostgreSQL in a fresh schema when SHUYU_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import pytest

from audit.store import TABLES
from common.db import Base, make_engine, make_session_factory
from common.types import OrgKind, Principal, Role


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    Base.metadata.create_all(eng, tables=list(TABLES))
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def alice():
    return Principal(user_id="u-alice", username="alice", organization_id="org-op",
                     organization_kind=OrgKind.operator, roles=frozenset({Role.operator}), verified=True)
