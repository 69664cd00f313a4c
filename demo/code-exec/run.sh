#!/usr/bin/env bash
# Built-in code execution, end to end with nothing but the gateway (no docker, no API key):
#   bash demo/code-exec/run.sh
# A mock model (the repo's OpenAI-format mock, scenario `toolloop`) asks for the user's text to be run as Python;
# the gateway runs it in its embedded sandbox (hardened Pyodide in a child process) and feeds the result back.
# Against a real model, put any model in place of `openai:toolloop` and ask in plain words.
#   GATEWAY_BIN=./dist/gateway   the gateway to run (default: dist/gateway when built, else `bun src/main.ts`)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
if [ -n "${GATEWAY_BIN:-}" ]; then GATEWAY=("$GATEWAY_BIN")
elif [ -x dist/gateway ]; then GATEWAY=("$ROOT/dist/gateway")
else GATEWAY=(bun "$ROOT/src/main.ts"); fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gw-code-exec-XXXXXX")
MOCK_PID=""; GW_PID=""
cleanup() {
  [ -n "$GW_PID" ] && kill -TERM "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  [ -n "$MOCK_PID" ] && kill -TERM "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_for() { for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out waiting for '$2'" >&2; cat "$1" >&2; return 1; }
port() { bun -e 'const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() }); console.log(s.port); s.stop(true)'; }

bun demo/mock-provider.ts >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
wait_for "$WORK/mock.log" MOCK_API_BASE=
MOCK_API_BASE=$(sed -n 's/^MOCK_API_BASE=//p' "$WORK/mock.log")

PORT=$(port)
MASTER=demo-master-key-0123456789
cat >"$WORK/config.yml" <<YAML
master_key: "$MASTER"
database_url: "sqlite:///$WORK/gw.db"
providers:
  openai: { api_key: "sk-demo", api_base: "$MOCK_API_BASE" }
YAML
(cd "$WORK" && exec "${GATEWAY[@]}" serve --config config.yml --host 127.0.0.1 --port "$PORT") >"$WORK/gw.log" 2>&1 &
GW_PID=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done

KEY=$(curl -fsS "http://127.0.0.1:$PORT/v1/keys" -H "Authorization: Bearer $MASTER" -H 'content-type: application/json' \
  -d '{"key_name":"code-exec-demo","user_id":"demo"}' | bun -e 'console.log(JSON.parse(await Bun.stdin.text()).key)')

echo "asking for 23! through otari_code_execution (first call warms the sandbox: a few seconds)..."
curl -fsS "http://127.0.0.1:$PORT/v1/chat/completions" \
  -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d '{"model":"openai:toolloop","tools":[{"type":"otari_code_execution"}],
       "messages":[{"role":"user","content":"import math\nprint(math.factorial(23))"}]}' >"$WORK/answer.json" \
  || { echo "request failed"; cat "$WORK/gw.log"; exit 1; }
bun -e 'const r = JSON.parse(await Bun.file(process.argv.at(-1)).text()); console.log(r.choices[0].message.content); console.log("usage:", JSON.stringify(r.usage))' "$WORK/answer.json"
grep -q 25852016738884976640000 "$WORK/answer.json" && echo "OK: 23! = 25852016738884976640000"
