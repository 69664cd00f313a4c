/**
 * The SQL both dialects share for usage rollups: the rollup's key columns, a usage row projected onto them (NULLs as
 * '' / 0, per-row metric values), the aggregates, the dimensions analytics group by, and a parameter builder.
 * Time travels as epoch milliseconds in parameters and results; Postgres keeps timestamptz at rest.
 */
import { HISTOGRAM_COLUMNS } from "../../db/schema/rollup-columns";
import { LATENCY_BOUNDS_MS, MAX_COLUMNS, METRIC_COLUMNS, type MetricColumn } from "./metrics";

export type Dialect = "sqlite" | "pg";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Columns usage_rollups is keyed by besides the hour, in primary-key order; `empty` stands for NULL. */
export const KEY_COLUMNS = [
  { column: "user_id", row: "userId", empty: "" },
  { column: "api_key_id", row: "apiKeyId", empty: "" },
  { column: "model", row: "model", empty: "" },
  { column: "provider", row: "provider", empty: "" },
  { column: "status", row: "status", empty: "" },
  { column: "status_code", row: "statusCode", empty: 0 },
  { column: "team_id", row: "teamId", empty: "" },
] as const;
export const KEY_COLUMN_LIST = KEY_COLUMNS.map((k) => k.column).join(", ");

/**
 * Usage row columns analytics group and filter by that usage_rollups does not keep: end users, whose distinct values
 * would make the rollup nearly one row per request (and the writer's work grow with them). The compactor builds
 * their marginals from usage_logs; every other read of them (dirty hours, a filter on one with a group by another
 * dimension) reads usage_logs, through its (end_user_id, timestamp) index when filtered.
 */
export const ROW_ONLY_COLUMNS = [{ column: "end_user_id", row: "endUserId", empty: "" }] as const;

/** Every column a usage row is grouped or filtered by. */
export const ROW_COLUMNS = [...KEY_COLUMNS, ...ROW_ONLY_COLUMNS] as const;

type KeyColumn = (typeof ROW_COLUMNS)[number];

/**
 * What analytics group and filter by. `value` is the expression of a group's value over the row columns (also the
 * `value` of a usage_marginals row of that `dim`); `filter` the column a filter of the same name compares. Adding a
 * dimension (e.g. a team) is one key column here, in the schemas and in the usage row.
 */
export const DIMENSIONS = {
  user: { value: "user_id", filter: "user_id" },
  key: { value: "api_key_id", filter: "api_key_id" },
  end_user: { value: "end_user_id", filter: "end_user_id" },
  model: { value: "provider || ':' || model", filter: "model" },
  provider: { value: "provider", filter: "provider" },
  status: { value: "status", filter: "status" },
  status_code: { value: "CAST(status_code AS TEXT)", filter: "status_code" },
  team: { value: "team_id", filter: "team_id" },
} as const;
export type Dimension = keyof typeof DIMENSIONS;
export const DIMENSION_NAMES = Object.keys(DIMENSIONS) as Dimension[];

const ROW_ONLY = new Set<string>(ROW_ONLY_COLUMNS.map((c) => c.column));

/** Whether a filter or group on this column can be answered without usage_logs (usage_rollups keeps the column). */
export const inRollups = (column: string): boolean => !ROW_ONLY.has(column);

/** A bucket as epoch ms: SQLite stores ms already; Postgres timestamptz is converted. */
export const msOf = (dialect: Dialect, column: string): string =>
  dialect === "pg" ? `(extract(epoch from ${column}) * 1000)::bigint` : column;

/** The start of `column`'s UTC hour, in the column's own type. */
export const hourOf = (dialect: Dialect, column: string): string =>
  dialect === "pg"
    ? `(date_trunc('hour', ${column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`
    : `((${column} / ${HOUR_MS}) * ${HOUR_MS})`;

/** The start of `column`'s UTC day, in the column's own type. */
export const dayOf = (dialect: Dialect, column: string): string =>
  dialect === "pg"
    ? `(date_trunc('day', ${column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`
    : `((${column} / ${DAY_MS}) * ${DAY_MS})`;

const histogramCase = (i: number): string => {
  const lo = i === 0 ? null : LATENCY_BOUNDS_MS[i - 1];
  const hi = i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i] : null;
  const conds = [
    "latency_ms IS NOT NULL",
    ...(lo !== null ? [`latency_ms >= ${lo}`] : []),
    ...(hi !== null ? [`latency_ms < ${hi}`] : []),
  ];
  return `CASE WHEN ${conds.join(" AND ")} THEN 1 ELSE 0 END`;
};

/** Per-row metric values of a usage_logs row (what metrics.ts addRow adds), named as METRIC_COLUMNS. */
const ROW_METRICS: Record<(typeof METRIC_COLUMNS)[number], string> = {
  requests: "1",
  errors: "CASE WHEN status = 'error' THEN 1 ELSE 0 END",
  prompt_tokens: "COALESCE(prompt_tokens, 0)",
  completion_tokens: "COALESCE(completion_tokens, 0)",
  total_tokens: "COALESCE(total_tokens, 0)",
  cost_micros: "COALESCE(cost_micros, 0)",
  latency_count: "CASE WHEN latency_ms IS NULL THEN 0 ELSE 1 END",
  latency_ms_sum: "COALESCE(latency_ms, 0)",
  ttfb_count: "CASE WHEN ttfb_ms IS NULL THEN 0 ELSE 1 END",
  ttfb_ms_sum: "COALESCE(ttfb_ms, 0)",
  latency_ms_max: "COALESCE(latency_ms, 0)",
  ...(Object.fromEntries(HISTOGRAM_COLUMNS.map((c, i) => [c, histogramCase(i)])) as Record<
    (typeof HISTOGRAM_COLUMNS)[number],
    string
  >),
};

/**
 * A usage_logs row (or a RETURNING set with its columns) shaped like a rollup row: `columns` (default every row
 * column) with NULLs replaced, each metric's per-row value. Aggregating it over KEY_COLUMNS with AGGREGATES gives
 * what the writer adds to usage_rollups for the same rows.
 */
export function rowProjection(columns: readonly KeyColumn[] = ROW_COLUMNS): string {
  const metrics = METRIC_COLUMNS.map((c) => `${ROW_METRICS[c]} AS ${c}`);
  return [keyProjection(columns), ...metrics].join(", ");
}

/** `columns` (default every row column) of a usage_logs row with NULLs replaced, named as the columns. */
export const keyProjection = (columns: readonly KeyColumn[] = ROW_COLUMNS): string =>
  columns
    .map((k) => `COALESCE(${k.column}, ${typeof k.empty === "number" ? k.empty : "''"}) AS ${k.column}`)
    .join(", ");

/** SUM/MAX of `columns` (default every metric column), named as the columns. */
export function aggregatesOf(columns: readonly MetricColumn[] = METRIC_COLUMNS): string {
  return columns
    .map((c) => ((MAX_COLUMNS as readonly string[]).includes(c) ? `MAX(${c}) AS ${c}` : `SUM(${c}) AS ${c}`))
    .join(", ");
}

export const AGGREGATES = aggregatesOf();

/** Collects parameters in the dialect's placeholder style. */
export class SqlParams {
  readonly values: unknown[] = [];
  constructor(readonly dialect: Dialect) {}

  add(value: unknown): string {
    this.values.push(value);
    return this.dialect === "pg" ? `$${this.values.length}` : "?";
  }

  /** A point in time given as epoch ms, in the type of the table's time columns. */
  time(ms: number): string {
    const p = this.add(ms);
    return this.dialect === "pg" ? `to_timestamp(${p}::double precision / 1000)` : p;
  }

  list(values: readonly unknown[]): string {
    return values.map((v) => this.add(v)).join(", ");
  }
}
