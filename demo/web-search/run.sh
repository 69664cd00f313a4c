#!/usr/bin/env bash
# Built-in web search, end to end without docker or an API key:
#   bash demo/web-search/run.sh
# A mock model (the repo's OpenAI-format mock, scenario `toolloop`) asks to search for the user's text; the
# gateway queries a SearXNG-compatible backend (demo/web-search/mock-searxng.ts; in production a SearXNG instance,
# see docker-compose.yml's web-search profile), fetches the top pages, turns them into Markdown and feeds them back.
# The mock serves its page on 127.0.0.1, so the demo allows private hosts; never do that in production.
source "$(dirname "$0")/../_tool-demo.sh"
start_bg search SEARCH_URL bun demo/web-search/mock-searxng.ts
start_gateway GATEWAY_WEB_SEARCH_URL="$SEARCH_URL" GATEWAY_WEB_SEARCH_ALLOW_PRIVATE_HOSTS=true
echo "searching through otari_web_search..."
ask otari_web_search "what is bun"
grep -q "bun test" "$WORK/answer.json" && echo "OK: the page was fetched and turned into Markdown (its table included)"
