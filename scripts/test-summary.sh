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
  } || true
)
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
