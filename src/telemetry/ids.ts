/**
 * Trace and span ids: random bytes from the platform's CSPRNG (Web Crypto), drawn from a refilled pool. The pool is
 * turned into one hex string when it is filled, and an id is a slice of it: one crypto call and one decode per 128
 * trace ids' worth of bytes, rather than per id. An all-zero id is invalid in W3C Trace Context and OTLP and is never
 * returned.
 */

/** The invalid ids of W3C Trace Context: a context carrying them continues nothing. */
export const INVALID_TRACE_ID = "00000000000000000000000000000000";
export const INVALID_SPAN_ID = "0000000000000000";

const DIGITS = new TextEncoder().encode("0123456789abcdef");
const pool = new Uint8Array(2048);
const hexPool = new Uint8Array(pool.length * 2);
const ascii = new TextDecoder();
let hex = "";
let at = 0;

function refill(): void {
  crypto.getRandomValues(pool);
  for (let i = 0; i < pool.length; i++) {
    const b = pool[i] as number;
    hexPool[2 * i] = DIGITS[b >> 4] as number;
    hexPool[2 * i + 1] = DIGITS[b & 15] as number;
  }
  hex = ascii.decode(hexPool);
  at = 0;
}

/** `chars` hex digits of the pool (a slice shares the pool string's characters: no copy). */
function hexFromPool(chars: 16 | 32): string {
  if (at + chars > hex.length) refill();
  const id = hex.slice(at, at + chars);
  at += chars;
  return id;
}

/** 16 random bytes as 32 lowercase hex characters. */
export function newTraceId(): string {
  let id = hexFromPool(32);
  while (id === INVALID_TRACE_ID) id = hexFromPool(32);
  return id;
}

/** 8 random bytes as 16 lowercase hex characters. */
export function newSpanId(): string {
  let id = hexFromPool(16);
  while (id === INVALID_SPAN_ID) id = hexFromPool(16);
  return id;
}
