#!/usr/bin/env bash
# Fails if a server-only crate is in the browser bundle's dependency tree.
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(sqlx[a-z-]*|tokio|reqwest|hyper|axum|leptos_axum|openidconnect|oauth2|tower-sessions[a-z-]*|aws-[a-z-]+|secrecy|rustls|ring|libsqlite3-sys|tower-http) '
found=$(cargo tree --locked -p frontend --target wasm32-unknown-unknown -e normal --prefix none | sort -u | grep -E "$forbidden" || true)
if [ -n "$found" ]; then
  echo "check-wasm-deps: server-only crates reached the wasm build:" >&2
  echo "$found" >&2
  exit 1
fi
echo "check-wasm-deps: no server-only crate in the wasm build ($(cargo tree --locked -p frontend --target wasm32-unknown-unknown -e normal --prefix none | sort -u | wc -l) crates)"
