/**
 * The statements that derive usage data from the level below it, for a range of hours (or everything, for the
 * backfill in the migration that created the rollups): usage_rollups from usage_logs, hourly usage_marginals from
 * usage_rollups (one dimension at a time, '' the total; end users, which the rollups do not keep, from usage_logs),
 * daily marginals from the hourly ones. Each first deletes what it rebuilds, so running it again gives the same rows.
 */
import {
  AGGREGATES,
  type Dialect,
  type Dimension,
  DIMENSIONS,
  dayOf,
  hourOf,
  inRollups,
  KEY_COLUMN_LIST,
  KEY_COLUMNS,
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
const MARGINAL_DIMS: readonly (readonly [string, string])[] = [
  ["", "''"],
  ...Object.entries(DIMENSIONS).map(([d, def]) => [d, def.value] as const),
];
/** Those usage_rollups answers, and those only usage_logs does (ROW_ONLY_COLUMNS). */
const fromRollups = ([dim]: readonly [string, string]) => !dim || inRollups(DIMENSIONS[dim as Dimension].filter);
const ROLLUP_DIMS = MARGINAL_DIMS.filter(fromRollups);
const ROW_DIMS = MARGINAL_DIMS.filter((d) => !fromRollups(d));

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
      `INSERT INTO usage_rollups (hour, ${KEY_COLUMN_LIST}, ${METRICS}) SELECT hour, ${KEY_COLUMN_LIST}, ${AGGREGATES} FROM (SELECT ${hourOf(dialect, '"timestamp"')} AS hour, ${rowProjection(KEY_COLUMNS)} FROM usage_logs${where(ins, '"timestamp"', range)}) r GROUP BY hour, ${KEY_COLUMN_LIST}`,
    ),
  ];
}

/**
 * Hourly marginals of every dimension rebuilt over `range`: from usage_rollups, and the end users' from usage_logs
 * (the rows of a marked hour committed with its mark, so both sources are read in the same state).
 */
export function hourlyMarginals(p: () => SqlParams, dialect: Dialect, range: HourRange): Statement[] {
  const del = p();
  const ins = p();
  const rollupSelects = ROLLUP_DIMS.map(
    // The total's value is a constant, which Postgres refuses in GROUP BY.
    ([dim, value]) =>
      `SELECT '${dim}', 'h', hour, ${value}, ${AGGREGATES} FROM usage_rollups${where(ins, "hour", range)} GROUP BY hour${dim ? `, ${value}` : ""}`,
  );
  const rows = p();
  const rowSelects = ROW_DIMS.map(
    ([dim, value]) =>
      `SELECT '${dim}', 'h', hour, ${value}, ${AGGREGATES} FROM (SELECT ${hourOf(dialect, '"timestamp"')} AS hour, ${rowProjection()} FROM usage_logs${where(rows, '"timestamp"', range)}) r GROUP BY hour, ${value}`,
  );
  return [
    statement(del, `DELETE FROM usage_marginals${where(del, "bucket", range, "grain = 'h'")}`),
    statement(
      ins,
      `INSERT INTO usage_marginals (dim, grain, bucket, value, ${METRICS}) ${rollupSelects.join(" UNION ALL ")}`,
    ),
    statement(
      rows,
      `INSERT INTO usage_marginals (dim, grain, bucket, value, ${METRICS}) ${rowSelects.join(" UNION ALL ")}`,
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
