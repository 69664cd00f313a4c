/**
 * Prefix marginals (usage_marginals rows of grain 'p'): at a point in time t (hour-aligned), per dimension and value,
 * the sums of every hourly marginal before t. Ranking all the values of a dimension over any range of clean hours
 * [a, b) is then P(b) - P(a): two reads of at most one row per value, whatever the range's length, instead of one
 * row per value and hour or day (thousands of keys over 30 or 90 days). Points are kept at every UTC day boundary
 * and at every hour of the last RECENT_MS (rolling windows such as the overview's 24 hours); P at any other hour is
 * the nearest point before it plus the hourly marginals in between (at most 23 hours).
 *
 * Invariant: every stored point equals the sum of the hourly marginals stored before it, so differences are exact
 * for clean hours even while other hours (before a) wait for compaction. The compactor keeps it: in the transaction
 * that rebuilds an hour's marginals it rebuilds every point after that hour (usually one or two), in order.
 * Only sums are meaningful on a point (latency_ms_max is the maximum so far, unused). End users are left out: their
 * values are as many as the requests' end users, which would make every point as large as a day of rows.
 */
import type { Statement } from "./marginals";
import { METRIC_COLUMNS } from "./metrics";
import { AGGREGATES, DAY_MS, DIMENSION_NAMES, type Dialect, HOUR_MS, msOf, type SqlParams } from "./sql";

/** Hour points are kept this long behind the compacted hours; day points always. */
export const RECENT_MS = 48 * HOUR_MS;
/** Dimensions without a prefix (see above). */
export const NO_PREFIX_DIMS = ["end_user"] as const;

const METRICS = METRIC_COLUMNS.join(", ");
/** The dimensions with points, listed: an equality on the indexes' leading column (a NOT IN would scan them all). */
const withPrefix = `dim IN (${["", ...DIMENSION_NAMES.filter((d) => !(NO_PREFIX_DIMS as readonly string[]).includes(d))]
  .map((d) => `'${d}'`)
  .join(", ")})`;

/**
 * The point at `t` rebuilt from the point at `base` (the latest before it) and the hourly marginals in between (the
 * daily ones for whole days, when the base is a day boundary); with no point before it, from every daily marginal
 * before t's day and the hourly ones of its day.
 */
export function prefixPoint(p: () => SqlParams, t: number, base: number | null): Statement[] {
  const del = p();
  const ins = p();
  const day = Math.floor(t / DAY_MS) * DAY_MS;
  // SQLite's placeholders are positional: parameters in the order they appear.
  const at = ins.time(t);
  const part = (cond: string) => `SELECT dim, value, ${METRICS} FROM usage_marginals WHERE ${withPrefix} AND ${cond}`;
  const parts: string[] = [];
  if (base !== null) parts.push(part(`grain = 'p' AND bucket = ${ins.time(base)}`));
  if (base !== null && base % DAY_MS !== 0)
    parts.push(part(`grain = 'h' AND bucket >= ${ins.time(base)} AND bucket < ${ins.time(t)}`));
  else {
    // From a day boundary (or the beginning): whole days, then the hours of t's day.
    if (base === null || base < day) {
      const since = base === null ? "" : `bucket >= ${ins.time(base)} AND `;
      parts.push(part(`grain = 'd' AND ${since}bucket < ${ins.time(day)}`));
    }
    parts.push(part(`grain = 'h' AND bucket >= ${ins.time(day)} AND bucket < ${ins.time(t)}`));
  }
  return [
    {
      sql: `DELETE FROM usage_marginals WHERE ${withPrefix} AND grain = 'p' AND bucket = ${del.time(t)}`,
      params: [...del.values],
    },
    {
      sql: `INSERT INTO usage_marginals (dim, grain, bucket, value, ${METRICS}) SELECT dim, 'p', ${at}, value, ${AGGREGATES} FROM (${parts.join(" UNION ALL ")}) m GROUP BY dim, value`,
      params: [...ins.values],
    },
  ];
}

/** Hour points older than RECENT_MS behind `cutoff` that are not day boundaries. */
export function prunePoints(p: SqlParams, dialect: Dialect, cutoff: number): Statement {
  const dayAligned =
    dialect === "pg"
      ? `bucket = date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`
      : `bucket % ${DAY_MS} = 0`;
  return {
    sql: `DELETE FROM usage_marginals WHERE ${withPrefix} AND grain = 'p' AND bucket < ${p.time(cutoff - RECENT_MS)} AND NOT (${dayAligned})`,
    params: [...p.values],
  };
}

/**
 * The points to (re)build after the hourly marginals of `hours` changed: every existing point after the first of
 * them, the hour after each (when recent or a day boundary), and the end of each one's day; with no point at all
 * yet (a new or upgraded database), also every day boundary since `firstDay` (the first daily marginal).
 */
export function pointsToBuild(o: {
  hours: readonly number[];
  existingAfter: readonly number[];
  cutoff: number;
  firstDay: number | null;
  anyPoint: boolean;
}): number[] {
  if (!o.hours.length) return [];
  const recent = (t: number) => t % DAY_MS === 0 || t >= o.cutoff - RECENT_MS;
  const out = new Set(o.existingAfter.filter(recent));
  for (const h of o.hours) {
    const next = h + HOUR_MS;
    if (recent(next)) out.add(next);
    out.add(Math.floor(h / DAY_MS) * DAY_MS + DAY_MS);
  }
  if (!o.anyPoint && o.firstDay !== null)
    for (let d = o.firstDay + DAY_MS; d <= Math.max(...o.hours); d += DAY_MS) out.add(d);
  return [...out].sort((a, b) => a - b);
}

type Exec = (sql: string, params?: unknown[]) => Promise<unknown[]>;

/**
 * Rebuilds the points after the hourly marginals of `hours` changed (in the caller's transaction, after those
 * marginals), then drops hour points no longer recent.
 */
export async function rebuildPoints(
  exec: Exec,
  params: () => SqlParams,
  dialect: Dialect,
  hours: readonly number[],
  cutoff: number,
): Promise<void> {
  if (!hours.length) return;
  const first = Math.min(...hours);
  const q = params();
  const [row] = (await exec(
    `SELECT (SELECT MAX(${msOf(dialect, "bucket")}) FROM usage_marginals WHERE dim = '' AND grain = 'p' AND bucket <= ${q.time(first)}) AS base, (SELECT MIN(${msOf(dialect, "bucket")}) FROM usage_marginals WHERE dim = '' AND grain = 'd') AS first_day, (SELECT COUNT(*) FROM usage_marginals WHERE dim = '' AND grain = 'p') AS points`,
    q.values,
  )) as { base: unknown; first_day: unknown; points: unknown }[];
  const a = params();
  const after = (await exec(
    `SELECT ${msOf(dialect, "bucket")} AS t FROM usage_marginals WHERE dim = '' AND grain = 'p' AND bucket > ${a.time(first)}`,
    a.values,
  )) as { t: unknown }[];
  const points = pointsToBuild({
    hours,
    existingAfter: after.map((r) => Number(r.t)),
    cutoff,
    firstDay: row?.first_day === null || row?.first_day === undefined ? null : Number(row.first_day),
    anyPoint: Number(row?.points ?? 0) > 0,
  });
  let base = row?.base === null || row?.base === undefined ? null : Number(row.base);
  for (const t of points) {
    for (const s of prefixPoint(params, t, base)) await exec(s.sql, s.params);
    base = t;
  }
  const s = prunePoints(params(), dialect, cutoff);
  await exec(s.sql, s.params);
}
