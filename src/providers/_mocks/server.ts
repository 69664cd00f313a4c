import { type MockScenario, defaultScenario, parseScenario } from "./scenario.ts";

/** The plumbing both mocks share: Bun.serve, request recording, scenario selection, timed SSE bodies. */

export interface RecordedRequest {
  method: string;
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON body, the fields of a multipart form, the raw text when it is neither, or null for no body. */
  body: unknown;
  /** The body as text (a multipart form's whole encoding). */
  text: string;
}

export interface MockServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** What to configure as the provider's `api_base` (OpenAI mock: `<url>/v1`; Anthropic mock: `<url>`). */
  apiBase: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Default scenario tokens for requests whose model names none (null resets), e.g. `setScenario("error-500")`. */
  setScenario(tokens: string | null): void;
  /** Forgets recorded requests and the default scenario. */
  reset(): void;
  stop(): Promise<void>;
}

export interface MockOptions {
  /** 0 or absent = a free port. */
  port?: number;
}

export type MockHandler = (ctx: {
  req: Request;
  path: string;
  body: Record<string, unknown>;
  /** The body exactly as received (signature checks hash these bytes). */
  rawBody: string;
  /** The model the scenario was chosen by (body `model`, or the wire's own place for it). */
  model: string;
  scenario: MockScenario;
}) => Response | Promise<Response>;

/** Where a wire carries the model: the body's `model` by default; Gemini and Bedrock put it in the path. */
export type ModelLocator = (path: string, body: Record<string, unknown>) => string;

const modelInBody: ModelLocator = (_path, body) => (typeof body["model"] === "string" ? body["model"] : "");

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  Response.json(body, { status, headers });

/** A step of a streamed body: text or bytes to send, a pause, silence until the client leaves, a reset, or the end. */
export type SseStep = string | Uint8Array | { pauseMs: number } | "silence" | "reset" | "end";

/** Streams `steps` as text/event-stream; stops early when the client disconnects. */
export function sseResponse(steps: SseStep[], signal: AbortSignal): Response {
  return streamedResponse(steps, signal, "text/event-stream");
}

/** Streams `steps` under any content type (e.g. application/vnd.amazon.eventstream). */
export function streamedResponse(steps: SseStep[], signal: AbortSignal, contentType: string): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(c) {
      for (const step of steps) {
        if (signal.aborted) return;
        if (step === "silence") return await new Promise<void>((r) => signal.addEventListener("abort", () => r()));
        if (step === "reset") return c.error(new Error("mock: connection reset mid-stream"));
        if (step === "end") return c.close();
        if (typeof step === "string") c.enqueue(enc.encode(step));
        else if (step instanceof Uint8Array) c.enqueue(step);
        else if (step.pauseMs > 0) await Bun.sleep(step.pauseMs);
      }
      c.close();
    },
  });
  return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-cache" } });
}

/**
 * Builds the stream steps: `events` in order with the scenario's pauses, breaks and silences spliced in. A break or
 * an in-stream failure comes after event `failAfter` (default 1: once the first content event went out).
 */
export function timedSteps(
  events: (string | Uint8Array)[],
  s: MockScenario,
  midStreamFailure: string | Uint8Array | null,
  failAfter = 1,
): SseStep[] {
  const steps: SseStep[] = [];
  events.forEach((event, i) => {
    if (i > 0 && s.intervalMs > 0) steps.push({ pauseMs: s.intervalMs });
    steps.push(event);
    if (i === 0 && s.pauseMs > 0) steps.push({ pauseMs: s.pauseMs });
    if (i === 0 && s.silent) steps.push("silence");
    // the pause lets the events already written reach the client before the reset
    if (i === failAfter && s.breakStream) steps.push({ pauseMs: 20 }, "reset");
    if (i === failAfter && s.cutStream) steps.push("end");
    if (i === failAfter && s.streamError && midStreamFailure) steps.push(midStreamFailure);
  });
  return steps;
}

const hang = (signal: AbortSignal) =>
  new Promise<Response>((resolve) =>
    signal.addEventListener("abort", () => resolve(new Response(null, { status: 499 })), { once: true }),
  );

/**
 * A request's lower-cased headers, raw body text and body (parsed JSON, else the text; null when empty or a GET). A
 * multipart body is its fields, each file as a File (its text left empty).
 */
export async function readRequest(
  req: Request,
): Promise<{ headers: Record<string, string>; text: string; body: unknown }> {
  const type = req.headers.get("content-type");
  if (type?.startsWith("multipart/form-data")) {
    // The fields for the handlers that read them (transcriptions), and the text for those that parse it again (files).
    const bytes = await req.arrayBuffer();
    const form = await new Response(bytes, { headers: { "content-type": type } }).formData();
    return { headers: headersOf(req), text: new TextDecoder().decode(bytes), body: Object.fromEntries(form.entries()) };
  }
  const text = req.method === "GET" ? "" : await req.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { headers: headersOf(req), text, body };
}

function headersOf(req: Request): Record<string, string> {
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => {
    headers[k.toLowerCase()] = v;
  });
  return headers;
}

export function startMockServer(
  options: MockOptions,
  apiPrefix: string,
  handle: MockHandler,
  modelOf: ModelLocator = modelInBody,
): MockServer {
  const requests: RecordedRequest[] = [];
  let base: MockScenario = defaultScenario();
  const server = Bun.serve({
    port: options.port ?? 0,
    hostname: "127.0.0.1",
    idleTimeout: 0, // `hang` and `silent-stream` must outlive Bun's 10 s default
    async fetch(req) {
      const url = new URL(req.url);
      const { headers, text, body } = await readRequest(req);
      requests.push({ method: req.method, path: url.pathname + url.search, headers, body, text });
      const obj = body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
      const model = modelOf(url.pathname, obj);
      const scenario = parseScenario(model, base);
      if (scenario.hang) return hang(req.signal);
      if (scenario.firstByteDelayMs > 0) await Bun.sleep(scenario.firstByteDelayMs);
      return handle({ req, path: url.pathname, body: obj, rawBody: text, model, scenario });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return {
    url,
    apiBase: `${url}${apiPrefix}`,
    requests,
    setScenario(tokens) {
      base = tokens ? parseScenario(tokens) : defaultScenario();
    },
    reset() {
      requests.length = 0;
      base = defaultScenario();
    },
    async stop() {
      await server.stop(true);
    },
  };
}
