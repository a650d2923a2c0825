#!/usr/bin/env bash
# `make demo`: starts the Okta simulator seeded with the demo company (Northwind Labs), then
# Gatepass signing people in through it, on http://127.0.0.1:3000. Ctrl-C stops both.
#
#   scripts/demo.sh GATEPASS_BINARY DATA_DIR SITE_ROOT
#
# The simulator keeps its org in DATA_DIR/okta-sim.json (so changes survive a restart) and logs
# to DATA_DIR/okta-sim.log. Its credentials below are for the local simulator only.
set -euo pipefail
bin=$1
data=$2
site=$3
port=${DEMO_PORT:-3000}
okta_port=${DEMO_OKTA_PORT:-3001}
smtp_port=${DEMO_SMTP_PORT:-$((okta_port + 1))}
gatepass_url="http://127.0.0.1:$port"
okta_url="http://127.0.0.1:$okta_port"
client_secret="demo-client-secret-for-the-local-simulator"
api_token="00demo-api-token-for-the-local-simulator"

mkdir -p "$data"
log="$data/okta-sim.log"
: >"$log"
# DEMO_OKTA_ARGS adds simulator options (the load benchmark: a generated org, shorter rate-limit
# windows, no state file).
state_args=(--state "$data/okta-sim.json")
[ "${DEMO_OKTA_STATELESS:-}" = 1 ] && state_args=()
# shellcheck disable=SC2086
"$bin" okta-sim --listen "127.0.0.1:$okta_port" --seed demo "${state_args[@]}" \
  --api-token "$api_token" --oidc-client-secret "$client_secret" \
  --gatepass-url "$gatepass_url" --smtp-listen "127.0.0.1:$smtp_port" ${DEMO_OKTA_ARGS:-} \
  >"$log" 2>&1 </dev/null &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 100); do
  grep -q "okta-sim: listening on" "$log" && break
  kill -0 "$sim" 2>/dev/null || { cat "$log" >&2; echo "demo: the Okta simulator did not start" >&2; exit 1; }
  sleep 0.1
done
grep -q "okta-sim: listening on" "$log" || { cat "$log" >&2; echo "demo: the Okta simulator did not start in 10 s" >&2; exit 1; }

echo
echo "  Okta simulator: $okta_url  (log: $log)"
sed -n 's/^okta-sim: //p' "$log" | sed -n '/people you can sign in as/,$p' | sed 's/^/  /'
echo
echo "  Gatepass: $gatepass_url  — sign in as anyone above (Maya Okafor and Sam Reyes are"
echo "  Gatepass admins). Gatepass syncs the simulator's directory at start and every 10 minutes."
echo "  Database: SQLite under $data. Ctrl-C stops both."
echo
echo "  Email Gatepass sends, and webhooks, land in the simulator's inbox: $okta_url/__inbox"
echo "  (a webhook endpoint for it: Admin › Notifications, URL $okta_url/__inbox/webhooks,"
echo "  secret reference env:DEMO_WEBHOOK_SECRET)."
echo "  Slack messages (approve or deny a request right there) land in the simulator's Slack"
echo "  stand-in: $okta_url/__slack (pick who you are at the top)."
echo

export GATEPASS_DATA_DIR="$data"
export GATEPASS_SITE_ROOT="$site"
export GATEPASS_PUBLIC_URL="$gatepass_url"
export GATEPASS_OIDC__ISSUER_URL="$okta_url/oauth2/default"
export GATEPASS_OIDC__CLIENT_ID="gatepass"
export GATEPASS_OIDC__CLIENT_SECRET="$client_secret"
export GATEPASS_AUTH__ADMIN_GROUPS='["gatepass-admins"]'
export GATEPASS_AUTH__BOOTSTRAP_ADMINS='["maya.okafor@northwind.example"]'
# The Okta integration, until an admin changes it on /admin/okta: the simulator's API token,
# held as a local (environment) secret.
export GATEPASS_OKTA__ORG_URL="$okta_url"
export GATEPASS_OKTA__SECRET_REF="env:DEMO_OKTA_API_TOKEN"
export DEMO_OKTA_API_TOKEN="$api_token"
# Email to the simulator's mail catcher (no TLS: it is on this machine), and a webhook secret
# the notifications page may use. For the local demo only.
export GATEPASS_NOTIFICATIONS__EMAIL__SMTP_HOST=127.0.0.1
export GATEPASS_NOTIFICATIONS__EMAIL__SMTP_PORT="$smtp_port"
export GATEPASS_NOTIFICATIONS__EMAIL__SECURITY=none
export GATEPASS_NOTIFICATIONS__EMAIL__FROM="Gatepass demo <gatepass@northwind.example>"
export GATEPASS_NOTIFICATIONS__ALLOWED_SECRET_REFS='["env:DEMO_WEBHOOK_SECRET", "env:DEMO_SLACK_BOT_TOKEN", "env:DEMO_SLACK_SIGNING_SECRET"]'
export DEMO_WEBHOOK_SECRET="whsec_ZGVtby13ZWJob29rLXNlY3JldC1ub3QtZm9yLXVzZQ=="
# Slack: the simulator's Slack stand-in (its default bot token and signing secret), connected at
# the first start; Admin › Notifications › Slack shows and changes it.
export GATEPASS_NOTIFICATIONS__SLACK__API_URL="$okta_url/slack/api/"
export GATEPASS_NOTIFICATIONS__SLACK__BOT_TOKEN_REF="env:DEMO_SLACK_BOT_TOKEN"
export GATEPASS_NOTIFICATIONS__SLACK__SIGNING_SECRET_REF="env:DEMO_SLACK_SIGNING_SECRET"
export DEMO_SLACK_BOT_TOKEN="xoxb-gatepass-demo"
export DEMO_SLACK_SIGNING_SECRET="8f742231b10e8888abcd99yyyzzz85a5"
# Starter policies: a bundle, a break-glass group, an on-call policy (applied after the first
# sync while there are none).
export GATEPASS_POLICIES__STARTER_FILE="$(cd "$(dirname "$0")" && pwd)/demo-policies.toml"
# On-call approval: the simulator's PagerDuty stand-in (Lena Fischer is on call for PDEMO01).
export GATEPASS_PAGERDUTY__API_URL="$okta_url/pagerduty"
export GATEPASS_PAGERDUTY__API_KEY_REF="env:DEMO_PAGERDUTY_API_KEY"
export DEMO_PAGERDUTY_API_KEY="pd-demo-key-for-the-local-simulator"
# DEMO_SYNC_FIRST=1: one full sync before serving (a large generated org is then complete when
# the first page is served).
[ "${DEMO_SYNC_FIRST:-}" = 1 ] && "$bin" sync --full
"$bin" serve --listen "127.0.0.1:$port"
