#!/usr/bin/env bash
# Installs what building and testing Gatepass needs, skipping whatever is already there:
#   - the wasm32 Rust target, rustfmt and clippy (rustup)
#   - wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock (crates.io)
#   - cargo-deny at a pinned version (crates.io; `make deny`)
#   - gatepass-wasm-split, from frontend/wasm-split (splits the browser bundle)
#   - Debian packages: chromium (browser tests), postgresql (tests on PostgreSQL)
#   - end2end/node_modules: Playwright and binaryen's wasm-opt (npm ci)
#   - a Python venv with moto (AWS Secrets Manager stand-in), Okta's SDK and pytest (pip)
# Tools go under $GATEPASS_CACHE (default ~/.cache/gatepass) so reruns and CI reuse them.
# `scripts/tools.sh cargo-deny` installs (or checks) cargo-deny only.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${GATEPASS_CACHE:-$HOME/.cache/gatepass}
mkdir -p "$cache/tools/bin"
export PATH="$cache/tools/bin:$PATH"
say() { printf 'tools: %s\n' "$*" >&2; }

# cargo-deny, pinned: a new release can add lints or change the config format.
cargo_deny() {
  local want=0.20.2 have
  have=$(cargo-deny --version 2>/dev/null | awk '{ print $2 }' || true)
  if [ "$have" != "$want" ]; then
    say "installing cargo-deny $want (found: ${have:-none})"
    cargo install cargo-deny --version "$want" --locked --root "$cache/tools" --force
  fi
}
if [ "${1:-}" = cargo-deny ]; then
  cargo_deny
  say "cargo-deny present"
  exit 0
fi

# Rust: target and components.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    rustup component add "$component"
  fi
done

# wasm-bindgen-cli must match the wasm-bindgen crate exactly.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (found: ${have:-none})"
  cargo install wasm-bindgen-cli --version "$want" --root "$cache/tools" --force
fi
cargo_deny

# gatepass-wasm-split (frontend/wasm-split: the splitter cargo-leptos uses, as a library) cuts
# the browser bundle at its lazy routes; reinstalled when its sources change.
split_stamp="$cache/tools/.gatepass-wasm-split"
split_sum=$(cat frontend/wasm-split/Cargo.toml frontend/wasm-split/Cargo.lock frontend/wasm-split/src/*.rs | sha256sum | cut -c1-16)
if ! command -v gatepass-wasm-split >/dev/null 2>&1 || [ "$(cat "$split_stamp" 2>/dev/null)" != "$split_sum" ]; then
  say "installing gatepass-wasm-split"
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/tools" \
    cargo install --locked --path frontend/wasm-split --root "$cache/tools" --force
  echo "$split_sum" > "$split_stamp"
fi

# Debian packages.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The cluster the package may have started is not used: tests start their own.
  if [[ " ${missing[*]} " == *" postgresql "* ]]; then
    "${sudo_cmd[@]}" service postgresql stop >/dev/null 2>&1 || true
  fi
fi

# Node packages for the browser tests; reinstalled only when the lock file changes.
stamp=end2end/node_modules/.gatepass-lock
if [ ! -f "$stamp" ] || ! cmp -s end2end/package-lock.json "$stamp"; then
  say "npm ci in end2end/"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp end2end/package-lock.json "$stamp"
fi
# Python test tools, in a venv under the cache; reinstalled only when the requirements change.
venv="$cache/venv"
reqs=scripts/requirements-test.txt
if [ ! -x "$venv/bin/python" ]; then
  say "creating the Python venv in $venv"
  python3 -m venv "$venv"
fi
if ! cmp -s "$reqs" "$venv/.gatepass-requirements"; then
  say "pip install -r $reqs"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
  cp "$reqs" "$venv/.gatepass-requirements"
fi
say "all present"
