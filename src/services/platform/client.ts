/**
 * The platform's HTTP API as platform mode uses it (docs/behaviour/platform-mode.md): resolving a request's provider
 * attempts with the caller's token, MCP server ids, usage reports and the health probe. Every upstream body is
 * validated here; every failure becomes the GatewayError that docs/behaviour/platform-mode.md#resolve names, so callers
 * only pass errors on.
 */
import { z } from "zod";
import { GatewayError } from "../../core/errors";

/** One provider attempt of a resolved route (docs/behaviour/platform-mode.md#resolve). */
export interface PlatformAttempt {
  attemptId: string;
  position: number;
  provider: string;
  model: string;
  apiKey: string;
  apiBase: string | null;
  managed: boolean;
}

export interface PlatformRoute {
  requestId: string;
  fallbackEnabled: boolean;
  attempts: PlatformAttempt[];
}

/** An inline MCP server as `mcp-servers/resolve` returns it (same shape as a request's `mcp_servers` entry). */
export interface PlatformMcpServer {
  name: string;
  url: string;
  authorization_token?: string | null;
  purpose_hint?: string | null;
  allowed_tools?: string[] | null;
}

/** The body of `POST /gateway/usage` (docs/behaviour/platform-mode.md#usage-reports). */
export interface UsageReport {
  correlation_id: string;
  status: "success" | "error";
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  error_class?: string;
}

/** What one usage POST came to: delivered, given up for good (4xx), or worth retrying (5xx, timeout, network). */
export type UsageSendResult = "sent" | "rejected" | "retry";

export interface PlatformClientOptions {
  baseUrl: string;
  /** The gateway's own platform token (`X-Gateway-Token`). */
  gatewayToken: string;
  resolveTimeoutMs: number;
  usageTimeoutMs: number;
  /** Path of the health probe under `baseUrl` (default `/utils/health-check/`). */
  healthPath: string;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface PlatformClient {
  readonly baseUrl: string;
  resolve(callerToken: string, selector: string): Promise<PlatformRoute>;
  resolveMcpServers(callerToken: string, ids: readonly string[]): Promise<PlatformMcpServer[]>;
  sendUsage(report: UsageReport): Promise<UsageSendResult>;
  /** True iff the health path answers with a status below 500 within the resolve timeout (docs/api.md#health). */
  reachable(): Promise<boolean>;
}

export const AUTH_UNAVAILABLE = "Authorization service unavailable";
export const AUTH_REJECTED = "Authorization request rejected";
export const NO_RESOLVABLE_PROVIDER = "Authorization service returned no resolvable provider";
export const MCP_RESOLUTION_FAILED = "MCP server resolution failed";

/** Joins a base URL and a path with exactly one `/` between them. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/**
 * Split at the first `:`, else the first `/`; a bare model names no provider (docs/behaviour/platform-mode.md#resolve).
 */
export function splitSelector(selector: string): { provider?: string; model: string } {
  const at = selector.includes(":") ? selector.indexOf(":") : selector.indexOf("/");
  if (at === -1) return { model: selector };
  return { provider: selector.slice(0, at), model: selector.slice(at + 1) };
}

const attemptSchema = z.object({
  attempt_id: z.string().min(1),
  position: z.number().int(),
  provider: z.string().min(1),
  model: z.string().min(1),
  api_key: z.string(),
  api_base: z.string().nullish(),
  managed: z.boolean().default(false),
});

const routeSchema = z.object({
  request_id: z.string().min(1),
  fallback_enabled: z.boolean().default(true),
  attempts: z.array(attemptSchema),
});

/** The baseline's single-attempt answer (no `attempts`). */
const flatSchema = z.object({
  provider: z.string().min(1),
  model: z.string().min(1),
  api_key: z.string(),
  api_base: z.string().nullish(),
  managed: z.boolean().default(false),
  correlation_id: z.string().min(1),
});

const mcpSchema = z.object({
  servers: z.array(
    z.object({
      name: z.string().min(1),
      url: z.string().min(1),
      authorization_token: z.string().nullish(),
      purpose_hint: z.string().nullish(),
      allowed_tools: z.array(z.string()).nullish(),
    }),
  ),
});

/** Statuses the platform's refusal is passed on with (docs/behaviour/platform-mode.md#resolve). */
const PASSED_ON = new Set([401, 402, 403, 404, 429]);

const unavailable = (message: string, cause?: unknown) =>
  new GatewayError(502, message, { code: "platform_unavailable", cause });

async function readJson(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    return null;
  }
}

/** A 401/402/403/404/429 with the platform's string `detail` (or the fixed text); 429 keeps Retry-After. */
async function refusal(res: Response): Promise<GatewayError> {
  const body = await readJson(res);
  const detail =
    body && typeof body === "object" && "detail" in body && typeof body.detail === "string" && body.detail.trim()
      ? body.detail
      : AUTH_REJECTED;
  const retryAfter = res.status === 429 ? res.headers.get("retry-after") : null;
  return new GatewayError(res.status, detail, {
    code: "platform_rejected",
    headers: retryAfter ? { "Retry-After": retryAfter } : {},
  });
}

function toAttempt(a: z.infer<typeof attemptSchema>): PlatformAttempt {
  return {
    attemptId: a.attempt_id,
    position: a.position,
    provider: a.provider,
    model: a.model,
    apiKey: a.api_key,
    apiBase: a.api_base ?? null,
    managed: a.managed,
  };
}

/** Reads a 200 resolve body: the attempts shape, or the legacy flat shape as one attempt. */
function parseRoute(body: unknown): PlatformRoute {
  if (body && typeof body === "object" && "attempts" in body) {
    const parsed = routeSchema.safeParse(body);
    if (!parsed.success) throw unavailable(AUTH_UNAVAILABLE, parsed.error);
    if (parsed.data.attempts.length === 0) throw unavailable(NO_RESOLVABLE_PROVIDER);
    const attempts = parsed.data.attempts.map(toAttempt).sort((a, b) => a.position - b.position);
    return { requestId: parsed.data.request_id, fallbackEnabled: parsed.data.fallback_enabled, attempts };
  }
  const flat = flatSchema.safeParse(body);
  if (!flat.success) throw unavailable(AUTH_UNAVAILABLE, flat.error);
  const f = flat.data;
  return {
    requestId: f.correlation_id,
    fallbackEnabled: false,
    attempts: [
      {
        attemptId: f.correlation_id,
        position: 0,
        provider: f.provider,
        model: f.model,
        apiKey: f.api_key,
        apiBase: f.api_base ?? null,
        managed: f.managed,
      },
    ],
  };
}

export function createPlatformClient(o: PlatformClientOptions): PlatformClient {
  const doFetch = o.fetch ?? fetch;
  const baseUrl = o.baseUrl.replace(/\/+$/, "");

  /** POSTs JSON with the gateway token (and the caller's, when given) under a timeout. */
  function post(path: string, body: unknown, timeoutMs: number, callerToken?: string): Promise<Response> {
    const headers: Record<string, string> = { "content-type": "application/json", "X-Gateway-Token": o.gatewayToken };
    if (callerToken !== undefined) headers["X-User-Token"] = callerToken;
    return doFetch(joinUrl(baseUrl, path), {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
  }

  /**
   * One authorization call with the error mapping of docs/behaviour/platform-mode.md#resolve; `fallback` is the
   * 5xx/timeout text.
   */
  async function authorized<T>(
    path: string,
    body: unknown,
    callerToken: string,
    fallback: string,
    parse: (json: unknown) => T,
  ): Promise<T> {
    let res: Response;
    try {
      res = await post(path, body, o.resolveTimeoutMs, callerToken);
    } catch (err) {
      throw unavailable(fallback, err);
    }
    if (PASSED_ON.has(res.status)) throw await refusal(res);
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw unavailable(fallback, new Error(`platform answered ${res.status}`));
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch (err) {
      throw unavailable(fallback, err);
    }
    return parse(json);
  }

  return {
    baseUrl,
    resolve(callerToken, selector) {
      return authorized(
        "/gateway/provider-keys/resolve",
        splitSelector(selector),
        callerToken,
        AUTH_UNAVAILABLE,
        parseRoute,
      );
    },
    resolveMcpServers(callerToken, ids) {
      return authorized(
        "/gateway/mcp-servers/resolve",
        { mcp_server_ids: ids },
        callerToken,
        MCP_RESOLUTION_FAILED,
        (json) => {
          const parsed = mcpSchema.safeParse(json);
          if (!parsed.success) throw unavailable(MCP_RESOLUTION_FAILED, parsed.error);
          return parsed.data.servers;
        },
      );
    },
    async sendUsage(report) {
      let res: Response;
      try {
        res = await post("/gateway/usage", report, o.usageTimeoutMs);
        await res.body?.cancel().catch(() => undefined);
      } catch {
        return "retry"; // timeout or network error
      }
      // 204 ends; 5xx retries; 401, 404, 409, 422 and any other status end without retry
      // (docs/behaviour/platform-mode.md#usage-reports).
      if (res.status >= 500) return "retry";
      return res.status >= 200 && res.status < 300 ? "sent" : "rejected";
    },
    async reachable() {
      try {
        const res = await doFetch(joinUrl(baseUrl, o.healthPath), {
          signal: AbortSignal.timeout(o.resolveTimeoutMs),
          redirect: "manual",
        });
        await res.body?.cancel().catch(() => undefined);
        return res.status < 500;
      } catch {
        return false;
      }
    },
  };
}
