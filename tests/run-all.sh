#!/usr/bin/env bash
# Install everything the test suite needs, then run the whole suite:
# SQLite and PostgreSQL backends, real Redis, real Chromium for the e2e tests.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_HOST=${PG_HOST:-127.0.0.1}
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgresql+psycopg://postgres@${PG_HOST}:5432/test}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
export ECM_TEST_DATABASES=${ECM_TEST_DATABASES:-sqlite,postgresql}

echo "== installing Python packages"
python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi

echo "== checking PostgreSQL and Redis"
if ! pg_isready -q -h "$PG_HOST" -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h "$PG_HOST" -p 5432 && break; sleep 1; done
fi
pg_isready -h "$PG_HOST" -p 5432 || { echo "PostgreSQL is required for the test run"; exit 1; }
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  for _ in $(seq 1 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis is required for the test run"; exit 1; }

echo "== running the test suite"
exec python -m pytest "$@"
