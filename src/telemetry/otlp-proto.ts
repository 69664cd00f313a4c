/**
 * OTLP/HTTP protobuf body for traces: an ExportTraceServiceRequest (opentelemetry-proto, collector/trace/v1) with
 * one ResourceSpans and one ScopeSpans. Written by hand because the gateway needs a single message family; the
 * field numbers are those of the OTLP .proto files, and src/telemetry/otlp-proto.test.ts decodes the output with
 * protobufjs and those definitions (tests/fixtures/otlp/). One growing buffer; a nested message is written in place
 * and its length prefix inserted in front of it when it closes.
 */
import type { TraceId } from "./ids";
import {
  type Attributes,
  type AttributeSink,
  type AttributeValue,
  kindOf,
  SPAN_KIND,
  type SpanData,
  type StatusCode,
  ValueKind,
} from "./span";

export interface Scope {
  readonly name: string;
  readonly version: string;
}

/** Applied to every string written (attribute values, messages, names): the configured-secrets scrubber. */
export type Scrub = (text: string) => string;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const STATUS: Record<StatusCode, number> = { unset: 0, ok: 1, error: 2 };
// Bits 8 and 9 of Span.flags: whether the parent's remoteness is known, and whether it is remote.
const FLAG_HAS_IS_REMOTE = 0x100;
const FLAG_IS_REMOTE = 0x200;

const encoder = new TextEncoder();

/** Bytes of `text` in UTF-8 as TextEncoder writes it (a lone surrogate becomes U+FFFD, three bytes). */
function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: two units, four bytes
      i++;
    } else n += 2;
  }
  return n;
}

function varintSize(value: number): number {
  let n = 1;
  for (let v = value; v > 0x7f; v = Math.floor(v / 0x80)) n++;
  return n;
}

/** Size of a length-delimited field's body with its length prefix (the tag not included). */
const delimited = (length: number) => varintSize(length) + length;

/** Size of a string-valued AnyValue's body: tag 1, length, bytes. */
const stringValueSize = (bytes: number) => 1 + delimited(bytes);

/**
 * Attributes, most of what a span holds, are written with their sizes computed first: each goes in with one
 * bounds check and no move of bytes. Spans and events, few per batch, are written in place and their length
 * prefix inserted in front when they close.
 */
class Writer {
  buf = new Uint8Array(64 * 1024);
  view = new DataView(this.buf.buffer);
  pos = 0;
  /** The buffer's length, kept as a plain number: the bounds check runs for every value written. */
  private cap = this.buf.length;
  private readonly opened: number[] = [];
  // A string array's scrubbed items and their sizes, reused from one attribute to the next.
  private readonly items: string[] = [];
  private readonly itemBytes: number[] = [];
  // Each attribute key's field (tag, length, UTF-8), made once: the keys are the gateway's own few dozen names.
  private readonly keys = new Map<string, Uint8Array>();
  // A string attribute's whole KeyValue (length prefix and body, scrubbed), per key and value: most values repeat
  // from span to span (operation, model, provider, route, address, finish reason), and a hit skips the scrub, the
  // UTF-8 sizing and the byte-by-byte write. A key whose values do not repeat (ids) is marked null once it has seen
  // MAX_CACHED_VALUES distinct ones, and is written as it comes from then on.
  private readonly pairs = new Map<string, Map<string, Uint8Array> | null>();
  // The same for a one-item string array, by its item (finish reasons: `["stop"]` on most spans).
  private readonly singles = new Map<string, Map<string, Uint8Array> | null>();
  private cachedPairs = 0;
  // Span names (`{operation} {model}`) repeat as the pairs do: each one's name field, scrubbed, made once.
  private readonly names = new Map<string, Uint8Array>();
  // The scrubber the cached pairs and names went through: another one (a test's) starts the caches over.
  private cachedScrub: Scrub | null = null;

  private room(n: number): void {
    if (this.pos + n <= this.cap) return;
    this.grow(n);
  }

  private grow(n: number): void {
    let size = this.cap * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.cap = size;
  }

  /** The put* methods write without a bounds check: their caller reserved the room. */
  private putVarint(value: number): void {
    let v = value;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** `text` as UTF-8, `bytes` long (utf8Length): ASCII byte by byte, anything else by the encoder, in place. */
  private putUtf8(text: string, bytes: number): void {
    if (bytes === text.length) {
      for (let i = 0; i < text.length; i++) this.buf[this.pos++] = text.charCodeAt(i);
    } else {
      encoder.encodeInto(text, this.buf.subarray(this.pos, this.pos + bytes));
      this.pos += bytes;
    }
  }

  /** A length-delimited string field: tag, length, bytes. */
  private putString(field: number, text: string, bytes: number): void {
    this.buf[this.pos++] = field * 8 + WIRE_LEN;
    this.putVarint(bytes);
    this.putUtf8(text, bytes);
  }

  varint(value: number): void {
    this.room(10);
    this.putVarint(value);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  string(field: number, text: string): void {
    const bytes = utf8Length(text);
    this.room(10 + bytes);
    this.putString(field, text, bytes);
  }

  /** A trace id's bytes field (16 bytes) from its words, most significant byte first. */
  traceId(field: number, id: TraceId): void {
    this.room(18);
    this.buf[this.pos++] = field * 8 + WIRE_LEN;
    this.buf[this.pos++] = 16;
    this.putWord(id.w0);
    this.putWord(id.w1);
    this.putWord(id.w2);
    this.putWord(id.w3);
  }

  /** A span id's bytes field (8 bytes) from its words. */
  spanId(field: number, hi: number, lo: number): void {
    this.room(10);
    this.buf[this.pos++] = field * 8 + WIRE_LEN;
    this.buf[this.pos++] = 8;
    this.putWord(hi);
    this.putWord(lo);
  }

  /** A Uint8Array store keeps the low 8 bits: no masks. */
  private putWord(word: number): void {
    const buf = this.buf;
    const pos = this.pos;
    buf[pos] = word >>> 24;
    buf[pos + 1] = word >>> 16;
    buf[pos + 2] = word >>> 8;
    buf[pos + 3] = word;
    this.pos = pos + 4;
  }

  fixed32(field: number, value: number): void {
    this.room(6);
    this.putVarint(field * 8 + WIRE_FIXED32);
    this.view.setUint32(this.pos, value, true);
    this.pos += 4;
  }

  /**
   * Epoch milliseconds as fixed64 nanoseconds, the value toNanos gives, without a BigInt: nanoseconds since the
   * epoch pass 2^53, so the milliseconds are split in 16-bit halves and the product carried by hand in doubles that
   * stay exact. Negative times (none are made) go through toNanos.
   */
  time(field: number, ms: number): void {
    this.room(10);
    this.putVarint(field * 8 + WIRE_FIXED64);
    if (!(ms >= 0)) {
      this.view.setBigUint64(this.pos, BigInt.asUintN(64, toNanos(ms)), true);
      this.pos += 8;
      return;
    }
    const whole = Math.floor(ms);
    const upper = Math.floor(whole / HALF_WORD);
    // ns = a·2^16 + b
    const a = upper * 1_000_000;
    const b = (whole - upper * HALF_WORD) * 1_000_000 + Math.round((ms - whole) * 1000) * 1000;
    const aLow = a % HALF_WORD;
    const c = aLow * HALF_WORD + b;
    const low = c % WORD;
    this.view.setUint32(this.pos, low, true);
    this.view.setUint32(this.pos + 4, (a - aLow) / HALF_WORD + (c - low) / WORD, true);
    this.pos += 8;
  }

  uint(field: number, value: number): void {
    if (value === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  private keyField(key: string): Uint8Array {
    let encoded = this.keys.get(key);
    if (encoded === undefined) {
      const bytes = utf8Length(key);
      encoded = new Uint8Array(1 + delimited(bytes));
      const at = this.pos;
      this.room(encoded.length);
      this.putString(1, key, bytes);
      encoded.set(this.buf.subarray(at, this.pos));
      this.pos = at;
      if (this.keys.size < MAX_CACHED_KEYS) this.keys.set(key, encoded);
    }
    return encoded;
  }

  /** `bytes` at the write position (a loop: the arrays are a few dozen bytes, shorter than a native call's cost). */
  private putBytes(bytes: Uint8Array): void {
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < bytes.length; i++) buf[pos++] = bytes[i] as number;
    this.pos = pos;
  }

  /** Cached bytes at the write position. */
  private putCached(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.putBytes(bytes);
  }

  /** A span's name (field 5), scrubbed. */
  spanName(name: string, scrub: Scrub): void {
    const cached = this.names.get(name);
    if (cached !== undefined) {
      this.putCached(cached);
      return;
    }
    const at = this.pos;
    this.string(5, scrub(name));
    if (this.names.size < MAX_CACHED_NAMES && name.length <= MAX_CACHED_VALUE_CHARS)
      this.names.set(name, this.buf.slice(at, this.pos));
  }

  /**
   * A KeyValue of `field`; a string value's pair, or a one-item string array's, comes from the cache when it has been
   * written before.
   */
  keyValue(field: number, key: string, value: AttributeValue, kind: ValueKind, scrub: Scrub): void {
    let text: string;
    let pairs: Map<string, Map<string, Uint8Array> | null>;
    if (kind === ValueKind.String) {
      text = value as string;
      pairs = this.pairs;
    } else if (kind === ValueKind.StringArray && (value as readonly string[]).length === 1) {
      text = (value as readonly string[])[0] as string;
      pairs = this.singles;
    } else {
      this.writeKeyValue(field, key, value, kind, scrub);
      return;
    }
    let values = pairs.get(key);
    const cached = values?.get(text);
    if (cached !== undefined) {
      this.varint(field * 8 + WIRE_LEN);
      this.putCached(cached);
      return;
    }
    const at = this.pos;
    this.writeKeyValue(field, key, value, kind, scrub);
    if (values === null || text.length > MAX_CACHED_VALUE_CHARS || this.cachedPairs >= MAX_CACHED_PAIRS) return;
    if (values === undefined) {
      values = new Map();
      pairs.set(key, values);
    }
    if (values.size >= MAX_CACHED_VALUES) {
      this.cachedPairs -= values.size;
      pairs.set(key, null);
    } else {
      values.set(text, this.buf.slice(at + 1, this.pos));
      this.cachedPairs++;
    }
  }

  /** A KeyValue of `field`, sized before it is written. */
  private writeKeyValue(field: number, key: string, value: AttributeValue, kind: ValueKind, scrub: Scrub): void {
    const keyField = this.keyField(key);
    let text = "";
    let textBytes = 0;
    let items = 0;
    let valueSize: number; // the AnyValue's body
    switch (kind) {
      case ValueKind.String:
        text = scrub(value as string);
        textBytes = utf8Length(text);
        valueSize = stringValueSize(textBytes);
        break;
      case ValueKind.Bool:
        valueSize = 2;
        break;
      case ValueKind.Int:
        valueSize = 1 + int64Size(value as number);
        break;
      case ValueKind.Double:
        valueSize = 9;
        break;
      default: {
        // ArrayValue: one `values` AnyValue per item.
        let arraySize = 0;
        for (const item of value as readonly string[]) {
          const scrubbed = scrub(item);
          const bytes = utf8Length(scrubbed);
          this.items[items] = scrubbed;
          this.itemBytes[items++] = bytes;
          arraySize += 1 + delimited(stringValueSize(bytes));
        }
        textBytes = arraySize;
        valueSize = 1 + delimited(arraySize);
      }
    }
    const size = keyField.length + 1 + delimited(valueSize);
    this.room(10 + size);
    this.buf[this.pos++] = field * 8 + WIRE_LEN;
    this.putVarint(size);
    this.putBytes(keyField);
    this.buf[this.pos++] = 2 * 8 + WIRE_LEN;
    this.putVarint(valueSize);
    switch (kind) {
      case ValueKind.String:
        this.putString(1, text, textBytes);
        break;
      case ValueKind.Bool:
        this.buf[this.pos++] = 2 * 8 + WIRE_VARINT;
        this.buf[this.pos++] = value ? 1 : 0;
        break;
      case ValueKind.Int:
        this.buf[this.pos++] = 3 * 8 + WIRE_VARINT;
        this.putInt64(value as number);
        break;
      case ValueKind.Double:
        this.buf[this.pos++] = 4 * 8 + WIRE_FIXED64;
        this.view.setFloat64(this.pos, value as number, true);
        this.pos += 8;
        break;
      default:
        this.buf[this.pos++] = 5 * 8 + WIRE_LEN;
        this.putVarint(textBytes);
        for (let i = 0; i < items; i++) {
          const bytes = this.itemBytes[i] as number;
          this.buf[this.pos++] = 1 * 8 + WIRE_LEN;
          this.putVarint(stringValueSize(bytes));
          this.putString(1, this.items[i] as string, bytes);
        }
    }
  }

  /** A signed 64-bit varint (negative numbers take ten bytes, as protobuf's int64 does). */
  private putInt64(value: number): void {
    if (value >= 0) {
      this.putVarint(value);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** Opens a nested message of `field`; `close` writes its tag and length in front of it. */
  open(): void {
    this.opened.push(this.pos);
  }

  close(field: number): void {
    const start = this.opened.pop() as number;
    const length = this.pos - start;
    const header = varintSize(field * 8 + WIRE_LEN) + varintSize(length);
    this.room(header);
    this.buf.copyWithin(start + header, start, this.pos);
    const end = this.pos + header;
    this.pos = start;
    this.putVarint(field * 8 + WIRE_LEN);
    this.putVarint(length);
    this.pos = end;
  }

  /**
   * Starts over for a batch scrubbed by `scrub`, keeping the buffer as grown (batches of one configured size need the
   * same room each time) and the cached pairs and names unless they went through another scrubber.
   */
  reset(scrub: Scrub): void {
    this.pos = 0;
    this.opened.length = 0;
    if (this.cachedScrub === scrub) return;
    this.pairs.clear();
    this.singles.clear();
    this.cachedPairs = 0;
    this.names.clear();
    this.cachedScrub = scrub;
  }

  /** What was written: a view, not a copy. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** Bytes of an int64 varint: a negative number always takes ten. */
const int64Size = (value: number) => (value < 0 ? 10 : varintSize(value));

/**
 * Epoch milliseconds (fractional) to nanoseconds. A double holds an epoch time to about a quarter of a microsecond,
 * so the fraction is rounded to whole microseconds rather than inventing nanoseconds.
 */
export function toNanos(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1000)) * 1000n;
}

/** Attribute keys come from code and configuration; a bound keeps a caller's unexpected variety from growing it. */
const MAX_CACHED_KEYS = 1024;
/** Distinct values a key's pair cache holds before the key counts as one whose values do not repeat. */
const MAX_CACHED_VALUES = 256;
/** The pair cache's bounds: all pairs (~0.5 MB), and the longest value kept (captured content never is). */
const MAX_CACHED_PAIRS = 4096;
/** Span names a client's model names can vary without bound: past this many, new ones are not kept. */
const MAX_CACHED_NAMES = 1024;
const MAX_CACHED_VALUE_CHARS = 128;

const WORD = 2 ** 32;
const HALF_WORD = 2 ** 16;

function attributes(w: Writer, field: number, attrs: Attributes, scrub: Scrub): void {
  for (const key in attrs) {
    const value = attrs[key] as AttributeValue;
    w.keyValue(field, key, value, kindOf(value), scrub);
  }
}

/** A span's deferred attributes (Span.setDeferred) written straight into its message as the source lists them. */
class DeferredAttributes implements AttributeSink {
  scrub: Scrub = (text) => text;
  constructor(private readonly w: Writer) {}

  setAttribute(key: string, value: AttributeValue | null | undefined): void {
    if (value !== null && value !== undefined) this.w.keyValue(9, key, value, kindOf(value), this.scrub);
  }

  setDouble(key: string, value: number | null | undefined): void {
    if (value !== null && value !== undefined) this.w.keyValue(9, key, value, ValueKind.Double, this.scrub);
  }
}

function span(w: Writer, s: SpanData, scrub: Scrub, deferred: DeferredAttributes): void {
  w.open();
  w.traceId(1, s.trace);
  w.spanId(2, s.spanHi, s.spanLo);
  if (s.traceState) w.string(3, s.traceState);
  if (s.parent) w.spanId(4, s.parent.spanHi, s.parent.spanLo);
  w.spanName(s.name, scrub);
  w.tag(6, WIRE_VARINT);
  w.varint(SPAN_KIND[s.kind]);
  w.time(7, s.startMs);
  w.time(8, s.endMs);
  for (let i = 0; i < s.attrKeys.length; i++) {
    w.keyValue(9, s.attrKeys[i] as string, s.attrValues[i] as AttributeValue, s.attrKinds[i] as ValueKind, scrub);
  }
  if (s.deferred) s.deferred(s.deferredFacts, deferred);
  w.uint(10, s.droppedAttributes);
  for (const event of s.events) {
    w.open();
    w.time(1, event.timeMs);
    w.string(2, event.name);
    if (event.attributes) attributes(w, 3, event.attributes, scrub);
    w.close(11);
  }
  w.uint(12, s.droppedEvents);
  if (s.statusCode !== "unset") {
    w.open();
    if (s.statusMessage) w.string(2, scrub(s.statusMessage));
    w.tag(3, WIRE_VARINT);
    w.varint(STATUS[s.statusCode]);
    w.close(15);
  }
  w.fixed32(16, spanFlags(s));
  w.close(2);
}

/** Span.flags: the W3C trace flags, plus whether the parent is remote (bits 8 and 9) when there is a parent. */
export function spanFlags(s: SpanData): number {
  const flags = s.flags & 0xff;
  if (s.parent === null) return flags;
  return flags | FLAG_HAS_IS_REMOTE | (s.parent.remote ? FLAG_IS_REMOTE : 0);
}

/**
 * Encodes ExportTraceServiceRequests into one buffer of its own, kept from one batch to the next: a fresh buffer of a
 * batch's size (~330 KB for 512 spans) cost more to allocate than the batch cost to encode.
 */
export class TraceEncoder {
  private readonly w = new Writer();
  private readonly deferred = new DeferredAttributes(this.w);

  /**
   * The request for `spans`, all of one resource and one instrumentation scope: a view into the encoder's buffer,
   * valid until its next `encode`.
   */
  encode(spans: readonly SpanData[], resource: Attributes, scope: Scope, scrub: Scrub): Uint8Array {
    const w = this.w;
    w.reset(scrub);
    this.deferred.scrub = scrub;
    w.open(); // ResourceSpans
    w.open(); // Resource
    attributes(w, 1, resource, scrub);
    w.close(1);
    w.open(); // ScopeSpans
    w.open(); // InstrumentationScope
    w.string(1, scope.name);
    w.string(2, scope.version);
    w.close(1);
    for (const s of spans) span(w, s, scrub, this.deferred);
    w.close(2);
    w.close(1);
    return w.written();
  }
}

/** The ExportTraceServiceRequest for `spans`, in bytes of its own. */
export function encodeTraceRequest(
  spans: readonly SpanData[],
  resource: Attributes,
  scope: Scope,
  scrub: Scrub,
): Uint8Array {
  return new TraceEncoder().encode(spans, resource, scope, scrub);
}
