import { MOCK_TEXT, MOCK_USAGE, type MockScenario, chunkText } from "./scenario.ts";
import { createMessageBatchStore } from "./anthropic-batches-mock.ts";
import { type MockOptions, type MockServer, json, sseResponse, startMockServer, timedSteps } from "./server.ts";
import { messagesLoopResponse } from "./tool-loop.ts";

/**
 * An Anthropic Messages upstream speaking the real wire format (https://docs.anthropic.com/en/api/messages,
 * .../messages-streaming, .../errors): POST /v1/messages (JSON and SSE with event names), GET /v1/models,
 * error bodies `{"type":"error","error":{type,message},"request_id"}`, 529 overloaded. A request whose
 * tool_choice forces a tool gets that tool's `tool_use` back (as the real API does).
 *
 *   const mock = startAnthropicMock();        // { url, apiBase: url, requests, setScenario, reset, stop }
 */

export const MOCK_ANTHROPIC_TOOL = { id: "toolu_mock_1", name: "get_weather", input: { city: "Paris" } } as const;

const ERRORS: Record<number, [string, string]> = {
  400: ["invalid_request_error", "max_tokens: Field required (key sk-ant-api03-abcdefghijklmnop leaked)"],
  401: ["authentication_error", "invalid x-api-key"],
  402: ["billing_error", "Your credit balance is too low to access the Anthropic API."],
  403: ["permission_error", "Your API key does not have permission to use the specified resource."],
  404: ["not_found_error", "model: missing-model"],
  413: ["request_too_large", "Request exceeds the maximum allowed number of bytes."],
  429: ["rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"],
  500: ["api_error", "Internal server error"],
  529: ["overloaded_error", "Overloaded"],
};

const errorBody = (status: number) => {
  const [type, message] = ERRORS[status] ?? ["api_error", "Internal server error"];
  return { type: "error", error: { type, message }, request_id: "req_mock_error" };
};

function errorResponse(s: MockScenario): Response {
  const status = s.errorStatus ?? 500;
  const headers: Record<string, string> = { "request-id": "req_mock_error" };
  if (status === 429 || status === 529) {
    if (s.retryVariant === "ms") headers["retry-after-ms"] = "1500";
    else headers["retry-after"] = "7";
    headers["anthropic-ratelimit-requests-remaining"] = "0";
  }
  return json(errorBody(status), status, headers);
}

function usage(s: MockScenario, output: number) {
  return {
    input_tokens: MOCK_USAGE.prompt,
    cache_creation_input_tokens: s.cache ? MOCK_USAGE.cacheWrite : 0,
    cache_read_input_tokens: s.cache ? MOCK_USAGE.cacheRead : 0,
    output_tokens: output,
  };
}

/** The tool a request forces with `tool_choice: {type:"tool", name}`, if any. */
function forcedTool(body: Record<string, unknown>): string | null {
  const choice = body["tool_choice"] as { type?: string; name?: string } | undefined;
  return choice?.type === "tool" && choice.name ? choice.name : null;
}

function messageJson(model: string, s: MockScenario, body: Record<string, unknown>): Response {
  const forced = forcedTool(body);
  const content: Record<string, unknown>[] = [];
  if (s.reasoning) content.push({ type: "thinking", thinking: "Thinking it over.", signature: "sig_mock" });
  if (forced) content.push({ type: "tool_use", id: "toolu_forced", name: forced, input: { answer: 42 } });
  else if (s.tools) content.push({ type: "text", text: "Let me check." }, { type: "tool_use", ...MOCK_ANTHROPIC_TOOL });
  else content.push({ type: "text", text: MOCK_TEXT });
  return json(
    {
      id: "msg_mock",
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: forced || s.tools ? "tool_use" : "end_turn",
      stop_sequence: null,
      usage: usage(s, MOCK_USAGE.completion),
    },
    200,
    { "request-id": "req_mock" },
  );
}

function messageStream(model: string, s: MockScenario, body: Record<string, unknown>, signal: AbortSignal): Response {
  const ev = (type: string, payload: Record<string, unknown> = {}) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;
  if (s.errorFirst)
    return sseResponse([ev("error", { error: { type: "overloaded_error", message: "Overloaded" } })], signal);
  const start = { ...usage(s, 1) };
  const events = [
    ev("message_start", {
      message: {
        id: "msg_mock",
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: start,
      },
    }),
    ev("ping"),
  ];
  let index = 0;
  if (s.reasoning) {
    events.push(ev("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } }));
    events.push(ev("content_block_delta", { index, delta: { type: "thinking_delta", thinking: "Thinking it over." } }));
    events.push(ev("content_block_delta", { index, delta: { type: "signature_delta", signature: "sig_mock" } }));
    events.push(ev("content_block_stop", { index: index++ }));
  }
  if (s.malformed) events.push("event: content_block_delta\ndata: {not json\n\n");
  const forced = forcedTool(body);
  let output = s.chunks;
  if (forced || s.tools) {
    const tool = forced
      ? { id: "toolu_forced", name: forced }
      : { id: MOCK_ANTHROPIC_TOOL.id, name: MOCK_ANTHROPIC_TOOL.name };
    const parts = forced ? ['{"answer"', ": 42}"] : ['{"city":', ' "Paris"}'];
    events.push(ev("content_block_start", { index, content_block: { type: "tool_use", ...tool, input: {} } }));
    for (const partial_json of parts)
      events.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json } }));
    events.push(ev("content_block_stop", { index }));
    output = 3;
  } else {
    events.push(ev("content_block_start", { index, content_block: { type: "text", text: "" } }));
    for (let i = 0; i < s.chunks; i++)
      events.push(ev("content_block_delta", { index, delta: { type: "text_delta", text: chunkText(i) } }));
    events.push(ev("content_block_stop", { index }));
  }
  const stop = forced || s.tools ? "tool_use" : "end_turn";
  // Newer API versions repeat input counts in message_delta; output_tokens is cumulative
  events.push(
    ev("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: output } }),
  );
  events.push(ev("message_stop"));
  const failure = ev("error", { error: { type: "overloaded_error", message: "Overloaded" } });
  return sseResponse(timedSteps(events, s, failure), signal);
}

/**
 * One Messages call (JSON or SSE by `stream`), for mocks of other hosts that speak the Anthropic wire
 * (Azure Foundry, Vertex rawPredict): errors, malformed bodies and scenarios as startAnthropicMock.
 */
export function anthropicMessages(
  ctx: { req: Request; model: string; body: Record<string, unknown>; scenario: MockScenario },
  stream: boolean,
): Response {
  const s = ctx.scenario;
  if (s.errorStatus !== null) return errorResponse(s);
  const model = ctx.model || "claude-mock";
  if (s.malformed && !stream)
    return new Response('{"id": "msg_broken", "content": [', { headers: { "content-type": "application/json" } });
  if (s.toolLoop > 0) return messagesLoopResponse(model, s, { ...ctx.body, stream }, ctx.req.signal);
  return stream && !s.jsonStream ? messageStream(model, s, ctx.body, ctx.req.signal) : messageJson(model, s, ctx.body);
}

export function startAnthropicMock(options: MockOptions = {}): MockServer {
  const batches = createMessageBatchStore((model, s, params) => messageJson(model, s, params));
  return startMockServer(options, "", async ({ req, path, body, model, scenario: s }) => {
    if (s.errorStatus !== null) return errorResponse(s);
    const batchAnswer = path.startsWith("/v1/messages/batches") ? await batches.handle(req, path, body) : null;
    if (batchAnswer) return batchAnswer;
    if (req.method === "GET" && path === "/v1/models")
      return json({
        data: [
          {
            type: "model",
            id: "claude-sonnet-4-5",
            display_name: "Claude Sonnet 4.5",
            created_at: "2025-09-29T00:00:00Z",
          },
        ],
        has_more: false,
        first_id: "claude-sonnet-4-5",
        last_id: "claude-sonnet-4-5",
      });
    if (path !== "/v1/messages")
      return json({ type: "error", error: { type: "not_found_error", message: "Not found" } }, 404);
    return anthropicMessages({ req, model, body, scenario: s }, body["stream"] === true);
  });
}
