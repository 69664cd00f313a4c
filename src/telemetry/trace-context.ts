/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): reading a caller's `traceparent` and `tracestate`, and
 * writing them for an upstream call. Invalid values are ignored, as the recommendation asks: the request then
 * starts a trace of its own instead of failing.
 */
import { asciiText, hexWord, INVALID_SPAN_ID, INVALID_TRACE_ID, putHexWord, type TraceId, traceIdFromHex } from "./ids";

/** What identifies a span across processes. A span object is its own context (see span.ts). */
export interface SpanContext {
  readonly trace: TraceId;
  /** The span id's high and low 32-bit words (ids.ts). */
  readonly spanHi: number;
  readonly spanLo: number;
  /** 32 lowercase hex characters (`trace.hex`). */
  readonly traceId: string;
  /** 16 lowercase hex characters, made when read. */
  readonly spanId: string;
  /** W3C trace flags; bit 0 is `sampled`. */
  readonly flags: number;
  /** The caller's `tracestate`, passed on unchanged; null when there was none (or it was invalid). */
  readonly traceState: string | null;
  /** True for a context read from a caller's headers. */
  readonly remote: boolean;
}

export const FLAG_SAMPLED = 0x01;

const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
// A later version keeps the first four fields' layout and may append fields after a dash.
const VERSION_LATER = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/** The caller's context, or null when `traceparent` is absent or invalid (then `tracestate` is ignored too). */
export function parseTraceparent(
  traceparent: string | null | undefined,
  tracestate?: string | null,
): SpanContext | null {
  if (!traceparent) return null;
  const value = traceparent.trim();
  let traceId: string;
  let spanId: string;
  let flags: string;
  const v00 = VERSION_00.exec(value);
  if (v00) [, traceId = "", spanId = "", flags = ""] = v00;
  else {
    // Version 00 allows nothing after the flags; an unknown later version is read as far as 00 defines it.
    const later = VERSION_LATER.exec(value);
    if (!later || later[1] === "00" || later[1] === "ff") return null;
    [, , traceId = "", spanId = "", flags = ""] = later;
  }
  if (traceId === INVALID_TRACE_ID || spanId === INVALID_SPAN_ID) return null;
  const trace = traceIdFromHex(traceId);
  return {
    trace,
    spanHi: hexWord(spanId, 0),
    spanLo: hexWord(spanId, 8),
    traceId,
    spanId,
    flags: Number.parseInt(flags, 16),
    traceState: parseTracestate(tracestate),
    remote: true,
  };
}

const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
// Printable ASCII without `,` and `=`; the last character is not a space.
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_MEMBERS = 32;

/**
 * A valid `tracestate` in canonical form (members joined by `,`, empty members dropped), or null. A member that
 * breaks the grammar, a repeated key or more than 32 members invalidate the whole header: a partial list would
 * misrepresent what the caller's vendors wrote.
 */
export function parseTracestate(tracestate: string | null | undefined): string | null {
  if (!tracestate) return null;
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of tracestate.split(",")) {
    const member = raw.trim();
    if (member === "") continue;
    const eq = member.indexOf("=");
    if (eq <= 0) return null;
    const key = member.slice(0, eq);
    if (!KEY.test(key) || !VALUE.test(member.slice(eq + 1)) || keys.has(key)) return null;
    keys.add(key);
    members.push(member);
  }
  if (members.length === 0 || members.length > MAX_MEMBERS) return null;
  return members.join(",");
}

// `00-{trace id}-{span id}-{flags}`: the dashes and version stay, the ids and flags are written over.
const TRACEPARENT = new TextEncoder().encode(`00-${INVALID_TRACE_ID}-${INVALID_SPAN_ID}-00`);

/**
 * The `traceparent` header value for a context (version 00; only the `sampled` flag is carried), written from the
 * ids' words and decoded once: no hex text of the span id is made.
 */
export function formatTraceparent(ctx: SpanContext): string {
  const { trace } = ctx;
  putHexWord(TRACEPARENT, 3, trace.w0);
  putHexWord(TRACEPARENT, 11, trace.w1);
  putHexWord(TRACEPARENT, 19, trace.w2);
  putHexWord(TRACEPARENT, 27, trace.w3);
  putHexWord(TRACEPARENT, 36, ctx.spanHi);
  putHexWord(TRACEPARENT, 44, ctx.spanLo);
  TRACEPARENT[54] = ctx.flags & FLAG_SAMPLED ? 49 : 48; // "1" or "0"
  return asciiText(TRACEPARENT);
}

/** True for a context with valid ids (the no-op span's context is not). */
export function isValidContext(ctx: SpanContext): boolean {
  return ctx.trace.valid && (ctx.spanHi | ctx.spanLo) !== 0;
}
