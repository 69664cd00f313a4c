/**
 * The one read path of usage analytics: metric vectors per group value and time bucket over [start, end), exact
 * whatever the mix of sources. Partial hours at the range's edges (and minute buckets) come from usage_logs; whole
 * hours from usage_rollups; when a query needs at most one dimension (no filter, or a filter on the dimension it
 * groups by) whole hours and clean whole days come from usage_marginals instead, except hours still marked dirty
 * (not yet compacted, such as the current one), which are read from usage_rollups. Ranking every value of a
 * dimension over long runs of clean hours reads the prefix marginals instead (rollups/prefix.ts: two points per
 * run, whatever its length). End users are not in
 * usage_rollups: where the rollups would be read for a query on them, usage_logs is (through its end-user index
 * when one is filtered).
 */
import type { Store } from "../../db/client";
import {
  MAX_COLUMNS,
  METRIC_COLUMNS,
  type MetricColumn,
  mergeVector,
  type MetricVector,
  vectorOf,
  zeroVector,
} from "../rollups/metrics";
import { NO_PREFIX_DIMS } from "../rollups/prefix";
import {
  aggregatesOf,
  DAY_MS,
  type Dimension,
  DIMENSIONS,
  HOUR_MS,
  inRollups,
  msOf,
  rowProjection,
  SqlParams,
} from "../rollups/sql";

export type Bucket = "minute" | "hour" | "day";
export const BUCKET_MS: Record<Bucket, number> = { minute: 60_000, hour: HOUR_MS, day: DAY_MS };

/** Equality filters on the rollup's key columns (absent = any). */
export interface Filters {
  user_id?: string;
  api_key_id?: string;
  end_user_id?: string;
  model?: string;
  provider?: string;
  status?: string;
  status_code?: number;
  team_id?: string;
}

export interface AggregateRequest {
  start: number;
  end: number;
  filters: Filters;
  group: Dimension | null;
  /** Time buckets of the result; null: one cell per group for the whole range. */
  bucket: Bucket | null;
  /** Only these group values (a series' top groups). */
  only?: readonly string[];
  /** Only these metrics (the others read as 0): ranking all groups needs one or two, not every column. */
  columns?: readonly MetricColumn[];
}

/** group value ('' when ungrouped or NULL) -> bucket start in ms (0 when unbucketed) -> metrics. */
export type Cells = Map<string, Map<number, MetricVector>>;

type Range = [number, number];

const floorTo = (t: number, ms: number) => Math.floor(t / ms) * ms;
const ceilTo = (t: number, ms: number) => Math.ceil(t / ms) * ms;

/** Contiguous runs of hour starts. */
function runs(hours: number[]): Range[] {
  const out: Range[] = [];
  for (const h of hours) {
    const last = out[out.length - 1];
    if (last && last[1] === h) last[1] = h + HOUR_MS;
    else out.push([h, h + HOUR_MS]);
  }
  return out;
}

/** Whether a query's whole hours come from usage_marginals (otherwise from usage_rollups). */
export const readsMarginals = (filters: Filters, group: Dimension | null): boolean =>
  marginalFor(filters, group) !== null;

/** The marginal that answers a query alone: its dimension ('' = total) and, for a filter, the value it fixes. */
function marginalFor(filters: Filters, group: Dimension | null): { dim: string; value: string | null } | null {
  const set = Object.entries(filters).filter(([, v]) => v !== undefined) as [keyof Filters, string | number][];
  if (set.length === 0) return { dim: group ?? "", value: null };
  const names = set.map(([k]) => k).sort();
  let dim: Dimension | null = null;
  let value: string | null = null;
  if (names.length === 2 && names[0] === "model" && names[1] === "provider") {
    dim = "model";
    value = `${filters.provider}:${filters.model}`;
  } else if (names.length === 1 && names[0] !== "model") {
    dim = (Object.keys(DIMENSIONS) as Dimension[]).find((d) => DIMENSIONS[d].filter === names[0]) ?? null;
    value = String(set[0]![1]);
  }
  if (!dim || (group !== null && group !== dim)) return null;
  return { dim, value };
}

/** Filter columns usage_logs indexes with the time (the planner's choice when one is filtered). */
const TIME_INDEXED = ["user_id", "api_key_id", "end_user_id", "team_id"] as const;

/** Runs of clean hours at least this long are read from the prefix marginals (below it, hourly ones are fewer). */
const PREFIX_MIN_HOURS = 6;

/**
 * Whether a query can read prefix marginals: it ranks every value of one dimension (no filter, not bucketed) on
 * sums only (a maximum cannot be subtracted), and the dimension has prefixes.
 */
const readsPrefixes = (req: AggregateRequest, m: { dim: string; value: string | null }): boolean =>
  req.group !== null &&
  req.bucket === null &&
  m.value === null &&
  req.columns !== undefined &&
  !req.columns.some((c) => (MAX_COLUMNS as readonly string[]).includes(c)) &&
  !(NO_PREFIX_DIMS as readonly string[]).includes(m.dim);

/** Whether usage_rollups holds what a query filters and groups by (else its whole hours come from usage_logs). */
const rollupsAnswer = (filters: Filters, group: Dimension | null): boolean =>
  (group === null || inRollups(DIMENSIONS[group].filter)) &&
  Object.entries(filters).every(([col, v]) => v === undefined || inRollups(col));

export function createAggregator(store: Store) {
  const dialect = store.dialect;
  const params = () => new SqlParams(dialect);

  /** `col` within one of `ranges` (epoch ms, [from, to)). */
  const inRanges = (p: SqlParams, col: string, ranges: Range[]) =>
    `(${ranges.map(([a, b]) => `(${col} >= ${p.time(a)} AND ${col} < ${p.time(b)})`).join(" OR ")})`;

  const bucketOf = (t: string, bucket: Bucket | null) =>
    bucket ? `((${t}) / ${BUCKET_MS[bucket]}) * ${BUCKET_MS[bucket]}` : "0";

  /** SELECT list and GROUP BY of a source whose group expression is `g` (null: ungrouped). */
  function shape(req: AggregateRequest, g: string | null, t: string): { select: string; groupBy: string } {
    const keys = [...(g ? [g] : []), ...(req.bucket ? [bucketOf(t, req.bucket)] : [])];
    return {
      select: `${g ?? "''"} AS g, ${bucketOf(t, req.bucket)} AS b, ${aggregatesOf(req.columns)}`,
      groupBy: keys.length ? ` GROUP BY ${keys.join(", ")}` : "",
    };
  }

  /** Filter predicates on rollup key columns (the same names on usage_logs). */
  function filterSql(p: SqlParams, filters: Filters): string[] {
    return Object.entries(filters)
      .filter(([, v]) => v !== undefined)
      .map(([col, v]) => `${col} = ${p.add(v)}`);
  }

  const onlySql = (p: SqlParams, g: string | null, only?: readonly string[]) =>
    g && only ? [`${g} IN (${only.length ? p.list(only) : "NULL"})`] : [];

  /**
   * SQLite, with no filter on a column indexed with the time: the time index. Grouped by key or user, its planner
   * otherwise skip-scans the (key, time) or (user, time) index, every key's stretch of it (measured at a million
   * rows: 7 to 24 ms for the current hour's rows, against under 2 ms through the time index).
   */
  const byTime = (filters: Filters) =>
    dialect === "sqlite" && !TIME_INDEXED.some((c) => filters[c] !== undefined)
      ? " INDEXED BY ix_usage_logs_timestamp"
      : "";

  async function fromRows(req: AggregateRequest, ranges: Range[]): Promise<Record<string, unknown>[]> {
    const p = params();
    const g = req.group ? DIMENSIONS[req.group].value : null;
    const inner = [inRanges(p, '"timestamp"', ranges), ...filterSql(p, req.filters)];
    const { select, groupBy } = shape(req, g, "t");
    const outer = onlySql(p, g, req.only);
    const sql = `SELECT ${select} FROM (SELECT ${msOf(dialect, '"timestamp"')} AS t, ${rowProjection()} FROM usage_logs${byTime(req.filters)} WHERE ${inner.join(" AND ")}) r${outer.length ? ` WHERE ${outer.join(" AND ")}` : ""}${groupBy}`;
    return store.query(sql, p.values);
  }

  async function fromRollups(req: AggregateRequest, ranges: Range[]): Promise<Record<string, unknown>[]> {
    const p = params();
    const g = req.group ? DIMENSIONS[req.group].value : null;
    const where = [inRanges(p, "hour", ranges), ...filterSql(p, req.filters), ...onlySql(p, g, req.only)];
    const { select, groupBy } = shape(req, g, msOf(dialect, "hour"));
    return store.query(`SELECT ${select} FROM usage_rollups WHERE ${where.join(" AND ")}${groupBy}`, p.values);
  }

  async function fromMarginals(
    req: AggregateRequest,
    m: { dim: string; value: string | null },
    grain: "h" | "d",
    ranges: Range[],
  ): Promise<Record<string, unknown>[]> {
    const p = params();
    const where = [`dim = ${p.add(m.dim)}`, `grain = ${p.add(grain)}`, inRanges(p, "bucket", ranges)];
    if (m.value !== null) where.push(`value = ${p.add(m.value)}`);
    const g = req.group ? "value" : null;
    where.push(...onlySql(p, g, req.only));
    const { select, groupBy } = shape(req, g, msOf(dialect, "bucket"));
    return store.query(`SELECT ${select} FROM usage_marginals WHERE ${where.join(" AND ")}${groupBy}`, p.values);
  }

  /**
   * Sums per value over runs of clean hours, each P(b) - P(a), in one statement (one snapshot: the points and
   * hourly marginals it reads are consistent). P(t) is read from the nearer of the points around t: the latest at or
   * before it plus the hourly marginals from it to t, or the first after it minus those from t to it (every point
   * equals the hourly marginals stored before it, so both give the same sums): at most 12 hours of hourly rows per
   * value, against 23 from the latest alone. With no point before t, every hourly marginal before it (the first
   * point is the end of the first day with usage). Values with no request in the runs are left out.
   */
  async function fromPrefixes(
    req: AggregateRequest,
    m: { dim: string; value: string | null },
    ranges: Range[],
  ): Promise<Record<string, unknown>[]> {
    const p = params();
    const columns = [...new Set<MetricColumn>(["requests", ...(req.columns ?? [])])];
    const cols = columns.join(", ");
    // Each placeholder is added where it appears (SQLite's are positional).
    const point = (fn: "MAX" | "MIN", op: "<=" | ">", t: number) =>
      `(SELECT ${fn}(bucket) FROM usage_marginals WHERE dim = '' AND grain = 'p' AND bucket ${op} ${p.time(t)})`;
    const ends = ranges.flatMap(([a, b]) => [b, a]);
    // n<i>.base: the point nearer to the i-th end (the earlier on a tie; none when there is none before it), each
    // candidate found by a one-row read of the primary key. One named subquery per end, read by the three parts
    // below as scalar subqueries: Postgres computes each once, and the parts' bounds stay index conditions (joined
    // to it instead, at ten million rows its plan scanned every row of the dimension). LIMIT 1 keeps Postgres from
    // inlining lo and hi into the CASE, where each mention would be a subplan of its own to plan.
    const near = ends.map(
      (t, i) =>
        `n${i} AS (SELECT CASE WHEN hi - t < t - lo THEN hi ELSE lo END AS base FROM (SELECT ${point("MAX", "<=", t)} AS lo, ${point("MIN", ">", t)} AS hi, ${p.time(t)} AS t LIMIT 1) x)`,
    );
    // Per end, with its sign: the point, the hourly marginals from it up to t, and those from t up to it (subtracted).
    // One range per part: each is a scan of the ranking index alone.
    const at = (i: number, t: number) => {
      const sign = i % 2 ? -1 : 1;
      const base = `(SELECT base FROM n${i})`;
      // `where` is built (its placeholders added) before the dimension's: it comes first.
      const from = (sgn: number, where: string) =>
        `SELECT ${sgn} AS sgn, value, ${cols} FROM usage_marginals WHERE ${where} AND dim = ${p.add(m.dim)}`;
      return [
        from(sign, `grain = 'p' AND bucket = ${base}`),
        from(sign, `grain = 'h' AND bucket >= COALESCE(${base}, ${p.time(0)}) AND bucket < ${p.time(t)}`),
        from(-sign, `grain = 'h' AND bucket >= ${p.time(t)} AND bucket < ${base}`),
      ];
    };
    const parts = ends.flatMap((t, i) => at(i, t));
    const outer = onlySql(p, "value", req.only);
    const sums = columns.map((c) => `SUM(sgn * ${c}) AS ${c}`).join(", ");
    return store.query(
      `WITH ${near.join(", ")} SELECT value AS g, 0 AS b, ${sums} FROM (${parts.join(" UNION ALL ")}) x${outer.length ? ` WHERE ${outer.join(" AND ")}` : ""} GROUP BY value HAVING SUM(sgn * requests) <> 0`,
      p.values,
    );
  }

  async function dirtyHours(from: number, to: number): Promise<number[]> {
    const p = params();
    const rows = await store.query<{ hour: unknown }>(
      `SELECT DISTINCT ${msOf(dialect, "hour")} AS hour FROM usage_rollup_dirty WHERE hour >= ${p.time(from)} AND hour < ${p.time(to)}`,
      p.values,
    );
    return rows.map((r) => Number(r.hour)).sort((a, b) => a - b);
  }

  return {
    async aggregate(req: AggregateRequest): Promise<Cells> {
      const { start, end } = req;
      const jobs: Promise<Record<string, unknown>[]>[] = [];
      if (end > start) {
        const h1 = ceilTo(start, HOUR_MS);
        const h2 = floorTo(end, HOUR_MS);
        const m = marginalFor(req.filters, req.group);
        const rollups = rollupsAnswer(req.filters, req.group);
        if (req.bucket === "minute" || h1 >= h2 || (!m && !rollups)) jobs.push(fromRows(req, [[start, end]]));
        else {
          const edges: Range[] = [
            ...(start < h1 ? [[start, h1] as Range] : []),
            ...(h2 < end ? [[h2, end] as Range] : []),
          ];
          if (edges.length) jobs.push(fromRows(req, edges));
          if (!m) jobs.push(fromRollups(req, [[h1, h2]]));
          else {
            const dirty = await dirtyHours(h1, h2);
            const dirtySet = new Set(dirty);
            const prefixes = readsPrefixes(req, m);
            const days: number[] = [];
            if (req.bucket !== "hour" && !prefixes) {
              for (let d = ceilTo(h1, DAY_MS); d + DAY_MS <= h2; d += DAY_MS) {
                if (!dirty.some((h) => h >= d && h < d + DAY_MS)) days.push(d);
              }
            }
            const inDay = new Set(days);
            const clean: number[] = [];
            for (let h = h1; h < h2; h += HOUR_MS)
              if (!dirtySet.has(h) && !inDay.has(floorTo(h, DAY_MS))) clean.push(h);
            if (days.length)
              jobs.push(
                fromMarginals(
                  req,
                  m,
                  "d",
                  runs(days.flatMap((d) => Array.from({ length: 24 }, (_, i) => d + i * HOUR_MS))),
                ),
              );
            const cleanRuns = runs(clean);
            const long = prefixes ? cleanRuns.filter(([a, b]) => b - a >= PREFIX_MIN_HOURS * HOUR_MS) : [];
            const short = cleanRuns.filter((r) => !long.includes(r));
            if (long.length) jobs.push(fromPrefixes(req, m, long));
            if (short.length) jobs.push(fromMarginals(req, m, "h", short));
            if (dirty.length) jobs.push(rollups ? fromRollups(req, runs(dirty)) : fromRows(req, runs(dirty)));
          }
        }
      }
      const cells: Cells = new Map();
      const columns = req.columns ?? METRIC_COLUMNS;
      for (const rows of await Promise.all(jobs)) {
        for (const row of rows) {
          const g = String(row.g ?? "");
          const b = Number(row.b ?? 0);
          let byBucket = cells.get(g);
          if (!byBucket) {
            byBucket = new Map();
            cells.set(g, byBucket);
          }
          const v = byBucket.get(b);
          if (v) mergeVector(v, vectorOf(row, columns));
          else byBucket.set(b, vectorOf(row, columns));
        }
      }
      return cells;
    },
  };
}

export type Aggregator = ReturnType<typeof createAggregator>;

/** Every bucket of a group merged. */
export function total(byBucket: Map<number, MetricVector> | undefined): MetricVector {
  const v = zeroVector();
  for (const x of byBucket?.values() ?? []) mergeVector(v, x);
  return v;
}
