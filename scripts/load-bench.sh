#!/usr/bin/env bash
# Signed-in page load: the Okta simulator with the demo org and Gatepass (as `make demo` runs
# them, on ports 3100/3101 and a throwaway data directory), one person signed in through the
# simulator, then `wrk` against each page with that session.
#
#   scripts/load-bench.sh [GATEPASS_BINARY]   (default: the release build; `make build-release`)
#
# Settings (environment):
#   LOAD_SCALE=users=100k,groups=10k,memberships=1m   adds a generated org to the demo company
#       (rate-limit windows of 1 s so its full sync takes seconds, not minutes), syncs it before
#       serving, and adds a requestable `group-*` policy, so the catalog lists 9,000 groups
#   LOAD_ENGINE=postgres     a throwaway PostgreSQL cluster instead of SQLite
#   LOAD_CLIENTS="1 16"      concurrent connections per run;  LOAD_SECONDS=5  length of a run
#   LOAD_RATE=500            also a fixed-rate run at this many requests/s (wrk2-style latency
#                            with `wrk --rate` is not in Debian's wrk: a Python pacer is used)
#   LOAD_PAGES="/ /access"   which pages
#   LOAD_API=1               the REST API instead of the pages: a personal access token (read,
#                            request) is made for Maya, then `GET /api/v1/groups` (first page,
#                            and a search) and `POST /api/v1/requests` (each call for another of
#                            the requestable groups, scripts/api-requests.lua) are loaded; the
#                            per-token rate limit is lifted for the run
#
# Prints one line per page and client count: requests/s, p50, p99, and the server's RSS.
# Installs wrk (Debian) if it is missing. Everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${LOAD_ENGINE:-sqlite}" = postgres ] && [ -z "${GATEPASS_TEST_POSTGRES_URL:-}" ]; then
  exec scripts/with-postgres.sh "$0" "$@"
fi
target=${CARGO_TARGET_DIR:-${GATEPASS_CACHE:-$HOME/.cache/gatepass}/target}
bin=${1:-$target/release/gatepass}
site=${GATEPASS_SITE_ROOT:-$target/site}
base=http://127.0.0.1:3100
seconds=${LOAD_SECONDS:-5}
clients_list=${LOAD_CLIENTS:-1 16}
pages=${LOAD_PAGES:-/ /access /request /request?q=group-012 /approvals /admin/groups /admin/access /admin/audit}
command -v wrk >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
[ -x "$bin" ] || { echo "load-bench: no $bin (make build-release)" >&2; exit 1; }

data=$(mktemp -d /tmp/gatepass-load.XXXXXX)
if [ -n "${LOAD_SCALE:-}" ]; then
  export DEMO_OKTA_ARGS="--scale $LOAD_SCALE --rate-limit-window 1 --concurrency 1000"
  export DEMO_OKTA_STATELESS=1 DEMO_SYNC_FIRST=1
fi
if [ "${LOAD_ENGINE:-sqlite}" = postgres ]; then
  export GATEPASS_DATABASE_URL="$GATEPASS_TEST_POSTGRES_URL"
fi
if [ -n "${LOAD_API:-}" ]; then
  export GATEPASS_API__RATE_LIMIT_PER_MINUTE=100000000
fi
t0=$(date +%s)
DEMO_PORT=3100 DEMO_OKTA_PORT=3101 scripts/demo.sh "$bin" "$data" "$site" >"$data/demo.log" 2>&1 &
demo=$!
trap 'kill "$demo" 2>/dev/null; pkill -P "$demo" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
# Up to 15 minutes: a large org is synced before the server starts.
for _ in $(seq 1 9000); do curl -fs -o /dev/null "$base/healthz" && break; sleep 0.1; done
curl -fs -o /dev/null "$base/healthz" || { echo "load-bench: Gatepass did not start" >&2; cat "$data/demo.log" >&2; exit 1; }
echo "load-bench: serving after $(( $(date +%s) - t0 )) s (engine ${LOAD_ENGINE:-sqlite}${LOAD_SCALE:+, org $LOAD_SCALE})"
sleep 1 # the first (incremental) directory sync

# Sign in as Maya Okafor (an admin in the demo org) through the simulator's login form.
jar="$data/cookies"
authorize=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" "$base/auth/login?return_to=/")
form=()
while IFS= read -r pair; do form+=(--data-urlencode "$pair"); done < <(python3 -c '
import sys, urllib.parse
for k, v in urllib.parse.parse_qsl(urllib.parse.urlsplit(sys.argv[1]).query): print(f"{k}={v}")
' "$authorize")
callback=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" "${form[@]}" \
  --data-urlencode "login=maya.okafor@northwind.example" "${authorize%%\?*}")
curl -s -o /dev/null -c "$jar" -b "$jar" "$callback"
cookie=$(awk '$6 == "gatepass_session" { print $7 }' "$jar")
[ -n "$cookie" ] || { echo "load-bench: sign-in failed" >&2; cat "$data/demo.log" >&2; exit 1; }

if [ -n "${LOAD_SCALE:-}" ]; then
  # A requestable policy over the generated groups (the catalog's worst case: one pattern that
  # matches thousands of groups), saved through the same server function the policy page uses.
  code=$(curl -s -o "$data/policy.out" -w '%{http_code}' -b "$jar" -H 'Accept: application/json' \
    --data-urlencode 'applies_to=group-*' --data-urlencode 'eligible_groups=' \
    --data-urlencode 'approver_users=maya.okafor@northwind.example' --data-urlencode 'approver_groups=' \
    --data-urlencode 'quorum=1' --data-urlencode 'default_duration=1h' --data-urlencode 'max_duration=8h' \
    --data-urlencode 'requestable=on' "$base/api/access/policies/save")
  [ "$code" = 200 ] || { echo "load-bench: saving the policy failed ($code)" >&2; cat "$data/policy.out" >&2; exit 1; }
fi
server_pid=$(pgrep -f "gatepass serve --listen 127.0.0.1:3100" | head -n 1)
rss() { awk '/VmRSS/ { printf "%d MB", $2 / 1024 }' "/proc/$server_pid/status"; }
echo "load-bench: server RSS $(rss) before load"

if [ -n "${LOAD_API:-}" ]; then
  token=$(curl -s -b "$jar" -H 'Accept: application/json' --data-urlencode name=load-bench \
    --data-urlencode days=1 --data-urlencode scope_read=on --data-urlencode scope_request=on \
    "$base/api/tokens/create" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
  # Every requestable generated group's id, page by page through the API itself.
  python3 - "$base" "$token" >"$data/group-ids" <<'PY'
import json, sys, urllib.parse, urllib.request
base, token = sys.argv[1], sys.argv[2]
cursor = ""
while True:
    url = f"{base}/api/v1/groups?q=group-&cursor={urllib.parse.quote(cursor)}"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    page = json.load(urllib.request.urlopen(req))
    for g in page["items"]:
        print(g["group_id"])
    if not page["next"]:
        break
    cursor = page["next"]
PY
  echo "load-bench: $(wc -l <"$data/group-ids") requestable groups"
  printf '%-30s %8s %10s %9s %9s %9s\n' call clients 'req/s' p50 p99 errors
  run() { # label clients wrk-args…
    local label=$1 clients=$2; shift 2
    local threads=$(( clients < 2 ? 1 : 2 ))
    out=$(WRK_THREADS=$threads wrk -t"$threads" -c"$clients" -d"${seconds}s" --timeout 10s --latency "$@")
    errors=$(awk '/Non-2xx|Socket errors/ { sub(/^ +/, ""); printf "%s; ", $0 }' <<<"$out")
    printf '%-30s %8s %10s %9s %9s %9s\n' "$label" "$clients" \
      "$(awk '/Requests\/sec/ { print $2 }' <<<"$out")" \
      "$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")" \
      "${errors:-0}"
  }
  for clients in $clients_list; do
    run "GET /api/v1/groups" "$clients" -H "Authorization: Bearer $token" "$base/api/v1/groups"
    run "GET /api/v1/groups?q=group-012" "$clients" -H "Authorization: Bearer $token" \
      "$base/api/v1/groups?q=group-012"
    GROUP_IDS="$data/group-ids" TOKEN="$token" run "POST /api/v1/requests" "$clients" \
      -s scripts/api-requests.lua "$base"
  done
  echo "load-bench: server RSS $(rss) after load"
  exit 0
fi

printf '%-22s %8s %10s %9s %9s %9s\n' page clients 'req/s' p50 p99 errors
for page in $pages; do
  for clients in $clients_list; do
    threads=$(( clients < 2 ? 1 : 2 ))
    out=$(wrk -t"$threads" -c"$clients" -d"${seconds}s" --timeout 10s --latency \
      -H "Cookie: gatepass_session=$cookie" "$base$page")
    errors=$(awk '/Non-2xx|Socket errors/ { sub(/^ +/, ""); printf "%s; ", $0 }' <<<"$out")
    printf '%-22s %8s %10s %9s %9s %9s\n' "$page" "$clients" \
      "$(awk '/Requests\/sec/ { print $2 }' <<<"$out")" \
      "$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")" \
      "${errors:-0}"
  done
  if [ -n "${LOAD_RATE:-}" ]; then
    python3 scripts/paced-load.py "$base$page" "$cookie" "$LOAD_RATE" "$seconds"
  fi
done
echo "load-bench: server RSS $(rss) after load"
