/**
 * The gateway's tracer. Parents are passed explicitly (a span or a caller's context), never looked up from an async
 * context: the pipeline holds its spans. With tracing off the no-op tracer returns one shared span whose methods do
 * nothing, so an instrumented request allocates nothing for tracing.
 */
import { newTraceId, randomWord } from "./ids";
import type { Sampler } from "./sampler";
import { NOOP_SPAN, NonRecordingSpan, RecordingSpan, type Span, type SpanKind, type SpanSink } from "./span";
import { FLAG_SAMPLED, formatTraceparent, isValidContext, parseTraceparent, type SpanContext } from "./trace-context";

export interface Tracer {
  /** False for the no-op tracer. */
  readonly enabled: boolean;
  /** A caller's context from its `traceparent`/`tracestate` headers; null when absent or invalid. */
  extract(traceparent: string | null | undefined, tracestate?: string | null): SpanContext | null;
  /**
   * Starts a span. `parent`: a span of this process, a caller's context (extract), or null for a new trace.
   * `startMs` (epoch ms) backdates the start, e.g. to when the request arrived.
   */
  startSpan(name: string, kind: SpanKind, parent: Span | SpanContext | null, startMs?: number): Span;
  /**
   * Adds `traceparent` (and `tracestate`) for an upstream call made within `span` to `headers`. Does nothing when
   * propagation is off (`otel_propagate_upstream: false`), for the no-op span, or with tracing off.
   */
  inject(span: Span, headers: Record<string, string>): void;
}

const isSpan = (parent: Span | SpanContext): parent is Span => (parent as Span).context !== undefined;

export const NOOP_TRACER: Tracer = {
  enabled: false,
  extract: () => null,
  startSpan: () => NOOP_SPAN,
  inject: () => {},
};

export interface TracerOptions {
  sampler: Sampler;
  sink: SpanSink;
  /** `otel_propagate_upstream` */
  propagate: boolean;
}

export function createTracer(o: TracerOptions): Tracer {
  const { sampler, sink, propagate } = o;
  return {
    enabled: true,
    extract: (traceparent, tracestate) => parseTraceparent(traceparent, tracestate),
    startSpan(name, kind, parent, startMs) {
      const ctx = parent === null ? null : isSpan(parent) ? parent.context : parent;
      const parentCtx = ctx && isValidContext(ctx) ? ctx : null;
      const trace = parentCtx ? parentCtx.trace : newTraceId();
      const traceState = parentCtx ? parentCtx.traceState : null;
      let hi = randomWord();
      let lo = randomWord();
      // An all-zero span id is invalid (W3C Trace Context).
      while ((hi | lo) === 0) {
        hi = randomWord();
        lo = randomWord();
      }
      if (!sampler.shouldSample(trace, parentCtx)) return new NonRecordingSpan(trace, hi, lo, 0, traceState);
      const start = startMs ?? sink.now();
      return new RecordingSpan(sink, name, kind, trace, hi, lo, FLAG_SAMPLED, traceState, parentCtx, start);
    },
    inject(span, headers) {
      const ctx = span.context;
      if (!propagate || !isValidContext(ctx)) return;
      headers.traceparent = formatTraceparent(ctx);
      if (ctx.traceState) headers.tracestate = ctx.traceState;
    },
  };
}
