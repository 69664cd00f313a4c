/**
 * The pipeline's tracing stage (docs/tracing.md#what-is-exported): a server span per request, a client span per
 * upstream try (its `traceparent` on the upstream request), an internal span per gateway tool call and one for an
 * admission that refuses, and stream timing. run.ts calls it at each stage. With tracing off `startTrace` returns
 * one shared no-op trace and run.ts skips the stage's calls: a request allocates nothing for tracing.
 */
import { GatewayError } from "../../../core/errors";
import type { NormalizedUsage } from "../../../core/wire/index";
import { classifyFailure } from "../../../providers/failures";
import type { CallOptions, ProviderResult } from "../../../providers/types";
import { bindTraceId } from "../../../runtime/request-context";
import {
  ATTR,
  captureContent,
  EVENT,
  type GatewayFacts,
  type GenAiRequestFacts,
  type GenAiResponseFacts,
  genAiSpanName,
  markFirstChunk,
  setGatewayAttributes,
  setRequestAttributes,
  setResponseAttributes,
  setToolAttributes,
  setUpstreamAddress,
  setUsageAttributes,
} from "../../../telemetry/genai";
import { type AttributeSink, epochNowMs, type Span, type Telemetry } from "../../../telemetry/index";
import type { Endpoint, TraceSpec } from "./endpoint";
import type { PumpEnd } from "./sse-pump";
import type { InferenceCall, Outcome, Upstream } from "./types";

/** What admission knows of the request for its span: who it bills, and the key's content-capture setting. */
export interface TicketFacts extends GatewayFacts {
  /** The key's own `otel_capture_content` (null: the operator's global setting applies). */
  captureContent?: boolean | null;
}

/** One upstream try as traced: the options to call it with (carrying `traceparent`) and how it ended. */
export interface AttemptTrace {
  readonly options: CallOptions | undefined;
  /** A JSON answer: the span ends with the response's facts. */
  answered(result: ProviderResult<unknown>): void;
  /** A stream opened (its first event arrived): the span stays open until the stream ends. */
  opened(): void;
  failed(error: unknown): void;
}

/** One request as traced. A live trace is a class instance: call its methods on it, never pass one detached. */
export interface RequestTrace {
  /** False for the no-op trace: run.ts then calls nothing else. */
  readonly on: boolean;
  /** The trace id (hex): on the response header, the log lines and the usage row; null with tracing off. */
  readonly traceId: string | null;
  admitted(facts: TicketFacts | undefined): void;
  /** Admission refused: a `gateway.admission` span with the reason; the request span ends with the error. */
  refused(error: unknown): void;
  attempt(route: Upstream, options: CallOptions | undefined): AttemptTrace;
  /** A gateway tool call starts; the function returned ends its span (with the error, if it failed). */
  tool(name: string, callId: string): (error?: unknown) => void;
  /** Settlement: the cost and the usage the request is billed for. */
  settled(outcome: Outcome, costMicros: number | null): void;
  /** A JSON reply is ready: the request span ends. */
  replied(): void;
  /** A stream's first byte to the client. */
  clientFirstByte(): void;
  /** A stream ended (however): its open attempt spans and the request span end. */
  streamEnded(end: PumpEnd): void;
  /** A failure after admission: the request span ends with it. */
  failed(error: unknown): void;
}

const NOOP_END = () => {};
const NOOP_ATTEMPT: AttemptTrace = { options: undefined, answered: NOOP_END, opened: NOOP_END, failed: NOOP_END };

export const NOOP_TRACE: RequestTrace = {
  on: false,
  traceId: null,
  admitted: NOOP_END,
  refused: NOOP_END,
  attempt: () => NOOP_ATTEMPT,
  tool: () => NOOP_END,
  settled: NOOP_END,
  replied: NOOP_END,
  clientFirstByte: NOOP_END,
  streamEnded: NOOP_END,
  failed: NOOP_END,
};

/** Admission refusals that are budget decisions (the span's `gateway.budget.decision` is then `refused`). */
const BUDGET_CODES = new Set(["budget_exceeded", "insufficient_budget"]);

/** A low-cardinality class of a failure (`error.type`): the upstream's failure class, else the gateway's code. */
export function errorType(error: unknown): string {
  const failure = classifyFailure(error);
  if (failure.errorClass !== "unknown") return failure.errorClass;
  if (error instanceof GatewayError) return error.code ?? String(error.status);
  return error instanceof Error ? error.name : "_OTHER";
}

const statusOf = (error: unknown): number => (error instanceof GatewayError ? error.status : 500);

/** Ends `span` with `error`: its class, an exception event and the error status. */
function endWithError(span: Span, error: unknown): void {
  span.setAttribute(ATTR.errorType, errorType(error)).recordException(error).end();
}

/** The usage a settlement bills. */
function usageOf(outcome: Outcome): NormalizedUsage | null {
  return outcome.kind === "streamed" ? outcome.end.usage : outcome.usage;
}

/**
 * Starts the trace of one request to `e`: the server span, continuing the caller's `traceparent`, with the request's
 * GenAI attributes; its trace id bound to the request's log context. `telemetry` absent or off: the no-op trace.
 */
export function startTrace<In extends { model: string }, Req, Body, Ev, Q>(
  telemetry: Telemetry | undefined,
  e: Endpoint<In, Req, Body, Ev, Q>,
  call: InferenceCall<In, unknown, Q>,
): RequestTrace {
  if (!telemetry?.tracer.enabled) return NOOP_TRACE;
  return new LiveTrace(telemetry, e.path, e.operation, e.trace as TraceSpec<{ model: string }, unknown>, call);
}

/**
 * A traced request. A class rather than an object of closures: a request allocates its state once, not a function
 * per method (allocation is most of what tracing costs a request: docs/tracing.md#cost). Its spans hold their
 * GenAI and gateway attributes by reference (Span.setDeferred): the request span this object, an attempt span its
 * LiveAttempt; `serverAttributes` and `attemptAttributes` write them when the span is encoded. What a span records
 * only on rarer paths (an error's class, stream timing, captured content) it sets one by one, under keys those
 * functions do not write.
 */
class LiveTrace implements RequestTrace {
  readonly on = true;
  readonly traceId: string;
  private readonly server: Span;
  private readonly startMs: number;
  readonly request: GenAiRequestFacts;
  readonly httpRoute: string;
  readonly requestId: string;
  readonly userAgent: string | null;
  /** The request body while admission may still capture it as input; dropped then, so spans do not keep it. */
  private body: { model: string } | null;
  private capture = false;
  // What the request span's deferred attributes read; none changes once the span has ended.
  ticket: TicketFacts | null = null;
  budgetRefused = false;
  response: GenAiResponseFacts | null = null;
  /** The provider key that answered (null until one did). */
  servedBy: string | null = null;
  usage: NormalizedUsage | null = null;
  costMicros: number | null = null;
  tries = 0;
  /** The HTTP status the request ended with (0 until it ended). */
  httpStatus = 0;
  streamEnd: string | null = null;
  private firstChunk = false;
  private ended = false;
  /** Attempts of streams still being relayed (a streamed tool loop opens one per round); made on the first. */
  private streaming: LiveAttempt[] | null = null;

  constructor(
    private readonly telemetry: Telemetry,
    path: string,
    operation: string,
    private readonly spec: TraceSpec<{ model: string }, unknown> | undefined,
    call: InferenceCall<{ model: string }, unknown, unknown>,
  ) {
    const { tracer } = telemetry;
    const traceparent = call.headers.get("traceparent");
    const parent = traceparent ? tracer.extract(traceparent, call.headers.get("tracestate")) : null;
    this.startMs = epochNowMs();
    const server = tracer.startSpan(genAiSpanName(operation, call.body.model), "server", parent, this.startMs);
    this.server = server;
    this.traceId = server.context.traceId;
    bindTraceId(this.traceId);
    this.request = spec?.request(call.body) ?? { operation, model: call.body.model };
    this.httpRoute = path;
    this.requestId = call.requestId;
    this.userAgent = server.recording ? call.headers.get("user-agent") : null;
    this.body = spec?.content && server.recording ? call.body : null;
    server.setDeferred(serverAttributes, this);
  }

  private end(status: number): void {
    if (this.ended) return;
    this.ended = true;
    this.httpStatus = status;
    this.server.end();
  }

  admitted(facts: TicketFacts | undefined): void {
    const body = this.body;
    this.body = null;
    if (!this.server.recording) return;
    this.ticket = facts ?? null;
    const content = this.spec?.content;
    this.capture = content !== undefined && this.telemetry.capturesContent(facts?.captureContent);
    if (this.capture && content && body)
      captureContent(this.server, this.telemetry.redactor, ATTR.inputMessages, content.input(body));
  }

  refused(error: unknown): void {
    this.body = null;
    const server = this.server;
    if (server.recording) {
      const admission = this.telemetry.tracer.startSpan("gateway.admission", "internal", server, this.startMs);
      const budget = error instanceof GatewayError && error.code !== null && BUDGET_CODES.has(error.code);
      admission.setAttribute(ATTR.gatewayAdmissionDecision, "refused");
      if (budget) admission.setAttribute(ATTR.gatewayBudgetDecision, "refused");
      this.budgetRefused = budget;
      endWithError(admission, error);
      server.setAttribute(ATTR.errorType, errorType(error)).recordException(error);
    }
    this.end(statusOf(error));
  }

  attempt(route: Upstream, options: CallOptions | undefined): AttemptTrace {
    const n = ++this.tries;
    const started = epochNowMs();
    const { tracer } = this.telemetry;
    const span = tracer.startSpan(genAiSpanName(this.request.operation, route.model), "client", this.server, started);
    const headers: Record<string, string> = options?.headers ? { ...options.headers } : {};
    tracer.inject(span, headers);
    const attempt = new LiveAttempt(this, route, n, span, started, { signal: options?.signal, headers });
    span.setDeferred(attemptAttributes, attempt);
    return attempt;
  }

  /** A JSON answer of an attempt: its facts on the request span too, and the completion when captured. */
  answered(result: ProviderResult<unknown>, facts: GenAiResponseFacts, provider: string): void {
    if (this.ended) return;
    this.response = facts;
    this.servedBy = provider;
    const content = this.spec?.content;
    if (this.capture && content)
      captureContent(this.server, this.telemetry.redactor, ATTR.outputMessages, content.output(result.body));
  }

  /** The spec's facts of an answer's body. */
  responseFacts(body: unknown): GenAiResponseFacts {
    return this.spec?.response?.(body) ?? {};
  }

  /** A streamed attempt's first event: the request span's first chunk too, when it is the first. */
  opened(attempt: LiveAttempt, provider: string, at: number): void {
    if (!this.firstChunk && !this.ended) {
      this.firstChunk = true;
      markFirstChunk(this.server, this.startMs, at);
      this.servedBy = provider;
    }
    if (this.streaming) this.streaming.push(attempt);
    else this.streaming = [attempt];
  }

  tool(name: string, callId: string): (error?: unknown) => void {
    const span = this.telemetry.tracer.startSpan(genAiSpanName("execute_tool", name), "internal", this.server);
    if (span.recording) setToolAttributes(span, { name, callId });
    return (error) => {
      if (error === undefined) span.end();
      else endWithError(span, error);
    };
  }

  settled(outcome: Outcome, costMicros: number | null): void {
    if (this.ended) return;
    this.usage = usageOf(outcome);
    this.costMicros = costMicros;
  }

  replied(): void {
    this.end(200);
  }

  clientFirstByte(): void {
    this.server.addEvent(EVENT.clientFirstByte);
  }

  streamEnded(pumpEnd: PumpEnd): void {
    const error = pumpEnd.kind === "upstream_error" ? pumpEnd.error : undefined;
    for (const attempt of this.streaming?.splice(0) ?? []) attempt.end(error);
    if (error !== undefined) this.server.setAttribute(ATTR.errorType, errorType(error)).recordException(error);
    else if (pumpEnd.kind === "client_gone" && !this.ended)
      this.streamEnd = pumpEnd.cutAtShutdown ? "shutdown" : "client_gone";
    this.end(200);
  }

  failed(error: unknown): void {
    for (const attempt of this.streaming?.splice(0) ?? []) attempt.end(error);
    this.server.setAttribute(ATTR.errorType, errorType(error)).recordException(error);
    this.end(statusOf(error));
  }
}

/** The request span's deferred attributes (Span.setDeferred), read from its trace when the span is encoded. */
function serverAttributes(t: LiveTrace, out: AttributeSink): void {
  setRequestAttributes(out, t.request, t.servedBy ?? t.request.provider);
  out.setAttribute(ATTR.httpMethod, "POST");
  out.setAttribute(ATTR.httpRoute, t.httpRoute);
  out.setAttribute(ATTR.httpStatusCode, t.httpStatus || null);
  out.setAttribute(ATTR.userAgent, t.userAgent);
  out.setAttribute(ATTR.gatewayRequestId, t.requestId);
  if (t.ticket) setGatewayAttributes(out, t.ticket);
  else if (t.budgetRefused) out.setAttribute(ATTR.gatewayBudgetDecision, "refused");
  if (t.tries > 0) out.setAttribute(ATTR.gatewayAttempts, t.tries);
  if (t.response) setResponseAttributes(out, t.response);
  if (t.usage) setUsageAttributes(out, t.usage);
  if (t.costMicros !== null) out.setDouble(ATTR.gatewayCostUsd, t.costMicros / 1_000_000);
  out.setAttribute(ATTR.gatewayStreamEnd, t.streamEnd);
}

/** One upstream try of a traced request. */
class LiveAttempt implements AttemptTrace {
  // What the attempt span's deferred attributes read, set before the span ends.
  response: GenAiResponseFacts | null = null;

  constructor(
    readonly trace: LiveTrace,
    readonly route: Upstream,
    readonly n: number,
    private readonly span: Span,
    private readonly started: number,
    /** Dropped when the try ends: the span keeps this object until its batch is sent, not the request's signal. */
    public options: CallOptions | undefined,
  ) {}

  answered(result: ProviderResult<unknown>): void {
    if (this.span.recording) {
      const facts = this.trace.responseFacts(result.body);
      this.response = facts;
      this.trace.answered(result, facts, this.route.providerName);
    }
    this.end(undefined);
  }

  opened(): void {
    const at = epochNowMs();
    markFirstChunk(this.span, this.started, at);
    this.trace.opened(this, this.route.providerName, at);
  }

  failed(error: unknown): void {
    this.end(error);
  }

  /** The try ended (with its error, if it failed): a JSON answer, a failure, or the end of its relayed stream. */
  end(error: unknown): void {
    this.options = undefined;
    if (error === undefined) this.span.end();
    else endWithError(this.span, error);
  }
}

/**
 * An attempt span's deferred attributes (Span.setDeferred). No usage: the request span carries what the request is
 * billed for, and backends that sum `gen_ai.usage.*` over a trace's spans (Langfuse, Opik, Braintrust) would count a
 * token twice if an attempt repeated it (docs/tracing.md#conventions-version).
 */
function attemptAttributes(a: LiveAttempt, out: AttributeSink): void {
  setRequestAttributes(out, a.trace.request, a.route.providerName, a.route.model);
  out.setAttribute(ATTR.gatewayAttempt, a.n);
  if (a.route.settings.apiBase) setUpstreamAddress(out, a.route.settings.apiBase);
  if (a.response) setResponseAttributes(out, a.response);
}
