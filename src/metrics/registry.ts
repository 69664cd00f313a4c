/**
 * Prometheus metrics with otari's names and labels (docs/operations.md#metrics), on prom-client, plus process metrics.
 * Services and HTTP call the Recorder; only /metrics reads the registry.
 */
import type Registry from "prom-client/lib/registry";
import { CellCounter, CellHistogram } from "./cells";

/** What the metrics read of a settled usage row (the usage writer's rows have these columns and more). */
export interface SettledUsage {
  status: string;
  provider?: string | null;
  model: string;
  promptTokens?: number | null;
  completionTokens?: number | null;
  costMicros?: number | null;
}

/** What one usage-writer flush did, for the `gateway_usage_log_*` metrics. */
export interface FlushEvent {
  writer: "single" | "batch";
  result: "ok" | "error";
  /** Rows in the attempt (the batch-size histogram). */
  rows: number;
  written: number;
  dropped: number;
  durationSeconds: number;
}

export interface Recorder {
  readonly registry: Registry;
  requestStarted(): void;
  requestFinished(method: string, endpoint: string, status: number, seconds: number): void;
  settled(row: SettledUsage): void;
  rateLimitHit(): void;
  budgetExceeded(): void;
  /** `reason`: why authentication failed (services/auth.ts AuthFailureReason), the label value. */
  authFailure(reason: string): void;
  usageFlush(event: FlushEvent): void;
  reservationsReleased(n: number): void;
  streamDisconnect(): void;
  /** Upstream usage with impossible token counts, clamped before billing. */
  usageAnomaly(provider: string): void;
  /** A spend alert's delivery attempt ended: `delivered`, `retry`, `failed` (gave up) or `dropped` (queue full). */
  spendAlert(result: string): void;
  /** Platform mode: usage reports dropped at the retry queue's cap (docs/behaviour/platform-mode.md#usage-reports). */
  platformUsageDropped(n: number): void;
  /** Trace export (src/telemetry): spans the collector accepted. */
  spansExported(n: number): void;
  /** Spans dropped before export, by reason (`queue_full`, `export_failed`, `shutdown`). */
  spansDropped(reason: string, n: number): void;
  /** Export requests that failed for good (after their retries). */
  traceExportFailed(): void;
  /** The usage writer's queue depth, read at scrape time. */
  watchQueueDepth(read: () => number): void;
  /** Statements this process sent to the database, read at scrape time. */
  watchDbStatements(read: () => number): void;
  /** Spend alerts in memory (queued candidates, posts awaiting an answer), read at scrape time. */
  watchSpendAlerts(read: () => { queued: number; sending: number }): void;
}

/**
 * Distinct models that get a `model` label of their own; the rest share OTHER_MODEL. Model names come from clients
 * (any name an upstream accepts settles), and each label value is a series kept for the life of the process.
 */
export const MODEL_LABEL_LIMIT = 100;
export const OTHER_MODEL = "other";

/** `model` as a label: itself while fewer than `limit` models have a label, else OTHER_MODEL. */
function modelLabels(limit: number): (provider: string, model: string) => string {
  const byProvider = new Map<string, Set<string>>();
  let count = 0;
  return (provider, model) => {
    let models = byProvider.get(provider);
    if (models?.has(model)) return model;
    if (count >= limit) return OTHER_MODEL;
    if (!models) {
      models = new Set();
      byProvider.set(provider, models);
    }
    models.add(model);
    count++;
    return model;
  };
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const COST_BUCKETS = [0.00001, 0.0001, 0.001, 0.01, 0.1, 1, 10];
const BATCH_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000];

export function createRecorder(): Recorder {
  // prom-client loads with the first recorder, so a start with metrics off never evaluates it (its process metrics
  // bring in @opentelemetry/api). The metric classes come from their own files: its index also loads the
  // Pushgateway and cluster aggregator (node:http, https, zlib, cluster), which the gateway never uses.
  const Registry = require("prom-client/lib/registry") as typeof import("prom-client/lib/registry");
  const Counter = require("prom-client/lib/counter") as typeof import("prom-client/lib/counter");
  const Gauge = require("prom-client/lib/gauge") as typeof import("prom-client/lib/gauge");
  const Histogram = require("prom-client/lib/histogram") as typeof import("prom-client/lib/histogram");
  const collectDefaultMetrics =
    require("prom-client/lib/defaultMetrics") as typeof import("prom-client/lib/defaultMetrics");
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Touched on every request: cells (cells.ts) rather than prom-client's per-call label hashing.
  const requests = new CellCounter(
    "gateway_requests_total",
    "HTTP requests",
    ["method", "endpoint", "status"],
    registry,
  );
  const duration = new CellHistogram(
    "gateway_request_duration_seconds",
    "HTTP request duration",
    ["method", "endpoint"],
    registry,
    DURATION_BUCKETS,
  );
  let inFlight = 0;
  new Gauge({
    name: "gateway_active_requests",
    help: "In-flight HTTP requests",
    registers: [registry],
    collect() {
      this.set(inFlight);
    },
  });
  const modelLabel = modelLabels(MODEL_LABEL_LIMIT);
  const tokens = new CellCounter(
    "gateway_tokens_total",
    "Tokens from successful usage",
    ["provider", "model", "type"],
    registry,
  );
  const cost = new CellHistogram(
    "gateway_request_cost_dollars",
    "Per-request cost in USD (priced requests)",
    ["provider", "model"],
    registry,
    COST_BUCKETS,
  );
  const rateLimited = new Counter({
    name: "gateway_rate_limit_hits_total",
    help: "429s from the rate limiter",
    registers: [registry],
  });
  const overBudget = new Counter({
    name: "gateway_budget_exceeded_total",
    help: "403 over-budget refusals",
    registers: [registry],
  });
  const authFailures = new Counter({
    name: "gateway_auth_failures_total",
    help: "401s by reason",
    labelNames: ["reason"],
    registers: [registry],
  });
  let queueDepth: () => number = () => 0;
  new Gauge({
    name: "gateway_usage_log_queue_depth",
    help: "Usage rows not yet in the database",
    registers: [registry],
    collect() {
      this.set(queueDepth());
    },
  });
  let dbStatements: () => number = () => 0;
  new Gauge({
    name: "gateway_db_statements",
    help: "Statements this process has sent to the database (monotonic; divide its rate by the request rate)",
    registers: [registry],
    collect() {
      this.set(dbStatements());
    },
  });
  let alertDepth: () => { queued: number; sending: number } = () => ({ queued: 0, sending: 0 });
  new Gauge({
    name: "gateway_spend_alerts_queue_depth",
    help: "Spend alerts seen but not yet recorded in the database (capped; past the cap they count as dropped)",
    registers: [registry],
    collect() {
      this.set(alertDepth().queued);
    },
  });
  new Gauge({
    name: "gateway_spend_alerts_in_flight",
    help: "Spend alert webhook posts awaiting an answer (at most 4 per process)",
    registers: [registry],
    collect() {
      this.set(alertDepth().sending);
    },
  });
  const batchSize = new Histogram({
    name: "gateway_usage_log_batch_size",
    help: "Rows per usage flush",
    labelNames: ["writer"],
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const flushDuration = new Histogram({
    name: "gateway_usage_log_flush_duration_seconds",
    help: "Usage flush time",
    labelNames: ["writer", "result"],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const rows = new Counter({
    name: "gateway_usage_log_rows_total",
    help: "Usage rows by outcome",
    labelNames: ["writer", "result"],
    registers: [registry],
  });
  const released = new Counter({
    name: "gateway_budget_reservations_released_total",
    help: "Stale budget reservations released by the sweep",
    registers: [registry],
  });
  const disconnects = new Counter({
    name: "gateway_stream_disconnects_total",
    help: "Clients that left a stream before its end",
    registers: [registry],
  });
  const usageAnomalies = new Counter({
    name: "gateway_upstream_usage_anomalies_total",
    help: "Upstream responses whose token counts were impossible (negative, fractional, huge) and were clamped",
    labelNames: ["provider"],
    registers: [registry],
  });
  const spendAlerts = new Counter({
    name: "gateway_spend_alerts_total",
    help: "Spend alert webhook attempts by result (delivered, retry, failed, dropped)",
    labelNames: ["result"],
    registers: [registry],
  });
  const platformDropped = new Counter({
    name: "gateway_platform_usage_reports_dropped_total",
    help: "Platform usage reports dropped at the retry queue cap",
    registers: [registry],
  });
  const spansExported = new Counter({
    name: "gateway_trace_spans_exported_total",
    help: "Spans the OTLP collector accepted",
    registers: [registry],
  });
  const spansDropped = new Counter({
    name: "gateway_trace_spans_dropped_total",
    help: "Spans dropped before export",
    labelNames: ["reason"],
    registers: [registry],
  });
  const exportFailures = new Counter({
    name: "gateway_trace_export_failures_total",
    help: "OTLP export requests that failed after their retries",
    registers: [registry],
  });

  return {
    registry,
    requestStarted: () => {
      inFlight++;
    },
    requestFinished(method, endpoint, status, seconds) {
      inFlight--;
      requests.cell(method, endpoint, status).value++;
      duration.observe(duration.cell(method, endpoint), seconds);
    },
    settled(row) {
      if (row.status !== "success") return;
      const provider = row.provider ?? "unknown";
      const model = modelLabel(provider, row.model);
      if (row.promptTokens) tokens.cell(provider, model, "input").value += row.promptTokens;
      if (row.completionTokens) tokens.cell(provider, model, "output").value += row.completionTokens;
      if (row.costMicros !== null && row.costMicros !== undefined)
        cost.observe(cost.cell(provider, model), row.costMicros / 1e6);
    },
    rateLimitHit: () => rateLimited.inc(),
    budgetExceeded: () => overBudget.inc(),
    authFailure: (reason) => authFailures.inc({ reason }),
    usageFlush(e) {
      batchSize.observe({ writer: e.writer }, e.rows);
      flushDuration.observe({ writer: e.writer, result: e.result }, e.durationSeconds);
      if (e.written) rows.inc({ writer: e.writer, result: "written" }, e.written);
      if (e.dropped) rows.inc({ writer: e.writer, result: "dropped" }, e.dropped);
    },
    reservationsReleased: (n) => released.inc(n),
    streamDisconnect: () => disconnects.inc(),
    usageAnomaly: (provider) => usageAnomalies.inc({ provider }),
    spendAlert: (result) => spendAlerts.inc({ result }),
    platformUsageDropped: (n) => platformDropped.inc(n),
    spansExported: (n) => spansExported.inc(n),
    spansDropped: (reason, n) => spansDropped.inc({ reason }, n),
    traceExportFailed: () => exportFailures.inc(),
    watchSpendAlerts(read) {
      alertDepth = read;
    },
    watchQueueDepth(read) {
      queueDepth = read;
    },
    watchDbStatements(read) {
      dbStatements = read;
    },
  };
}
