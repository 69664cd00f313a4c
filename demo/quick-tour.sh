#!/usr/bin/env bash
# A five-minute tour of the gateway against a local mock provider (no API key, no network), non-interactive:
#   bash demo/quick-tour.sh
# It starts the OpenAI-format mock (demo/mock-provider.ts) and `gateway serve` on free ports in a temp directory,
# then, with curl and the master key: creates a budget, a user on it, a virtual key and a price; makes a call and
# a stream with the openai SDK (demo/quick-tour.ts); shows /v1/usage and /metrics; and stops both (SIGTERM drain).
# Exit status 0 when every step worked.
#   GATEWAY_BIN=./dist/gateway   the gateway to run (default: dist/gateway when built, else `bun src/main.ts`)
#   KEEP=1                       leave the temp directory (database, logs) behind
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ -n "${GATEWAY_BIN:-}" ]; then GATEWAY=("$GATEWAY_BIN")
elif [ -x dist/gateway ]; then GATEWAY=("$ROOT/dist/gateway")
else GATEWAY=(bun "$ROOT/src/main.ts"); fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gw-quick-tour-XXXXXX")
MOCK_PID=""; GW_PID=""
cleanup() {
  [ -n "$GW_PID" ] && kill -TERM "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  [ -n "$MOCK_PID" ] && kill -TERM "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null || true
  if [ "${KEEP:-0}" = "1" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# json FIELD: one top-level field of the JSON on stdin.
json() { bun -e 'const v = JSON.parse(await Bun.stdin.text())[process.argv.at(-1)]; console.log(typeof v === "string" ? v : JSON.stringify(v))' "$1"; }
free_port() { bun -e 'const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() }); console.log(s.port); s.stop(true)'; }
wait_for() { for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1; }

step "mock provider (OpenAI wire format, canned answers)"
bun demo/mock-provider.ts >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
wait_for "$WORK/mock.log" MOCK_API_BASE=
MOCK_API_BASE=$(sed -n 's/^MOCK_API_BASE=//p' "$WORK/mock.log")
echo "$MOCK_API_BASE"

step "gateway serve (SQLite in $WORK, metrics on)"
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
MASTER="gwm-quick-tour-$(bun -e 'console.log(crypto.randomUUID())')"
cat >"$WORK/config.yml" <<YAML
database_url: "sqlite:///$WORK/gateway.db"
master_key: "$MASTER"
bootstrap_api_key: false
enable_metrics: true
log_format: json
providers:
  openai:
    api_key: sk-quick-tour-not-a-real-key
    api_base: "$MOCK_API_BASE"
YAML
(cd "$WORK" && exec "${GATEWAY[@]}" serve --config "$WORK/config.yml" --host 127.0.0.1 --port "$PORT") >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
for _ in $(seq 1 150); do curl -fsS "$URL/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$URL/health"; echo

M=(-fsS -H "Authorization: Bearer $MASTER" -H "Content-Type: application/json")

step "budget: \$5 a day"
BUDGET=$(curl "${M[@]}" "$URL/v1/budgets" -d '{"max_budget": 5, "budget_duration_sec": 86400}')
echo "$BUDGET"
BUDGET_ID=$(echo "$BUDGET" | json budget_id)

step "user alice on that budget"
curl "${M[@]}" "$URL/v1/users" -d "{\"user_id\": \"alice\", \"alias\": \"Alice\", \"budget_id\": \"$BUDGET_ID\"}"; echo

step "virtual key for alice (the secret is shown once)"
KEY_JSON=$(curl "${M[@]}" "$URL/v1/keys" -d '{"key_name": "quick-tour", "user_id": "alice"}')
KEY=$(echo "$KEY_JSON" | json key)
echo "key id $(echo "$KEY_JSON" | json id), secret ${KEY:0:10}..."

step "price for openai:gpt-4o-mini (USD per million tokens)"
curl "${M[@]}" "$URL/v1/pricing" -d '{"model_key": "openai:gpt-4o-mini", "input_price_per_million": 0.15, "output_price_per_million": 0.6}'; echo

step "a call and a stream with the openai SDK (demo/quick-tour.ts)"
GATEWAY_URL="$URL" GATEWAY_KEY="$KEY" MODEL="openai:gpt-4o-mini" bun demo/quick-tour.ts

step "/v1/usage for alice (rows are written in batches: give them a moment)"
for _ in $(seq 1 50); do
  USAGE=$(curl "${M[@]}" "$URL/v1/usage?user_id=alice")
  [ "$(echo "$USAGE" | bun -e 'console.log(JSON.parse(await Bun.stdin.text()).length)')" -ge 2 ] && break
  sleep 0.1
done
echo "$USAGE" | bun -e 'for (const r of JSON.parse(await Bun.stdin.text())) console.log(`${r.timestamp}  ${r.endpoint}  ${r.provider}:${r.model}  ${r.prompt_tokens}+${r.completion_tokens} tokens  $${r.cost}  ${r.status}`)'
[ "$(echo "$USAGE" | bun -e 'console.log(JSON.parse(await Bun.stdin.text()).length)')" -ge 2 ]

step "/metrics (a few of the gateway's own series)"
METRICS=$(curl -fsS "$URL/metrics")
echo "$METRICS" | grep -E '^gateway_(requests_total|tokens_total|active_requests|usage_log_queue_depth|request_cost_dollars_count)' | head -n 12
echo "$METRICS" | grep -q '^gateway_tokens_total{.*provider="openai"'

step "stop (SIGTERM: drain, flush usage, exit 0)"
kill -TERM "$GW_PID"
status=0
wait "$GW_PID" || status=$?
GW_PID=""
echo "gateway exited with $status"
[ "$status" -eq 0 ]
echo; echo "quick tour finished"
