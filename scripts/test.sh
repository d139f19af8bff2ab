#!/usr/bin/env bash
# Run the whole test suite: the layering contracts, then pytest on SQLite and — when a server answers on
# 127.0.0.1:5432 (started here if it is installed but stopped) — on PostgreSQL too.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SHUYU_TEST_POSTGRES_URL:-}" ]; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && command -v pg_ctlcluster >/dev/null 2>&1; then
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    sleep 2
  fi
  # The local server's default: user postgres, database test (created if missing; pg_test_db.py says why not).
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null \
    && python3 scripts/pg_test_db.py "postgresql+psycopg://postgres@127.0.0.1:5432/test"; then
    export SHUYU_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    echo "PostgreSQL answers on 127.0.0.1:5432: store and API tests run on SQLite and PostgreSQL"
  else
    echo "no PostgreSQL on 127.0.0.1:5432: tests run on SQLite only"
  fi
fi

[ -n "${SHUYU_TEST_POSTGRES_URL:-}" ] && { python3 scripts/pg_test_db.py "$SHUYU_TEST_POSTGRES_URL" || exit 1; }

echo "checking the layering contracts (import-linter)..."
lint-imports
python3 -m pytest "$@"
