#!/usr/bin/env bash
# Run the whole test suite: the layering contracts, then pytest on SQLite and — when a server answers on
# 127.0.0.1:5432 (started here if it is installed but stopped) — on PostgreSQL too.
#
# The suite runs twice, so that a green run means it does not depend on test order or timing:
#   1. in random order (pytest-randomly; the seed is printed: rerun with SHUYU_TEST_SEED=<seed>),
#   2. under load: two xdist workers (-n 2) on the same machine, again in random order.
# Extra arguments go to both pytest runs. SHUYU_TEST_TODAY=YYYY-MM-DD moves the clock (tests/conftest.py);
# SHUYU_TEST_PASSES=random or =load runs one pass only.
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

echo "checking format and lint (ruff)..."
ruff format --check .
ruff check .
echo "checking the layering contracts (import-linter)..."
lint-imports

seed="${SHUYU_TEST_SEED:-$(python3 -c 'import random; print(random.randrange(2**32))')}"
passes="${SHUYU_TEST_PASSES:-random load}"
for pass in $passes; do
  case "$pass" in
    random)
      echo "pass: random order (seed $seed)"
      python3 -m pytest --randomly-seed="$seed" "$@"
      ;;
    load)
      echo "pass: under load, two workers (xdist -n 2, seed $seed)"
      python3 -m pytest -n 2 --randomly-seed="$seed" "$@"
      ;;
    *)
      echo "unknown pass '$pass' (use random, load)" >&2
      exit 2
      ;;
  esac
done
