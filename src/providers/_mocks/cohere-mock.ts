import { rankDocuments, rerankInput } from "./rerank-wire.ts";
import { MOCK_TEXT, MOCK_TOOL, MOCK_USAGE, type MockScenario, chunkText } from "./scenario.ts";
import {
  type MockHandler,
  type MockOptions,
  type MockServer,
  json,
  sseResponse,
  startMockServer,
  timedSteps,
} from "./server.ts";

/**
 * A Cohere v2 upstream (https://docs.cohere.com/reference/chat, /chat-stream, /embed, /list-models):
 * POST /v2/chat (JSON; with `stream: true` SSE frames `event: <type>` + `data: {"type": ...}`: message-start,
 * content-start, content-delta, content-end, tool-plan-delta, tool-call-start/delta/end, message-end with
 * finish_reason and usage {billed_units, tokens, cached_tokens}), POST /v2/embed, GET /v1/models (paged by
 * page_token). Errors are `{"id", "message"}`; requests without `Authorization: Bearer` get 401.
 */

const MESSAGES: Record<number, string> = {
  400: 'invalid request: unknown field: parameter "sk-proj-abcdef1234567890XYZ" is not a valid field (Bearer abc.def.ghi)',
  401: "invalid api token",
  402: "Please add or update your payment method at https://dashboard.cohere.com/billing?tab=payment to continue",
  404: "model 'missing-model' not found, make sure the correct model ID was used and that you have access to the model.",
  422: "invalid request: messages must contain at least one message",
  429: "You are using a Trial key, which is limited to 20 API calls / minute.",
  500: "internal server error, this has been reported to our developers.",
  503: "service unavailable",
};

const error = (status: number) =>
  json({ id: "err-mock", message: MESSAGES[status] ?? "internal server error" }, status);

function usage(s: MockScenario, output: number): Record<string, unknown> {
  const counts = { input_tokens: MOCK_USAGE.prompt, output_tokens: output };
  // billed_units can be lower than tokens (system prompt tokens are not billed); the adapter must prefer tokens
  const u: Record<string, unknown> = {
    billed_units: { input_tokens: MOCK_USAGE.prompt - 3, output_tokens: output },
    tokens: counts,
  };
  if (s.cache) u["cached_tokens"] = MOCK_USAGE.cacheRead;
  return u;
}

function chatJson(s: MockScenario): Response {
  const content: Record<string, unknown>[] = [];
  if (s.reasoning) content.push({ type: "thinking", thinking: "Thinking it over." });
  const message: Record<string, unknown> = { role: "assistant" };
  if (s.tools) {
    message["tool_plan"] = "I will look up the weather.";
    message["tool_calls"] = [
      { id: "get_weather_mock1", type: "function", function: { name: MOCK_TOOL.name, arguments: MOCK_TOOL.arguments } },
    ];
  } else content.push({ type: "text", text: MOCK_TEXT });
  if (content.length > 0) message["content"] = content;
  const body: Record<string, unknown> = { id: "co-mock", finish_reason: s.tools ? "TOOL_CALL" : "COMPLETE", message };
  if (!s.noUsage) body["usage"] = usage(s, MOCK_USAGE.completion);
  return json(body);
}

function chatStream(s: MockScenario, signal: AbortSignal): Response {
  const ev = (type: string, payload: Record<string, unknown> = {}) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;
  if (s.errorFirst) return sseResponse([`data: ${JSON.stringify({ message: MESSAGES[503] })}\n\n`], signal);
  const events = [
    ev("message-start", {
      id: "co-mock",
      delta: { message: { role: "assistant", content: [], tool_plan: "", tool_calls: [], citations: [] } },
    }),
  ];
  if (s.reasoning) {
    events.push(ev("content-start", { index: 0, delta: { message: { content: { type: "thinking", thinking: "" } } } }));
    events.push(ev("content-delta", { index: 0, delta: { message: { content: { thinking: "Thinking it over." } } } }));
    events.push(ev("content-end", { index: 0 }));
  }
  if (s.malformed) events.push("event: content-delta\ndata: {not json\n\n");
  let output = s.chunks;
  if (s.tools) {
    events.push(ev("tool-plan-delta", { delta: { message: { tool_plan: "I will look up the weather." } } }));
    events.push(
      ev("tool-call-start", {
        index: 0,
        delta: {
          message: {
            tool_calls: {
              id: "get_weather_mock1",
              type: "function",
              function: { name: MOCK_TOOL.name, arguments: "" },
            },
          },
        },
      }),
    );
    for (const part of ['{"city":', '"Paris"}'])
      events.push(
        ev("tool-call-delta", { index: 0, delta: { message: { tool_calls: { function: { arguments: part } } } } }),
      );
    events.push(ev("tool-call-end", { index: 0 }));
    output = 3;
  } else {
    const index = s.reasoning ? 1 : 0;
    events.push(ev("content-start", { index, delta: { message: { content: { type: "text", text: "" } } } }));
    for (let i = 0; i < s.chunks; i++)
      events.push(ev("content-delta", { index, delta: { message: { content: { text: chunkText(i) } } } }));
    events.push(ev("content-end", { index }));
  }
  const end: Record<string, unknown> = { finish_reason: s.tools ? "TOOL_CALL" : "COMPLETE" };
  if (!s.noUsage) end["usage"] = usage(s, output);
  events.push(ev("message-end", { delta: end }));
  return sseResponse(timedSteps(events, s, `data: ${JSON.stringify({ message: MESSAGES[500] })}\n\n`), signal);
}

export function startCohereMock(options: MockOptions = {}): MockServer {
  const handler: MockHandler = ({ req, path, body, scenario: s }) => {
    if (!req.headers.get("authorization")?.startsWith("Bearer ")) return error(401);
    if (s.errorStatus !== null) return error(s.errorStatus);
    if (req.method === "GET" && path === "/v1/models") {
      const second = new URL(req.url).searchParams.get("page_token") === "p2";
      return json(
        second
          ? { models: [{ name: "embed-v4.0", endpoints: ["embed"] }] }
          : { models: [{ name: "command-a-03-2025", endpoints: ["chat"] }], next_page_token: "p2" },
      );
    }
    if (path === "/v2/embed") {
      const texts = Array.isArray(body["texts"]) ? body["texts"] : [];
      return json({
        id: "emb-mock",
        embeddings: { float: texts.map(() => [0.1, 0.2, 0.3]) },
        texts,
        meta: { api_version: { version: "2" }, billed_units: { input_tokens: 2 * texts.length } },
      });
    }
    if (path === "/v2/rerank") {
      // https://docs.cohere.com/reference/rerank: one search unit per query with up to 100 documents.
      const input = rerankInput(body);
      if (typeof input === "string") return json({ id: "err-mock", message: input }, 400);
      const topN = typeof body["top_n"] === "number" ? body["top_n"] : null;
      return json({
        results: rankDocuments(input.query, input.documents, topN),
        id: `rerank-${crypto.randomUUID()}`,
        meta: {
          api_version: { version: "2" },
          billed_units: { search_units: Math.ceil(input.documents.length / 100) },
        },
      });
    }
    if (path !== "/v2/chat") return error(404);
    if (s.malformed && body["stream"] !== true)
      return new Response('{"id": "co-broken", "message": {', { headers: { "content-type": "application/json" } });
    return body["stream"] === true && !s.jsonStream ? chatStream(s, req.signal) : chatJson(s);
  };
  return startMockServer(options, "", handler);
}
