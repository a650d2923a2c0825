#!/usr/bin/env bash
# `gatepass sync --full` as an operator runs it, against `gatepass okta-sim` serving a generated
# org with its rate limits lifted (or Okta's, with SYNC_WINDOW), into a fresh data directory:
#
#   scripts/sync-bench.sh [GATEPASS_BINARY] [SCALE]
#     (default: the release build; users=100k,groups=10k,memberships=1m)
#
# Settings (environment): SYNC_WINDOW=SECS keeps Okta's per-window limits with this window
# instead of lifting them; SYNC_ENGINE=postgres uses a throwaway PostgreSQL cluster;
# SYNC_STRACE=1 also counts the sync's pwrite64/pread64 calls (`strace -c`; slows it down).
#
# Prints the command's summary line, then from GNU time: wall time, peak RSS and the bytes the
# kernel was asked to write to disk on its behalf (`File system outputs`, 512-byte blocks: the
# database and its WAL; the simulator is another process), and the database's size.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SYNC_ENGINE:-sqlite}" = postgres ] && [ -z "${GATEPASS_TEST_POSTGRES_URL:-}" ]; then
  exec scripts/with-postgres.sh "$0" "$@"
fi
target=${CARGO_TARGET_DIR:-${GATEPASS_CACHE:-$HOME/.cache/gatepass}/target}
bin=${1:-$target/release/gatepass}
scale=${2:-users=100k,groups=10k,memberships=1m}
[ -x "$bin" ] || { echo "sync-bench: no $bin (make build-release)" >&2; exit 1; }

data=$(mktemp -d /tmp/gatepass-sync.XXXXXX)
port=$(scripts/free-ports.py)
token="00sync-bench-token"
window_args=()
[ -n "${SYNC_WINDOW:-}" ] && window_args=(--rate-limit-window "$SYNC_WINDOW")
"$bin" okta-sim --listen "127.0.0.1:$port" --seed none --scale "$scale" --api-token "$token" \
  --concurrency 1000 "${window_args[@]}" >"$data/sim.log" 2>&1 </dev/null &
sim=$!
trap 'kill "$sim" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 1 600); do curl -fs -o /dev/null "$base/__sim/rate-limits" && break; sleep 0.1; done
if [ -z "${SYNC_WINDOW:-}" ]; then
  curl -fs -o /dev/null -X PUT -H 'Content-Type: application/json' "$base/__sim/rate-limits" -d \
    '{"limits": {"users": 100000000, "groups": 100000000, "group": 100000000, "default": 100000000}}'
fi

export GATEPASS_DATA_DIR="$data/gatepass" GATEPASS_OKTA__ORG_URL="$base"
export GATEPASS_OKTA__SECRET_REF=env:SYNC_BENCH_TOKEN SYNC_BENCH_TOKEN="$token"
if [ "${SYNC_ENGINE:-sqlite}" = postgres ]; then
  export GATEPASS_DATABASE_URL="$GATEPASS_TEST_POSTGRES_URL"
fi
export RUST_LOG=${RUST_LOG:-warn}
"$bin" migrate >/dev/null
trace=()
[ "${SYNC_STRACE:-}" = 1 ] && trace=(strace -f -c -e trace=pwrite64,pread64 -o "$data/strace.txt")
/usr/bin/time -f 'wall %e s; peak RSS %M KiB; file system outputs %O blocks of 512 bytes' \
  "${trace[@]}" "$bin" sync --full 2>&1 </dev/null | grep -v -E '^(users|groups|memberships|done) '
[ "${SYNC_STRACE:-}" = 1 ] && cat "$data/strace.txt"
if [ "${SYNC_ENGINE:-sqlite}" = postgres ]; then
  psql -qtA "$GATEPASS_TEST_POSTGRES_URL" -c "SELECT 'database ' || pg_database_size(current_database()) || ' bytes'"
else
  echo "database $(stat -c %s "$GATEPASS_DATA_DIR/gatepass.db") bytes"
fi
