#!/usr/bin/env bash
# The whole test suite (`npm test`): installs and starts what the tests need (the Asterisk 22 +
# Redis sandbox), then lint, type check, unit tests and end-to-end tests against the sandbox.
# Run as root on Debian (the sandbox builds a chroot and installs packages on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

[ -d node_modules ] || { step "npm ci"; npm ci; }

step "build"
npm run --silent build

results=$(mktemp)
cleanup() {
  rm -f "$results"
  # A CI work tree is deleted after its run: leave nothing of it running or mounted in the shared
  # chroot. Developers keep their sandbox up between runs.
  if [ -n "${CI:-}" ]; then bash scripts/sandbox.sh down || true; fi
}
trap cleanup EXIT

step "sandbox (Asterisk + Redis)"
bash scripts/sandbox.sh up

step "lint and type check"
npx eslint .
npx tsc -p tsconfig.json --noEmit

step "unit and end-to-end tests"
status=0
# Where Asterisk's log stands now: a failed run prints what Asterisk warned about during it.
asterisk_log=.sandbox/logs/asterisk/messages.log
log_start=$( (stat -c %s "$asterisk_log" 2>/dev/null || echo 0) )
# --forceExit: a handle left by a failing test must not keep CI waiting after the results are in.
npx jest --runInBand --forceExit --json --outputFile="$results" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\njest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  if (skipped > 0) { console.error("skipped tests are not allowed"); process.exit(1); }
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$results" || status=1
if [ "$status" -ne 0 ] && [ -f "$asterisk_log" ]; then
  # The tests inject faults, so some warnings are expected; this is for reading next to a failure.
  step "Asterisk warnings and errors during the run (last 80)"
  tail -c "+$((log_start + 1))" "$asterisk_log" | grep -E '\] (WARNING|ERROR)\[' | tail -n 80 || true
fi
exit "$status"
