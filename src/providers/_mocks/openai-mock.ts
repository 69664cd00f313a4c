import { createBatchStore } from "./openai-batches-mock.ts";
import { rankDocuments, rerankInput, rerankTokens } from "./rerank-wire.ts";
import { type ResponsesTurn, responseErrorFrame, responseEventFrames, responseObject } from "./responses-wire.ts";
import { MOCK_TEXT, MOCK_TOOL, MOCK_USAGE, type MockScenario, chunkText } from "./scenario.ts";
import { type MockOptions, type MockServer, json, sseResponse, startMockServer, timedSteps } from "./server.ts";
import { chatStructuredText, responsesStructuredText } from "./structured-output.ts";
import { chatLoopResponse, responsesLoopResponse } from "./tool-loop.ts";

/**
 * An OpenAI-format upstream speaking the real wire format (https://platform.openai.com/docs/api-reference):
 * POST /v1/chat/completions (JSON and SSE, usage chunk only when `stream_options.include_usage`),
 * /v1/embeddings (float or base64 vectors), /v1/moderations, /v1/responses (JSON and SSE, responses-wire.ts), GET
 * /v1/models, and the Batch API with its files (openai-batches-mock.ts). A request asking for structured output (`response_format`, `text.format`) gets JSON fitting its schema
 * (structured-output.ts). Scenarios: see scenario.ts.
 *
 *   const mock = startOpenAIMock();           // { url, apiBase: `${url}/v1`, requests, setScenario, reset, stop }
 *   ... model "tools+cache" / "error-429" / "break-stream" ...
 *   mock.requests.at(-1)?.body                // what the gateway sent upstream
 *   await mock.stop();
 */

const ERROR_MESSAGES: Record<number, [string, string]> = {
  400: [
    "invalid_request_error",
    "Invalid value for 'temperature': sk-proj-abcdef1234567890XYZ was sent with Bearer abc.def.ghi",
  ],
  401: [
    "invalid_request_error",
    "Incorrect API key provided: sk-test-1234567890abcdef. You can find your API key at https://platform.openai.com/account/api-keys.",
  ],
  402: ["insufficient_quota", "You exceeded your current quota, please check your plan and billing details."],
  403: ["invalid_request_error", "You are not allowed to sample from this model"],
  404: ["invalid_request_error", "The model `missing-model` does not exist or you do not have access to it."],
  413: ["invalid_request_error", "Request too large for model: 9000000 tokens requested."],
  429: ["requests", "Rate limit reached for requests. Please try again in 7s."],
};

function errorResponse(s: MockScenario): Response {
  const status = s.errorStatus ?? 500;
  if (status === 422)
    return json({ detail: [{ loc: ["body", "messages"], msg: "Field required", type: "missing" }] }, 422);
  const [type, message] = ERROR_MESSAGES[status] ?? [
    "server_error",
    "The server had an error while processing your request.",
  ];
  const headers: Record<string, string> = { "x-request-id": "req_mock_error" };
  if (status === 429) {
    headers["x-ratelimit-limit-requests"] = "60";
    if (s.retryVariant === "seconds") headers["retry-after"] = "7";
    if (s.retryVariant === "ms") headers["retry-after-ms"] = "1500";
    if (s.retryVariant === "reset") {
      headers["x-ratelimit-remaining-requests"] = "0";
      headers["x-ratelimit-reset-requests"] = "6m0s";
      headers["x-ratelimit-remaining-tokens"] = "5000";
      headers["x-ratelimit-reset-tokens"] = "20ms";
    }
  }
  return json(
    { error: { message, type, param: null, code: status === 429 ? "rate_limit_exceeded" : null } },
    status,
    headers,
  );
}

const created = () => Math.floor(Date.now() / 1000);

function usageObject(s: MockScenario, completion: number) {
  const usage: Record<string, unknown> = {
    prompt_tokens: MOCK_USAGE.prompt,
    completion_tokens: completion,
    total_tokens: MOCK_USAGE.prompt + completion,
  };
  if (s.cache) usage["prompt_tokens_details"] = { cached_tokens: MOCK_USAGE.cacheRead };
  if (s.reasoning) usage["completion_tokens_details"] = { reasoning_tokens: MOCK_USAGE.reasoning };
  if (s.usageCount !== null)
    for (const k of ["prompt_tokens", "completion_tokens", "total_tokens"]) usage[k] = s.usageCount;
  return usage;
}

function chatJson(model: string, s: MockScenario, request: Record<string, unknown>): Response {
  const message: Record<string, unknown> = s.tools
    ? {
        role: "assistant",
        content: null,
        refusal: null,
        annotations: [],
        tool_calls: [
          { id: MOCK_TOOL.id, type: "function", function: { name: MOCK_TOOL.name, arguments: MOCK_TOOL.arguments } },
        ],
      }
    : { role: "assistant", content: chatStructuredText(request) ?? MOCK_TEXT, refusal: null, annotations: [] };
  if (s.reasoning) message["reasoning_content"] = "Thinking it over.";
  const body: Record<string, unknown> = {
    id: "chatcmpl-mock",
    object: "chat.completion",
    created: created(),
    model,
    system_fingerprint: "fp_mock",
    choices: [{ index: 0, message, logprobs: null, finish_reason: s.tools ? "tool_calls" : "stop" }],
  };
  if (!s.noUsage) body["usage"] = usageObject(s, MOCK_USAGE.completion);
  return json(body, 200, { "x-request-id": "req_mock" });
}

function chatStream(
  model: string,
  s: MockScenario,
  body: Record<string, unknown>,
  signal: AbortSignal,
  usageOnFinish: boolean,
): Response {
  const includeUsage = (body["stream_options"] as { include_usage?: boolean } | undefined)?.include_usage === true;
  const structured = chatStructuredText(body);
  const base = {
    id: "chatcmpl-mock",
    object: "chat.completion.chunk",
    created: created(),
    model,
    system_fingerprint: "fp_mock",
  };
  const data = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ ...base, choices, ...extra })}\n\n`;
  const delta = (d: Record<string, unknown>, finish: string | null = null) => [
    { index: 0, delta: d, logprobs: null, finish_reason: finish },
  ];
  if (s.errorFirst)
    return sseResponse(
      [
        `data: ${JSON.stringify({ error: { message: "The server is overloaded", type: "server_error", code: null } })}\n\n`,
      ],
      signal,
    );
  const events: string[] = [data(delta({ role: "assistant", content: "", refusal: null }))];
  if (s.reasoning) events.push(data(delta({ reasoning_content: "Thinking it over." })));
  if (s.malformed) events.push("data: {this is not json\n\n");
  if (s.tools) {
    events.push(
      data(
        delta({
          tool_calls: [
            { index: 0, id: MOCK_TOOL.id, type: "function", function: { name: MOCK_TOOL.name, arguments: "" } },
          ],
        }),
      ),
    );
    events.push(data(delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })));
    events.push(data(delta({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] })));
  } else if (structured !== null) {
    for (const part of [structured.slice(0, 1), structured.slice(1)]) events.push(data(delta({ content: part })));
  } else for (let i = 0; i < s.chunks; i++) events.push(data(delta({ content: chunkText(i) })));
  const completion = s.tools ? 3 : structured !== null ? 2 : s.chunks;
  const usage = s.noUsage ? {} : { usage: usageObject(s, completion) };
  events.push(data(delta({}, s.tools ? "tool_calls" : "stop"), usageOnFinish ? usage : {}));
  if (includeUsage && !usageOnFinish && !s.noUsage) events.push(data([], usage));
  events.push("data: [DONE]\n\n");
  const failure = `data: ${JSON.stringify({ error: { message: "Internal error mid-stream", type: "server_error", code: null } })}\n\n`;
  return sseResponse(timedSteps(events, s, failure), signal);
}

/**
 * /v1/responses: a message (the mock text, JSON for structured output; streamed as `chunks-N` deltas) or, with
 * `tools`, a function call.
 */
function responsesApi(model: string, s: MockScenario, body: Record<string, unknown>, signal: AbortSignal): Response {
  const stream = body["stream"] === true;
  const structured = responsesStructuredText(body);
  const pieces =
    structured !== null
      ? [structured]
      : stream
        ? Array.from({ length: s.chunks }, (_, i) => chunkText(i))
        : [MOCK_TEXT];
  const turn: ResponsesTurn = {
    id: "resp_mock",
    model,
    request: body,
    items: s.tools
      ? [{ kind: "call", callId: MOCK_TOOL.id, name: MOCK_TOOL.name, arguments: MOCK_TOOL.arguments }]
      : [{ kind: "text", text: pieces.join("") }],
    usage: { input: MOCK_USAGE.prompt, output: MOCK_USAGE.completion, cached: s.cache ? MOCK_USAGE.cacheRead : 0 },
  };
  if (!stream || s.jsonStream) return json(responseObject(turn));
  const events = responseEventFrames(turn, (text) => (text === pieces.join("") && pieces.length > 1 ? pieces : [text]));
  // Failures come after the first delta (the events before it carry no content).
  const firstDelta = events.findIndex(
    (e) =>
      e.startsWith("event: response.output_text.delta") ||
      e.startsWith("event: response.function_call_arguments.delta"),
  );
  return sseResponse(
    timedSteps(events, s, responseErrorFrame("server_error", "mid-stream failure", firstDelta + 1), firstDelta),
    signal,
  );
}

function inputsOf(input: unknown): unknown[] {
  return Array.isArray(input) ? input : [input];
}

/**
 * A chat completions call (JSON, or SSE when `stream`), for mocks of hosts that serve the OpenAI wire (Azure).
 * `usageOnFinish`: stream usage rides on the finish chunk, asked for or not (Mistral), instead of a usage-only chunk.
 */
export function openAIChatCompletions(
  model: string,
  s: MockScenario,
  body: Record<string, unknown>,
  signal: AbortSignal,
  usageOnFinish = false,
): Response {
  if (s.malformed && body["stream"] !== true)
    return new Response('{"id": "chatcmpl-broken", "choices": [', { headers: { "content-type": "application/json" } });
  if (s.toolLoop > 0) return chatLoopResponse(model, s, body, signal);
  if (body["stream"] !== true || s.jsonStream) return chatJson(model, s, body);
  return chatStream(model, s, body, signal, usageOnFinish);
}

/** The mock's embedding vector. */
export const MOCK_EMBEDDING: readonly number[] = [0.25, -0.5, 0.75];

/** Float32 little-endian bytes in base64: `encoding_format: "base64"` (what the openai SDK asks for by default). */
function base64Vector(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString("base64");
}

const AUDIO_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  wav: "audio/wav",
  opus: "audio/opus",
  pcm: "audio/L16",
};

/**
 * Speech for `input`: one chunk of 1024 bytes per 16 characters (at least one), each byte its index mod 256, sent
 * `pauseMs` apart (scenario `pause-N`) so a test can see chunks arrive before the end.
 */
export function speechResponse(input: string, format: string, pauseMs: number): Response {
  const chunks = Math.max(1, Math.ceil(input.length / 16));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === chunks) return controller.close();
      if (sent > 0 && pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      controller.enqueue(Uint8Array.from({ length: 1024 }, (_, i) => (sent * 1024 + i) % 256));
      sent++;
    },
  });
  return new Response(body, { headers: { "content-type": AUDIO_TYPES[format] ?? "audio/mpeg" } });
}

/** Bytes of mock audio per second: a transcript's duration is its file's size over this. */
export const MOCK_AUDIO_BYTES_PER_SECOND = 16_000;

/**
 * A transcription as OpenAI answers it (https://platform.openai.com/docs/api-reference/audio/createTranscription):
 * `json` with `usage` in tokens (gpt-4o models) or in seconds (whisper), `verbose_json` with `duration` and
 * segments, and `text`, `srt` and `vtt` as plain text. The transcript is "transcript of <file name>"; the audio lasts
 * its size over MOCK_AUDIO_BYTES_PER_SECOND.
 */
export function transcriptionResponse(model: string, file: File, format: string): Response {
  const text = `transcript of ${file.name}`;
  const duration = file.size / MOCK_AUDIO_BYTES_PER_SECOND;
  const plain = (body: string) => new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });
  const stamp = (sep: string) => {
    const ms = Math.round(duration * 1000);
    const hh = String(Math.floor(ms / 3_600_000)).padStart(2, "0");
    const mm = String(Math.floor(ms / 60_000) % 60).padStart(2, "0");
    const ss = String(Math.floor(ms / 1000) % 60).padStart(2, "0");
    return `${hh}:${mm}:${ss}${sep}${String(ms % 1000).padStart(3, "0")}`;
  };
  if (format === "text") return plain(`${text}\n`);
  if (format === "srt") return plain(`1\n00:00:00,000 --> ${stamp(",")}\n${text}\n\n`);
  if (format === "vtt") return plain(`WEBVTT\n\n00:00:00.000 --> ${stamp(".")}\n${text}\n\n`);
  const usage = model.startsWith("gpt-4o")
    ? {
        type: "tokens",
        input_tokens: Math.ceil(file.size / 1000),
        input_token_details: { text_tokens: 0, audio_tokens: Math.ceil(file.size / 1000) },
        output_tokens: text.split(" ").length,
        total_tokens: Math.ceil(file.size / 1000) + text.split(" ").length,
      }
    : { type: "duration", seconds: Math.ceil(duration) };
  if (format === "verbose_json")
    return json({
      task: "transcribe",
      language: "english",
      duration,
      text,
      segments: [{ id: 0, seek: 0, start: 0, end: duration, text, tokens: [1], temperature: 0 }],
      usage,
    });
  return json({ text, usage });
}

/** A 1x1 transparent PNG: what every mock image is. */
export const MOCK_IMAGE_B64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

/** An embeddings call: one 3-dimension vector per input, 3 prompt tokens each. */
export function openAIEmbeddings(model: string, body: Record<string, unknown>): Response {
  const embedding = body["encoding_format"] === "base64" ? base64Vector(MOCK_EMBEDDING) : [...MOCK_EMBEDDING];
  const data = inputsOf(body["input"]).map((_, index) => ({ object: "embedding", index, embedding }));
  return json({
    object: "list",
    data,
    model,
    usage: { prompt_tokens: 3 * data.length, total_tokens: 3 * data.length },
  });
}

/** The moderation results for `input`: an input containing "flag" is flagged for violence. */
export function moderationResults(input: unknown): { flagged: boolean; categories: Record<string, boolean> }[] {
  return inputsOf(input).map((text) => {
    const flagged = typeof text === "string" && text.includes("flag");
    return { flagged, categories: { violence: flagged, harassment: false } };
  });
}

/**
 * How a host serving the OpenAI wire differs from OpenAI itself (mistral-mock.ts, databricks-mock.ts); every member
 * is optional and defaults to OpenAI's behaviour.
 */
export interface OpenAIWireDialect {
  /** Where the API hangs (default `/v1`). */
  basePath?: string;
  /** The host's error response for a scenario's status. */
  error?: (s: MockScenario) => Response;
  /** A refusal of the request body as the host validates it, or null when it is accepted. */
  refuse?: (body: Record<string, unknown>) => Response | null;
  /** Stream usage rides on the finish chunk whether asked for or not. */
  usageOnFinish?: boolean;
  /** The host's moderation body (default OpenAI's, with `flagged`). */
  moderation?: (model: string, input: unknown) => unknown;
}

export function startOpenAIMock(options: MockOptions & { dialect?: OpenAIWireDialect } = {}): MockServer {
  const d = options.dialect ?? {};
  const base = d.basePath ?? "/v1";
  const batchStore = createBatchStore((model, s, body) =>
    s.errorStatus !== null
      ? (d.error ?? errorResponse)(s)
      : openAIChatCompletions(model, s, body, new AbortController().signal),
  );
  return startMockServer(options, base, async ({ req, path, body, rawBody, scenario: s }) => {
    if (s.errorStatus !== null) return (d.error ?? errorResponse)(s);
    const batchAnswer =
      path.startsWith(`${base}/batches`) || path.startsWith(`${base}/files`)
        ? await batchStore.handle(req, path.slice(base.length), rawBody, body)
        : null;
    if (batchAnswer) return batchAnswer;
    const refused = d.refuse?.(body);
    if (refused) return refused;
    const model = typeof body["model"] === "string" ? body["model"] : "mock-model";
    if (s.malformed && body["stream"] !== true)
      return new Response('{"id": "chatcmpl-broken", "choices": [', {
        headers: { "content-type": "application/json" },
      });
    if (req.method === "GET" && path === `${base}/models`)
      return json({
        object: "list",
        data: [
          { id: "gpt-4o-mini", object: "model", created: 1_700_000_000, owned_by: "system" },
          { id: "text-embedding-3-small", object: "model", created: 1_700_000_001, owned_by: "system" },
        ],
      });
    if (path === `${base}/chat/completions`)
      return openAIChatCompletions(model, s, body, req.signal, d.usageOnFinish ?? false);
    if (path === `${base}/embeddings`) return openAIEmbeddings(model, body);
    if (path === `${base}/moderations`) {
      if (d.moderation) return json(d.moderation(model, body["input"]));
      const results = moderationResults(body["input"]).map((r) => ({
        ...r,
        category_scores: { violence: r.flagged ? 0.9 : 0.01, harassment: 0.0 },
      }));
      return json({ id: "modr-mock", model, results });
    }
    if (path === `${base}/audio/speech`) {
      // https://platform.openai.com/docs/api-reference/audio/createSpeech: the audio as a chunked byte stream.
      if (typeof body["input"] !== "string" || typeof body["voice"] !== "string")
        return json(
          {
            error: { message: "input and voice are required", type: "invalid_request_error", param: null, code: null },
          },
          400,
        );
      return speechResponse(body["input"], String(body["response_format"] ?? "mp3"), s.pauseMs);
    }
    if (path === `${base}/audio/transcriptions`) {
      const file = body["file"];
      if (!(file instanceof File) || typeof body["model"] !== "string")
        return json(
          {
            error: { message: "file and model are required", type: "invalid_request_error", param: null, code: null },
          },
          400,
        );
      return transcriptionResponse(model, file, String(body["response_format"] ?? "json"));
    }
    if (path === `${base}/images/generations`) {
      // https://platform.openai.com/docs/api-reference/images/create: `n` images (default 1), tokens for gpt-image.
      if (typeof body["prompt"] !== "string" || body["prompt"] === "")
        return json(
          { error: { message: "prompt is required", type: "invalid_request_error", param: "prompt", code: null } },
          400,
        );
      const n = typeof body["n"] === "number" ? body["n"] : 1;
      const asUrl = body["response_format"] === "url";
      const data = Array.from({ length: n }, (_, i) =>
        asUrl ? { url: `https://images.example/${i}.png` } : { b64_json: MOCK_IMAGE_B64 },
      );
      return json({
        created: 1_700_000_000,
        data,
        usage: {
          input_tokens: 10,
          output_tokens: 20 * n,
          total_tokens: 10 + 20 * n,
          input_tokens_details: { text_tokens: 10, image_tokens: 0 },
        },
      });
    }
    if (path === `${base}/rerank`) {
      // The Jina / vLLM shape (https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html#re-rank-api).
      const input = rerankInput(body);
      if (typeof input === "string")
        return json({ error: { message: input, type: "invalid_request_error", param: null, code: null } }, 400);
      const topN = typeof body["top_n"] === "number" ? body["top_n"] : null;
      const results = rankDocuments(input.query, input.documents, topN).map((r) => ({
        ...r,
        document: { text: input.documents[r.index] },
      }));
      const tokens = rerankTokens(input.query, input.documents);
      return json({ id: `rerank-${crypto.randomUUID()}`, model, usage: { total_tokens: tokens }, results });
    }
    if (path === `${base}/responses` && s.toolLoop > 0) return responsesLoopResponse(model, s, body, req.signal);
    if (path === `${base}/responses`) return responsesApi(model, s, body, req.signal);
    return json(
      { error: { message: `Unknown path ${path}`, type: "invalid_request_error", param: null, code: "unknown_url" } },
      404,
    );
  });
}
