/**
 * OTLP/HTTP protobuf body for traces: an ExportTraceServiceRequest (opentelemetry-proto, collector/trace/v1) with
 * one ResourceSpans and one ScopeSpans. Written by hand because the gateway needs a single message family; the
 * field numbers are those of the OTLP .proto files, and src/telemetry/otlp-proto.test.ts decodes the output with
 * protobufjs and those definitions (tests/fixtures/otlp/). One growing buffer; a nested message is written in place
 * and its length prefix inserted in front of it when it closes.
 */
import {
  type Attributes,
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
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range, control characters included.
const ASCII = /^[\u0000-\u007f]*$/;

/** The value of the lowercase hex digit at `i` (ids are lowercase hex, checked where they are made or parsed). */
function nibble(hex: string, i: number): number {
  const c = hex.charCodeAt(i);
  return c <= 57 ? c - 48 : c - 87;
}

/**
 * The buffer writers start from, grown to the largest batch so far. Encoding is synchronous and `bytes()` copies
 * what was written, so one buffer serves every batch in turn.
 */
let scratch = new Uint8Array(64 * 1024);

class Writer {
  buf = scratch;
  view = new DataView(this.buf.buffer);
  pos = 0;
  /** The buffer's length, kept as a plain number: the bounds check runs for every value written. */
  private cap = this.buf.length;
  private readonly opened: number[] = [];

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
    // Kept for the next batch: batches of one configured size need the same room each time.
    scratch = next;
  }

  varint(value: number): void {
    this.room(10);
    let v = value;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** A signed 64-bit varint (negative numbers take ten bytes, as protobuf's int64 does). */
  int64(value: number): void {
    if (value >= 0) {
      this.varint(value);
      return;
    }
    this.room(10);
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  string(field: number, text: string): void {
    this.tag(field, WIRE_LEN);
    // Short ASCII (names, ids, most values) is copied byte by byte: no encoder call, no move of the bytes.
    if (text.length < 128 && ASCII.test(text)) {
      this.room(1 + text.length);
      this.buf[this.pos++] = text.length;
      for (let i = 0; i < text.length; i++) this.buf[this.pos++] = text.charCodeAt(i);
      return;
    }
    // Worst case three bytes per UTF-16 unit; the length prefix is written once the size is known.
    this.room(5 + text.length * 3);
    const start = this.pos + 5;
    const { written } = encoder.encodeInto(text, this.buf.subarray(start));
    const header = varintSize(written);
    this.buf.copyWithin(this.pos + header, start, start + written);
    this.varint(written);
    this.pos += written;
  }

  hexBytes(field: number, hex: string): void {
    this.tag(field, WIRE_LEN);
    this.varint(hex.length / 2);
    this.room(hex.length / 2);
    for (let i = 0; i < hex.length; i += 2) this.buf[this.pos++] = (nibble(hex, i) << 4) | nibble(hex, i + 1);
  }

  fixed32(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    this.room(4);
    this.view.setUint32(this.pos, value, true);
    this.pos += 4;
  }

  fixed64(field: number, value: bigint): void {
    this.tag(field, WIRE_FIXED64);
    this.room(8);
    this.view.setBigUint64(this.pos, value, true);
    this.pos += 8;
  }

  double(field: number, value: number): void {
    this.tag(field, WIRE_FIXED64);
    this.room(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  uint(field: number, value: number): void {
    if (value === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(value);
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
    this.tag(field, WIRE_LEN);
    this.varint(length);
    this.pos = end;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

function varintSize(value: number): number {
  let n = 1;
  for (let v = value; v > 0x7f; v = Math.floor(v / 0x80)) n++;
  return n;
}

/**
 * Epoch milliseconds (fractional) to nanoseconds. A double holds an epoch time to about a quarter of a microsecond,
 * so the fraction is rounded to whole microseconds rather than inventing nanoseconds.
 */
export function toNanos(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1000)) * 1000n;
}

function anyValue(w: Writer, field: number, value: AttributeValue, kind: ValueKind, scrub: Scrub): void {
  w.open();
  switch (kind) {
    case ValueKind.String:
      w.string(1, scrub(value as string));
      break;
    case ValueKind.Bool:
      w.tag(2, WIRE_VARINT);
      w.varint(value ? 1 : 0);
      break;
    case ValueKind.Int:
      w.tag(3, WIRE_VARINT);
      w.int64(value as number);
      break;
    case ValueKind.Double:
      w.double(4, value as number);
      break;
    case ValueKind.StringArray:
      w.open();
      for (const item of value as readonly string[]) {
        w.open();
        w.string(1, scrub(item));
        w.close(1);
      }
      w.close(5);
      break;
  }
  w.close(field);
}

function keyValue(w: Writer, field: number, key: string, value: AttributeValue, kind: ValueKind, scrub: Scrub): void {
  w.open();
  w.string(1, key);
  anyValue(w, 2, value, kind, scrub);
  w.close(field);
}

function attributes(w: Writer, field: number, attrs: Attributes, scrub: Scrub): void {
  for (const key in attrs) {
    const value = attrs[key] as AttributeValue;
    keyValue(w, field, key, value, kindOf(value), scrub);
  }
}

function span(w: Writer, s: SpanData, scrub: Scrub): void {
  w.open();
  w.hexBytes(1, s.traceId);
  w.hexBytes(2, s.spanId);
  if (s.traceState) w.string(3, s.traceState);
  if (s.parentSpanId) w.hexBytes(4, s.parentSpanId);
  w.string(5, scrub(s.name));
  w.tag(6, WIRE_VARINT);
  w.varint(SPAN_KIND[s.kind]);
  w.fixed64(7, toNanos(s.startMs));
  w.fixed64(8, toNanos(s.endMs));
  for (let i = 0; i < s.attrKeys.length; i++) {
    keyValue(w, 9, s.attrKeys[i] as string, s.attrValues[i] as AttributeValue, s.attrKinds[i] as ValueKind, scrub);
  }
  w.uint(10, s.droppedAttributes);
  for (const event of s.events) {
    w.open();
    w.fixed64(1, toNanos(event.timeMs));
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
  if (s.parentRemote === null) return flags;
  return flags | FLAG_HAS_IS_REMOTE | (s.parentRemote ? FLAG_IS_REMOTE : 0);
}

/** The ExportTraceServiceRequest for `spans`, all of one resource and one instrumentation scope. */
export function encodeTraceRequest(
  spans: readonly SpanData[],
  resource: Attributes,
  scope: Scope,
  scrub: Scrub,
): Uint8Array {
  const w = new Writer();
  w.open(); // ResourceSpans
  w.open(); // Resource
  attributes(w, 1, resource, scrub);
  w.close(1);
  w.open(); // ScopeSpans
  w.open(); // InstrumentationScope
  w.string(1, scope.name);
  w.string(2, scope.version);
  w.close(1);
  for (const s of spans) span(w, s, scrub);
  w.close(2);
  w.close(1);
  return w.bytes();
}
