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
 * A Gemini API upstream (Google AI Studio) speaking the documented wire (https://ai.google.dev/api):
 * POST /v1beta/models/{model}:generateContent, :streamGenerateContent?alt=sse (each `data:` a whole
 * GenerateContentResponse, CRLF-framed, no [DONE]), :batchEmbedContents, GET /v1beta/models (paginated by
 * pageToken), Google error bodies `{"error":{code,message,status,details}}` with RetryInfo on 429. A request
 * without `x-goog-api-key` gets 403 PERMISSION_DENIED, as the real API answers unregistered callers.
 * Extra scenario tokens: `blocked` (promptFeedback.blockReason, no candidates), `safety` (finishReason SAFETY).
 *
 *   const mock = startGeminiMock();           // apiBase = url
 */

const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  413: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};
const MESSAGES: Record<number, string> = {
  // the contract checks that a key-like string in a 400 message is redacted
  400: 'Invalid JSON payload received. Unknown name "sk-proj-abcdef1234567890XYZ": Cannot find field. Bearer abc.def.ghi',
  401: "Request had invalid authentication credentials.",
  403: "Method doesn't allow unregistered callers (callers without established identity).",
  404: "models/missing-model is not found for API version v1beta, or is not supported for generateContent.",
  429: "You exceeded your current quota, please check your plan and billing details.",
  503: "The model is overloaded. Please try again later.",
};

export function googleError(status: number, retryDelay: string | null = null, message?: string): Response {
  const error: Record<string, unknown> = {
    code: status,
    message: message ?? MESSAGES[status] ?? "Internal error encountered.",
    status: STATUS_NAMES[status] ?? "INTERNAL",
  };
  if (retryDelay) error["details"] = [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay }];
  return json({ error }, status);
}

/** 429s name their wait in the body (RetryInfo); `error-429-ms` asks for sub-second precision. */
function scenarioError(s: MockScenario, retryInfo: boolean): Response {
  const status = s.errorStatus ?? 500;
  if (status !== 429 || !retryInfo) return googleError(status);
  return googleError(status, s.retryVariant === "ms" ? "1.500s" : "7s");
}

function usage(s: MockScenario, candidates: number): Record<string, number> {
  const u: Record<string, number> = { promptTokenCount: MOCK_USAGE.prompt, candidatesTokenCount: candidates };
  if (s.cache) u["cachedContentTokenCount"] = MOCK_USAGE.cacheRead;
  if (s.reasoning) u["thoughtsTokenCount"] = MOCK_USAGE.reasoning;
  u["totalTokenCount"] = MOCK_USAGE.prompt + candidates + (s.reasoning ? MOCK_USAGE.reasoning : 0);
  return u;
}

const toolPart = () => ({
  functionCall: { name: MOCK_TOOL.name, args: JSON.parse(MOCK_TOOL.arguments) },
  thoughtSignature: "c2lnLW1vY2s=",
});
const finishOf = (s: MockScenario) => (s.safety ? "SAFETY" : "STOP");

function generateJson(model: string, s: MockScenario): Response {
  if (s.blocked)
    return json({
      promptFeedback: { blockReason: "SAFETY" },
      usageMetadata: { promptTokenCount: MOCK_USAGE.prompt, totalTokenCount: MOCK_USAGE.prompt },
      modelVersion: model,
      responseId: "resp-mock",
    });
  const parts: Record<string, unknown>[] = [];
  if (s.reasoning) parts.push({ text: "Thinking it over.", thought: true });
  parts.push(s.tools ? toolPart() : { text: MOCK_TEXT });
  const body: Record<string, unknown> = {
    candidates: [{ content: { role: "model", parts }, finishReason: finishOf(s), index: 0 }],
    modelVersion: model,
    responseId: "resp-mock",
  };
  if (!s.noUsage) body["usageMetadata"] = usage(s, MOCK_USAGE.completion);
  return json(body);
}

function generateStream(model: string, s: MockScenario, signal: AbortSignal): Response {
  const data = (payload: unknown) => `data: ${JSON.stringify(payload)}\r\n\r\n`;
  if (s.errorFirst)
    return sseResponse([data({ error: { code: 503, message: MESSAGES[503], status: "UNAVAILABLE" } })], signal);
  if (s.blocked)
    return sseResponse([data({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, modelVersion: model })], signal);
  const event = (parts: unknown[], candidates: number, finish?: string) => {
    const candidate: Record<string, unknown> = { content: { role: "model", parts }, index: 0 };
    if (finish) candidate["finishReason"] = finish;
    const body: Record<string, unknown> = { candidates: [candidate], modelVersion: model, responseId: "resp-mock" };
    if (!s.noUsage) body["usageMetadata"] = usage(s, candidates);
    return data(body);
  };
  const events: string[] = [];
  if (s.reasoning) events.push(event([{ text: "Thinking it over.", thought: true }], 0));
  if (s.malformed) events.push(event([{ text: chunkText(0) }], 1), "data: {not json\r\n\r\n");
  if (s.tools) events.push(event([toolPart()], 3, "STOP"));
  else
    for (let i = 0; i < s.chunks; i++)
      events.push(event([{ text: chunkText(i) }], i + 1, i === s.chunks - 1 ? finishOf(s) : undefined));
  const failure = data({ error: { code: 500, message: "Internal error encountered.", status: "INTERNAL" } });
  return sseResponse(timedSteps(events, s, failure), signal);
}

function batchEmbed(body: Record<string, unknown>): Response {
  const requests = Array.isArray(body["requests"]) ? body["requests"] : [];
  return json({ embeddings: requests.map(() => ({ values: [0.1, 0.2, 0.3] })) });
}

const MODEL_PAGES = [
  [{ name: "models/gemini-2.5-flash", supportedGenerationMethods: ["generateContent", "countTokens"] }],
  [{ name: "models/text-embedding-004", supportedGenerationMethods: ["embedContent"] }],
];

/** The model from `…/models/{model}:{method}` (AI Studio and Vertex URLs alike). */
export const modelInPath = (path: string): string =>
  decodeURIComponent(path.match(/\/models\/([^/:]+):[A-Za-z]+$/)?.[1] ?? "");

/**
 * Handles a generateContent-family call once the host-specific part (auth, URL prefix) has been checked.
 * `retryInfo`: AI Studio names the wait of a 429 in the body; Vertex's 429s carry none.
 */
export function geminiCall(ctx: Parameters<MockHandler>[0], method: string, retryInfo: boolean): Response {
  const s = ctx.scenario;
  if (s.errorStatus !== null) return scenarioError(s, retryInfo);
  if (method === "generateContent" || (method === "streamGenerateContent" && s.jsonStream)) {
    if (s.malformed) return new Response('{"candidates": [', { headers: { "content-type": "application/json" } });
    return generateJson(ctx.model, s);
  }
  if (method === "streamGenerateContent") {
    if (new URL(ctx.req.url).searchParams.get("alt") !== "sse")
      return googleError(400, null, "mock: only alt=sse is served");
    return generateStream(ctx.model, s, ctx.req.signal);
  }
  if (method === "batchEmbedContents") return batchEmbed(ctx.body);
  return googleError(404, null, `Method ${method} not found`);
}

export function startGeminiMock(options: MockOptions = {}): MockServer {
  const handler: MockHandler = (ctx) => {
    if (!ctx.req.headers.get("x-goog-api-key")) return googleError(403);
    if (ctx.req.method === "GET" && ctx.path === "/v1beta/models") {
      if (ctx.scenario.errorStatus !== null) return scenarioError(ctx.scenario, true);
      const token = new URL(ctx.req.url).searchParams.get("pageToken");
      const page = token === "page-2" ? 1 : 0;
      return json({ models: MODEL_PAGES[page], ...(page === 0 ? { nextPageToken: "page-2" } : {}) });
    }
    const m = ctx.path.match(/^\/v1beta\/models\/[^/:]+:([A-Za-z]+)$/);
    if (!m) return googleError(404, null, `Unknown path ${ctx.path}`);
    return geminiCall(ctx, m[1]!, true);
  };
  return startMockServer(options, "", handler, modelInPath);
}
