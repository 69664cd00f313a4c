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
  providerName,
  setGatewayAttributes,
  setRequestAttributes,
  setResponseAttributes,
  setToolAttributes,
  setUpstreamAddress,
  setUsageAttributes,
} from "../../../telemetry/genai";
import { epochNowMs, type Span, type Telemetry } from "../../../telemetry/index";
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
 * per method (allocation is most of what tracing costs a request: docs/tracing.md#cost).
 */
class LiveTrace implements RequestTrace {
  readonly on = true;
  readonly traceId: string;
  private readonly server: Span;
  private readonly startMs: number;
  private readonly request: GenAiRequestFacts;
  private capture = false;
  private tries = 0;
  private firstChunk = false;
  private ended = false;
  /** Attempt spans of streams still being relayed (a streamed tool loop opens one per round); made on the first. */
  private streaming: Span[] | null = null;

  constructor(
    private readonly telemetry: Telemetry,
    path: string,
    operation: string,
    private readonly spec: TraceSpec<{ model: string }, unknown> | undefined,
    private readonly call: InferenceCall<{ model: string }, unknown, unknown>,
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
    if (server.recording) {
      setRequestAttributes(server, this.request);
      server
        .setAttribute(ATTR.httpMethod, "POST")
        .setAttribute(ATTR.httpRoute, path)
        .setAttribute(ATTR.gatewayRequestId, call.requestId)
        .setAttribute(ATTR.userAgent, call.headers.get("user-agent"));
    }
  }

  /** The provider that served, on the request span (the attempt spans carry their own). */
  private served(gatewayProvider: string): void {
    this.server
      .setAttribute(ATTR.providerName, providerName(gatewayProvider))
      .setAttribute(ATTR.gatewayProvider, gatewayProvider);
  }

  private end(status: number): void {
    if (this.ended) return;
    this.ended = true;
    this.server.setAttribute(ATTR.httpStatusCode, status).end();
  }

  admitted(facts: TicketFacts | undefined): void {
    if (!this.server.recording) return;
    if (facts) setGatewayAttributes(this.server, facts);
    const content = this.spec?.content;
    this.capture = content !== undefined && this.telemetry.capturesContent(facts?.captureContent);
    if (this.capture && content)
      captureContent(this.server, this.telemetry.redactor, ATTR.inputMessages, content.input(this.call.body));
  }

  refused(error: unknown): void {
    const server = this.server;
    if (server.recording) {
      const admission = this.telemetry.tracer.startSpan("gateway.admission", "internal", server, this.startMs);
      const budget = error instanceof GatewayError && error.code !== null && BUDGET_CODES.has(error.code);
      admission.setAttribute(ATTR.gatewayAdmissionDecision, "refused");
      if (budget) {
        admission.setAttribute(ATTR.gatewayBudgetDecision, "refused");
        server.setAttribute(ATTR.gatewayBudgetDecision, "refused");
      }
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
    if (span.recording) {
      setRequestAttributes(span, this.request, route.providerName, route.model);
      span.setAttribute(ATTR.gatewayAttempt, n);
      if (route.settings.apiBase) setUpstreamAddress(span, route.settings.apiBase);
      this.server.setAttribute(ATTR.gatewayAttempts, n);
    }
    const headers: Record<string, string> = options?.headers ? { ...options.headers } : {};
    tracer.inject(span, headers);
    return new LiveAttempt(this, route.providerName, span, started, { signal: options?.signal, headers });
  }

  /** A JSON answer of an attempt: its facts on the request span too, and the completion when captured. */
  answered(result: ProviderResult<unknown>, facts: GenAiResponseFacts, provider: string): void {
    setResponseAttributes(this.server, facts);
    this.served(provider);
    const content = this.spec?.content;
    if (this.capture && content)
      captureContent(this.server, this.telemetry.redactor, ATTR.outputMessages, content.output(result.body));
  }

  /** The spec's facts of an answer's body. */
  responseFacts(body: unknown): GenAiResponseFacts {
    return this.spec?.response?.(body) ?? {};
  }

  /** A streamed attempt's first event: the request span's first chunk too, when it is the first. */
  opened(span: Span, provider: string, at: number): void {
    if (!this.firstChunk) {
      this.firstChunk = true;
      markFirstChunk(this.server, this.startMs, at);
      this.served(provider);
    }
    if (this.streaming) this.streaming.push(span);
    else this.streaming = [span];
  }

  tool(name: string, callId: string): (error?: unknown) => void {
    const span = this.telemetry.tracer.startSpan(genAiSpanName("execute_tool", name), "internal", this.server);
    setToolAttributes(span, { name, callId });
    return (error) => {
      if (error === undefined) span.end();
      else endWithError(span, error);
    };
  }

  settled(outcome: Outcome, costMicros: number | null): void {
    if (!this.server.recording) return;
    const usage = usageOf(outcome);
    if (usage) setUsageAttributes(this.server, usage);
    if (costMicros !== null) this.server.setDouble(ATTR.gatewayCostUsd, costMicros / 1_000_000);
  }

  replied(): void {
    this.end(200);
  }

  clientFirstByte(): void {
    this.server.addEvent(EVENT.clientFirstByte);
  }

  streamEnded(pumpEnd: PumpEnd): void {
    const error = pumpEnd.kind === "upstream_error" ? pumpEnd.error : undefined;
    for (const span of this.streaming?.splice(0) ?? []) {
      if (error === undefined) span.end();
      else endWithError(span, error);
    }
    if (error !== undefined) this.server.setAttribute(ATTR.errorType, errorType(error)).recordException(error);
    else if (pumpEnd.kind === "client_gone")
      this.server.setAttribute(ATTR.gatewayStreamEnd, pumpEnd.cutAtShutdown ? "shutdown" : "client_gone");
    this.end(200);
  }

  failed(error: unknown): void {
    for (const span of this.streaming?.splice(0) ?? []) endWithError(span, error);
    this.server.setAttribute(ATTR.errorType, errorType(error)).recordException(error);
    this.end(statusOf(error));
  }
}

/** One upstream try of a traced request. */
class LiveAttempt implements AttemptTrace {
  constructor(
    private readonly trace: LiveTrace,
    private readonly provider: string,
    private readonly span: Span,
    private readonly started: number,
    readonly options: CallOptions,
  ) {}

  answered(result: ProviderResult<unknown>): void {
    const span = this.span;
    if (span.recording) {
      const facts = this.trace.responseFacts(result.body);
      setResponseAttributes(span, facts);
      setUsageAttributes(span, result.usage);
      this.trace.answered(result, facts, this.provider);
    }
    span.end();
  }

  opened(): void {
    const at = epochNowMs();
    markFirstChunk(this.span, this.started, at);
    this.trace.opened(this.span, this.provider, at);
  }

  failed(error: unknown): void {
    endWithError(this.span, error);
  }
}
