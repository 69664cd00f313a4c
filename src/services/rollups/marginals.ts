/**
 * The statements that derive usage data from the level below it, for a range of hours (or everything, for the
 * backfill in the migration that created the rollups): usage_rollups from usage_logs, hourly usage_marginals from
 * usage_rollups (one dimension at a time, '' the total), daily marginals from the hourly ones. Each first deletes
 * what it rebuilds, so running it again gives the same rows.
 */
import {
  AGGREGATES,
  type Dialect,
  DIMENSIONS,
  dayOf,
  hourOf,
  KEY_COLUMN_LIST,
  rowProjection,
  type SqlParams,
} from "./sql";
import { METRIC_COLUMNS } from "./metrics";

export interface Statement {
  sql: string;
  params: unknown[];
}

/** [from, to) in epoch ms (hour-aligned); null = every row. */
export type HourRange = { from: number; to: number } | null;

const METRICS = METRIC_COLUMNS.join(", ");

/** The marginal dimensions: the total ('') and each analytics dimension, with its value expression. */
export const MARGINAL_DIMS: readonly (readonly [string, string])[] = [
  ["", "''"],
  ...Object.entries(DIMENSIONS).map(([d, def]) => [d, def.value] as const),
];

function where(p: SqlParams, column: string, range: HourRange, extra?: string): string {
  const conds = [
    ...(extra ? [extra] : []),
    ...(range ? [`${column} >= ${p.time(range.from)}`, `${column} < ${p.time(range.to)}`] : []),
  ];
  return conds.length ? ` WHERE ${conds.join(" AND ")}` : "";
}

const statement = (p: SqlParams, sql: string): Statement => ({ sql, params: [...p.values] });

/** usage_rollups rebuilt from usage_logs over `range` (hours). */
export function rollupsFromRows(p: () => SqlParams, dialect: Dialect, range: HourRange): Statement[] {
  const del = p();
  const ins = p();
  return [
    statement(del, `DELETE FROM usage_rollups${where(del, "hour", range)}`),
    statement(
      ins,
      `INSERT INTO usage_rollups (hour, ${KEY_COLUMN_LIST}, ${METRICS}) SELECT hour, ${KEY_COLUMN_LIST}, ${AGGREGATES} FROM (SELECT ${hourOf(dialect, '"timestamp"')} AS hour, ${rowProjection()} FROM usage_logs${where(ins, '"timestamp"', range)}) r GROUP BY hour, ${KEY_COLUMN_LIST}`,
    ),
  ];
}

/** Hourly marginals of every dimension rebuilt from usage_rollups over `range`. */
export function hourlyMarginals(p: () => SqlParams, range: HourRange): Statement[] {
  const del = p();
  const ins = p();
  const selects = MARGINAL_DIMS.map(
    // The total's value is a constant, which Postgres refuses in GROUP BY.
    ([dim, value]) =>
      `SELECT '${dim}', 'h', hour, ${value}, ${AGGREGATES} FROM usage_rollups${where(ins, "hour", range)} GROUP BY hour${dim ? `, ${value}` : ""}`,
  );
  return [
    statement(del, `DELETE FROM usage_marginals${where(del, "bucket", range, "grain = 'h'")}`),
    statement(
      ins,
      `INSERT INTO usage_marginals (dim, grain, bucket, value, ${METRICS}) ${selects.join(" UNION ALL ")}`,
    ),
  ];
}

/** Daily marginals rebuilt from the hourly ones, for the UTC days in `range` (day-aligned). */
export function dailyMarginals(p: () => SqlParams, dialect: Dialect, days: HourRange): Statement[] {
  const del = p();
  const ins = p();
  return [
    statement(del, `DELETE FROM usage_marginals${where(del, "bucket", days, "grain = 'd'")}`),
    statement(
      ins,
      `INSERT INTO usage_marginals (dim, grain, bucket, value, ${METRICS}) SELECT dim, 'd', day, value, ${AGGREGATES} FROM (SELECT dim, ${dayOf(dialect, "bucket")} AS day, value, ${METRICS} FROM usage_marginals${where(ins, "bucket", days, "grain = 'h'")}) m GROUP BY dim, day, value`,
    ),
  ];
}
