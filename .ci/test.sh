#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, starts the
# throwaway services (PostgreSQL; more as the suite needs them), runs the Go
# tests, and stops everything it started. Used by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

# phase names a step and how long the run has taken so far.
started=$SECONDS
phase() { echo "==> $* (at $((SECONDS - started)) s)"; }

# apt waits for the dpkg lock (another apt running: unattended upgrades, a
# second engineer) instead of failing at once.
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }

need_pkgs=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need_pkgs+=(openssh-client)
[ -x /bin/busybox ] || need_pkgs+=(busybox-static)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v tmux >/dev/null 2>&1 || need_pkgs+=(tmux)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_pkgs+=(postgresql-15)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing ${need_pkgs[*]}"
    apt_get update -qq
    apt_get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "==> missing ${need_pkgs[*]}; run as root to install them (tests needing them will skip)" >&2
  fi
fi

# The official dstack CLI (Python) that the compatibility tests drive: the
# repository is cloned beside shared/ (../shared/official-cli/dstack; the
# tests look beside parent directories too); DSTACK_OFFICIAL_CLI overrides.
official_cli=${DSTACK_OFFICIAL_CLI:-}
if [ -z "$official_cli" ]; then
  dir=$(dirname "$PWD")
  while :; do
    if [ -x "$dir/shared/official-cli/dstack" ]; then official_cli=$dir/shared/official-cli/dstack; break; fi
    [ "$dir" = / ] && break
    dir=$(dirname "$dir")
  done
fi
if [ -n "$official_cli" ] && [ -x "$official_cli" ]; then
  export DSTACK_OFFICIAL_CLI
  DSTACK_OFFICIAL_CLI=$(cd "$(dirname "$official_cli")" && pwd)/$(basename "$official_cli")
  deps=$(dirname "$DSTACK_OFFICIAL_CLI")/install-deps.sh
  if [ "$(id -u)" = 0 ] && [ -x "$deps" ]; then
    echo "==> installing what the official CLI imports"
    # install-deps.sh passes DPkg::Lock::Timeout to apt itself.
    "$deps"
  fi
else
  echo "==> no official dstack CLI (../shared/official-cli/dstack or \$DSTACK_OFFICIAL_CLI); its tests will skip (fail under CI=true)" >&2
fi

# Everything builds as the release does, without cgo: vet, the test binaries
# and the dstack binaries the tests build and deploy then share one set of
# compiled packages instead of compiling every dependency once per setting.
export CGO_ENABLED=0

work=$(mktemp -d /tmp/dstack-test.XXXXXX)
chmod 755 "$work"
cleanup() {
  if [ -f "$work/pg/data/postmaster.pid" ]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$work/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

start_postgres() {
  local bin=/usr/lib/postgresql/15/bin port
  [ -x "$bin/initdb" ] || { echo "==> PostgreSQL not installed; PostgreSQL tests will skip" >&2; return; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
  mkdir -p "$work/pg" && chown postgres: "$work/pg"
  runuser -u postgres -- "$bin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $work/pg -c fsync=off -c max_connections=300" start >/dev/null
  export DSTACK_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  echo "==> PostgreSQL on 127.0.0.1:$port"
}

if [ "$(id -u)" = 0 ]; then
  start_postgres
fi

phase "go vet"
go vet ./...
# macOS is the other OS the client and console run on: vet and build it here.
# The other architectures differ in no code of ours; `make cross` builds and
# vets all four release targets (each is a cold compile of every dependency,
# which the test run does not repeat). Run beside the tests at low priority,
# this compile was starved and ended 7 minutes after them: it runs first.
phase "vet and build darwin/arm64"
make --no-print-directory cross PLATFORMS=darwin/arm64
phase "go test"
rc=0
go test -count=1 -timeout 25m "$@" ./... || rc=$?
phase "done (go test exit status $rc)"
exit "$rc"
