#!/usr/bin/env bash
# cargo deny (deny.toml): RustSec advisories, licenses, bans and sources of the dependency graph.
# Reads Cargo.lock and the crates' manifests only; nothing is compiled.
#
# Advisories come from an offline snapshot of github.com/rustsec/advisory-db (with a SNAPSHOT file
# naming its commit and date): $GATEPASS_RUSTSEC_SNAPSHOT, ../shared/rustsec next to the
# checkout, or /work/shared/rustsec. cargo-deny runs with --offline against it: it reads its
# database from a git repository, so the snapshot is copied once into
# $GATEPASS_CACHE/advisory-dbs/snapshot-<hash of SNAPSHOT> and committed there with the
# snapshot's own date (cargo-deny's staleness check then sees the snapshot's real age); reruns,
# and checkouts elsewhere on the machine, reuse that copy, and a new snapshot gets a new one.
# Nothing is downloaded but crates from crates.io. With no snapshot and no copy, advisories are
# not checked (said in two WARNING lines) and the other three checks still run.
#
# Usage: scripts/deny.sh [advisories|bans|licenses|sources]...   (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${GATEPASS_CACHE:-$HOME/.cache/gatepass}
export PATH="$cache/tools/bin:$PATH"
say() { printf 'deny: %s\n' "$*" >&2; }

if ! command -v cargo-deny >/dev/null 2>&1; then
  say "cargo-deny is not installed: run make tools"
  exit 1
fi

# The snapshot: $GATEPASS_RUSTSEC_SNAPSHOT, else ../shared/rustsec next to the checkout, else
# /work/shared/rustsec (a clone elsewhere on the same machine).
snapshot=""
for candidate in "${GATEPASS_RUSTSEC_SNAPSHOT:-}" ../shared/rustsec /work/shared/rustsec; do
  if [ -n "$candidate" ] && [ -f "$candidate/SNAPSHOT" ] && [ -d "$candidate/crates" ]; then
    snapshot=$candidate
    break
  fi
done
flags=(--locked)
# Without a snapshot, the copy an earlier run prepared (the cache outlives checkouts).
prepared=$(find "$cache/advisory-dbs" -mindepth 2 -maxdepth 2 -name .ready -path '*/snapshot-*' \
  2>/dev/null | head -n 1 || true)
if [ -n "$snapshot" ]; then
  key=$(sha256sum "$snapshot/SNAPSHOT" | cut -c1-16)
  dbs="$cache/advisory-dbs/snapshot-$key"
  # cargo-deny keeps the database of its default URL (https://github.com/rustsec/advisory-db)
  # in <db-path>/advisory-db-<xxhash64 of the URL> (as of 0.20.2, pinned in tools.sh; after an
  # upgrade, `cargo deny -L debug --offline check advisories` logs where it looks).
  repo="$dbs/advisory-db-3157b0e258782691"
  # The snapshot's date: "(YYYY-MM-DD)" in SNAPSHOT, else its newest advisory's date.
  date=$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' "$snapshot/SNAPSHOT" | head -n 1 || true)
  if [ -z "$date" ]; then
    date=$(grep -rhoE '^date = "[0-9-]{10}"' "$snapshot/crates" | cut -d'"' -f2 | sort | tail -n 1)
  fi
  if [ ! -f "$dbs/.ready" ]; then
    say "preparing the advisory database from $(realpath "$snapshot") ($(head -n 1 "$snapshot/SNAPSHOT"))"
    mkdir -p "$cache/advisory-dbs"
    tmp=$(mktemp -d "$cache/advisory-dbs/.tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/${repo##*/}"
    cp -R "$snapshot"/. "$tmp/${repo##*/}/"
    chmod -R u+w "$tmp"
    (
      cd "$tmp/${repo##*/}"
      export GIT_AUTHOR_DATE="${date}T00:00:00Z" GIT_COMMITTER_DATE="${date}T00:00:00Z"
      git init -q -b main .
      git add -A
      git -c user.name=gatepass -c user.email=gatepass@localhost -c commit.gpgsign=false \
        commit -q -m "$(head -n 1 SNAPSHOT)"
      # With no FETCH_HEAD, cargo-deny takes the later of the commit date and HEAD's mtime.
      touch -d "${date}T00:00:00Z" .git/HEAD
    )
    touch "$tmp/.ready"
    rm -rf "$dbs"
    mv "$tmp" "$dbs"
    trap - EXIT
    # Earlier snapshots are no longer needed.
    find "$cache/advisory-dbs" -mindepth 1 -maxdepth 1 -name 'snapshot-*' ! -path "$dbs" \
      -exec rm -rf {} +
  fi
  age=$(( ($(date +%s) - $(date -d "$date" +%s)) / 86400 ))
  say "advisories from the offline snapshot of $date ($age days old; deny.toml's maximum-db-staleness applies)"
  # --offline keeps cargo-deny from fetching the database, and from downloading crates for
  # `cargo metadata`; fetch those first (from crates.io, a no-op once they are there).
  cargo fetch --locked --quiet
  flags+=(--offline)
elif [ -n "$prepared" ]; then
  dbs=$(dirname "$prepared")
  say "no snapshot found: using the one prepared earlier in $dbs"
  cargo fetch --locked --quiet
  flags+=(--offline)
else
  # No database at all (this script never downloads one): everything else is still checked,
  # and the gap is said loudly.
  dbs="$cache/advisory-dbs/none"
  say "WARNING: no RustSec snapshot (\$GATEPASS_RUSTSEC_SNAPSHOT, ../shared/rustsec, /work/shared/rustsec)"
  say "WARNING: and none prepared earlier: advisories are NOT checked in this run (licenses, bans and sources are)"
  if [ "$#" -eq 0 ]; then set -- bans licenses sources; fi
  cargo fetch --locked --quiet
  flags+=(--offline)
fi

export GATEPASS_ADVISORY_DBS="$dbs"
exec cargo deny "${flags[@]}" check "$@"
