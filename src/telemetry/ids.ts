/**
 * Trace and span ids: random bytes from the platform's CSPRNG (Web Crypto), drawn from a refilled pool so one id
 * costs a few table lookups rather than a crypto call. An all-zero id is invalid in W3C Trace Context and OTLP and is
 * never returned.
 */

/** The invalid ids of W3C Trace Context: a context carrying them continues nothing. */
export const INVALID_TRACE_ID = "00000000000000000000000000000000";
export const INVALID_SPAN_ID = "0000000000000000";

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const pool = new Uint8Array(4096);
let at = pool.length;

function hexFromPool(bytes: number): string {
  if (at + bytes > pool.length) {
    crypto.getRandomValues(pool);
    at = 0;
  }
  let out = "";
  for (let i = 0; i < bytes; i++) out += HEX[pool[at++] as number];
  return out;
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
