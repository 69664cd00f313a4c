/**
 * Export against a stand-in collector (tests/helpers/otlp-receiver.ts): batching, the bounded queue and its drops,
 * retries with Retry-After, a hanging or dead collector, and the shutdown flush. Timeouts are small; assertions
 * only bound times from below or loosely from above, so a loaded machine does not fail them.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { decodeTraceRequest, type OtlpReceiver, startOtlpReceiver } from "../../tests/helpers/otlp-receiver";
import { type DropReason, type ExportListener, createBatchProcessor } from "./batch";
import { createOtlpExporter, type OtlpExporterOptions, retryAfterMs } from "./exporter";
import { createTelemetry, type Telemetry } from "./index";
import { createSampler } from "./sampler";
import type { TelemetrySettings } from "./settings";
import type { SpanData } from "./span";
import { createTracer } from "./tracer";

let receiver: OtlpReceiver;
beforeEach(() => {
  receiver = startOtlpReceiver();
});
afterEach(async () => {
  await receiver.close();
});

function settings(
  over: Partial<TelemetrySettings> = {},
  batch: Partial<TelemetrySettings["batch"]> = {},
): TelemetrySettings {
  return {
    version: "9.9.9",
    url: receiver.tracesUrl,
    protocol: "http/protobuf",
    headers: { authorization: "Bearer collector-token" },
    compression: "none",
    requestTimeoutMs: 2000,
    sampler: createSampler("always_on", null),
    resource: { "service.name": "gw-test", "service.version": "9.9.9" },
    batch: { maxQueueSize: 100, maxExportBatchSize: 10, scheduleDelayMs: 20, exportTimeoutMs: 5000, ...batch },
    propagateUpstream: true,
    capture: { enabled: false, maxChars: 1000, patterns: [] },
    secrets: ["sk-configured-provider-key-123"],
    ...over,
  };
}

function counting(): ExportListener & { exported: number; dropped: Record<DropReason, number>; failed: number } {
  const l = {
    exported: 0,
    dropped: { queue_full: 0, export_failed: 0, shutdown: 0 },
    failed: 0,
    spansExported(n: number) {
      l.exported += n;
    },
    spansDropped(reason: DropReason, n: number) {
      l.dropped[reason] += n;
    },
    traceExportFailed() {
      l.failed++;
    },
  };
  return l;
}

function endSpans(t: Telemetry, n: number, name = "op"): void {
  for (let i = 0; i < n; i++) t.tracer.startSpan(`${name} ${i}`, "internal", null).end();
}

describe("OTLP/HTTP export", () => {
  test("spans reach the collector as protobuf with the resource, scope and configured headers; secrets scrubbed", async () => {
    const listener = counting();
    const t = createTelemetry(settings(), { listener });
    const server = t.tracer.startSpan("chat m", "server", null);
    server.setAttribute("error.detail", "upstream said: bad key sk-configured-provider-key-123");
    t.tracer.startSpan("chat m", "client", server).end();
    server.end();
    const spans = await receiver.waitForSpans(2);
    const [req] = receiver.requests;
    expect(req!.contentType).toBe("application/x-protobuf");
    expect(req!.headers.get("authorization")).toBe("Bearer collector-token");
    expect(spans[0]!.scope).toEqual({ name: "otari-gateway", version: "9.9.9" });
    expect(spans[0]!.resource).toEqual({ "service.name": "gw-test", "service.version": "9.9.9" });
    expect(spans[1]!.attributes["error.detail"]).toBe("upstream said: bad key [REDACTED]");
    expect(spans[0]!.parentSpanId).toBe(spans[1]!.spanId);
    await t.shutdown(1000);
    expect(listener.exported).toBe(2);
    expect(t.stats()).toMatchObject({ exported: 2, failedExports: 0, queued: 0 });
  });

  test("http/json and gzip", async () => {
    const t = createTelemetry(settings({ protocol: "http/json", compression: "gzip" }));
    endSpans(t, 3);
    const spans = await receiver.waitForSpans(3);
    expect(receiver.requests[0]!.contentType).toBe("application/json");
    expect(receiver.requests[0]!.contentEncoding).toBe("gzip");
    expect(spans.map((s) => s.name)).toEqual(["op 0", "op 1", "op 2"]);
    await t.shutdown(1000);
  });

  test("full batches go at once; the rest waits for the schedule delay or a flush", async () => {
    const exporter = protobufExporter();
    const processor = createBatchProcessor({
      exporter,
      maxQueueSize: 100,
      maxExportBatchSize: 3,
      scheduleDelayMs: 60_000,
      exportTimeoutMs: 5000,
    });
    const t = createTracerFor(processor.onEnd);
    for (let i = 0; i < 7; i++) t.startSpan(`s${i}`, "internal", null).end();
    await receiver.waitForSpans(6);
    expect(receiver.requests.map((r) => r.spans.length)).toEqual([3, 3]);
    expect(processor.stats().queued).toBe(1);
    await processor.forceFlush();
    expect(receiver.requests.map((r) => r.spans.length)).toEqual([3, 3, 1]);
    await processor.shutdown(1000);
  });

  test("a hanging collector: ending spans never waits, the queue stays at its cap, drops are counted", async () => {
    // One try takes the whole export timeout, so the one hanging answer costs exactly the first batch.
    receiver.script("hang");
    const listener = counting();
    const t = createTelemetry(
      settings({ requestTimeoutMs: 300 }, { maxQueueSize: 20, maxExportBatchSize: 5, exportTimeoutMs: 300 }),
      { listener, initialBackoffMs: 10 },
    );
    for (let i = 0; i < 100; i++) {
      const result: unknown = t.tracer.startSpan(`s${i}`, "internal", null).end();
      // end() is synchronous: nothing for a caller to wait on.
      expect(result).toBeUndefined();
    }
    const stats = t.stats();
    expect(stats.queued).toBeLessThanOrEqual(20);
    // The first batch left the queue for the hanging export; everything beyond the cap was dropped.
    expect(stats.dropped.queue_full).toBe(100 - 20 - 5);
    expect(listener.dropped.queue_full).toBe(75);
    // The hung batch gives up by its export timeout and is counted; the collector comes back and the rest arrives.
    await receiver.waitForSpans(20, 15_000);
    await t.shutdown(2000);
    expect(listener.dropped.export_failed).toBe(5);
    expect(listener.failed).toBe(1);
    expect(listener.exported).toBe(20);
  });

  test("429/502/503/504 are retried, honouring Retry-After; the batch arrives once", async () => {
    receiver.script(
      { status: 503, headers: { "retry-after": "1" } },
      { status: 429 },
      { status: 502 },
      { status: 504 },
    );
    const listener = counting();
    const t = createTelemetry(settings(), { listener, initialBackoffMs: 10 });
    endSpans(t, 2);
    await receiver.waitForSpans(2, 15_000);
    expect(receiver.arrivals).toHaveLength(5);
    expect(receiver.requests).toHaveLength(1);
    // Retry-After: 1 held the second try back a second (a lower bound only).
    expect(receiver.arrivals[1]! - receiver.arrivals[0]!).toBeGreaterThanOrEqual(900);
    await t.shutdown(1000);
    expect(listener).toMatchObject({ exported: 2, failed: 0 });
  });

  test("other statuses fail the batch at once: no retry, spans counted as dropped", async () => {
    receiver.script({ status: 400 });
    const listener = counting();
    const t = createTelemetry(settings(), { listener, initialBackoffMs: 10 });
    endSpans(t, 3);
    const deadline = Date.now() + 10_000;
    while (listener.failed === 0 && Date.now() < deadline) await Bun.sleep(10);
    expect(receiver.arrivals).toHaveLength(1);
    expect(listener.dropped.export_failed).toBe(3);
    await t.shutdown(1000);
  });

  test("a dead collector (connection refused) is retried until the export timeout, then the batch is dropped", async () => {
    const dead = `${receiver.url}/v1/traces`;
    await receiver.close();
    const listener = counting();
    const t = createTelemetry(settings({ url: dead, requestTimeoutMs: 100 }, { exportTimeoutMs: 300 }), {
      listener,
      initialBackoffMs: 20,
    });
    endSpans(t, 4);
    const deadline = Date.now() + 10_000;
    while (listener.failed === 0 && Date.now() < deadline) await Bun.sleep(10);
    expect(listener.dropped.export_failed).toBe(4);
    await t.shutdown(500);
    receiver = startOtlpReceiver();
  });

  test("shutdown flushes what is queued within its deadline; spans ended after it are dropped and counted", async () => {
    const listener = counting();
    const t = createTelemetry(settings({}, { scheduleDelayMs: 60_000 }), { listener });
    endSpans(t, 4);
    expect(receiver.spans()).toHaveLength(0);
    await t.shutdown(5000);
    expect(receiver.spans()).toHaveLength(4);
    endSpans(t, 1);
    expect(listener.dropped.shutdown).toBe(1);
  });

  test("shutdown against a hanging collector returns by its deadline and counts what was lost", async () => {
    receiver.script("hang", "hang", "hang");
    const listener = counting();
    const t = createTelemetry(
      settings({ requestTimeoutMs: 30_000 }, { scheduleDelayMs: 60_000, exportTimeoutMs: 30_000 }),
      { listener },
    );
    endSpans(t, 3);
    const started = Date.now();
    await t.shutdown(300);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(listener.dropped.export_failed + listener.dropped.shutdown).toBe(3);
    expect(listener.exported).toBe(0);
  });

  test("no traces URL: the no-op tracer, nothing sent", async () => {
    const t = createTelemetry(settings({ url: null }));
    expect(t.tracer.enabled).toBe(false);
    endSpans(t, 3);
    await t.shutdown(100);
    expect(receiver.arrivals).toHaveLength(0);
  });

  test("content capture: a key's own setting wins over the operator's default, either way", () => {
    const off = createTelemetry(settings({ url: null }));
    const on = createTelemetry(settings({ url: null, capture: { enabled: true, maxChars: 100, patterns: [] } }));
    expect([
      off.capturesContent(null),
      off.capturesContent(undefined),
      off.capturesContent(true),
      off.capturesContent(false),
    ]).toEqual([false, false, true, false]);
    expect([on.capturesContent(null), on.capturesContent(true), on.capturesContent(false)]).toEqual([
      true,
      true,
      false,
    ]);
  });

  test("fetch copies a request body when it is called, so the exporter may reuse its buffer right after", async () => {
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => new Response(String(new Uint8Array(await req.arrayBuffer()).reduce((a, b) => a + b, 0))),
    });
    try {
      for (const size of [100, 330_000, 4_000_000]) {
        const buffer = new Uint8Array(size + 10).fill(7);
        const sent = fetch(`http://127.0.0.1:${server.port}/`, { method: "POST", body: buffer.subarray(0, size) });
        buffer.fill(0);
        expect(await (await sent).text()).toBe(String(7 * size));
      }
    } finally {
      server.stop(true);
    }
  });

  test("overlapping exports each send their own batch (the reused buffer is never shared)", async () => {
    const held: { body: Uint8Array; release: () => void }[] = [];
    const exporter = protobufExporter({
      // Keeps each body as given (no copy) and answers only when told.
      fetch: ((_url: string, init: RequestInit) =>
        new Promise<Response>((resolve) => {
          held.push({ body: init.body as Uint8Array, release: () => resolve(new Response(null, { status: 200 })) });
        })) as unknown as typeof fetch,
    });
    const batch = (name: string) => {
      const spans: SpanData[] = [];
      const t = createTracerFor((s) => spans.push(s));
      for (let i = 0; i < 3; i++) t.startSpan(`${name} ${i}`, "internal", null).end();
      return spans;
    };
    const first = exporter.export(batch("first"), Date.now() + 5000);
    const second = exporter.export(batch("second"), Date.now() + 5000);
    await Bun.sleep(10);
    const names = (body: Uint8Array) => decodeTraceRequest(body, "application/x-protobuf").map((s) => s.name);
    expect(held.map((h) => names(h.body))).toEqual([
      ["first 0", "first 1", "first 2"],
      ["second 0", "second 1", "second 2"],
    ]);
    for (const h of held) h.release();
    expect(await Promise.all([first, second])).toEqual([true, true]);
    // Once both ended, the next export reuses the buffer again and still sends its own spans.
    const third = exporter.export(batch("third"), Date.now() + 5000);
    await Bun.sleep(10);
    expect(names(held[2]!.body)).toEqual(["third 0", "third 1", "third 2"]);
    held[2]!.release();
    expect(await third).toBe(true);
  });

  test("Retry-After: seconds or an HTTP date", () => {
    expect(retryAfterMs("3", 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs("soon", 0)).toBeNull();
    expect(retryAfterMs(null, 0)).toBeNull();
  });
});

/** A protobuf exporter to the test receiver with no headers, resource or scrubbing; `extra` overrides. */
function protobufExporter(extra: Partial<OtlpExporterOptions> = {}) {
  return createOtlpExporter({
    url: receiver.tracesUrl,
    protocol: "http/protobuf",
    headers: {},
    compression: "none",
    requestTimeoutMs: 2000,
    resource: {},
    scope: { name: "s", version: "1" },
    scrub: (x) => x,
    ...extra,
  });
}

function createTracerFor(onEnd: (s: SpanData) => void) {
  return createTracer({
    sampler: createSampler("always_on", null),
    propagate: true,
    sink: { now: () => Date.now(), redact: (x) => x, onEnd },
  });
}
