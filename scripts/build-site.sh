#!/usr/bin/env bash
# Builds the browser side of Gatepass into $SITE_ROOT (default target/site):
#   pkg/gatepass.js + pkg/gatepass_bg.wasm  (the main bundle: Leptos, the router, the layout)
#   pkg/split_*.wasm + pkg/chunk_*.wasm     (each page's code, loaded when the page is shown)
#   pkg/__wasm_split.*.js, pkg/__wasm_split_manifest.json (their loader, what each page needs)
#   pkg/gatepass.css                        (style/main.css)
#   favicon etc.                            (app/public/*)
# and a gzipped copy of each file, which the server sends to browsers that accept gzip.
# Usage: scripts/build-site.sh [dev|release]
#   dev:     debug build (fast to compile, large);
#   release: the `wasm-release` profile (opt-level "z", LTO) and wasm-opt -Oz: what
#            `make demo` serves, what the browser tests load and what
#            scripts/check-bundle-size.sh weighs.
# This is what `cargo leptos build --split` does, using only tools from crates.io and npm
# (wasm-bindgen, gatepass-wasm-split and binaryen's wasm-opt: `scripts/tools.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-dev}
target_dir=${CARGO_TARGET_DIR:-target}
site_root=${SITE_ROOT:-target/site}
pkg="$site_root/pkg"

case "$profile" in
  dev) cargo_profile=dev; out_dir=debug ;;
  release) cargo_profile=wasm-release; out_dir=wasm-release ;;
  *) echo "usage: $0 [dev|release]" >&2; exit 2 ;;
esac

# Relocations let gatepass-wasm-split cut the module at the lazy routes. This replaces
# `[build] rustflags` of .cargo/config.toml for the wasm target, so it repeats
# `erase_components` (the server and the browser must agree on it).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--cfg erase_components -Clink-args=--emit-relocs"
cargo build --locked -p frontend --lib --target wasm32-unknown-unknown --profile "$cargo_profile"

input="$target_dir/wasm32-unknown-unknown/$out_dir/frontend.wasm"
# The same wasm, profile and tools as the site in $pkg: nothing to redo (splitting and wasm-opt
# take half a minute).
built_from="$profile $(cat "$input" scripts/build-site.sh scripts/wasm-opt.mjs | sha256sum | cut -c1-32)"
if [ -f "$pkg/gatepass_bg.wasm.gz" ] && [ "$(cat "$pkg/.built-from" 2>/dev/null)" = "$built_from" ]; then
  cp style/main.css "$pkg/gatepass.css" && gzip -9 -k -f "$pkg/gatepass.css"
  cp -R app/public/. "$site_root/"
  echo "build-site: $profile bundle in $pkg is up to date"
  exit 0
fi

# A fresh pkg/: chunks of an earlier build must not linger.
rm -rf "$pkg"
mkdir -p "$pkg"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
gatepass-wasm-split "$input" "$pkg" "$stage/gatepass.wasm"
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
  --out-name gatepass --out-dir "$pkg" "$stage/gatepass.wasm"

if [ "$profile" = release ]; then
  if [ -f end2end/node_modules/binaryen/index.js ]; then
    # wasm-opt -Oz (binaryen from npm), the main module and the rest side by side. The
    # splitter's modules carry a names subsection binaryen does not know: it says so, once per
    # module.
    quiet() { "$@" 2> >(grep -v "unknown name subsection" >&2); }
    quiet node scripts/wasm-opt.mjs "$pkg/gatepass_bg.wasm" &
    main_opt=$!
    find "$pkg" -name '*.wasm' ! -name gatepass_bg.wasm -print0 | sort -z \
      | quiet xargs -0 node scripts/wasm-opt.mjs
    wait "$main_opt"
  else
    echo "build-site: binaryen not found (make tools); bundle left unoptimised" >&2
  fi
fi

cp style/main.css "$pkg/gatepass.css"
cp -R app/public/. "$site_root/"
find "$pkg" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.json' \) \
  -print0 | xargs -0 gzip -9 -k -f
wasm="$pkg/gatepass_bg.wasm"
printf 'build-site: %s main wasm %s bytes (%s gzipped), %s lazily loaded modules\n' "$profile" \
  "$(stat -c %s "$wasm")" "$(stat -c %s "$wasm.gz")" \
  "$(find "$pkg" -name '*.wasm' ! -name gatepass_bg.wasm | wc -l)"
echo "$built_from" > "$pkg/.built-from"
