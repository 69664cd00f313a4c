/**
 * The one inference pipeline: every endpoint (a descriptor, endpoint.ts) in both modes (a policy, policy.ts),
 * JSON and streamed, with and without the gateway's tool loop. Its stages, in order:
 *
 *   identify   who calls: the HTTP layer's auth plugin, before the body is read (the mode supplies it)
 *   admit      policy.admit: limits, budgets and routing plan (standalone) or resolve (platform); refusals
 *   cache      a stored answer instead of the attempts: not built yet (its place is marked below)
 *   guardrails checks of the request before any upstream call: not built yet (marked below)
 *   attempts   ticket.attempt: the upstream call tried on the routes the mode allows; what served is returned
 *   relay      the JSON reply, or the SSE pump (sse-reply.ts); a tool loop's rounds (tool-loop/loop.ts)
 *   settle     ticket.settle: billed (or reported) from what served and how it ended, exactly once
 *   record     inside ticket.settle: the usage row and metrics, or the platform's usage report
 *
 * Every upstream call goes through `callJson` / `openStream` (one place to time or trace an attempt). Tracing
 * (trace.ts) spans the stages: started before admission, told of each attempt, tool call, settlement and the end.
 */
import { hasUsage, type NormalizedUsage } from "../../../core/wire/index";
import type { CallOptions, ProviderResult, ProviderSettings, ProviderStream } from "../../../providers/types";
import { clientDisconnected, runJsonLoop, ToolLoopStream } from "../tool-loop/loop";
import { Tally, ToolRunner } from "../tool-loop/runner";
import type { UsageGuard } from "../usage-guard";
import { checkSupport, type Endpoint, type LoopSpec, type StreamMethod } from "./endpoint";
import type { ModePolicy, Ticket, ToolGrant } from "./policy";
import type { Reply } from "./reply";
import type { PumpEnd } from "./sse-pump";
import { sseReply, type StreamSettings } from "./sse-reply";
import { type RequestTrace, startTrace } from "./trace";
import type { InferenceCall, Outcome, Served, Settlement, Unserved, Upstream } from "./types";
import type { Telemetry } from "../../../telemetry/index";

type Method<Req, Out> = (req: Req, settings: ProviderSettings, options?: CallOptions) => Promise<Out>;

export interface PipelineOptions<I, R extends Upstream> {
  policy: ModePolicy<I, R>;
  streaming: StreamSettings;
  /** Checks upstream usage before anything bills or reports it (usage-guard.ts). */
  checkUsage: UsageGuard;
  /** Tracing (trace.ts); absent or off: no request is traced. */
  telemetry?: Telemetry;
}

export function createPipeline<I, R extends Upstream>(o: PipelineOptions<I, R>): Pipeline<I> {
  const { policy, streaming, checkUsage, telemetry } = o;

  function callJson<In extends { model: string }, Req, Body, Ev, Q>(
    e: Endpoint<In, Req, Body, Ev, Q>,
    route: R,
    request: Req,
    options: CallOptions | undefined,
    trace: RequestTrace,
  ): Promise<ProviderResult<Body>> {
    checkSupport(e, route.provider, route.providerName, false);
    const method = route.provider[e.json] as Method<Req, ProviderResult<Body>>;
    const req = e.stream ? { ...request, model: route.model, stream: false } : { ...request, model: route.model };
    if (!trace.on) return method.call(route.provider, req, route.settings, options);
    const traced = trace.attempt(route, options);
    return method.call(route.provider, req, route.settings, traced.options).then(
      (result) => {
        traced.answered(result);
        return result;
      },
      (err: unknown) => {
        traced.failed(err);
        throw err;
      },
    );
  }

  function openStream<In extends { model: string }, Req, Body, Ev, Q>(
    e: Endpoint<In, Req, Body, Ev, Q>,
    method: StreamMethod<Req, Ev>,
    route: R,
    request: Req,
    options: CallOptions | undefined,
    trace: RequestTrace,
  ): Promise<ProviderStream<Ev>> {
    checkSupport(e, route.provider, route.providerName, true);
    const open = route.provider[method] as Method<Req, ProviderStream<Ev>>;
    const req = { ...request, model: route.model, stream: true };
    if (!trace.on) return open.call(route.provider, req, route.settings, options);
    const traced = trace.attempt(route, options);
    return open.call(route.provider, req, route.settings, traced.options).then(
      (stream) => {
        traced.opened();
        return stream;
      },
      (err: unknown) => {
        traced.failed(err);
        throw err;
      },
    );
  }

  /** A stream's settlement at its end (the pump's `finish`); the trace ends with it. Returns the cost. */
  function settleStream(
    ticket: Ticket<R>,
    trace: RequestTrace,
    end: PumpEnd,
    outcome: Outcome,
    served: Served<unknown, R>,
  ): number | null {
    const { costMicros } = settle(ticket, trace, outcome, served, null);
    if (trace.on) trace.streamEnded(end);
    return costMicros;
  }

  /** Settles through the ticket, and tells the trace what settlement decided. */
  function settle(
    ticket: Ticket<R>,
    trace: RequestTrace,
    outcome: Outcome,
    served: Served<unknown, R> | null,
    tried: Unserved<R> | null,
  ): Settlement {
    const settled = ticket.settle(outcome, served, tried);
    if (trace.on) trace.settled(outcome, settled.costMicros);
    return settled;
  }

  /** The outcome of a JSON answer: its usage checked and billed as the endpoint bills it. */
  function answered<In extends { model: string }, Req, Body, Ev, Q>(
    e: Endpoint<In, Req, Body, Ev, Q>,
    result: ProviderResult<Body>,
    route: R,
    body: In,
  ): Outcome {
    if (e.billing) {
      const usage = checkUsage(e.billing.usage(result.usage), route.providerName);
      const units = e.billing.units?.(result.body, body) ?? null;
      return { kind: "answered", usage, extraMicros: 0, perRequest: e.billing.perRequest, units };
    }
    const usage = hasUsage(result.usage) ? checkUsage(result.usage, route.providerName) : null;
    return { kind: "answered", usage, extraMicros: 0, perRequest: false, units: null };
  }

  /** The outcome of a stream's end, its usage checked. */
  function streamed(end: PumpEnd, route: R, extraMicros: number): Outcome {
    const usage = checkUsage(end.usage, route.providerName);
    return { kind: "streamed", end: usage === end.usage ? end : { ...end, usage }, extraMicros };
  }

  /** Settles a failure after admission and returns the error the client gets. */
  function fail(
    ticket: Ticket<R>,
    trace: RequestTrace,
    error: unknown,
    served: Served<unknown, R> | null,
    tried: Unserved<R> | null,
    usage: NormalizedUsage | null = null,
    extraMicros = 0,
    clientLeft = false,
  ): unknown {
    settle(ticket, trace, { kind: "failed", error, usage, extraMicros, clientLeft }, served, tried);
    return ticket.error(error);
  }

  async function jsonReply(
    ticket: Ticket<R>,
    served: Served<unknown, R>,
    settled: Settlement,
    body: unknown,
    raw: string | undefined,
  ): Promise<Reply> {
    const headers = Object.assign({}, ticket.headers(served), settled.headers);
    if (ticket.settledHeaders) Object.assign(headers, await ticket.settledHeaders());
    return raw === undefined ? { kind: "json", body, headers } : { kind: "json", body, raw, headers };
  }

  async function relayJson<In extends { model: string }, Req, Body, Ev, Q>(
    e: Endpoint<In, Req, Body, Ev, Q>,
    ticket: Ticket<R>,
    call: InferenceCall<In, I, Q>,
    request: Req,
    options: CallOptions | undefined,
    trace: RequestTrace,
  ): Promise<Reply> {
    const served = await ticket.attempt((route) => callJson(e, route, request, options, trace));
    if (!served.ok) throw fail(ticket, trace, served.error, null, served);
    const result = served.value;
    const settled = settle(ticket, trace, answered(e, result, served.route, call.body), served, null);
    if (e.bytes) {
      const reply = await jsonReply(ticket, served, settled, null, undefined);
      const type = result.headers.get("content-type") ?? "application/octet-stream";
      return {
        kind: "stream",
        body: result.body as ReadableStream<Uint8Array>,
        headers: { ...reply.headers, "content-type": type },
      };
    }
    if (e.verbatim) {
      const { text, contentType } = e.verbatim(result.body);
      const { headers } = await jsonReply(ticket, served, settled, null, undefined);
      return { kind: "json", body: null, raw: text, contentType, headers };
    }
    if (e.reply) return jsonReply(ticket, served, settled, e.reply(result, call), undefined);
    return jsonReply(ticket, served, settled, result.body, result.raw);
  }

  async function relayStream<In extends { model: string }, Req, Body, Ev, Q>(
    e: Endpoint<In, Req, Body, Ev, Q>,
    stream: NonNullable<Endpoint<In, Req, Body, Ev, Q>["stream"]>,
    ticket: Ticket<R>,
    call: InferenceCall<In, I, Q>,
    request: Req,
    options: CallOptions | undefined,
    trace: RequestTrace,
  ): Promise<Reply> {
    const served = await ticket.attempt((route) => openStream(e, stream.method, route, request, options, trace));
    if (!served.ok) throw fail(ticket, trace, served.error, null, served);
    return sseReply(
      served.value,
      streaming,
      stream.framing(call, served.route.model),
      (end) => settleStream(ticket, trace, end, streamed(end, served.route, 0), served),
      ticket.headers(served),
      undefined,
      trace.on ? () => trace.clientFirstByte() : undefined,
    );
  }

  /**
   * A request with gateway tools: sessions opened before any upstream call (502 when a backend is unreachable);
   * each round cleared first (ticket.beforeRound); a JSON loop's first round through the attempts and later rounds
   * through `ticket.again`; a streamed loop's later rounds on the route that served its first (the client has
   * bytes already). A JSON loop whose client left stops at once. One settlement: usage summed over the rounds, plus
   * the tool calls' cost.
   */
  async function serveLoop<In extends { model: string }, Req, Body, Ev, Q>(
    e: Endpoint<In, Req, Body, Ev, Q>,
    loop: LoopSpec<In, Req, Body, Ev>,
    grant: ToolGrant,
    ticket: Ticket<R>,
    call: InferenceCall<In, I, Q>,
    request: Req,
    options: CallOptions | undefined,
    trace: RequestTrace,
  ): Promise<Reply> {
    const { protocol } = loop;
    const { plan } = grant;
    // The route of the round in flight: its provider is whose usage the usage guard checks as the round ends.
    let current: R | null = null;
    const tally = new Tally(grant.prices, (u) => (current ? checkUsage(u, current.providerName) : u));
    let runner: ToolRunner;
    try {
      runner = await ToolRunner.open(
        plan,
        tally,
        trace.on ? (name: string, callId: string) => trace.tool(name, callId) : undefined,
      );
    } catch (err) {
      throw fail(ticket, trace, err, null, null);
    }
    const clear = ticket.beforeRound?.bind(ticket);
    const clearRound = (req: Req, served: Served<unknown, R> | null) =>
      clear?.(protocol.promptParts(req), { usage: tally.usageOrNull(), extraMicros: tally.toolCostMicros() }, served);

    const stream = e.stream?.requested(call.body) ? e.stream : undefined;
    if (stream) {
      const first = protocol.prepare(request, runner.offer);
      try {
        await clearRound(first, null);
      } catch (err) {
        await runner.close();
        throw fail(ticket, trace, err, null, null);
      }
      const served = await ticket.attempt((route) => openStream(e, stream.method, route, first, options, trace));
      if (!served.ok) {
        await runner.close();
        throw fail(ticket, trace, served.error, null, served);
      }
      current = served.route;
      const rounds = new ToolLoopStream<Req, Ev>({
        protocol,
        plan,
        runner,
        request: first,
        first: served.value,
        open: (req) => openStream(e, stream.method, served.route, req, options, trace),
        beforeRound: clear ? async (req) => clearRound(req, served) : undefined,
      });
      return sseReply(
        rounds,
        streaming,
        stream.framing(call, served.route.model),
        (end) => settleStream(ticket, trace, end, streamed(end, served.route, tally.toolCostMicros()), served),
        ticket.headers(served),
        () => rounds.stopAfterRound(),
        trace.on ? () => trace.clientFirstByte() : undefined,
      );
    }

    const { signal } = call;
    const roundOptions: CallOptions = { ...options, signal };
    // The round that served last, and the call that failed (if one did).
    const at: { served: Served<ProviderResult<Body>, R> | null; tried: Unserved<R> | null } = {
      served: null,
      tried: null,
    };
    let result: ProviderResult<Body>;
    try {
      result = await runJsonLoop({
        protocol,
        plan,
        runner,
        request,
        beforeRound: clear ? async (req) => clearRound(req, at.served) : undefined,
        signal,
        call: async (req) => {
          const run = (route: R) => callJson(e, route, req, roundOptions, trace);
          const a = at.served ? await ticket.again(at.served, run, signal) : await ticket.attempt(run, signal);
          if (!a.ok) {
            at.tried = a;
            throw a.error;
          }
          at.served = a;
          current = a.route;
          return a.value;
        },
      });
    } catch (err) {
      const left = signal?.aborted === true;
      const error = left ? clientDisconnected() : err;
      throw fail(ticket, trace, error, at.served, at.tried, tally.usageOrNull(), tally.toolCostMicros(), left);
    } finally {
      await runner.close();
    }
    // runJsonLoop returns only after a round answered.
    const served = at.served!;
    const outcome: Outcome = {
      kind: "answered",
      usage: tally.usageOrNull(),
      extraMicros: tally.toolCostMicros(),
      perRequest: false,
      units: null,
    };
    return jsonReply(ticket, served, settle(ticket, trace, outcome, served, null), result.body, result.raw);
  }

  /** The stages after admission: cache, guardrails, attempts, relay (settlement and record inside). */
  async function serveTicket<In extends { model: string }, Req, Body, Ev, Q>(
    e: Endpoint<In, Req, Body, Ev, Q>,
    call: InferenceCall<In, I, Q>,
    ticket: Ticket<R>,
    trace: RequestTrace,
  ): Promise<Reply> {
    try {
      // cache: a response cache, when one is built, answers here (before guardrails and attempts).
      // guardrails: request checks, when built, run here (after admission, before any upstream call).
      const request = e.upstream(call.body);
      const headers = e.callHeaders?.(call);
      const options = headers ? { headers } : undefined;
      if (ticket.tools && e.loop)
        return await serveLoop(e, e.loop, ticket.tools, ticket, call, request, options, trace);
      if (e.stream?.requested(call.body)) return await relayStream(e, e.stream, ticket, call, request, options, trace);
      return await relayJson(e, ticket, call, request, options, trace);
    } catch (err) {
      // Whatever threw after admission, the ticket settles (a no-op when it did already): the request's budget
      // reservations and concurrency slots never outlive it.
      ticket.settle({ kind: "failed", error: err, usage: null, extraMicros: 0, clientLeft: false }, null, null);
      throw err;
    }
  }

  return {
    async serve<In extends { model: string }, Req, Body, Ev, Q>(
      e: Endpoint<In, Req, Body, Ev, Q>,
      call: InferenceCall<In, I, Q>,
    ): Promise<Reply> {
      const trace = startTrace(telemetry, e, call);
      if (!trace.on) return serveTicket(e, call, await policy.admit(e, call), trace);
      // The trace id goes to the usage row (admission) and the response header (the route reads it off the call).
      call.traceId = trace.traceId ?? undefined;
      let ticket: Ticket<R>;
      try {
        ticket = await policy.admit(e, call);
      } catch (err) {
        trace.refused(err);
        throw err;
      }
      trace.admitted(ticket.traceFacts?.());
      try {
        const reply = await serveTicket(e, call, ticket, trace);
        if (reply.kind === "json") trace.replied();
        return reply;
      } catch (err) {
        trace.failed(err);
        throw err;
      }
    },
  };
}

/** The pipeline of a mode whose callers are identified as `I`. */
export interface Pipeline<I> {
  /** Serves one request to `endpoint`: the stages above, in order. */
  serve<In extends { model: string }, Req, Body, Ev, Q>(
    endpoint: Endpoint<In, Req, Body, Ev, Q>,
    call: InferenceCall<In, I, Q>,
  ): Promise<Reply>;
}
