#!/usr/bin/env bash
# Signed-in page load: the Okta simulator with the demo org and Gatepass (as `make demo` runs
# them, on ports 3100/3101 and a throwaway data directory), one person signed in through the
# simulator, then `wrk` against each page with that session: one client (latency), and 16.
#
#   scripts/load-bench.sh [GATEPASS_BINARY]   (default: the release build; `make build-release`)
#
# Prints one line per page and client count: requests/s, p50, p99. Installs wrk (Debian) if it
# is missing. Everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-${GATEPASS_CACHE:-$HOME/.cache/gatepass}/target}
bin=${1:-$target/release/gatepass}
site=${GATEPASS_SITE_ROOT:-$target/site}
base=http://127.0.0.1:3100
seconds=${LOAD_SECONDS:-5}
command -v wrk >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
[ -x "$bin" ] || { echo "load-bench: no $bin (make build-release)" >&2; exit 1; }

data=$(mktemp -d /tmp/gatepass-load.XXXXXX)
DEMO_PORT=3100 DEMO_OKTA_PORT=3101 scripts/demo.sh "$bin" "$data" "$site" >"$data/demo.log" 2>&1 &
demo=$!
trap 'kill "$demo" 2>/dev/null; pkill -P "$demo" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 200); do curl -fs -o /dev/null "$base/healthz" && break; sleep 0.1; done
sleep 1 # the first directory sync

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

printf '%-16s %8s %10s %9s %9s\n' page clients 'req/s' p50 p99
for page in / /access /request /approvals /admin/groups /admin/access /admin/audit; do
  for clients in 1 16; do
    threads=$(( clients < 2 ? 1 : 2 ))
    out=$(wrk -t"$threads" -c"$clients" -d"${seconds}s" --latency \
      -H "Cookie: gatepass_session=$cookie" "$base$page")
    printf '%-16s %8s %10s %9s %9s\n' "$page" "$clients" \
      "$(awk '/Requests\/sec/ { print $2 }' <<<"$out")" \
      "$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  done
done
