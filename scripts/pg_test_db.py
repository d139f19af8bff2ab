"""Make sure the PostgreSQL database the tests use exists and is usable; used by scripts/test.sh.

    python3 scripts/pg_test_db.py postgresql+psycopg://USER[:PASSWORD]@HOST:PORT/DBNAME

Creates DBNAME (connecting to the server's ``postgres`` database as USER) when it is missing, then checks
that USER may create a schema in it (every test runs in a fresh schema). Exit 0 when usable; otherwise exit
1 with one line on stderr saying what failed and how to point the tests elsewhere. Never prints a password.
"""

from __future__ import annotations

import sys
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

HINT = "set SHUYU_TEST_POSTGRES_URL=postgresql+psycopg://USER:PASSWORD@HOST:PORT/DBNAME"


def _fail(message: str) -> int:
    print(f"PostgreSQL tests skipped: {message}; {HINT}", file=sys.stderr)
    return 1


def ensure(url_text: str) -> int:
    url = make_url(url_text)
    where = f"{url.username}@{url.host}:{url.port or 5432}/{url.database}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
                print(f"created database {url.database} for the tests", file=sys.stderr)
    except SQLAlchemyError as error:
        return _fail(f"cannot connect as {where} or create the database ({type(error.orig).__name__})")
    finally:
        admin.dispose()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    probe = f"probe_{uuid.uuid4().hex[:8]}"
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{probe}"'))
            conn.execute(text(f'DROP SCHEMA "{probe}"'))
    except SQLAlchemyError as error:
        return _fail(f"{where} does not let the tests create schemas ({type(error.orig).__name__})")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(ensure(sys.argv[1]))
