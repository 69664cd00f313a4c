/**
 * What a usage rollup holds per group: sums (requests, errors, tokens, cost, latency) and a fixed latency histogram,
 * as one vector in METRIC_COLUMNS order. Percentiles cannot be summed, so each rollup counts requests per latency
 * bucket (LATENCY_BOUNDS_MS); p50/p95 are read from the merged counts by linear interpolation inside the bucket
 * that holds the rank, so they are approximate: the true value lies in that bucket, whose width is the error bound
 * (at most half of the bucket's upper bound; 100 ms below 200 ms, 250 ms around one second).
 */
import { HISTOGRAM_COLUMNS } from "../../db/schema/rollup-columns";

/** Upper bounds (exclusive, ms) of the latency buckets; the last bucket is open (at or above 60 s). */
export const LATENCY_BOUNDS_MS = [
  100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000, 15_000, 30_000, 60_000,
] as const;

/** Summed columns, then the one maximum. */
export const SUM_COLUMNS = [
  "requests",
  "errors",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "cost_micros",
  "latency_count",
  "latency_ms_sum",
  "ttfb_count",
  "ttfb_ms_sum",
  ...HISTOGRAM_COLUMNS,
] as const;
export type SumColumn = (typeof SUM_COLUMNS)[number];
export const MAX_COLUMNS = ["latency_ms_max"] as const;
export const METRIC_COLUMNS = [...SUM_COLUMNS, ...MAX_COLUMNS] as const;
export type MetricColumn = (typeof METRIC_COLUMNS)[number];

const at = Object.fromEntries(METRIC_COLUMNS.map((c, i) => [c, i])) as Record<MetricColumn, number>;
const HIST0 = at.lat_00;
const MAX = at.latency_ms_max;

/** Metric values in METRIC_COLUMNS order. */
export type MetricVector = number[];

export const zeroVector = (): MetricVector => new Array<number>(METRIC_COLUMNS.length).fill(0);

/** The histogram bucket of a latency. */
export function latencyBucket(ms: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms >= LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

/** What one usage row adds to a rollup (the same as the SQL projection in sql.ts, ROW_METRICS). */
export interface RowMetrics {
  status: string;
  promptTokens?: number | null;
  completionTokens?: number | null;
  totalTokens?: number | null;
  costMicros?: number | null;
  latencyMs?: number | null;
  ttfbMs?: number | null;
}

/** The usage_logs column of each RowMetrics field, for reading rows to add here. */
export const ROW_METRIC_COLUMNS: Record<keyof RowMetrics, string> = {
  status: "status",
  promptTokens: "prompt_tokens",
  completionTokens: "completion_tokens",
  totalTokens: "total_tokens",
  costMicros: "cost_micros",
  latencyMs: "latency_ms",
  ttfbMs: "ttfb_ms",
};

export function addRow(v: MetricVector, r: RowMetrics): void {
  v[at.requests]! += 1;
  if (r.status === "error") v[at.errors]! += 1;
  v[at.prompt_tokens]! += Number(r.promptTokens ?? 0);
  v[at.completion_tokens]! += Number(r.completionTokens ?? 0);
  v[at.total_tokens]! += Number(r.totalTokens ?? 0);
  v[at.cost_micros]! += Number(r.costMicros ?? 0);
  if (r.latencyMs !== null && r.latencyMs !== undefined) {
    const ms = Number(r.latencyMs);
    v[at.latency_count]! += 1;
    v[at.latency_ms_sum]! += ms;
    v[HIST0 + latencyBucket(ms)]! += 1;
    if (ms > v[MAX]!) v[MAX] = ms;
  }
  if (r.ttfbMs !== null && r.ttfbMs !== undefined) {
    v[at.ttfb_count]! += 1;
    v[at.ttfb_ms_sum]! += Number(r.ttfbMs);
  }
}

/** Adds `from` into `into` (the maximum stays a maximum). */
export function mergeVector(into: MetricVector, from: MetricVector): void {
  for (let i = 0; i < MAX; i++) into[i]! += from[i]!;
  if (from[MAX]! > into[MAX]!) into[MAX] = from[MAX]!;
}

/** `a - b` for the sums (what remains outside the top groups); the maximum is `a`'s. */
export function subtractVector(a: MetricVector, b: MetricVector): MetricVector {
  return a.map((x, i) => (i === MAX ? x : x - b[i]!));
}

/**
 * A vector from a result row whose columns are named as METRIC_COLUMNS (drivers may return numbers as strings), or
 * only `columns` (the others 0): looking up the two columns of a ranking row, not all of them, is most of the cost
 * of turning thousands of rows into vectors.
 */
export function vectorOf(
  row: Record<string, unknown>,
  columns: readonly MetricColumn[] = METRIC_COLUMNS,
): MetricVector {
  const v = zeroVector();
  for (const c of columns) v[at[c]] = Number(row[c] ?? 0);
  return v;
}

/** The `p`th percentile latency (ms) estimated from the histogram; null without latencies. */
export function percentile(v: MetricVector, p: number): number | null {
  const n = v[at.latency_count]!;
  if (n === 0) return null;
  const rank = (p / 100) * n;
  let below = 0;
  for (let i = 0; i <= LATENCY_BOUNDS_MS.length; i++) {
    const count = v[HIST0 + i]!;
    if (count > 0 && below + count >= rank) {
      const lo = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const hi = i < LATENCY_BOUNDS_MS.length ? Math.min(LATENCY_BOUNDS_MS[i]!, v[MAX]! + 1) : Math.max(v[MAX]!, lo);
      return Math.round(lo + (Math.max(hi, lo) - lo) * Math.min(1, Math.max(0, (rank - below) / count)));
    }
    below += count;
  }
  return Math.round(v[MAX]!);
}

/** Named read access to a vector. */
export const metric = (v: MetricVector, c: MetricColumn): number => v[at[c]]!;
