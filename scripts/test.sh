#!/usr/bin/env bash
# The whole test suite from a fresh clone: bash scripts/test.sh
# Installs Bun and packages, starts Postgres if it is down, installs Chromium when missing (console browser tests),
# type-checks, lints, checks formatting (Biome, line width 120) and the house rules (tests/architecture.test.ts, first
# on its own so a broken rule shows up in seconds), runs every test (each store suite on SQLite and on Postgres),
# builds the binary and smoke-tests it. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-bun.sh || exit 1
status=0
step() { echo; echo "==> $*"; }

step "bun install"
bun install --frozen-lockfile || exit 1
step "postgres"
bash scripts/ensure-postgres.sh || exit 1
step "chromium (console browser tests)"
# tests/console drives Debian's Chromium through playwright-core (a dev dependency); install it when missing.
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || exit 1
  else
    echo "no /usr/bin/chromium and no apt-get: install Chromium (or set CHROMIUM_PATH) to run tests/console"; exit 1
  fi
fi
step "typecheck"
bun run typecheck || status=1
step "lint"
bun run lint || status=1
step "format"
bun run format:check || status=1
step "house rules (import layers, private files, Bun/process)"
bun test tests/architecture.test.ts || status=1
step "migrations embedded"
bun scripts/gen-migrations.ts --check || status=1
step "build binary"
bun run build || status=1

step "bun test"
rm -f junit.xml
bun test --timeout 30000 --reporter=junit --reporter-outfile=junit.xml "$@"
test_status=$?
[ $test_status -eq 0 ] || status=1
if [ -f junit.xml ]; then
  line=$(grep -m1 -o '<testsuites[^>]*>' junit.xml)
  tests=$(echo "$line" | sed -nE 's/.*tests="([0-9]+)".*/\1/p')
  failures=$(echo "$line" | sed -nE 's/.*failures="([0-9]+)".*/\1/p')
  errors=$(echo "$line" | sed -nE 's/.*errors="([0-9]+)".*/\1/p')
  skipped=$(echo "$line" | sed -nE 's/.*skipped="([0-9]+)".*/\1/p')
  failed=$(( ${failures:-0} + ${errors:-0} ))
  passed=$(( ${tests:-0} - failed - ${skipped:-0} ))
  [ "${tests:-0}" -gt 0 ] || status=1
  echo
  echo "${passed} passed, ${failed} failed, ${skipped:-0} skipped"
else
  echo "no JUnit report was written"
  echo "0 passed, 1 failed"
  status=1
fi
exit $status
