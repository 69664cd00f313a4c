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
import type { Span, Telemetry } from "../../../telemetry/index";
import type { Endpoint } from "./endpoint";
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

/** One request as traced. */
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

const nowMs = () => performance.timeOrigin + performance.now();

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
  const { tracer, redactor } = telemetry;
  const parent = tracer.extract(call.headers.get("traceparent"), call.headers.get("tracestate"));
  const startMs = nowMs();
  const server = tracer.startSpan(genAiSpanName(e.operation, call.body.model), "server", parent, startMs);
  const traceId = server.context.traceId;
  bindTraceId(traceId);
  const request: GenAiRequestFacts = e.trace?.request(call.body) ?? { operation: e.operation, model: call.body.model };
  if (server.recording) {
    setRequestAttributes(server, request);
    server
      .setAttribute(ATTR.httpMethod, "POST")
      .setAttribute(ATTR.httpRoute, e.path)
      .setAttribute(ATTR.gatewayRequestId, call.requestId)
      .setAttribute(ATTR.userAgent, call.headers.get("user-agent"));
  }
  let capture = false;
  let tries = 0;
  let firstChunk = false;
  let ended = false;
  /** Attempt spans of streams still being relayed (a streamed tool loop opens one per round). */
  const streaming: Span[] = [];

  /** The provider that served, on the request span (the attempt spans carry their own). */
  const served = (gatewayProvider: string) =>
    server
      .setAttribute(ATTR.providerName, providerName(gatewayProvider))
      .setAttribute(ATTR.gatewayProvider, gatewayProvider);
  const end = (status: number) => {
    if (ended) return;
    ended = true;
    server.setAttribute(ATTR.httpStatusCode, status).end();
  };

  return {
    on: true,
    traceId,
    admitted(facts) {
      if (!server.recording) return;
      if (facts) setGatewayAttributes(server, facts);
      capture = telemetry.capturesContent(facts?.captureContent);
      if (capture && e.trace?.content)
        captureContent(server, redactor, ATTR.inputMessages, e.trace.content.input(call.body));
    },
    refused(error) {
      if (server.recording) {
        const admission = tracer.startSpan("gateway.admission", "internal", server, startMs);
        const budget = error instanceof GatewayError && error.code !== null && BUDGET_CODES.has(error.code);
        admission.setAttribute(ATTR.gatewayAdmissionDecision, "refused");
        if (budget) {
          admission.setAttribute(ATTR.gatewayBudgetDecision, "refused");
          server.setAttribute(ATTR.gatewayBudgetDecision, "refused");
        }
        endWithError(admission, error);
        server.setAttribute(ATTR.errorType, errorType(error)).recordException(error);
      }
      end(statusOf(error));
    },
    attempt(route, options) {
      const n = ++tries;
      const started = nowMs();
      const span = tracer.startSpan(genAiSpanName(request.operation, route.model), "client", server, started);
      if (span.recording) {
        setRequestAttributes(span, { ...request, provider: route.providerName, model: route.model });
        span.setAttribute(ATTR.gatewayAttempt, n);
        if (route.settings.apiBase) setUpstreamAddress(span, route.settings.apiBase);
        server.setAttribute(ATTR.gatewayAttempts, n);
      }
      const headers: Record<string, string> = options?.headers ? { ...options.headers } : {};
      tracer.inject(span, headers);
      return {
        options: { signal: options?.signal, headers },
        answered(result) {
          if (span.recording) {
            const facts: GenAiResponseFacts = e.trace?.response?.(result.body as Body) ?? {};
            setResponseAttributes(span, facts);
            setUsageAttributes(span, result.usage);
            setResponseAttributes(server, facts);
            served(route.providerName);
            if (capture && e.trace?.content)
              captureContent(server, redactor, ATTR.outputMessages, e.trace.content.output(result.body as Body));
          }
          span.end();
        },
        opened() {
          const at = nowMs();
          markFirstChunk(span, started, at);
          if (!firstChunk) {
            firstChunk = true;
            markFirstChunk(server, startMs, at);
            served(route.providerName);
          }
          streaming.push(span);
        },
        failed(error) {
          endWithError(span, error);
        },
      };
    },
    tool(name, callId) {
      const span = tracer.startSpan(genAiSpanName("execute_tool", name), "internal", server);
      setToolAttributes(span, { name, callId });
      return (error) => {
        if (error === undefined) span.end();
        else endWithError(span, error);
      };
    },
    settled(outcome, costMicros) {
      if (!server.recording) return;
      const usage = usageOf(outcome);
      if (usage) setUsageAttributes(server, usage);
      if (costMicros !== null) server.setDouble(ATTR.gatewayCostUsd, costMicros / 1_000_000);
    },
    replied() {
      end(200);
    },
    clientFirstByte() {
      server.addEvent(EVENT.clientFirstByte);
    },
    streamEnded(pumpEnd) {
      const error = pumpEnd.kind === "upstream_error" ? pumpEnd.error : undefined;
      for (const span of streaming.splice(0)) {
        if (error === undefined) span.end();
        else endWithError(span, error);
      }
      if (error !== undefined) server.setAttribute(ATTR.errorType, errorType(error)).recordException(error);
      else if (pumpEnd.kind === "client_gone")
        server.setAttribute(ATTR.gatewayStreamEnd, pumpEnd.cutAtShutdown ? "shutdown" : "client_gone");
      end(200);
    },
    failed(error) {
      for (const span of streaming.splice(0)) endWithError(span, error);
      server.setAttribute(ATTR.errorType, errorType(error)).recordException(error);
      end(statusOf(error));
    },
  };
}
