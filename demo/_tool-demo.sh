# Shared by demo/code-exec/run.sh and demo/web-search/run.sh (sourced, not run): starts the repo's OpenAI-format
# mock model and a gateway on free ports in a temp directory, mints a key, and asks one tool-loop question.
#   GATEWAY_BIN=./dist/gateway   the gateway to run (default: dist/gateway when built, else `bun src/main.ts`)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
if [ -n "${GATEWAY_BIN:-}" ]; then GATEWAY=("$GATEWAY_BIN")
elif [ -x dist/gateway ]; then GATEWAY=("$ROOT/dist/gateway")
else GATEWAY=(bun "$ROOT/src/main.ts"); fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gw-tool-demo-XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_for() { for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out waiting for '$2'" >&2; cat "$1" >&2; return 1; }
free_port() { bun -e 'const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() }); console.log(s.port); s.stop(true)'; }

# start_bg NAME VAR CMD...: runs CMD in the background and sets $VAR from the `VAR=<value>` line it prints.
# (Not called inside $(...): the background pid must reach PIDS in this shell for the cleanup.)
start_bg() {
  local name=$1 var=$2; shift 2
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  wait_for "$WORK/$name.log" "$var="
  printf -v "$var" '%s' "$(sed -n "s/^$var=//p" "$WORK/$name.log")"
}

# start_gateway [ENV=VALUE...]: the gateway with the mock model as `openai`; sets PORT and KEY.
start_gateway() {
  start_bg mock MOCK_API_BASE bun demo/mock-provider.ts
  PORT=$(free_port)
  local master=demo-master-key-0123456789
  printf 'master_key: "%s"\ndatabase_url: "sqlite:///%s/gw.db"\nproviders:\n  openai: { api_key: "sk-demo", api_base: "%s" }\n' "$master" "$WORK" "$MOCK_API_BASE" >"$WORK/config.yml"
  (cd "$WORK" && exec env "$@" "${GATEWAY[@]}" serve --config config.yml --host 127.0.0.1 --port "$PORT") >"$WORK/gw.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
  KEY=$(curl -fsS "http://127.0.0.1:$PORT/v1/keys" -H "Authorization: Bearer $master" -H 'content-type: application/json' \
    -d '{"key_name":"tool-demo","user_id":"demo"}' | bun -e 'console.log(JSON.parse(await Bun.stdin.text()).key)')
}

# ask TOOL_TYPE USER_TEXT: one chat completion with that built-in tool; prints the answer, leaves it in $WORK/answer.json.
ask() {
  local body
  body=$(bun -e 'console.log(JSON.stringify({ model: "openai:toolloop", tools: [{ type: process.argv[1] }], messages: [{ role: "user", content: process.argv[2] }] }))' "$1" "$2")
  curl -fsS "http://127.0.0.1:$PORT/v1/chat/completions" -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
    -d "$body" >"$WORK/answer.json" || { echo "request failed"; cat "$WORK/gw.log"; exit 1; }
  bun -e 'const r = JSON.parse(await Bun.file(process.argv[1]).text()); console.log(r.choices[0].message.content); console.log("usage:", JSON.stringify(r.usage))' "$WORK/answer.json"
}
