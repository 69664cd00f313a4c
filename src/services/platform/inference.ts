/**
 * Platform-mode inference (SPEC §10.2): chat, messages and responses resolved per request through the platform
 * with the caller's token, served by the route's attempts in order (fallback before the first byte, the
 * first-chunk timeout for streams), and reported attempt by attempt (SPEC §10.3). No local keys, budgets, rate
 * limits or usage rows. Protocol framing and the SSE pump are the standalone services' own (src/services/inference).
 */
import { GatewayError } from "../../core/errors";
import type { GatewayToolFields } from "../../core/schemas/gateway-tools";
import type {
  AnthropicEvent,
  AnthropicMessage,
  AnthropicRequest,
  ChatChunk,
  ChatCompletion,
  ChatRequest,
  NormalizedUsage,
  ResponsesEvent,
  ResponsesObject,
  ResponsesRequest,
} from "../../core/wire/index";
import { type Capability, requireCapability } from "../../providers/capabilities";
import { buildProviderSettings, getProvider } from "../../providers/registry";
import type { Provider, ProviderResult, ProviderSettings, ProviderStream } from "../../providers/types";
import { chatFraming, messagesFraming, responsesFraming, type SseFraming } from "../inference/framing";
import { withoutGatewayFields } from "../inference/gateway-tools";
import { sseReply } from "../inference/relay";
import {
  chatLoop,
  clientDisconnected,
  type GatewayTools,
  type LoopProtocol,
  messagesLoop,
  responsesLoop,
  runJsonLoop,
  Tally,
  ToolLoopStream,
  type ToolPlan,
  ToolRunner,
} from "../inference/tool-loop";
import type { Reply } from "../inference/reply";
import type { PumpEnd } from "../inference/sse-pump";
import type { StreamSettings } from "../inference/stream-settings";
import type { UsageGuard } from "../inference/usage-guard";
import { runAttempts } from "./attempts";
import type { PlatformAttempt, PlatformClient, UsageReport } from "./client";
import type { UsageReporter } from "./usage-reporter";

export interface PlatformInferenceOptions {
  client: PlatformClient;
  reporter: UsageReporter;
  version: string;
  /** `platform.streaming_first_chunk_timeout_ms` (default 2000). */
  firstChunkTimeoutMs: number;
  /** `platform.streaming_first_chunk_timeout_ms_tool_loop` (default 30000): streams of requests with gateway tools. */
  firstChunkTimeoutMsToolLoop: number;
  streaming: StreamSettings;
  /** The built-in tools (SPEC §9); MCP stays refused. */
  tools: GatewayTools;
  /** Checks upstream usage before it is reported (src/services/inference/usage-guard.ts). */
  checkUsage: UsageGuard;
  /** Config `upstream_max_body_bytes` / `upstream_max_event_bytes`. */
  upstreamLimits: { maxBodyBytes: number; maxEventBytes: number };
}

/** One attempt made ready to call: its adapter and settings (the attempt's own key and base). */
interface Prepared {
  attempt: PlatformAttempt;
  provider: Provider;
  settings: ProviderSettings;
}

/** The attempt's adapter as having `capability`, or the 400 naming the attempt's provider. */
const providerFor = <C extends Capability>(p: Prepared, capability: C) =>
  requireCapability(p.provider, capability, p.attempt.provider);

/** What differs between the three routes: the JSON call, the stream and its framing. */
interface Endpoint<J, S> {
  stream: boolean;
  /** Checks an attempt can serve the request (a gateway-side 400 otherwise). */
  check?: (p: Prepared) => void;
  call: (p: Prepared) => Promise<ProviderResult<J>>;
  open: (p: Prepared) => Promise<ProviderStream<S>>;
  framing: (p: Prepared) => SseFraming<S>;
}

/** A request with gateway tools (SPEC §9.3 on platform attempts, §10.2 items 5-6). */
interface LoopEndpoint<Req, J, S> {
  stream: boolean;
  plan: ToolPlan;
  protocol: LoopProtocol<Req, J, S>;
  /** The client's request, gateway-only fields removed. */
  request: Req;
  check?: (p: Prepared) => void;
  /** One model call; `signal` aborts it (the client left). */
  call: (p: Prepared, req: Req, signal?: AbortSignal) => Promise<ProviderResult<J>>;
  open: (p: Prepared, req: Req) => Promise<ProviderStream<S>>;
  framing: (p: Prepared) => SseFraming<S>;
  /** Messages and responses loops use only the route's first attempt (SPEC §10.2 item 6); chat may fall back. */
  firstAttemptOnly: boolean;
  /** The client's request signal: a JSON loop stops when it aborts. */
  signal?: AbortSignal;
}

/** SPEC §10.3's usage object: zeros where the provider said nothing. */
export function reportedUsage(u: NormalizedUsage): NonNullable<UsageReport["usage"]> {
  const prompt = u.promptTokens ?? 0;
  const completion = u.completionTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: u.totalTokens ?? prompt + completion };
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

export function createPlatformInference(o: PlatformInferenceOptions) {
  const { client, reporter, checkUsage } = o;
  /** SPEC §10.3's usage object for what `attempt`'s provider reported, once checked. */
  const usageOf = (attempt: PlatformAttempt, u: NormalizedUsage) => reportedUsage(checkUsage(u, attempt.provider));
  // Platform attempts carry their own credentials: no provider env var is ever read in platform mode.
  const noEnv = {};

  function prepare(attempt: PlatformAttempt, stream: boolean, toolLoop = false): Prepared {
    const provider = getProvider(attempt.provider);
    const firstByteTimeoutMs = stream ? (toolLoop ? o.firstChunkTimeoutMsToolLoop : o.firstChunkTimeoutMs) : null;
    const input = { apiKey: attempt.apiKey, apiBase: attempt.apiBase, firstByteTimeoutMs, ...o.upstreamLimits };
    const settings = buildProviderSettings(attempt.provider, input, noEnv, o.version);
    return { attempt, provider, settings };
  }

  /** The report for a stream's end (SPEC §10.3): mid-stream errors carry no error class. */
  function streamReport(attempt: PlatformAttempt, end: PumpEnd): UsageReport {
    if (end.kind === "upstream_error") return { correlation_id: attempt.attemptId, status: "error" };
    return { correlation_id: attempt.attemptId, status: "success", usage: usageOf(attempt, end.usage) };
  }

  async function serve<J, S>(token: string, selector: string, endpoint: Endpoint<J, S>): Promise<Reply> {
    const route = await client.resolve(token, selector);
    const head = { "X-Otari-Request-ID": route.requestId };
    const attempts = route.fallbackEnabled ? route.attempts : route.attempts.slice(0, 1);
    try {
      const { attempt, result } = await runAttempts({
        attempts,
        onFailure: (a, failure) =>
          reporter.report({ correlation_id: a.attemptId, status: "error", error_class: failure.errorClass }),
        run: async (a) => {
          const prepared = prepare(a, endpoint.stream);
          endpoint.check?.(prepared);
          if (!endpoint.stream) return { kind: "json" as const, prepared, result: await endpoint.call(prepared) };
          return { kind: "stream" as const, prepared, stream: await endpoint.open(prepared) };
        },
      });
      const headers = { ...head, "X-Correlation-ID": attempt.attemptId };
      if (result.kind === "json") {
        reporter.report({
          correlation_id: attempt.attemptId,
          status: "success",
          usage: usageOf(attempt, result.result.usage),
        });
        return { kind: "json", body: result.result.body, headers };
      }
      return sseReply(
        result.stream,
        o.streaming,
        endpoint.framing(result.prepared),
        (end) => {
          reporter.report(streamReport(attempt, end));
          return null;
        },
        headers,
      );
    } catch (err) {
      throw withHeaders(err, head);
    }
  }

  /**
   * The tool loop on platform attempts: sessions opened after resolve and before any call (502 when unreachable);
   * a JSON loop runs whole on one attempt, locked in once its first model response arrived (after that a failure is
   * 502, SPEC §10.2 item 6); a streamed loop's attempt is chosen by its first round's first chunk. One usage report
   * for the attempt that served, with the usage summed over the rounds; a JSON loop whose client left stops at once
   * and reports the rounds it ran.
   */
  async function serveLoop<Req, J, S>(
    token: string,
    selector: string,
    endpoint: LoopEndpoint<Req, J, S>,
  ): Promise<Reply> {
    const route = await client.resolve(token, selector);
    const head = { "X-Otari-Request-ID": route.requestId };
    const attempts = route.fallbackEnabled && !endpoint.firstAttemptOnly ? route.attempts : route.attempts.slice(0, 1);
    const { protocol, plan, signal } = endpoint;
    let runner: ToolRunner | null = null;
    try {
      // Each round's usage is checked as the provider of the attempt running it reported it.
      let provider = attempts[0]?.provider ?? "unknown";
      const tally = new Tally({}, (u) => checkUsage(u, provider));
      runner = await ToolRunner.open(plan, tally);
      const r = runner;
      const prepared = protocol.prepare(endpoint.request, plan);
      const { attempt, result } = await runAttempts({
        attempts,
        onFailure: (a, failure) =>
          reporter.report({ correlation_id: a.attemptId, status: "error", error_class: failure.errorClass }),
        run: async (a, lockIn) => {
          provider = a.provider;
          const p = prepare(a, endpoint.stream, true);
          endpoint.check?.(p);
          if (!endpoint.stream) {
            try {
              const call = (req: Req) => endpoint.call(p, req, signal);
              const result = await runJsonLoop({
                protocol,
                plan,
                runner: r,
                request: endpoint.request,
                call,
                onFirstResponse: lockIn,
                signal,
              });
              return { kind: "json" as const, p, result };
            } catch (err) {
              // The client left: not the attempt's failure (no other attempt is tried, nothing reported as failed).
              if (signal?.aborted) return { kind: "gone" as const };
              throw err;
            }
          }
          const first = await endpoint.open(p, prepared);
          lockIn();
          return {
            kind: "stream" as const,
            p,
            stream: new ToolLoopStream<Req, S>({
              protocol,
              plan,
              runner: r,
              request: prepared,
              first,
              open: (req) => endpoint.open(p, req),
            }),
          };
        },
      });
      const headers = { ...head, "X-Correlation-ID": attempt.attemptId };
      if (result.kind === "gone") {
        await r.close();
        reporter.report({ correlation_id: attempt.attemptId, status: "success", usage: reportedUsage(tally.usage) });
        throw clientDisconnected();
      }
      if (result.kind === "json") {
        await r.close();
        reporter.report({
          correlation_id: attempt.attemptId,
          status: "success",
          usage: usageOf(attempt, result.result.usage),
        });
        return { kind: "json", body: result.result.body, headers };
      }
      const stream = result.stream;
      return sseReply(
        stream,
        o.streaming,
        endpoint.framing(result.p),
        (end) => {
          reporter.report(streamReport(attempt, end));
          return null;
        },
        headers,
        () => stream.stopAfterRound(),
      );
    } catch (err) {
      await runner?.close();
      throw withHeaders(err, head);
    }
  }

  /** The request's gateway tools (SPEC §9.1 refusals first: 400 before resolving). */
  const planOf = (body: GatewayToolFields & { tools?: unknown }) => o.tools.plan(body, "platform");

  return {
    /** POST /v1/chat/completions in platform mode (`signal`: the client's request; a tool loop stops when it aborts). */
    chat(
      token: string,
      body: ChatRequest & GatewayToolFields,
      requestId: string,
      signal?: AbortSignal,
    ): Promise<Reply> {
      const plan = planOf(body);
      const upstream = withoutGatewayFields(body);
      const includeUsage = body.stream_options?.include_usage === true;
      if (plan) {
        return serveLoop<ChatRequest, ChatCompletion, ChatChunk>(token, body.model, {
          stream: body.stream === true,
          plan,
          protocol: chatLoop,
          request: upstream,
          firstAttemptOnly: false,
          call: (p, req, signal) =>
            providerFor(p, "chat").chat({ ...req, model: p.attempt.model, stream: false }, p.settings, { signal }),
          open: (p, req) =>
            providerFor(p, "stream").chatStream({ ...req, model: p.attempt.model, stream: true }, p.settings),
          framing: (p) => chatFraming({ includeUsage, model: () => p.attempt.model, requestId }),
          signal,
        });
      }
      return serve<unknown, ChatChunk>(token, body.model, {
        stream: body.stream === true,
        call: (p) => providerFor(p, "chat").chat({ ...upstream, model: p.attempt.model, stream: false }, p.settings),
        open: (p) =>
          providerFor(p, "stream").chatStream({ ...upstream, model: p.attempt.model, stream: true }, p.settings),
        framing: (p) => chatFraming({ includeUsage, model: () => p.attempt.model, requestId }),
      });
    },

    /** POST /v1/messages in platform mode (`headers`: the client's anthropic-beta; `signal` as for chat). */
    messages(
      token: string,
      body: AnthropicRequest & GatewayToolFields,
      headers: Record<string, string>,
      signal?: AbortSignal,
    ): Promise<Reply> {
      const plan = planOf(body);
      const upstream = withoutGatewayFields(body);
      const options = { headers };
      if (plan) {
        return serveLoop<AnthropicRequest, AnthropicMessage, AnthropicEvent>(token, body.model, {
          stream: body.stream === true,
          plan,
          protocol: messagesLoop,
          request: upstream,
          firstAttemptOnly: true,
          call: (p, req, signal) =>
            providerFor(p, "chat").messages({ ...req, model: p.attempt.model, stream: false }, p.settings, {
              ...options,
              signal,
            }),
          open: (p, req) =>
            providerFor(p, "stream").messagesStream(
              { ...req, model: p.attempt.model, stream: true },
              p.settings,
              options,
            ),
          framing: () => messagesFraming(),
          signal,
        });
      }
      return serve<unknown, AnthropicEvent>(token, body.model, {
        stream: body.stream === true,
        call: (p) =>
          providerFor(p, "chat").messages({ ...upstream, model: p.attempt.model, stream: false }, p.settings, options),
        open: (p) =>
          providerFor(p, "stream").messagesStream(
            { ...upstream, model: p.attempt.model, stream: true },
            p.settings,
            options,
          ),
        framing: () => messagesFraming(),
      });
    },

    /** POST /v1/responses in platform mode (`signal` as for chat). */
    responses(token: string, body: ResponsesRequest & GatewayToolFields, signal?: AbortSignal): Promise<Reply> {
      const plan = planOf(body);
      const { user: _user, ...upstream } = withoutGatewayFields(body);
      const api = (p: Prepared) => providerFor(p, "responses");
      if (plan) {
        return serveLoop<ResponsesRequest, ResponsesObject, ResponsesEvent>(token, body.model, {
          stream: body.stream === true,
          plan,
          protocol: responsesLoop,
          request: upstream,
          firstAttemptOnly: true,
          check: (p) => void api(p),
          call: (p, req, signal) =>
            api(p).responses.call(p.provider, { ...req, model: p.attempt.model, stream: false }, p.settings, {
              signal,
            }),
          open: (p, req) =>
            api(p).responsesStream.call(p.provider, { ...req, model: p.attempt.model, stream: true }, p.settings),
          framing: () => responsesFraming(),
          signal,
        });
      }
      return serve<unknown, ResponsesEvent>(token, body.model, {
        stream: body.stream === true,
        check: (p) => void api(p),
        call: (p) =>
          api(p).responses.call(p.provider, { ...upstream, model: p.attempt.model, stream: false }, p.settings),
        open: (p) =>
          api(p).responsesStream.call(p.provider, { ...upstream, model: p.attempt.model, stream: true }, p.settings),
        framing: () => responsesFraming(),
      });
    },
  };
}

export type PlatformInference = ReturnType<typeof createPlatformInference>;
