/**
 * A mock of the otari platform for platform-mode tests (SPEC §10): `POST /gateway/provider-keys/resolve`,
 * `POST /gateway/mcp-servers/resolve`, `POST /gateway/usage` and the health probe, under `/api/v1` like the real
 * one. Every call is recorded; each endpoint answers with its default (settable) or with replies queued for the
 * next calls: a status with body and headers, `hang` (never answers: a timeout for the client) or `drop` (the
 * connection is closed without an answer: a network error).
 *
 *   const platform = startPlatformMock();
 *   platform.setResolve(route([attempt("a1", openai.apiBase)]));
 *   platform.queue("usage", { status: 500 }, { status: 500 });   // the next two usage POSTs fail, then 204 again
 *   platform.calls("usage")                                       // what the gateway sent, in order
 */
import { readRequest } from "../../src/providers/_mocks/server";

export type PlatformEndpoint = "resolve" | "mcp" | "usage" | "health";

export type MockReply = { status: number; body?: unknown; headers?: Record<string, string> } | "hang" | "drop";

export interface PlatformCall {
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: unknown;
  at: number;
}

export interface PlatformMock {
  url: string;
  /** What to configure as `platform.base_url`. */
  baseUrl: string;
  calls(endpoint: PlatformEndpoint): PlatformCall[];
  /** The default reply of an endpoint (a function sees the call). */
  setDefault(endpoint: PlatformEndpoint, reply: MockReply | ((call: PlatformCall) => MockReply)): void;
  /** Shorthand: the resolve endpoint's default 200 body. */
  setResolve(body: unknown): void;
  /** Replies for the next calls of an endpoint, in order, before the default applies again. */
  queue(endpoint: PlatformEndpoint, ...replies: MockReply[]): void;
  /** Waits until `endpoint` has at least `n` calls (or throws after `timeoutMs`). */
  waitFor(endpoint: PlatformEndpoint, n: number, timeoutMs?: number): Promise<PlatformCall[]>;
  reset(): void;
  stop(): Promise<void>;
}

/** A resolve attempt entry (SPEC §10.2 item 2) for an OpenAI-format mock at `apiBase`. */
export function attempt(id: string, apiBase: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    attempt_id: id,
    position: 0,
    provider: "openai",
    model: "gpt-4o-mini",
    api_key: `sk-platform-${id}`,
    api_base: apiBase,
    managed: true,
    ...over,
  };
}

/** A resolve body with these attempts (positions set in order). */
export function route(
  attempts: Record<string, unknown>[],
  requestId = "req-platform-1",
  fallbackEnabled = true,
): Record<string, unknown> {
  return {
    request_id: requestId,
    fallback_enabled: fallbackEnabled,
    attempts: attempts.map((a, i) => ({ ...a, position: i })),
  };
}

const ENDPOINTS: Record<string, PlatformEndpoint> = {
  "/api/v1/gateway/provider-keys/resolve": "resolve",
  "/api/v1/gateway/mcp-servers/resolve": "mcp",
  "/api/v1/gateway/usage": "usage",
  "/api/v1/utils/health-check/": "health",
};

const DEFAULTS: Record<PlatformEndpoint, MockReply> = {
  resolve: { status: 500, body: { detail: "no default route set" } },
  mcp: { status: 200, body: { servers: [] } },
  usage: { status: 204 },
  health: { status: 200, body: { status: "ok" } },
};

export function startPlatformMock(): PlatformMock {
  const calls: Record<PlatformEndpoint, PlatformCall[]> = { resolve: [], mcp: [], usage: [], health: [] };
  const queued: Record<PlatformEndpoint, MockReply[]> = { resolve: [], mcp: [], usage: [], health: [] };
  let defaults: Record<PlatformEndpoint, MockReply | ((call: PlatformCall) => MockReply)> = { ...DEFAULTS };

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const endpoint = ENDPOINTS[url.pathname];
      if (!endpoint) return Response.json({ detail: "Not Found" }, { status: 404 });
      const { headers, body } = await readRequest(req);
      const call: PlatformCall = { path: url.pathname, headers, body, at: Date.now() };
      calls[endpoint].push(call);
      const fallback = defaults[endpoint];
      const reply = queued[endpoint].shift() ?? (typeof fallback === "function" ? fallback(call) : fallback);
      if (reply === "hang")
        return new Promise<Response>((resolve) =>
          req.signal.addEventListener("abort", () => resolve(new Response(null, { status: 499 }))),
        );
      // A body that fails before its first byte: Bun resets the connection, the client sees a network error.
      // (An `undefined` reason keeps Bun from printing a stack trace for it.)
      if (reply === "drop") return new Response(new ReadableStream({ pull: (c) => c.error(undefined) }));
      if (reply.body === undefined) return new Response(null, { status: reply.status, headers: reply.headers });
      return Response.json(reply.body, { status: reply.status, headers: reply.headers });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;

  return {
    url,
    baseUrl: `${url}/api/v1`,
    calls: (endpoint) => calls[endpoint],
    setDefault(endpoint, reply) {
      defaults[endpoint] = reply;
    },
    setResolve(body) {
      defaults.resolve = { status: 200, body };
    },
    queue(endpoint, ...replies) {
      queued[endpoint].push(...replies);
    },
    async waitFor(endpoint, n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (calls[endpoint].length < n) {
        if (Date.now() > deadline)
          throw new Error(`platform mock: expected ${n} ${endpoint} call(s), got ${calls[endpoint].length}`);
        await Bun.sleep(10);
      }
      return calls[endpoint];
    },
    reset() {
      for (const key of Object.keys(calls) as PlatformEndpoint[]) {
        calls[key].length = 0;
        queued[key].length = 0;
      }
      defaults = { ...DEFAULTS };
    },
    async stop() {
      await server.stop(true);
    },
  };
}
