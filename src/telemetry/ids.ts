/**
 * Trace and span ids: random 32-bit words from the platform's CSPRNG (Web Crypto), drawn from a refilled pool so one
 * id costs a few array reads rather than a crypto call. Spans keep their ids as words (a trace id four, a span id
 * two, most significant first): the protobuf encoder writes their bytes straight from them, and hex text is made
 * only where it is read (the trace id on the response, logs and usage row; the upstream `traceparent`). An all-zero
 * id is invalid in W3C Trace Context and OTLP and is never drawn.
 */

/** The invalid ids of W3C Trace Context: a context carrying them continues nothing. */
export const INVALID_TRACE_ID = "00000000000000000000000000000000";
export const INVALID_SPAN_ID = "0000000000000000";

const DIGITS = new TextEncoder().encode("0123456789abcdef");
const pool = new Int32Array(1024);
let at = pool.length;
const ascii = new TextDecoder();

/** A random 32-bit word (signed, as the JIT keeps it an int). */
export function randomWord(): number {
  if (at === pool.length) {
    crypto.getRandomValues(pool);
    at = 0;
  }
  return pool[at++] as number;
}

/** `word` as 8 lowercase hex digits (ASCII) into `out` at `offset`. */
export function putHexWord(out: Uint8Array, offset: number, word: number): void {
  for (let i = 7; i >= 0; i--) out[offset + 7 - i] = DIGITS[(word >>> (4 * i)) & 15] as number;
}

/** ASCII bytes as a flat string: decoded once, not a rope of pieces. */
export const asciiText = (bytes: Uint8Array): string => ascii.decode(bytes);

/** The 32-bit word of the 8 lowercase hex digits of `hex` at `offset` (checked where the text is parsed). */
export function hexWord(hex: string, offset: number): number {
  let word = 0;
  for (let i = offset; i < offset + 8; i++) {
    const c = hex.charCodeAt(i);
    word = (word << 4) | (c <= 57 ? c - 48 : c - 87);
  }
  return word;
}

const traceScratch = new Uint8Array(32);
const spanScratch = new Uint8Array(16);

/** A trace id: its words, and its hex text made on first read (a caller's id keeps the text it came as). */
export class TraceId {
  constructor(
    readonly w0: number,
    readonly w1: number,
    readonly w2: number,
    readonly w3: number,
    private text: string | null = null,
  ) {}

  /** 32 lowercase hex characters. */
  get hex(): string {
    if (this.text === null) {
      putHexWord(traceScratch, 0, this.w0);
      putHexWord(traceScratch, 8, this.w1);
      putHexWord(traceScratch, 16, this.w2);
      putHexWord(traceScratch, 24, this.w3);
      this.text = asciiText(traceScratch);
    }
    return this.text;
  }

  get valid(): boolean {
    return (this.w0 | this.w1 | this.w2 | this.w3) !== 0;
  }
}

export const INVALID_TRACE = new TraceId(0, 0, 0, 0, INVALID_TRACE_ID);

/** 16 random bytes, never all zero. */
export function newTraceId(): TraceId {
  let id = new TraceId(randomWord(), randomWord(), randomWord(), randomWord());
  while (!id.valid) id = new TraceId(randomWord(), randomWord(), randomWord(), randomWord());
  return id;
}

/** The trace id of 32 lowercase hex characters (checked by the caller). */
export const traceIdFromHex = (hex: string): TraceId =>
  new TraceId(hexWord(hex, 0), hexWord(hex, 8), hexWord(hex, 16), hexWord(hex, 24), hex);

/** A span id's 16 lowercase hex characters from its words. */
export function spanIdHex(hi: number, lo: number): string {
  putHexWord(spanScratch, 0, hi);
  putHexWord(spanScratch, 8, lo);
  return asciiText(spanScratch);
}
