#!/usr/bin/env bash
# Runs the chaos test (three server processes on one PostgreSQL database,
# one killed with -9 every 10 s; see server/scaletest/chaos_test.go) and
# prints its figures. Uses DSTACK_TEST_POSTGRES_DSN when set, else starts a
# throwaway PostgreSQL (as root) and stops it afterwards. Used by
# `make chaos`; extra arguments go to go test (-chaos.runs 2000, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/dstack-chaos.XXXXXX)
chmod 755 "$work"
cleanup() {
  if [ -f "$work/pg/data/postmaster.pid" ]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$work/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${DSTACK_TEST_POSTGRES_DSN:-}" ]; then
  bin=/usr/lib/postgresql/15/bin
  if [ "$(id -u)" != 0 ] || [ ! -x "$bin/initdb" ]; then
    echo "chaos: set DSTACK_TEST_POSTGRES_DSN, or run as root with PostgreSQL 15 installed" >&2
    exit 2
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$work/pg" && chown postgres: "$work/pg"
  runuser -u postgres -- "$bin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $work/pg -c fsync=off -c max_connections=300" start >/dev/null
  export DSTACK_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
fi
CGO_ENABLED=0 CI=true go test ./server/scaletest/ -run '^TestChaosReplicasKilled$' -count=1 -v -timeout 15m "$@"
