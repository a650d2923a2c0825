#!/usr/bin/env bash
# Builds the browser side of Gatepass into $SITE_ROOT (default target/site):
#   pkg/gatepass.js + pkg/gatepass_bg.wasm  (hydrate bundle, via wasm-bindgen)
#   pkg/gatepass.css                        (style/main.css)
#   favicon etc.                            (app/public/*)
# Usage: scripts/build-site.sh [dev|release]
# This is what `cargo leptos build` does, using only tools from crates.io and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-dev}
target_dir=${CARGO_TARGET_DIR:-target}
site_root=${SITE_ROOT:-target/site}

case "$profile" in
  dev) cargo_profile=dev; out_dir=debug ;;
  release) cargo_profile=wasm-release; out_dir=wasm-release ;;
  *) echo "usage: $0 [dev|release]" >&2; exit 2 ;;
esac

cargo build --locked -p frontend --lib --target wasm32-unknown-unknown --profile "$cargo_profile"

mkdir -p "$site_root/pkg"
wasm-bindgen --target web --no-typescript --out-name gatepass --out-dir "$site_root/pkg" \
  "$target_dir/wasm32-unknown-unknown/$out_dir/frontend.wasm"

wasm="$site_root/pkg/gatepass_bg.wasm"
if [ "$profile" = release ]; then
  if command -v wasm-opt >/dev/null 2>&1; then
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "$wasm" -o "$wasm.opt" && mv "$wasm.opt" "$wasm"
  else
    echo "build-site: wasm-opt not found; bundle left unoptimised" >&2
  fi
fi

cp style/main.css "$site_root/pkg/gatepass.css"
cp -R app/public/. "$site_root/"
gzip -9 -k -f "$wasm" "$site_root/pkg/gatepass.js" "$site_root/pkg/gatepass.css"
printf 'build-site: %s wasm %s bytes (%s gzipped)\n' "$profile" \
  "$(stat -c %s "$wasm")" "$(stat -c %s "$wasm.gz")"
