/**
 * Platform mode's policy for the inference pipeline (docs/behaviour/platform-mode.md): the caller's token resolves the request's
 * provider attempts through the platform; they are tried in order (fallback before the first byte, the first-chunk
 * timeout for streams, tool loops locked in to their attempt once it answered); each attempt is reported to the
 * platform. No local keys, budgets, rate limits or usage rows.
 */
import { GatewayError, unauthorized } from "../../core/errors";
import { emptyUsage, type NormalizedUsage } from "../../core/wire/index";
import { classifyFailure } from "../../providers/failures";
import { buildProviderSettings, getProvider } from "../../providers/registry";
import type { Endpoint } from "../inference/pipeline/endpoint";
import type { ModePolicy, Ticket, ToolGrant } from "../inference/pipeline/policy";
import type {
  Attempted,
  InferenceCall,
  Outcome,
  Served,
  Settlement,
  Unserved,
  Upstream,
} from "../inference/pipeline/types";
import type { GatewayTools } from "../inference/tool-loop";
import { runAttempts } from "./attempts";
import type { PlatformAttempt, PlatformClient, UsageReport } from "./client";
import type { UsageReporter } from "./usage-reporter";

/** One platform attempt made ready to call: its adapter and settings (the attempt's own key and base). */
export interface AttemptRoute extends Upstream {
  attempt: PlatformAttempt;
}

export interface PlatformPolicyOptions {
  client: PlatformClient;
  reporter: UsageReporter;
  version: string;
  /** `platform.streaming_first_chunk_timeout_ms` (default 2000). */
  firstChunkTimeoutMs: number;
  /** `platform.streaming_first_chunk_timeout_ms_tool_loop` (default 30000): streams of requests with gateway tools. */
  firstChunkTimeoutMsToolLoop: number;
  /** The built-in tools (docs/behaviour/tools.md); MCP stays refused. */
  tools: GatewayTools;
  /** Config `upstream_max_body_bytes` / `upstream_max_event_bytes`. */
  upstreamLimits: { maxBodyBytes: number; maxEventBytes: number };
}

/**
 * The caller's token (docs/behaviour/platform-mode.md#request-flow): `Authorization: Bearer <token>`, passed on to the
 * platform.
 */
export function bearerToken(headers: Headers): string {
  const token = /^Bearer\s+(.*)$/i.exec(headers.get("authorization") ?? "")?.[1]?.trim();
  if (!token) throw unauthorized("Missing authentication token", "missing_token");
  return token;
}

/** The usage object of docs/behaviour/platform-mode.md#usage-reports: zeros where the provider said nothing. */
export function reportedUsage(u: NormalizedUsage | null): NonNullable<UsageReport["usage"]> {
  const prompt = u?.promptTokens ?? 0;
  const completion = u?.completionTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: u?.totalTokens ?? prompt + completion };
}

/** The same error with more headers (X-Otari-Request-ID on every answer after resolve). */
function withHeaders(err: unknown, headers: Record<string, string>): unknown {
  if (!(err instanceof GatewayError)) return err;
  return new GatewayError(err.status, err.message, {
    code: err.code,
    param: err.param,
    detail: err.detail,
    headers: { ...err.headers, ...headers },
    cause: err.cause,
  });
}

const NOTHING_BILLED: Settlement = { costMicros: null, headers: {} };
const NO_USAGE = emptyUsage();

interface TicketDeps {
  reporter: UsageReporter;
  prepare: (attempt: PlatformAttempt, stream: boolean, toolLoop: boolean) => AttemptRoute;
  reportFailure: (attempt: PlatformAttempt, failure: { errorClass: string }) => void;
}

class PlatformTicket implements Ticket<AttemptRoute> {
  private settled = false;
  /** On every answer after resolve. */
  private readonly head: Record<string, string>;

  constructor(
    private readonly deps: TicketDeps,
    requestId: string,
    private readonly attempts: readonly PlatformAttempt[],
    private readonly stream: boolean,
    readonly tools: ToolGrant | null,
  ) {
    this.head = { "X-Otari-Request-ID": requestId };
  }

  attempt<T>(call: (route: AttemptRoute) => Promise<T>, signal?: AbortSignal): Promise<Attempted<T, AttemptRoute>> {
    const loop = this.tools !== null;
    return runAttempts({
      attempts: this.attempts,
      prepare: (a) => this.deps.prepare(a, this.stream, loop),
      run: call,
      onFailure: this.deps.reportFailure,
      signal,
    });
  }

  /** A tool loop's later round stays on the attempt that answered (docs/behaviour/platform-mode.md#tool-loops). */
  again<T>(
    served: Served<unknown, AttemptRoute>,
    call: (route: AttemptRoute) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<Attempted<T, AttemptRoute>> {
    return runAttempts({
      attempts: [served.route.attempt],
      prepare: () => served.route,
      run: (route, lockIn) => {
        lockIn();
        return call(route);
      },
      onFailure: this.deps.reportFailure,
      signal,
    });
  }

  headers(served: Served<unknown, AttemptRoute>): Record<string, string> {
    return { ...this.head, "X-Correlation-ID": served.route.attempt.attemptId };
  }

  /**
   * The usage report of the attempt that served (docs/behaviour/platform-mode.md#usage-reports): success with its usage, or, for a stream that failed
   * mid-way, an error without a class. Failed attempts were reported as they failed; a tool loop that failed in the
   * gateway after its attempt answered reports that attempt's error; a client that left reports what ran.
   */
  settle(
    outcome: Outcome,
    served: Served<unknown, AttemptRoute> | null,
    tried: Unserved<AttemptRoute> | null,
  ): Settlement {
    if (this.settled) return NOTHING_BILLED;
    this.settled = true;
    const { reporter } = this.deps;
    switch (outcome.kind) {
      case "answered":
        if (served) reporter.report(success(served.route, outcome.usage));
        break;
      case "streamed":
        if (!served) break;
        if (outcome.end.kind === "upstream_error")
          reporter.report({ correlation_id: served.route.attempt.attemptId, status: "error" });
        else reporter.report(success(served.route, outcome.end.usage));
        break;
      case "failed": {
        if (outcome.clientLeft) {
          const ran = served?.route ?? tried?.route;
          if (ran) reporter.report(success(ran, outcome.usage));
        } else if (served && !tried) {
          const error_class = classifyFailure(outcome.error).errorClass;
          reporter.report({ correlation_id: served.route.attempt.attemptId, status: "error", error_class });
        }
        break;
      }
    }
    return NOTHING_BILLED;
  }

  error(err: unknown): unknown {
    return withHeaders(err, this.head);
  }
}

const success = (route: AttemptRoute, usage: NormalizedUsage | null): UsageReport => ({
  correlation_id: route.attempt.attemptId,
  status: "success",
  usage: reportedUsage(usage ?? NO_USAGE),
});

export function createPlatformPolicy(o: PlatformPolicyOptions): ModePolicy<string, AttemptRoute> {
  const { client, reporter } = o;
  // Platform attempts carry their own credentials: no provider env var is ever read in platform mode.
  const noEnv = {};

  const deps: TicketDeps = {
    reporter,
    prepare(attempt, stream, toolLoop) {
      const provider = getProvider(attempt.provider);
      const firstByteTimeoutMs = stream ? (toolLoop ? o.firstChunkTimeoutMsToolLoop : o.firstChunkTimeoutMs) : null;
      const input = { apiKey: attempt.apiKey, apiBase: attempt.apiBase, firstByteTimeoutMs, ...o.upstreamLimits };
      const settings = buildProviderSettings(attempt.provider, input, noEnv, o.version);
      return { attempt, provider, providerName: attempt.provider, model: attempt.model, settings };
    },
    reportFailure: (a, failure) =>
      reporter.report({ correlation_id: a.attemptId, status: "error", error_class: failure.errorClass }),
  };

  return {
    /**
     * The request's gateway tools first (docs/behaviour/tools.md#refusals: 400 before resolving), then resolve with the
     * caller's token. Messages and responses loops use the route's first attempt only
     * (docs/behaviour/platform-mode.md#tool-loops); without `fallback_enabled` every request does.
     */
    async admit<In extends { model: string }, Req, Body, Ev, Q>(
      e: Endpoint<In, Req, Body, Ev, Q>,
      call: InferenceCall<In, string, Q>,
    ) {
      const resolveIds = (ids: string[]) => client.resolveMcpServers(call.identity, ids);
      const plan = e.loop ? await o.tools.plan(e.loop.fields(call.body), "platform", resolveIds) : null;
      const route = await client.resolve(call.identity, call.body.model);
      const onlyFirst = !route.fallbackEnabled || (plan !== null && e.loop?.firstAttemptOnly === true);
      const attempts = onlyFirst ? route.attempts.slice(0, 1) : route.attempts;
      const stream = e.stream?.requested(call.body) === true;
      return new PlatformTicket(deps, route.requestId, attempts, stream, plan ? { plan, prices: {} } : null);
    },
  };
}
