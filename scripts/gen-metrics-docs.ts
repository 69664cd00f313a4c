/**
 * Writes the metrics reference in docs/operations.md (between the metrics-reference markers) from the live registry
 * in src/metrics/registry.ts: every gateway_* metric with its exposed name, type, labels and help text. `--check`
 * exits 1 when the page is stale; tests/ops/metrics-docs.test.ts runs the same comparison.
 *
 *   bun scripts/gen-metrics-docs.ts [--check]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRecorder, MODEL_LABEL_LIMIT, OTHER_MODEL } from "../src/metrics/registry";

const BEGIN = "<!-- metrics-reference:begin -->";
const END = "<!-- metrics-reference:end -->";
/** The page the table lives in. */
export const METRICS_DOC = join(import.meta.dir, "..", "docs", "operations.md");

/** What each label's values are, for the table. */
const LABEL_VALUES: Record<string, string> = {
  method: "HTTP method",
  endpoint: "route template, e.g. `/v1/keys/{key_id}`; `unmatched` for 404s",
  status: "HTTP status code",
  provider: "provider name",
  model: `model name (without the provider); past ${MODEL_LABEL_LIMIT} distinct models, \`${OTHER_MODEL}\``,
  type: "`input` \\| `output`",
  reason:
    "`missing_credentials` \\| `invalid_format` \\| `invalid_key` \\| `inactive_key` \\| `expired_key` \\| `invalid_master_key` (auth failures); `queue_full` \\| `export_failed` \\| `shutdown` (dropped spans)",
  writer: "`single` \\| `batch`",
  result: "`ok` \\| `error` (flush duration); `written` \\| `dropped` (rows)",
};

/** More than the one-line help text, where the help alone would leave a reader guessing. */
const NOTES: Record<string, string> = {
  gateway_requests_total: "`/metrics` itself is not counted",
  gateway_tokens_total: "counted when a usage row settles; zero counts are not added",
  gateway_request_cost_dollars: "only priced requests are observed; `_sum` is spend in USD",
  gateway_rate_limit_hits_total: "RPM/TPM refusals (key or user)",
  gateway_budget_exceeded_total: "requests refused because the user's budget could not cover the reservation",
  gateway_usage_log_queue_depth:
    "read at scrape time; grows when the database is slow or down (rows stay in the journal)",
  gateway_usage_log_rows_total: "`dropped` means a row the database rejected for good",
  gateway_trace_spans_dropped_total:
    "`queue_full`: the export queue (`otel_bsp_max_queue_size`) was full, the collector is slow or down; `export_failed`: the collector refused the batch or did not answer within `otel_bsp_export_timeout`; `shutdown`: still queued when the shutdown flush ran out of time",
  gateway_trace_export_failures_total:
    "retries on 429/502/503/504 and network errors are not counted, only batches given up",
  gateway_upstream_usage_anomalies_total:
    "one per upstream response whose usage was negative, fractional or above 1e9 tokens per field; clamped before billing and logged",
  gateway_budget_reservations_released_total:
    "reservations of requests that never settled (crash, lost stream), freed after `reservation_ttl_seconds`",
};

export interface MetricDoc {
  name: string;
  type: string;
  labels: string[];
  help: string;
}

/** The gateway's own metrics (process_* and nodejs_* defaults left out), in registration order. */
export function gatewayMetrics(): MetricDoc[] {
  const recorder = createRecorder();
  return recorder.registry
    .getMetricsAsArray()
    .filter((m) => m.name.startsWith("gateway_"))
    .map((m) => {
      const { labelNames, help, type } = m as unknown as { labelNames?: readonly string[]; help: string; type: string };
      return { name: m.name, type: String(type), labels: [...(labelNames ?? [])], help };
    });
}

export function renderMetricsReference(): string {
  const rows = gatewayMetrics().map((m) => {
    const exposed = m.type === "histogram" ? `\`${m.name}_bucket\` / \`_sum\` / \`_count\`` : `\`${m.name}\``;
    const labels = m.labels.length ? m.labels.map((l) => `\`${l}\``).join(", ") : "—";
    const meaning = NOTES[m.name] ? `${m.help}: ${NOTES[m.name]}` : m.help;
    return `| ${exposed} | ${m.type} | ${labels} | ${meaning.replace(/\|/g, "\\|")} |`;
  });
  const labelRows = [...new Set(gatewayMetrics().flatMap((m) => m.labels))].map(
    (l) => `| \`${l}\` | ${LABEL_VALUES[l] ?? ""} |`,
  );
  return [
    BEGIN,
    "| Metric | Type | Labels | Meaning |",
    "|---|---|---|---|",
    ...rows,
    "",
    "| Label | Values |",
    "|---|---|",
    ...labelRows,
    END,
  ].join("\n");
}

if (import.meta.main) {
  const page = readFileSync(METRICS_DOC, "utf8");
  const start = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (start < 0 || end < 0) throw new Error("docs/operations.md has no metrics-reference markers");
  const next = page.slice(0, start) + renderMetricsReference() + page.slice(end + END.length);
  if (process.argv.includes("--check")) {
    if (next !== page) {
      console.error("docs/operations.md's metrics reference is stale: run bun scripts/gen-metrics-docs.ts");
      process.exit(1);
    }
  } else writeFileSync(METRICS_DOC, next);
}
