/**
 * Tracing's public face: `createTelemetry(settings)` gives the tracer the pipeline starts spans with, the content
 * policy and redactor, export statistics and the shutdown flush. No traces URL: the no-op tracer, and nothing runs.
 * See docs/tracing.md for what is exported.
 */
import { type BatchProcessor, createBatchProcessor, type ExportListener, type ExportStats } from "./batch";
import { createOtlpExporter } from "./exporter";
import { createRedactor, type Redactor } from "./redaction";
import type { TelemetrySettings } from "./settings";
import { epochNowMs } from "./span";
import { createTracer, NOOP_TRACER, type Tracer } from "./tracer";

export type { DropReason, ExportListener, ExportStats } from "./batch";
export type { Redactor } from "./redaction";
export { DEFAULT_SERVICE_NAME, type TelemetrySettings, telemetrySettings } from "./settings";
export {
  type Attributes,
  type AttributeSink,
  type AttributeValue,
  epochNowMs,
  type Span,
  type SpanKind,
} from "./span";
export type { SpanContext } from "./trace-context";
export type { Tracer } from "./tracer";

export interface Telemetry {
  readonly tracer: Tracer;
  /**
   * Whether a request captures prompts and completions: the key's own setting when it has one (true or false),
   * else the operator's `otel_capture_content`. Never a request field.
   */
  capturesContent(keySetting: boolean | null | undefined): boolean;
  readonly redactor: Redactor;
  stats(): ExportStats;
  /** Exports what is queued within `deadlineMs`; spans still queued then are dropped and counted. */
  shutdown(deadlineMs: number): Promise<void>;
}

export interface TelemetryDeps {
  /** Told about exported and dropped spans (the metrics Recorder). */
  listener?: ExportListener;
  /** Injected for tests. */
  fetch?: typeof fetch;
  /** First retry backoff of an export (tests shorten it). */
  initialBackoffMs?: number;
}

/** How long graceful shutdown waits for queued spans to reach the collector (after the request drain). */
export const TRACE_FLUSH_TIMEOUT_MS = 5000;

/** The instrumentation scope of every span: the gateway itself. */
const SCOPE_NAME = "otari-gateway";

export function createTelemetry(settings: TelemetrySettings, deps: TelemetryDeps = {}): Telemetry {
  const redactor = createRedactor({
    secrets: settings.secrets,
    patterns: settings.capture.patterns,
    maxChars: settings.capture.maxChars,
  });
  const capturesContent = (keySetting: boolean | null | undefined) => keySetting ?? settings.capture.enabled;
  if (!settings.url) {
    const empty: ExportStats = {
      exported: 0,
      dropped: { queue_full: 0, export_failed: 0, shutdown: 0 },
      failedExports: 0,
      queued: 0,
    };
    return { tracer: NOOP_TRACER, capturesContent, redactor, stats: () => empty, shutdown: async () => {} };
  }
  const exporter = createOtlpExporter({
    url: settings.url,
    protocol: settings.protocol,
    headers: settings.headers,
    compression: settings.compression,
    requestTimeoutMs: settings.requestTimeoutMs,
    resource: settings.resource,
    scope: { name: SCOPE_NAME, version: settings.version },
    scrub: redactor.scrubSecrets,
    initialBackoffMs: deps.initialBackoffMs,
    fetch: deps.fetch,
  });
  const processor: BatchProcessor = createBatchProcessor({ exporter, ...settings.batch, listener: deps.listener });
  const tracer = createTracer({
    sampler: settings.sampler,
    propagate: settings.propagateUpstream,
    sink: { now: epochNowMs, redact: redactor.text, onEnd: processor.onEnd },
  });
  return { tracer, capturesContent, redactor, stats: processor.stats, shutdown: processor.shutdown };
}
