/**
 * Spans. A recording span keeps what the exporter sends; a non-recording span (unsampled, or the no-op tracer's)
 * only carries its context for propagation and ignores everything else. Both are their own SpanContext, so a span
 * costs one object. Callers guard work that only builds attribute values with `span.recording`.
 */
import { INVALID_TRACE, spanIdHex, type TraceId } from "./ids";
import type { SpanContext } from "./trace-context";

/** Span kinds the gateway uses, with their OTLP numbers. */
export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;
export type SpanKind = keyof typeof SPAN_KIND;

/** What an attribute may hold: the gateway needs no int arrays or maps. */
export type AttributeValue = string | number | boolean | readonly string[];
export type Attributes = Readonly<Record<string, AttributeValue>>;

/** How a value is encoded (OTLP's AnyValue arms). */
export const ValueKind = { String: 0, Bool: 1, Int: 2, Double: 3, StringArray: 4 } as const;
export type ValueKind = (typeof ValueKind)[keyof typeof ValueKind];

/** A number is an int when it is a safe integer, else a double; `setDouble` forces a double (temperature 1.0). */
export function kindOf(value: AttributeValue): ValueKind {
  if (typeof value === "string") return ValueKind.String;
  if (typeof value === "boolean") return ValueKind.Bool;
  if (typeof value === "number") return Number.isSafeInteger(value) ? ValueKind.Int : ValueKind.Double;
  return ValueKind.StringArray;
}

/** Where attributes go: a span as they are set, or an encoder writing a span's deferred attributes. */
export interface AttributeSink {
  /** Null and undefined are ignored, so optional facts need no check. */
  setAttribute(key: string, value: AttributeValue | null | undefined): unknown;
  /** A number always encoded as a double (conventions type temperature, top_p, cost as double). */
  setDouble(key: string, value: number | null | undefined): unknown;
}

/**
 * Attributes a span holds by reference: the span keeps `facts` and the exporter calls this with them when it encodes
 * the span. Setting attributes one by one costs the request a lookup and three array slots each; a request's facts
 * (request, admission, response, usage) are objects it has anyway.
 */
export type AttributeSource<T> = (facts: T, out: AttributeSink) => void;

export interface SpanEvent {
  readonly name: string;
  /** Epoch milliseconds (fractional). */
  readonly timeMs: number;
  readonly attributes: Attributes | null;
}

export type StatusCode = "unset" | "ok" | "error";

export interface Span extends AttributeSink {
  readonly context: SpanContext;
  /** False for unsampled spans and the no-op tracer's: nothing set on them is kept. */
  readonly recording: boolean;
  /** Sets or replaces an attribute; null and undefined are ignored, so optional facts need no check. */
  setAttribute(key: string, value: AttributeValue | null | undefined): Span;
  setDouble(key: string, value: number | null | undefined): Span;
  /**
   * Attributes by reference (AttributeSource): `source(facts, …)` runs when the span is encoded, after the
   * attributes set one by one, whose keys it must not repeat. `facts` must not change once the span has ended.
   * One source per span: a second call replaces the first.
   */
  setDeferred<T>(source: AttributeSource<T>, facts: T): Span;
  addEvent(name: string, attributes?: Attributes, timeMs?: number): Span;
  /** `error` wins over `ok`; an `ok` never clears an error (as the OpenTelemetry API specifies). */
  setStatus(code: "ok" | "error", message?: string): Span;
  /** An `exception` event (type and message, the message through the redactor) and the error status. */
  recordException(error: unknown): Span;
  updateName(name: string): Span;
  /** Ends the span (later calls do nothing); a sampled span then goes to the export queue. */
  end(timeMs?: number): void;
}

/** What a recording span hands to the export queue when it ends, and all the encoders read. */
export interface SpanData {
  readonly trace: TraceId;
  /** The span id's words (ids.ts); the encoders write them, `spanId` is their hex text. */
  readonly spanHi: number;
  readonly spanLo: number;
  /** Null for a root span. */
  readonly parent: SpanContext | null;
  readonly traceId: string;
  readonly spanId: string;
  /** Null for a root span. */
  readonly parentSpanId: string | null;
  /** Whether the parent came from another process (null for a root span). */
  readonly parentRemote: boolean | null;
  readonly traceState: string | null;
  readonly flags: number;
  readonly name: string;
  readonly kind: SpanKind;
  readonly startMs: number;
  readonly endMs: number;
  readonly attrKeys: readonly string[];
  readonly attrValues: readonly AttributeValue[];
  readonly attrKinds: readonly ValueKind[];
  readonly droppedAttributes: number;
  /** The deferred attributes' source and facts (Span.setDeferred); null when there are none. */
  readonly deferred: AttributeSource<unknown> | null;
  readonly deferredFacts: unknown;
  readonly events: readonly SpanEvent[];
  readonly droppedEvents: number;
  readonly statusCode: StatusCode;
  readonly statusMessage: string;
}

// Read once: `performance.timeOrigin` is a getter call, and it never changes within a process.
const TIME_ORIGIN = performance.timeOrigin;

/** Epoch milliseconds (fractional) on the monotonic clock: the time every span and span event carries. */
export const epochNowMs = (): number => TIME_ORIGIN + performance.now();

/** Where ended spans go, and what they need from the tracer. */
export interface SpanSink {
  now(): number;
  /** Redaction applied to exception and status messages. */
  redact(text: string): string;
  onEnd(span: SpanData): void;
}

/** The OpenTelemetry SDK's default span limits. */
const MAX_ATTRIBUTES = 128;
const MAX_EVENTS = 128;

/** The events and attribute lists of a span that has none (never pushed to: the first entry replaces them). */
const NO_EVENTS: SpanEvent[] = [];
const NO_KEYS: string[] = [];
const NO_VALUES: AttributeValue[] = [];
const NO_KINDS: ValueKind[] = [];

/** An unsampled span, or the no-op span: a context and nothing else. */
export class NonRecordingSpan implements Span, SpanContext {
  readonly recording = false;
  constructor(
    readonly trace: TraceId,
    readonly spanHi: number,
    readonly spanLo: number,
    readonly flags: number,
    readonly traceState: string | null,
  ) {}
  get traceId(): string {
    return this.trace.hex;
  }
  get spanId(): string {
    return spanIdHex(this.spanHi, this.spanLo);
  }
  get remote(): boolean {
    return false;
  }
  get context(): SpanContext {
    return this;
  }
  setAttribute(): Span {
    return this;
  }
  setDouble(): Span {
    return this;
  }
  setDeferred(): Span {
    return this;
  }
  addEvent(): Span {
    return this;
  }
  setStatus(): Span {
    return this;
  }
  recordException(): Span {
    return this;
  }
  updateName(): Span {
    return this;
  }
  end(): void {}
}

/** The span every no-op call returns: invalid ids, so nothing propagates it. */
export const NOOP_SPAN: Span = new NonRecordingSpan(INVALID_TRACE, 0, 0, 0, null);

export class RecordingSpan implements Span, SpanContext, SpanData {
  readonly recording = true;
  // Empty until the first attribute set one by one: a traced request's spans keep most of theirs deferred.
  attrKeys: string[] = NO_KEYS;
  attrValues: AttributeValue[] = NO_VALUES;
  attrKinds: ValueKind[] = NO_KINDS;
  droppedAttributes = 0;
  deferred: AttributeSource<unknown> | null = null;
  deferredFacts: unknown = null;
  /** NO_EVENTS until the first event: most spans have none. */
  events: SpanEvent[] = NO_EVENTS;
  droppedEvents = 0;
  statusCode: StatusCode = "unset";
  statusMessage = "";
  endMs = 0;
  private ended = false;

  constructor(
    private readonly sink: SpanSink,
    public name: string,
    readonly kind: SpanKind,
    readonly trace: TraceId,
    readonly spanHi: number,
    readonly spanLo: number,
    readonly flags: number,
    readonly traceState: string | null,
    readonly parent: SpanContext | null,
    readonly startMs: number,
  ) {}

  get traceId(): string {
    return this.trace.hex;
  }
  get spanId(): string {
    return spanIdHex(this.spanHi, this.spanLo);
  }
  get parentSpanId(): string | null {
    return this.parent ? this.parent.spanId : null;
  }
  get parentRemote(): boolean | null {
    return this.parent ? this.parent.remote : null;
  }
  get remote(): boolean {
    return false;
  }
  get context(): SpanContext {
    return this;
  }

  setAttribute(key: string, value: AttributeValue | null | undefined): Span {
    if (value !== null && value !== undefined && !this.ended) this.put(key, value, kindOf(value));
    return this;
  }

  setDouble(key: string, value: number | null | undefined): Span {
    if (value !== null && value !== undefined && !this.ended) this.put(key, value, ValueKind.Double);
    return this;
  }

  setDeferred<T>(source: AttributeSource<T>, facts: T): Span {
    if (!this.ended) {
      this.deferred = source as AttributeSource<unknown>;
      this.deferredFacts = facts;
    }
    return this;
  }

  private put(key: string, value: AttributeValue, kind: ValueKind): void {
    // A loop rather than indexOf: the keys are the same string constants span after span, so it compares
    // references inline, where Array.prototype.indexOf is a call into the runtime per attribute.
    const keys = this.attrKeys;
    let at = keys.length - 1;
    while (at >= 0 && keys[at] !== key) at--;
    if (at >= 0) {
      this.attrValues[at] = value;
      this.attrKinds[at] = kind;
    } else if (keys === NO_KEYS) {
      this.attrKeys = [key];
      this.attrValues = [value];
      this.attrKinds = [kind];
    } else if (keys.length >= MAX_ATTRIBUTES) this.droppedAttributes++;
    else {
      this.attrKeys.push(key);
      this.attrValues.push(value);
      this.attrKinds.push(kind);
    }
  }

  addEvent(name: string, attributes?: Attributes, timeMs?: number): Span {
    if (this.ended) return this;
    const event = { name, timeMs: timeMs ?? this.sink.now(), attributes: attributes ?? null };
    if (this.events === NO_EVENTS) this.events = [event];
    else if (this.events.length >= MAX_EVENTS) this.droppedEvents++;
    else this.events.push(event);
    return this;
  }

  setStatus(code: "ok" | "error", message?: string): Span {
    if (this.ended || this.statusCode === "error") return this;
    this.statusCode = code;
    // A description belongs to an error only.
    this.statusMessage = code === "error" && message ? this.sink.redact(message) : "";
    return this;
  }

  recordException(error: unknown): Span {
    const type = error instanceof Error ? error.name : typeof error;
    const message = this.sink.redact(error instanceof Error ? error.message : String(error));
    this.addEvent("exception", { "exception.type": type, "exception.message": message });
    return this.setStatus("error", message);
  }

  updateName(name: string): Span {
    if (!this.ended) this.name = name;
    return this;
  }

  end(timeMs?: number): void {
    if (this.ended) return;
    this.ended = true;
    this.endMs = Math.max(timeMs ?? this.sink.now(), this.startMs);
    this.sink.onEnd(this);
  }
}

/**
 * Every attribute of `span` with its encoding, in the order the encoders write them: those set one by one, then the
 * deferred ones (null values left out, as a span leaves them out).
 */
export function forEachAttribute(
  span: SpanData,
  fn: (key: string, value: AttributeValue, kind: ValueKind) => void,
): void {
  for (let i = 0; i < span.attrKeys.length; i++)
    fn(span.attrKeys[i] as string, span.attrValues[i] as AttributeValue, span.attrKinds[i] as ValueKind);
  span.deferred?.(span.deferredFacts, {
    setAttribute: (key, value) => {
      if (value !== null && value !== undefined) fn(key, value, kindOf(value));
    },
    setDouble: (key, value) => {
      if (value !== null && value !== undefined) fn(key, value, ValueKind.Double);
    },
  });
}
