#!/usr/bin/env bash
# Adds up the tests that `make test` ran (cargo test and Playwright logs) into one closing line.
set -euo pipefail
logs=${GATEPASS_CACHE:-$HOME/.cache/gatepass}/logs
passed=0
failed=0
while read -r p f; do
  passed=$((passed + p)); failed=$((failed + f))
done < <(
  { grep -hoE 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$logs"/*.log 2>/dev/null \
      | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed/\1 \2/'
    grep -hoE '^ +[0-9]+ passed \(' "$logs"/*.log 2>/dev/null | sed -E 's/ *([0-9]+) passed.*/\1 0/'
    grep -hoE '^ +[0-9]+ failed$' "$logs"/*.log 2>/dev/null | sed -E 's/ *([0-9]+) failed/0 \1/'
    # pytest: "22 passed in 7.1s" or "1 failed, 21 passed in 7.3s"
    grep -hE '^(=+ )?([0-9]+ (passed|failed)(, )?)+.* in [0-9.]+s' "$logs"/*.log 2>/dev/null \
      | sed -E 's/^=+ //' \
      | awk '{ p = 0; f = 0; for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p = $i; if ($(i+1) ~ /^failed/) f = $i } print p, f }'
  } || true
)
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
