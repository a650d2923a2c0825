#!/usr/bin/env bash
# Fails when the release browser bundle is over its budget (part of `make test`).
#
# Weighs, gzipped as the server sends them, the files every page loads before its own code:
# the main module (Leptos, the router, the layout), its JavaScript glue and the loader of the
# lazily loaded modules. That sum must stay within BUNDLE_BUDGET_KB (default 250, KB = 1000
# bytes). Then, for information, what each page loads on top (its lazy route's modules, from
# __wasm_split_manifest.json) and the total per page.
#
# Builds the release site first if needed (scripts/build-site.sh release; quick when fresh).
# Usage: scripts/check-bundle-size.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

budget_kb=${BUNDLE_BUDGET_KB:-250}
site_root=${SITE_ROOT:-target/site}
pkg="$site_root/pkg"

if [ "${1:-}" != --no-build ]; then
  scripts/build-site.sh release
fi
if [ ! -f "$pkg/.built-from" ] || [ "$(cut -d' ' -f1 "$pkg/.built-from")" != release ]; then
  echo "check-bundle-size: no release build in $pkg (run scripts/build-site.sh release)" >&2
  exit 1
fi

python3 - "$pkg" "$budget_kb" <<'EOF'
import glob, json, os, sys

pkg, budget_kb = sys.argv[1], int(sys.argv[2])
gz = lambda name: os.path.getsize(os.path.join(pkg, name + ".gz"))
raw = lambda name: os.path.getsize(os.path.join(pkg, name))

initial = ["gatepass_bg.wasm", "gatepass.js"] + sorted(
    os.path.basename(p) for p in glob.glob(os.path.join(pkg, "__wasm_split.*.js")))
initial_gz = sum(gz(f) for f in initial)
initial_raw = sum(raw(f) for f in initial)

manifest = json.load(open(os.path.join(pkg, "__wasm_split_manifest.json")))
pages = []
for split, stems in manifest.items():
    files = [s + ".wasm" for s in stems]
    page = split.lstrip("_").rsplit("_route_view_", 1)[0]
    pages.append((page, len(files), sum(raw(f) for f in files), sum(gz(f) for f in files)))
pages.sort(key=lambda p: -p[3])

print(f"check-bundle-size: initial bundle {initial_gz / 1000:.1f} KB gzipped "
      f"({initial_raw / 1000:.1f} KB raw): main wasm {gz('gatepass_bg.wasm') / 1000:.1f} KB, "
      f"JavaScript {(initial_gz - gz('gatepass_bg.wasm')) / 1000:.1f} KB; budget {budget_kb} KB")
print("check-bundle-size: each page loads on top (gzipped, files), and in all:")
for page, n, r, g in pages:
    print(f"  {page:<15} {g / 1000:6.1f} KB in {n:3d} files   total {(initial_gz + g) / 1000:6.1f} KB")
if initial_gz > budget_kb * 1000:
    print(f"check-bundle-size: FAILED: the initial bundle is {initial_gz / 1000:.1f} KB gzipped, "
          f"over the {budget_kb} KB budget", file=sys.stderr)
    sys.exit(1)
EOF
