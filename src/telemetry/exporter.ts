/**
 * OTLP/HTTP trace export: one POST per batch to the traces URL, protobuf or JSON, optionally gzip-compressed.
 * Retries follow the OTLP specification: 429, 502, 503 and 504 and network errors are retried with exponential
 * backoff and jitter, a `Retry-After` (seconds or an HTTP date) replaces the backoff, and every try ends by the
 * batch's deadline; any other status fails the batch at once (a collector refusing the data will refuse it again).
 */
import { encodeTraceRequestJson } from "./otlp-json";
import { type Scope, type Scrub, TraceEncoder } from "./otlp-proto";
import type { Attributes, SpanData } from "./span";

export type OtlpProtocol = "http/protobuf" | "http/json";

export interface OtlpExporterOptions {
  url: string;
  protocol: OtlpProtocol;
  /** `OTEL_EXPORTER_OTLP_HEADERS` (authorization and the like). */
  headers: Readonly<Record<string, string>>;
  compression: "none" | "gzip";
  /** Limit of one POST (`OTEL_EXPORTER_OTLP_TIMEOUT`). */
  requestTimeoutMs: number;
  resource: Attributes;
  scope: Scope;
  scrub: Scrub;
  /** First backoff (default 1 s), doubled per retry up to 5 s; ±20 % jitter. */
  initialBackoffMs?: number;
  /** Injected for tests. */
  fetch?: typeof fetch;
}

export interface SpanExporter {
  /** True when the collector accepted the batch before `deadline` (epoch ms); never throws. */
  export(spans: readonly SpanData[], deadline: number, signal?: AbortSignal): Promise<boolean>;
}

const RETRYABLE = new Set([429, 502, 503, 504]);
const MAX_BACKOFF_MS = 5000;

/** Milliseconds a `Retry-After` header asks to wait, or null when it says nothing usable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (!header) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

async function gzip(body: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Waits `ms`, or less when `signal` aborts. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

export function createOtlpExporter(o: OtlpExporterOptions): SpanExporter {
  const doFetch = o.fetch ?? fetch;
  const firstBackoff = o.initialBackoffMs ?? 1000;
  const headers: Record<string, string> = {
    ...o.headers,
    "content-type": o.protocol === "http/json" ? "application/json" : "application/x-protobuf",
  };
  if (o.compression === "gzip") headers["content-encoding"] = "gzip";

  // One buffer serves batch after batch: the batch processor runs one export at a time, and fetch copies a body
  // when it is called (export.test.ts checks that). An export that overlaps another gets an encoder of its own.
  const encoder = new TraceEncoder();
  let encoderBusy = false;

  async function body(spans: readonly SpanData[], own: boolean): Promise<Uint8Array | string> {
    const raw =
      o.protocol === "http/json"
        ? encodeTraceRequestJson(spans, o.resource, o.scope, o.scrub)
        : (own ? encoder : new TraceEncoder()).encode(spans, o.resource, o.scope, o.scrub);
    if (o.compression !== "gzip") return raw;
    return gzip(typeof raw === "string" ? new TextEncoder().encode(raw) : raw);
  }

  async function send(payload: Uint8Array | string, deadline: number, signal?: AbortSignal): Promise<boolean> {
    let backoff = firstBackoff;
    while (!signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let wait: number | null = null;
      try {
        const timeout = AbortSignal.timeout(Math.min(o.requestTimeoutMs, left));
        const res = await doFetch(o.url, {
          method: "POST",
          headers,
          body: payload,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        // Read the answer so the connection can be reused.
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return true;
        if (!RETRYABLE.has(res.status)) return false;
        wait = retryAfterMs(res.headers.get("retry-after"), Date.now());
      } catch {
        // Network error or timeout: worth another try while the deadline allows.
      }
      const delay = wait ?? Math.round(backoff * (0.8 + 0.4 * Math.random()));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      if (Date.now() + delay >= deadline) return false;
      await sleep(delay, signal);
    }
    return false;
  }
  return {
    async export(spans, deadline, signal) {
      const own = !encoderBusy;
      encoderBusy = true;
      try {
        return await send(await body(spans, own), deadline, signal);
      } finally {
        if (own) encoderBusy = false;
      }
    },
  };
}
