#!/usr/bin/env bash
# Built-in web search, end to end without docker or an API key:
#   bash demo/web-search/run.sh
# A mock model (the repo's OpenAI-format mock, scenario `toolloop`) asks to search for the user's text; the
# gateway queries a SearXNG-compatible backend (demo/web-search/mock-searxng.ts; in production a SearXNG instance,
# see docker-compose.yml's web-search profile), fetches the top pages, turns them into Markdown and feeds them back.
# The mock serves its page on 127.0.0.1, so the demo allows private hosts; never do that in production.
#   GATEWAY_BIN=./dist/gateway   the gateway to run (default: dist/gateway when built, else `bun src/main.ts`)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
if [ -n "${GATEWAY_BIN:-}" ]; then GATEWAY=("$GATEWAY_BIN")
elif [ -x dist/gateway ]; then GATEWAY=("$ROOT/dist/gateway")
else GATEWAY=(bun "$ROOT/src/main.ts"); fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gw-web-search-XXXXXX")
MOCK_PID=""; GW_PID=""; SEARCH_PID=""
cleanup() {
  [ -n "$GW_PID" ] && kill -TERM "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  [ -n "$MOCK_PID" ] && kill -TERM "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null || true
  [ -n "$SEARCH_PID" ] && kill -TERM "$SEARCH_PID" 2>/dev/null && wait "$SEARCH_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_for() { for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out waiting for '$2'" >&2; cat "$1" >&2; return 1; }
port() { bun -e 'const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() }); console.log(s.port); s.stop(true)'; }

bun demo/mock-provider.ts >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
wait_for "$WORK/mock.log" MOCK_API_BASE=
MOCK_API_BASE=$(sed -n 's/^MOCK_API_BASE=//p' "$WORK/mock.log")
bun demo/web-search/mock-searxng.ts >"$WORK/search.log" 2>&1 &
SEARCH_PID=$!
wait_for "$WORK/search.log" SEARCH_URL=
SEARCH_URL=$(sed -n 's/^SEARCH_URL=//p' "$WORK/search.log")

PORT=$(port)
MASTER=demo-master-key-0123456789
cat >"$WORK/config.yml" <<YAML
master_key: "$MASTER"
database_url: "sqlite:///$WORK/gw.db"
providers:
  openai: { api_key: "sk-demo", api_base: "$MOCK_API_BASE" }
YAML
(cd "$WORK" && GATEWAY_WEB_SEARCH_URL="$SEARCH_URL" GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS=true exec "${GATEWAY[@]}" serve --config config.yml --host 127.0.0.1 --port "$PORT") >"$WORK/gw.log" 2>&1 &
GW_PID=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done

KEY=$(curl -fsS "http://127.0.0.1:$PORT/v1/keys" -H "Authorization: Bearer $MASTER" -H 'content-type: application/json' \
  -d '{"key_name":"web-search-demo","user_id":"demo"}' | bun -e 'console.log(JSON.parse(await Bun.stdin.text()).key)')

echo "searching through otari_web_search..."
curl -fsS "http://127.0.0.1:$PORT/v1/chat/completions" \
  -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d '{"model":"openai:toolloop","tools":[{"type":"otari_web_search"}],
       "messages":[{"role":"user","content":"what is bun"}]}' >"$WORK/answer.json" \
  || { echo "request failed"; cat "$WORK/gw.log"; exit 1; }
bun -e 'const r = JSON.parse(await Bun.file(process.argv.at(-1)).text()); console.log(r.choices[0].message.content); console.log("usage:", JSON.stringify(r.usage))' "$WORK/answer.json"
grep -q "bun test" "$WORK/answer.json" && echo "OK: the page was fetched and turned into Markdown (its table included)"
