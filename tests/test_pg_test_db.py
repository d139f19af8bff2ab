"""scripts/test.sh no longer assumes an existing database ``test`` (issue 16 item 9): scripts/pg_test_db.py
creates the database a URL names when it is missing, and refuses, naming SHUYU_TEST_POSTGRES_URL, when the
server cannot be used. The old script exported the URL blindly and every PostgreSQL test then failed."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "pg_test_db.py"
POSTGRES_URL = os.environ.get("SHUYU_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="SHUYU_TEST_POSTGRES_URL is not set"),
]


def run(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), url], capture_output=True, text=True, timeout=60)


def test_a_missing_test_database_is_created():
    name = f"shuyu_t_{uuid.uuid4().hex[:8]}"
    url = make_url(POSTGRES_URL).set(database=name)
    admin = create_engine(make_url(POSTGRES_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        done = run(url.render_as_string(hide_password=False))
        assert done.returncode == 0, done.stderr
        with admin.connect() as conn:
            assert conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        assert run(url.render_as_string(hide_password=False)).returncode == 0  # idempotent
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_an_unusable_server_is_refused_with_the_way_out():
    url = make_url(POSTGRES_URL).set(username=f"nobody_{uuid.uuid4().hex[:6]}", password="secret-pw")
    refused = run(url.render_as_string(hide_password=False))
    assert refused.returncode == 1
    assert "SHUYU_TEST_POSTGRES_URL" in refused.stderr and "secret-pw" not in refused.stderr
