/**
 * The column names both dialects give the usage rollups (usage_rollups, usage_marginals): what a rollup sums per
 * group. The latency histogram has one count column per bucket of src/services/rollups/metrics.ts
 * (LATENCY_BOUNDS_MS); the two lists must have the same length (a test checks it).
 */
export const HISTOGRAM_COLUMNS = [
  "lat_00",
  "lat_01",
  "lat_02",
  "lat_03",
  "lat_04",
  "lat_05",
  "lat_06",
  "lat_07",
  "lat_08",
  "lat_09",
  "lat_10",
  "lat_11",
  "lat_12",
  "lat_13",
  "lat_14",
  "lat_15",
] as const;

export type HistogramColumn = (typeof HISTOGRAM_COLUMNS)[number];

/** `{lat_00: col("lat_00"), ...}` with the builder `col` gives, typed per column. */
export function histogramColumns<C>(col: (name: HistogramColumn) => C): Record<HistogramColumn, C> {
  return Object.fromEntries(HISTOGRAM_COLUMNS.map((name) => [name, col(name)])) as Record<HistogramColumn, C>;
}
