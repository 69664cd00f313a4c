/**
 * Mock scenarios, chosen per request by the `model` name so tests through the gateway can trigger them.
 * Tokens are joined with `+`, e.g. `tools+cache`, `chunks-20+interval-5`, `error-429`. Unknown tokens are
 * ignored, so any ordinary model name (`gpt-4o-mini`) gets the default happy path.
 *
 *   error-<status>       error body in the provider's own shape (400 401 402 403 404 413 422 429 500 503 529...)
 *   error-429-ms         429 with only `retry-after-ms: 1500`
 *   error-429-reset      429 with only x-ratelimit-reset-* headers (`6m0s` exhausted, `20ms` not)
 *   malformed            2xx with a body that is not JSON (in streams: a data line that is not JSON)
 *   hang                 never answers (until the client gives up)
 *   slow-first-byte[-MS] waits MS (default 300) before the response head
 *   slow-stream          50 ms between stream events; interval-MS sets it; chunks-N sets the content chunk count
 *   pause-MS             one silence of MS after the first stream event (keepalive tests)
 *   silent-stream        first stream event, then silence forever
 *   break-stream         first events, then the connection is reset
 *   cut-stream           first events, then the body ends cleanly, before the wire's end marker (a proxy cutting it)
 *   stream-error         first events, then an in-stream error event
 *   error-first          a 200 stream whose first event is an error event
 *   json-stream          a stream request answered with the JSON (non-stream) body, as a server ignoring `stream`
 *   tools / cache / reasoning / no-usage   response content and usage variants
 *   blocked              the prompt is refused by a safety filter before any output (Gemini promptFeedback)
 *   safety               the answer is stopped by a content filter (Gemini SAFETY, Bedrock guardrail...)
 *   toolloop[-N]         a model driving the gateway's tool loop (tool-loop.ts): it calls `code_execution` (else
 *                        `web_search`, else the first tool offered) with the user's text as code/query until the
 *                        conversation holds N tool results (default 1), then answers `Tool said: <last result>`
 *                        (chat, messages and responses; JSON and SSE)
 *   foreign              with toolloop: each tool turn also calls the client's own `get_weather`
 *   badargs              with toolloop: the tool call's arguments are not JSON
 *   failround-K          with toolloop: round K (1-based) answers 500 (a failure after the first model response)
 *   usage-N              OpenAI wire: every token count of the usage object is N (`usage--5`, `usage-1e300`: a lying upstream)
 */
export interface MockScenario {
  errorStatus: number | null;
  retryVariant: "seconds" | "ms" | "reset";
  malformed: boolean;
  hang: boolean;
  firstByteDelayMs: number;
  intervalMs: number;
  chunks: number;
  pauseMs: number;
  silent: boolean;
  breakStream: boolean;
  cutStream: boolean;
  streamError: boolean;
  errorFirst: boolean;
  jsonStream: boolean;
  tools: boolean;
  cache: boolean;
  reasoning: boolean;
  noUsage: boolean;
  blocked: boolean;
  safety: boolean;
  /** Tool rounds a `toolloop` model asks for before it answers; 0 = not a tool-loop model. */
  toolLoop: number;
  foreign: boolean;
  badArgs: boolean;
  /** With toolLoop: the round (1-based) that fails with a 500; 0 = none. */
  failRound: number;
  /** Every token count the usage object reports (OpenAI wire); null = the real counts. */
  usageCount: number | null;
}

export const defaultScenario = (): MockScenario => ({
  errorStatus: null,
  retryVariant: "seconds",
  malformed: false,
  hang: false,
  firstByteDelayMs: 0,
  intervalMs: 0,
  chunks: 3,
  pauseMs: 0,
  silent: false,
  breakStream: false,
  cutStream: false,
  streamError: false,
  errorFirst: false,
  jsonStream: false,
  tools: false,
  cache: false,
  reasoning: false,
  noUsage: false,
  blocked: false,
  safety: false,
  toolLoop: 0,
  foreign: false,
  badArgs: false,
  failRound: 0,
  usageCount: null,
});

/** Token counts every mock reports, so tests can assert exact usage. */
export const MOCK_USAGE = {
  prompt: 12,
  /** Non-stream completion tokens; streams report one per content chunk. */
  completion: 5,
  cacheRead: 4,
  cacheWrite: 2,
  reasoning: 2,
} as const;

export const MOCK_TEXT = "Hello from the mock.";
/** Text of stream content chunk i. */
export const chunkText = (i: number): string => `tok${i} `;
export const MOCK_TOOL = { id: "call_mock_1", name: "get_weather", arguments: '{"city":"Paris"}' } as const;

export function parseScenario(model: string, base: MockScenario = defaultScenario()): MockScenario {
  const s: MockScenario = { ...base };
  for (const token of model.split("+").map((t) => t.trim().toLowerCase())) {
    const num = (prefix: string) => Number(token.slice(prefix.length));
    const m = token.match(/^error-(\d{3})(?:-(ms|reset))?$/);
    if (m) {
      s.errorStatus = Number(m[1]);
      s.retryVariant = (m[2] as "ms" | "reset" | undefined) ?? "seconds";
    } else if (token === "malformed") s.malformed = true;
    else if (token === "hang") s.hang = true;
    else if (token === "slow-first-byte") s.firstByteDelayMs = 300;
    else if (token.startsWith("slow-first-byte-")) s.firstByteDelayMs = num("slow-first-byte-");
    else if (token === "slow-stream") s.intervalMs = 50;
    else if (token.startsWith("interval-")) s.intervalMs = num("interval-");
    else if (token.startsWith("chunks-")) s.chunks = num("chunks-");
    else if (token.startsWith("pause-")) s.pauseMs = num("pause-");
    else if (token === "silent-stream") s.silent = true;
    else if (token === "break-stream") s.breakStream = true;
    else if (token === "cut-stream") s.cutStream = true;
    else if (token === "stream-error") s.streamError = true;
    else if (token === "error-first") s.errorFirst = true;
    else if (token === "json-stream") s.jsonStream = true;
    else if (token === "tools") s.tools = true;
    else if (token === "cache") s.cache = true;
    else if (token === "reasoning") s.reasoning = true;
    else if (token === "no-usage") s.noUsage = true;
    else if (token === "blocked") s.blocked = true;
    else if (token === "safety") s.safety = true;
    else if (token === "toolloop") s.toolLoop = 1;
    else if (token.startsWith("toolloop-")) s.toolLoop = num("toolloop-");
    else if (token === "foreign") s.foreign = true;
    else if (token === "badargs") s.badArgs = true;
    else if (token.startsWith("failround-")) s.failRound = num("failround-");
    else if (token.startsWith("usage-")) s.usageCount = num("usage-");
  }
  return s;
}
