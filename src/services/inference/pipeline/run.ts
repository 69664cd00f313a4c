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
 * Every upstream call goes through `callJson` / `openStream` (one place to time or trace an attempt).
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
import type { InferenceCall, Outcome, Served, Settlement, Unserved, Upstream } from "./types";

type Method<Req, Out> = (req: Req, settings: ProviderSettings, options?: CallOptions) => Promise<Out>;

export interface PipelineOptions<I, R extends Upstream> {
  policy: ModePolicy<I, R>;
  streaming: StreamSettings;
  /** Checks upstream usage before anything bills or reports it (usage-guard.ts). */
  checkUsage: UsageGuard;
}

export function createPipeline<I, R extends Upstream>(o: PipelineOptions<I, R>): Pipeline<I> {
  const { policy, streaming, checkUsage } = o;

  function callJson<In extends { model: string }, Req, Body, Ev, Q>(
    e: Endpoint<In, Req, Body, Ev, Q>,
    route: R,
    request: Req,
    options: CallOptions | undefined,
  ): Promise<ProviderResult<Body>> {
    checkSupport(e, route.provider, route.providerName, false);
    const method = route.provider[e.json] as Method<Req, ProviderResult<Body>>;
    const req = e.stream ? { ...request, model: route.model, stream: false } : { ...request, model: route.model };
    return method.call(route.provider, req, route.settings, options);
  }

  function openStream<In extends { model: string }, Req, Body, Ev, Q>(
    e: Endpoint<In, Req, Body, Ev, Q>,
    method: StreamMethod<Req, Ev>,
    route: R,
    request: Req,
    options: CallOptions | undefined,
  ): Promise<ProviderStream<Ev>> {
    checkSupport(e, route.provider, route.providerName, true);
    const open = route.provider[method] as Method<Req, ProviderStream<Ev>>;
    return open.call(route.provider, { ...request, model: route.model, stream: true }, route.settings, options);
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
    error: unknown,
    served: Served<unknown, R> | null,
    tried: Unserved<R> | null,
    usage: NormalizedUsage | null = null,
    extraMicros = 0,
    clientLeft = false,
  ): unknown {
    ticket.settle({ kind: "failed", error, usage, extraMicros, clientLeft }, served, tried);
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
  ): Promise<Reply> {
    const served = await ticket.attempt((route) => callJson(e, route, request, options));
    if (!served.ok) throw fail(ticket, served.error, null, served);
    const result = served.value;
    const settled = ticket.settle(answered(e, result, served.route, call.body), served, null);
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
  ): Promise<Reply> {
    const served = await ticket.attempt((route) => openStream(e, stream.method, route, request, options));
    if (!served.ok) throw fail(ticket, served.error, null, served);
    return sseReply(
      served.value,
      streaming,
      stream.framing(call, served.route.model),
      (end) => ticket.settle(streamed(end, served.route, 0), served, null).costMicros,
      ticket.headers(served),
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
  ): Promise<Reply> {
    const { protocol } = loop;
    const { plan } = grant;
    // The route of the round in flight: its provider is whose usage the usage guard checks as the round ends.
    let current: R | null = null;
    const tally = new Tally(grant.prices, (u) => (current ? checkUsage(u, current.providerName) : u));
    let runner: ToolRunner;
    try {
      runner = await ToolRunner.open(plan, tally);
    } catch (err) {
      throw fail(ticket, err, null, null);
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
        throw fail(ticket, err, null, null);
      }
      const served = await ticket.attempt((route) => openStream(e, stream.method, route, first, options));
      if (!served.ok) {
        await runner.close();
        throw fail(ticket, served.error, null, served);
      }
      current = served.route;
      const rounds = new ToolLoopStream<Req, Ev>({
        protocol,
        plan,
        runner,
        request: first,
        first: served.value,
        open: (req) => openStream(e, stream.method, served.route, req, options),
        beforeRound: clear ? async (req) => clearRound(req, served) : undefined,
      });
      return sseReply(
        rounds,
        streaming,
        stream.framing(call, served.route.model),
        (end) => ticket.settle(streamed(end, served.route, tally.toolCostMicros()), served, null).costMicros,
        ticket.headers(served),
        () => rounds.stopAfterRound(),
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
          const run = (route: R) => callJson(e, route, req, roundOptions);
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
      throw fail(ticket, error, at.served, at.tried, tally.usageOrNull(), tally.toolCostMicros(), left);
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
    return jsonReply(ticket, served, ticket.settle(outcome, served, null), result.body, result.raw);
  }

  return {
    async serve<In extends { model: string }, Req, Body, Ev, Q>(
      e: Endpoint<In, Req, Body, Ev, Q>,
      call: InferenceCall<In, I, Q>,
    ): Promise<Reply> {
      const ticket = await policy.admit(e, call);
      // cache: a response cache, when one is built, answers here (before guardrails and attempts).
      // guardrails: request checks, when built, run here (after admission, before any upstream call).
      const request = e.upstream(call.body);
      const headers = e.callHeaders?.(call);
      const options = headers ? { headers } : undefined;
      if (ticket.tools && e.loop) return serveLoop(e, e.loop, ticket.tools, ticket, call, request, options);
      if (e.stream?.requested(call.body)) return relayStream(e, e.stream, ticket, call, request, options);
      return relayJson(e, ticket, call, request, options);
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
