/**
 * Trace and span ids: random bytes from the platform's CSPRNG (Web Crypto), drawn from a refilled pool so one id
 * costs a few table lookups rather than a crypto call. An all-zero id is invalid in W3C Trace Context and OTLP and is
 * never returned.
 */

/** The invalid ids of W3C Trace Context: a context carrying them continues nothing. */
export const INVALID_TRACE_ID = "00000000000000000000000000000000";
export const INVALID_SPAN_ID = "0000000000000000";

const DIGITS = new TextEncoder().encode("0123456789abcdef");
const pool = new Uint8Array(4096);
let at = pool.length;
const ascii = new TextDecoder();
// One per id length, so decoding needs no view of a part.
const scratch: Record<number, Uint8Array> = { 8: new Uint8Array(16), 16: new Uint8Array(32) };

/** `bytes` pool bytes as hex, written into a scratch buffer and decoded once: a flat string, not a rope of pieces. */
function hexFromPool(bytes: 8 | 16): string {
  if (at + bytes > pool.length) {
    crypto.getRandomValues(pool);
    at = 0;
  }
  const out = scratch[bytes] as Uint8Array;
  for (let i = 0; i < bytes; i++) {
    const b = pool[at++] as number;
    out[2 * i] = DIGITS[b >> 4] as number;
    out[2 * i + 1] = DIGITS[b & 15] as number;
  }
  return ascii.decode(out);
}

/** 16 random bytes as 32 lowercase hex characters. */
export function newTraceId(): string {
  let id = hexFromPool(16);
  while (id === INVALID_TRACE_ID) id = hexFromPool(16);
  return id;
}

/** 8 random bytes as 16 lowercase hex characters. */
export function newSpanId(): string {
  let id = hexFromPool(8);
  while (id === INVALID_SPAN_ID) id = hexFromPool(8);
  return id;
}
