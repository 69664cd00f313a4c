/**
 * The metrics Recorder is the exporter's listener: exported, dropped (by reason) and failed exports show up on
 * /metrics under the names docs/operations.md documents.
 */
import { afterEach, expect, test } from "bun:test";
import { createRecorder } from "../../src/metrics/registry";
import { createTelemetry, type ExportListener } from "../../src/telemetry";
import { createSampler } from "../../src/telemetry/sampler";
import { type OtlpReceiver, startOtlpReceiver } from "../helpers/otlp-receiver";

let receiver: OtlpReceiver | null = null;
afterEach(async () => {
  await receiver?.close();
});

test("span export counters reach the Prometheus registry", async () => {
  receiver = startOtlpReceiver();
  receiver.script({ status: 400 });
  const recorder = createRecorder();
  const listener: ExportListener = recorder;
  const telemetry = createTelemetry(
    {
      version: "0",
      url: receiver.tracesUrl,
      protocol: "http/protobuf",
      headers: {},
      compression: "none",
      requestTimeoutMs: 1000,
      sampler: createSampler("always_on", null),
      resource: {},
      batch: { maxQueueSize: 4, maxExportBatchSize: 2, scheduleDelayMs: 10, exportTimeoutMs: 2000 },
      propagateUpstream: true,
      capture: { enabled: false, maxChars: 100, patterns: [] },
      secrets: [],
    },
    { listener },
  );
  // 2 go out at once and are refused (400), 4 wait in the queue, 2 find it full.
  for (let i = 0; i < 8; i++) telemetry.tracer.startSpan(`s${i}`, "internal", null).end();
  await telemetry.shutdown(5000);
  const text = await recorder.registry.metrics();
  expect(text).toContain("gateway_trace_spans_exported_total 4");
  expect(text).toContain('gateway_trace_spans_dropped_total{reason="export_failed"} 2');
  expect(text).toContain('gateway_trace_spans_dropped_total{reason="queue_full"} 2');
  expect(text).toContain("gateway_trace_export_failures_total 1");
});
