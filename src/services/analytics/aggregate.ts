/**
 * The one read path of usage analytics: metric vectors per group value and time bucket over [start, end), exact
 * whatever the mix of sources. Partial hours at the range's edges (and minute buckets) come from usage_logs; whole
 * hours from usage_rollups; when a query needs at most one dimension (no filter, or a filter on the dimension it
 * groups by) whole hours and clean whole days come from usage_marginals instead, except hours still marked dirty
 * (not yet compacted, such as the current one), which are read from usage_rollups. Ranking every value of a
 * dimension over long runs of clean hours reads the prefix marginals instead (rollups/prefix.ts: two points per
 * run, whatever its length). End users are not in
 * usage_rollups: where the rollups would be read for a query on them, usage_logs is (through its end-user index
 * when one is filtered). The overview's window (its totals and three rankings of one range) reads what they share
 * once. Over 500 lines: the statement builders, the planner and both ways of ranking share one closure (the dialect,
 * its placeholders, the sources of a range); split, each part would take all of it as arguments.
 */
import type { Store } from "../../db/client";
import {
  addRow,
  MAX_COLUMNS,
  METRIC_COLUMNS,
  type MetricColumn,
  mergeVector,
  metric,
  type MetricVector,
  ROW_METRIC_COLUMNS,
  type RowMetrics,
  type SumColumn,
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
  keyProjection,
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

/** One source of a query's answer: its SQL, with its placeholders added to `p`. */
type Source = (p: SqlParams) => string;

/** A ranking's first groups, how many groups it has, and whether one of them is '' (NULL at rest). */
export interface Ranking {
  top: { value: string; v: MetricVector }[];
  groups: number;
  blank: boolean;
}

/** What the requests of one window share (window): the dirty hours of its range, read once; its rows read apart. */
interface Shared {
  dirty: number[];
  /** Its rows are read by the caller (spanOf), once for several requests. */
  rowsApart: boolean;
}

/**
 * Per group value, the sums of a ranking's columns, in their order (rankColumns: the ranked column first): ranking
 * every value of a dimension needs these two sums, not a vector of every metric per value and bucket.
 */
type Tally = Map<string, number[]>;

/** A range's rows summed (edgeSums): every metric in total, and a ranking's columns per dimension and value. */
interface EdgeSums {
  total: MetricVector;
  byDim: Map<Dimension, Tally>;
}

/** The columns a ranking by `column` reads: it and the request count. */
const rankColumns = (column: SumColumn): SumColumn[] => [...new Set<SumColumn>([column, "requests"])];

/** Adds `v` to the cell of group value `g` and bucket `b` (a new cell keeps `v` itself: the caller hands it over). */
function addCell(cells: Cells, g: string, b: number, v: MetricVector): void {
  let byBucket = cells.get(g);
  if (!byBucket) {
    byBucket = new Map();
    cells.set(g, byBucket);
  }
  const into = byBucket.get(b);
  if (into) mergeVector(into, v);
  else byBucket.set(b, v);
}

/** Adds result rows (g: group value, b: bucket start, metric columns) to `cells`. */
function addRows(cells: Cells, rows: Record<string, unknown>[], columns: readonly MetricColumn[]): void {
  for (const row of rows) addCell(cells, String(row.g ?? ""), Number(row.b ?? 0), vectorOf(row, columns));
}

/** Groups by `column` descending, ties by value. */
const byColumn =
  (column: MetricColumn) =>
  (a: { value: string; v: MetricVector }, b: { value: string; v: MetricVector }): number =>
    metric(b.v, column) - metric(a.v, column) || (a.value < b.value ? -1 : 1);

/** Every group of `cells` with its total over the buckets, ordered by `column` (byColumn). */
export function rankCells(cells: Cells, column: MetricColumn): { value: string; v: MetricVector }[] {
  return [...cells].map(([value, byBucket]) => ({ value, v: total(byBucket) })).sort(byColumn(column));
}

/** `value`'s sums in `tally`, zeros of `width` added first when it has none. */
function sumsOf(tally: Tally, value: string, width: number): number[] {
  let sums = tally.get(value);
  if (!sums) {
    sums = new Array<number>(width).fill(0);
    tally.set(value, sums);
  }
  return sums;
}

/** Adds result rows (g: group value, `columns`) to `tally`. */
function tallyRows(tally: Tally, rows: Record<string, unknown>[], columns: readonly SumColumn[]): void {
  for (const row of rows) {
    const sums = sumsOf(tally, String(row.g ?? ""), columns.length);
    for (let i = 0; i < columns.length; i++) sums[i]! += Number(row[columns[i]!] ?? 0);
  }
}

/**
 * The first `limit` values of `tally` by its first column (descending, ties by value, as byColumn orders them), how
 * many values there are, and whether '' is one of them. Values whose requests sum to 0 are none: the prefix points'
 * rows come signed (fromPrefixes), and a value with no request in the range has its points cancel. Only the first
 * `limit` are kept in order while the others are passed over: sorting thousands of keys cost more than summing them.
 */
function rankTally(tally: Tally, columns: readonly SumColumn[], limit: number): Ranking {
  type Entry = [string, number[]];
  const before = (a: Entry, b: Entry) => a[1][0]! > b[1][0]! || (a[1][0] === b[1][0] && a[0] < b[0]);
  const requests = columns.indexOf("requests");
  const top: Entry[] = [];
  let groups = 0;
  for (const e of tally) {
    if (e[1][requests] === 0) continue;
    groups++;
    if (top.length === limit && !before(e, top[limit - 1]!)) continue;
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(top[mid]!, e)) lo = mid + 1;
      else hi = mid;
    }
    top.splice(lo, 0, e);
    if (top.length > limit) top.pop();
  }
  return {
    top: top.map(([value, sums]) => ({
      value,
      v: vectorOf(Object.fromEntries(columns.map((c, i) => [c, sums[i]])), columns),
    })),
    groups,
    blank: (tally.get("")?.[requests] ?? 0) !== 0,
  };
}

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

/**
 * A range's whole hours [h1, h2) and the ranges of it read from usage_logs at most: the partial hours at its edges,
 * or all of it when it holds no whole hour.
 */
function spanOf(start: number, end: number): { h1: number; h2: number; rows: Range[] } {
  const h1 = ceilTo(start, HOUR_MS);
  const h2 = floorTo(end, HOUR_MS);
  if (h1 >= h2) return { h1, h2, rows: [[start, end]] };
  return { h1, h2, rows: [...(start < h1 ? [[start, h1] as Range] : []), ...(h2 < end ? [[h2, end] as Range] : [])] };
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

/** Dimensions with a handful of values (tens of models, not thousands of keys or users). */
const FEW_VALUES = ["model", "provider", "status", "status_code"] as const satisfies readonly Dimension[];

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

  function fromRows(p: SqlParams, req: AggregateRequest, ranges: Range[]): string {
    const g = req.group ? DIMENSIONS[req.group].value : null;
    const inner = [inRanges(p, '"timestamp"', ranges), ...filterSql(p, req.filters)];
    const { select, groupBy } = shape(req, g, "t");
    const outer = onlySql(p, g, req.only);
    return `SELECT ${select} FROM (SELECT ${msOf(dialect, '"timestamp"')} AS t, ${rowProjection()} FROM usage_logs${byTime(req.filters)} WHERE ${inner.join(" AND ")}) r${outer.length ? ` WHERE ${outer.join(" AND ")}` : ""}${groupBy}`;
  }

  function fromRollups(p: SqlParams, req: AggregateRequest, ranges: Range[]): string {
    const g = req.group ? DIMENSIONS[req.group].value : null;
    const where = [inRanges(p, "hour", ranges), ...filterSql(p, req.filters), ...onlySql(p, g, req.only)];
    const { select, groupBy } = shape(req, g, msOf(dialect, "hour"));
    return `SELECT ${select} FROM usage_rollups WHERE ${where.join(" AND ")}${groupBy}`;
  }

  function fromMarginals(
    p: SqlParams,
    req: AggregateRequest,
    m: { dim: string; value: string | null },
    grain: "h" | "d",
    ranges: Range[],
  ): string {
    const where = [`dim = ${p.add(m.dim)}`, `grain = ${p.add(grain)}`, inRanges(p, "bucket", ranges)];
    if (m.value !== null) where.push(`value = ${p.add(m.value)}`);
    const g = req.group ? "value" : null;
    where.push(...onlySql(p, g, req.only));
    const { select, groupBy } = shape(req, g, msOf(dialect, "bucket"));
    return `SELECT ${select} FROM usage_marginals WHERE ${where.join(" AND ")}${groupBy}`;
  }

  /**
   * Sums per value over runs of clean hours, each P(b) - P(a), in one statement (one snapshot: the points and
   * hourly marginals it reads are consistent). P(t) is read from the nearer of the points around t: the latest at or
   * before it plus the hourly marginals from it to t, or the first after it minus those from t to it (every point
   * equals the hourly marginals stored before it, so both give the same sums): at most 12 hours of hourly rows per
   * value, against 23 from the latest alone. With no point before t, every hourly marginal before it (the first
   * point is the end of the first day with usage). Values with no request in the runs are left out. `signed`: the
   * rows read, each with its sign applied, not summed (a ranking sums them with its other sources, in one pass).
   */
  function fromPrefixes(
    p: SqlParams,
    req: AggregateRequest,
    m: { dim: string; value: string | null },
    ranges: Range[],
    signed: boolean,
  ): string {
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
    if (signed)
      return `WITH ${near.join(", ")} SELECT value AS g, ${columns.map((c) => `sgn * ${c} AS ${c}`).join(", ")} FROM (${parts.join(" UNION ALL ")}) x`;
    const outer = onlySql(p, "value", req.only);
    const sums = columns.map((c) => `SUM(sgn * ${c}) AS ${c}`).join(", ");
    return `WITH ${near.join(", ")} SELECT value AS g, 0 AS b, ${sums} FROM (${parts.join(" UNION ALL ")}) x${outer.length ? ` WHERE ${outer.join(" AND ")}` : ""} GROUP BY value HAVING SUM(sgn * requests) <> 0`;
  }

  async function dirtyHours(from: number, to: number): Promise<number[]> {
    const p = params();
    const rows = await store.query<{ hour: unknown }>(
      `SELECT DISTINCT ${msOf(dialect, "hour")} AS hour FROM usage_rollup_dirty WHERE hour >= ${p.time(from)} AND hour < ${p.time(to)}`,
      p.values,
    );
    return rows.map((r) => Number(r.hour)).sort((a, b) => a - b);
  }

  /**
   * The statements that together answer `req`, each adding its placeholders to the SqlParams it is given (its own,
   * or one shared when they are read as one statement). `ranking`: for a ranking (summed after, here or by the
   * database), the prefix marginals' rows unsummed.
   * `shared` (the window's requests: no filter, not bucketed): the range's dirty hours, already read, and its rows
   * (spanOf) left out, as the caller reads them once for several requests.
   */
  async function sources(req: AggregateRequest, o: { ranking?: boolean; shared?: Shared } = {}): Promise<Source[]> {
    const { start, end } = req;
    const jobs: Source[] = [];
    if (end <= start) return jobs;
    const { h1, h2, rows } = spanOf(start, end);
    const m = marginalFor(req.filters, req.group);
    const rollups = rollupsAnswer(req.filters, req.group);
    if (req.bucket === "minute" || h1 >= h2 || (!m && !rollups)) {
      if (!o.shared?.rowsApart) jobs.push((p) => fromRows(p, req, [[start, end]]));
      return jobs;
    }
    if (rows.length && !o.shared?.rowsApart) jobs.push((p) => fromRows(p, req, rows));
    if (!m) {
      jobs.push((p) => fromRollups(p, req, [[h1, h2]]));
      return jobs;
    }
    const dirty = o.shared?.dirty ?? (await dirtyHours(h1, h2));
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
    for (let h = h1; h < h2; h += HOUR_MS) if (!dirtySet.has(h) && !inDay.has(floorTo(h, DAY_MS))) clean.push(h);
    if (days.length) {
      const dayRuns = runs(days.flatMap((d) => Array.from({ length: 24 }, (_, i) => d + i * HOUR_MS)));
      jobs.push((p) => fromMarginals(p, req, m, "d", dayRuns));
    }
    const cleanRuns = runs(clean);
    const long = prefixes ? cleanRuns.filter(([a, b]) => b - a >= PREFIX_MIN_HOURS * HOUR_MS) : [];
    const short = cleanRuns.filter((r) => !long.includes(r));
    if (long.length) jobs.push((p) => fromPrefixes(p, req, m, long, o.ranking ?? false));
    if (short.length) jobs.push((p) => fromMarginals(p, req, m, "h", short));
    if (dirty.length) {
      const dirtyRuns = runs(dirty);
      jobs.push((p) => (rollups ? fromRollups(p, req, dirtyRuns) : fromRows(p, req, dirtyRuns)));
    }
    return jobs;
  }

  /** Runs each source as a statement of its own, side by side. */
  const runAll = (jobs: Source[]): Promise<Record<string, unknown>[][]> =>
    Promise.all(
      jobs.map((source) => {
        const p = params();
        const sql = source(p);
        return store.query<Record<string, unknown>>(sql, p.values);
      }),
    );

  async function aggregate(req: AggregateRequest, shared?: Shared): Promise<Cells> {
    const cells: Cells = new Map();
    for (const rows of await runAll(await sources(req, { shared })))
      addRows(cells, rows, req.columns ?? METRIC_COLUMNS);
    return cells;
  }

  /**
   * A ranking's sources summed here into `into` (a new tally by default), the prefix points' rows unsummed: SQLite
   * returns the two points' 10,000 key rows in less time than its GROUP BY takes to sort them (1.6 against 3.8 ms at
   * ten million rows), and summing them here costs under a millisecond.
   */
  async function tallyOf(jobs: Source[], columns: readonly SumColumn[], into: Tally = new Map()): Promise<Tally> {
    for (const rows of await runAll(jobs)) tallyRows(into, rows, columns);
    return into;
  }

  /**
   * SQLite: the rows of `ranges` read once and summed here in one pass (addRow, what the rollups' projection sums):
   * every metric in total, and `columns` per value of each of `dims`. A day's window has about an hour of rows at its
   * edges (4,600 at ten million rows over 90 days); grouping them in the database once for its totals and once per
   * ranking cost four times the read, and one statement grouping a materialized read of them four ways more than that.
   */
  async function edgeSums(
    ranges: Range[],
    dims: readonly Dimension[],
    columns: readonly SumColumn[],
  ): Promise<EdgeSums> {
    const p = params();
    // The key columns with NULLs replaced (status among them), the metrics' columns as RowMetrics names them.
    const fields = Object.entries(ROW_METRIC_COLUMNS).filter(([f]) => f !== "status");
    const rows = await store.query<RowMetrics & Record<string, unknown>>(
      `SELECT ${[...dims.map((d, i) => `${DIMENSIONS[d].value} AS d${i}`), "status", ...fields.map(([f]) => `"${f}"`)].join(", ")} FROM (SELECT ${keyProjection()}, ${fields.map(([f, c]) => `${c} AS "${f}"`).join(", ")} FROM usage_logs${byTime({})} WHERE ${inRanges(p, '"timestamp"', ranges)}) r`,
      p.values,
    );
    const perDim = dims.map((): Tally => new Map());
    const names = dims.map((_, i) => `d${i}`);
    const all = zeroVector();
    // One row's metrics, added to the totals and its columns to each dimension's value.
    const one = zeroVector();
    const at = columns.map((c) => METRIC_COLUMNS.indexOf(c));
    for (const row of rows) {
      one.fill(0);
      addRow(one, row);
      mergeVector(all, one);
      for (let i = 0; i < perDim.length; i++) {
        const sums = sumsOf(perDim[i] as Tally, String(row[names[i] as string]), columns.length);
        for (let j = 0; j < at.length; j++) sums[j]! += one[at[j]!]!;
      }
    }
    return { total: all, byDim: new Map(dims.map((d, i) => [d, perDim[i] as Tally])) };
  }

  /**
   * Postgres: one statement over every source of a ranking (UNION ALL), summed, counted and ranked by the database,
   * so only the groups that can be among the first come back, not one row per value (thousands of keys: turning them
   * into vectors here cost more of this process's CPU than the database spends on them). Ties are ordered here, not
   * by the database's collation: it returns every group whose rank is at most `limit`, those tied with the last.
   */
  async function rankInDb(
    jobs: Source[],
    columns: readonly SumColumn[],
    column: SumColumn,
    limit: number,
  ): Promise<Ranking> {
    if (!jobs.length) return { top: [], groups: 0, blank: false };
    const p = params();
    const cols = columns.join(", ");
    // As bigint: Postgres sums bigints faster than the numerics a SUM of them returns.
    const casts = columns.map((c) => `CAST(${c} AS BIGINT) AS ${c}`).join(", ");
    const union = jobs.map((source, i) => `SELECT g, ${casts} FROM (${source(p)}) s${i}`).join(" UNION ALL ");
    const sums = columns.map((c) => `SUM(${c}) AS ${c}`).join(", ");
    // The groups of rank `limit` or better, then one row that counts every group (measured cheaper than windows
    // counting them beside the rank).
    const rows = await store.query<Record<string, unknown>>(
      `WITH t AS (SELECT g, ${sums} FROM (${union}) u GROUP BY g HAVING SUM(requests) <> 0) SELECT g, ${cols}, NULL AS n, NULL AS blank FROM (SELECT g, ${cols}, RANK() OVER (ORDER BY ${column} DESC) AS r FROM t) x WHERE r <= ${p.add(limit)} UNION ALL SELECT NULL, ${columns.map(() => "NULL").join(", ")}, COUNT(*), SUM(CASE WHEN g = '' THEN 1 ELSE 0 END) FROM t`,
      p.values,
    );
    const counts = rows.find((row) => row.n !== null);
    const top = rows
      .filter((row) => row.n === null)
      .map((row) => ({ value: String(row.g), v: vectorOf(row, columns) }))
      .sort(byColumn(column))
      .slice(0, limit);
    return { top, groups: Number(counts?.n ?? 0), blank: Number(counts?.blank ?? 0) > 0 };
  }

  /**
   * Whether a ranking of `group` is summed in this process (SQLite, and dimensions of few values on Postgres) rather
   * than by the database (rankInDb). Dimensions of few values (FEW_VALUES) return few rows anyway: their sources are
   * read in parallel and merged here, one statement each, sooner than one statement reading them in turn (2 to 3 ms at
   * 10M rows for 50 models). SQLite runs in this process: its grouping and sorting of the union cost as much as
   * merging the rows here (measured at a million rows), so it merges them.
   */
  const ranksHere = (group: Dimension) => dialect === "sqlite" || (FEW_VALUES as readonly string[]).includes(group);

  return {
    aggregate,

    /**
     * The first `limit` groups of `req.group` by `column` (descending, ties by value), with `column` and the request
     * count, and how many groups there are: summed here (ranksHere) or by the database (rankInDb).
     */
    async top(
      req: Omit<AggregateRequest, "bucket" | "columns" | "only"> & { group: Dimension },
      column: SumColumn,
      limit: number,
    ): Promise<Ranking> {
      const columns = rankColumns(column);
      const jobs = await sources({ ...req, bucket: null, columns }, { ranking: true });
      if (ranksHere(req.group)) return rankTally(await tallyOf(jobs, columns), columns, limit);
      return rankInDb(jobs, columns, column, limit);
    },

    /**
     * The overview's window: the totals of [start, end) (every metric, no filter) and the first `limit` groups of
     * each of `dims` by `column`, equal to what aggregate and top give, with the range's dirty hours read once for
     * all of them. SQLite also reads the rows of the range's partial hours (spanOf) once, for the totals and every
     * ranking (edgeSums). On Postgres each statement reads them itself: sharing them cost more than it saved there
     * (docs/benchmark.md, the overview's shared edge read). Each answer is a promise of its own, settled when its
     * reads are: what a caller reads next for one ranking (labels) need not wait for the slowest.
     */
    async window(
      range: { start: number; end: number },
      dims: readonly Dimension[],
      column: SumColumn,
      limit: number,
    ): Promise<{ totals: Promise<MetricVector>; rankings: Promise<Ranking>[] }> {
      const columns = rankColumns(column);
      const { h1, h2, rows: ranges } = spanOf(range.start, range.end);
      const apart = dialect === "sqlite";
      const shared: Shared = { dirty: h1 < h2 ? await dirtyHours(h1, h2) : [], rowsApart: apart };
      const edges: Promise<EdgeSums> =
        apart && ranges.length
          ? edgeSums(ranges, dims, columns)
          : Promise.resolve({ total: zeroVector(), byDim: new Map() });
      const req = { ...range, filters: {}, bucket: null } as const;
      const totals = async () => {
        const [cells, sums] = await Promise.all([aggregate({ ...req, group: null }, shared), edges]);
        const v = total(cells.get(""));
        mergeVector(v, sums.total);
        return v;
      };
      const ranking = async (group: Dimension): Promise<Ranking> => {
        const byGroup = { ...req, group, columns };
        if (!ranksHere(group))
          return rankInDb(await sources(byGroup, { ranking: true, shared }), columns, column, limit);
        // The edge rows' tally of this dimension is this ranking's alone: its sources are added into it.
        const [jobs, sums] = await Promise.all([sources(byGroup, { ranking: true, shared }), edges]);
        return rankTally(await tallyOf(jobs, columns, sums.byDim.get(group)), columns, limit);
      };
      return { totals: totals(), rankings: dims.map(ranking) };
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
