#!/usr/bin/env bash
# One command from a fresh clone to a running gateway on SQLite (no config needed):
#   bash scripts/start.sh [serve flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-bun.sh
bun install --frozen-lockfile >&2
exec bun src/main.ts serve "$@"
