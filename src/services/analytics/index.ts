/**
 * Usage analytics over the rollups (aggregate.ts): totals per group (summary), zero-filled time series, and the
 * overview an operator opens first. HTTP routes, tRPC procedures and CLI commands all call these.
 */
import { and, count, eq, getTableName, gt, inArray, isNull, or, sql } from "drizzle-orm";
import type { AnyPgColumn, PgTable } from "drizzle-orm/pg-core";
import { validationError } from "../../core/errors";
import { microsToUsd } from "../../core/money";
import type {
  AnalyticsDimension,
  AnalyticsFilters,
  OverviewQuery,
  OverviewResponse,
  SeriesQuery,
  SeriesResponse,
  SummaryQuery,
  SummaryResponse,
  UsageTotals,
} from "../../core/schemas/analytics";
import { toIso } from "../../core/time";
import { engageJit } from "../../runtime/engine";
import type { ServiceDeps } from "../deps";
import {
  mergeVector,
  metric,
  type MetricVector,
  percentile,
  subtractVector,
  type SumColumn,
  zeroVector,
} from "../rollups/metrics";
import { DAY_MS, msOf } from "../rollups/sql";
import { type Bucket, BUCKET_MS, createAggregator, type Filters, rankCells, readsMarginals, total } from "./aggregate";

/** Longest series, in buckets. */
export const MAX_BUCKETS = 2000;
const DEFAULT_WINDOW_MS = DAY_MS;
/** The overview's rankings, in the order agg.window returns them. */
const OVERVIEW_TOPS = ["model", "user", "key"] as const satisfies readonly AnalyticsDimension[];

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export function totalsOf(v: MetricVector): UsageTotals {
  const requests = metric(v, "requests");
  const errors = metric(v, "errors");
  const latencies = metric(v, "latency_count");
  const ttfbs = metric(v, "ttfb_count");
  return {
    requests,
    errors,
    error_rate: requests ? round(errors / requests, 4) : 0,
    prompt_tokens: metric(v, "prompt_tokens"),
    completion_tokens: metric(v, "completion_tokens"),
    total_tokens: metric(v, "total_tokens"),
    cost: microsToUsd(metric(v, "cost_micros")),
    latency_avg_ms: latencies ? round(metric(v, "latency_ms_sum") / latencies, 1) : null,
    latency_p50_ms: percentile(v, 50),
    latency_p95_ms: percentile(v, 95),
    ttfb_avg_ms: ttfbs ? round(metric(v, "ttfb_ms_sum") / ttfbs, 1) : null,
  };
}

/** A group's value on the wire: '' (NULL at rest) and status code 0 are null. */
const groupKey = (dim: AnalyticsDimension, value: string): string | null =>
  value === "" || (dim === "status_code" && value === "0") ? null : value;

function filtersOf(q: AnalyticsFilters): Filters {
  const { user_id, api_key_id, end_user_id, model, provider, status, status_code, team_id } = q;
  return Object.fromEntries(
    Object.entries({ user_id, api_key_id, end_user_id, model, provider, status, status_code, team_id }).filter(
      ([, v]) => v !== undefined,
    ),
  );
}

/** The column a summary's `order_by` ranks groups by. */
const ORDER: Record<SummaryQuery["order_by"], SumColumn> = {
  cost: "cost_micros",
  requests: "requests",
  tokens: "total_tokens",
  errors: "errors",
};

/** The column a series ranks its groups by: its metric's, or the request count for percentiles. */
const SERIES_RANK: Record<SeriesQuery["metric"], SumColumn> = {
  requests: "requests",
  tokens: "total_tokens",
  cost: "cost_micros",
  errors: "errors",
  latency_p50: "requests",
  latency_p95: "requests",
};

/** A series' value of one bucket's metrics. */
function seriesValue(m: SeriesQuery["metric"], v: MetricVector): number | null {
  switch (m) {
    case "requests":
      return metric(v, "requests");
    case "tokens":
      return metric(v, "total_tokens");
    case "cost":
      return microsToUsd(metric(v, "cost_micros"));
    case "errors":
      return metric(v, "errors");
    case "latency_p50":
      return percentile(v, 50);
    case "latency_p95":
      return percentile(v, 95);
  }
}

export function createAnalyticsService({ store, now }: Pick<ServiceDeps, "store" | "now">) {
  const { db, t } = store;
  const agg = createAggregator(store);

  function rangeOf(q: { start?: Date; end?: Date }): { start: number; end: number } {
    const end = (q.end ?? now()).getTime();
    const start = q.start ? q.start.getTime() : end - DEFAULT_WINDOW_MS;
    if (end <= start)
      throw validationError([{ type: "value_error", loc: ["query", "end"], msg: "end must be after start" }]);
    return { start, end };
  }

  /** Readable names of key, user and team groups (key name, user alias, team alias). */
  async function labels(dim: AnalyticsDimension | null, keys: (string | null)[]): Promise<Map<string, string | null>> {
    const ids = keys.filter((k): k is string => k !== null);
    if (!ids.length || (dim !== "key" && dim !== "user" && dim !== "team")) return new Map();
    if (dim === "team") {
      const rows = await db
        .select({ id: t.teams.teamId, label: t.teams.alias })
        .from(t.teams)
        .where(inArray(t.teams.teamId, ids));
      return new Map(rows.map((r) => [r.id, r.label]));
    }
    if (dim === "key") {
      const rows = await db
        .select({ id: t.apiKeys.id, label: t.apiKeys.keyName })
        .from(t.apiKeys)
        .where(inArray(t.apiKeys.id, ids));
      return new Map(rows.map((r) => [r.id, r.label]));
    }
    const rows = await db
      .select({ id: t.users.userId, label: t.users.alias })
      .from(t.users)
      .where(inArray(t.users.userId, ids));
    return new Map(rows.map((r) => [r.id, r.label]));
  }

  async function summary(q: SummaryQuery): Promise<SummaryResponse> {
    const range = rangeOf(q);
    const filters = filtersOf(q);
    const dim = q.group_by ?? null;
    const base = { start: toIso(new Date(range.start)), end: toIso(new Date(range.end)), group_by: dim };
    if (!dim) {
      const cells = await agg.aggregate({ ...range, filters, group: null, bucket: null });
      return { ...base, totals: totalsOf(total(cells.get(""))), groups: [], groups_total: 0 };
    }
    // Marginals: ranked on one column, then the full metrics of the groups returned (two light reads). Rollups or
    // rows (a filter on another dimension): one full read, as a second pass would read the same rows again.
    let top: { value: string; v: MetricVector }[];
    let all: MetricVector;
    let groupsTotal: number;
    let names: Map<string, string | null>;
    if (readsMarginals(filters, dim)) {
      // The top groups' metrics, the totals and the labels: independent reads, side by side.
      const ranking = await agg.top({ ...range, filters, group: dim }, ORDER[q.order_by], q.limit);
      const values = ranking.top.map((g) => g.value);
      const [cells, totals, labelled] = await Promise.all([
        values.length
          ? agg.aggregate({ ...range, filters, group: dim, bucket: null, only: values })
          : new Map<string, Map<number, MetricVector>>(),
        agg.aggregate({ ...range, filters, group: null, bucket: null }),
        labels(
          dim,
          values.map((v) => groupKey(dim, v)),
        ),
      ]);
      top = values.map((value) => ({ value, v: total(cells.get(value)) }));
      all = total(totals.get(""));
      groupsTotal = ranking.groups;
      names = labelled;
    } else {
      const cells = await agg.aggregate({ ...range, filters, group: dim, bucket: null });
      const order = rankCells(cells, ORDER[q.order_by]);
      // Every row has exactly one value per dimension, so the groups add up to the totals.
      all = zeroVector();
      for (const g of order) mergeVector(all, g.v);
      top = order.slice(0, q.limit);
      groupsTotal = order.length;
      names = await labels(
        dim,
        top.map((g) => groupKey(dim, g.value)),
      );
    }
    return {
      ...base,
      totals: totalsOf(all),
      groups: top.map((g) => {
        const key = groupKey(dim, g.value);
        return { key, label: key === null ? null : (names.get(key) ?? null), ...totalsOf(g.v) };
      }),
      groups_total: groupsTotal,
    };
  }

  async function series(q: SeriesQuery): Promise<SeriesResponse> {
    const range = rangeOf(q);
    const bucket: Bucket = q.bucket;
    const step = BUCKET_MS[bucket];
    const first = Math.floor(range.start / step) * step;
    const n = Math.ceil((range.end - first) / step);
    if (n > MAX_BUCKETS) {
      throw validationError([
        {
          type: "value_error",
          loc: ["query", "bucket"],
          msg: `The range holds ${n} ${bucket} buckets; at most ${MAX_BUCKETS}: use a larger bucket or a shorter range`,
        },
      ]);
    }
    const stamps = Array.from({ length: n }, (_, i) => first + i * step);
    const filters = filtersOf(q);
    const dim = q.group_by ?? null;
    const values = (byBucket: Map<number, MetricVector> | undefined) =>
      stamps.map((s) => seriesValue(q.metric, byBucket?.get(s) ?? zeroVector()));
    // The groups' ranking is read beside the totals, the labels beside the top groups' series.
    const [cellsOfTotal, ranking] = await Promise.all([
      agg.aggregate({ ...range, filters, group: null, bucket }),
      dim ? agg.top({ ...range, filters, group: dim }, SERIES_RANK[q.metric], q.top) : null,
    ]);
    const totals = cellsOfTotal.get("") ?? new Map<number, MetricVector>();
    const out: SeriesResponse["series"] = [{ key: null, label: null, kind: "total", values: values(totals) }];
    if (dim && ranking) {
      const top = ranking.top.map((g) => g.value);
      const [cells, names] = await Promise.all([
        top.length ? agg.aggregate({ ...range, filters, group: dim, bucket, only: top }) : new Map(),
        labels(
          dim,
          top.map((v) => groupKey(dim, v)),
        ),
      ]);
      for (const value of top) {
        const key = groupKey(dim, value);
        out.push({
          key,
          label: key === null ? null : (names.get(key) ?? null),
          kind: "group",
          values: values(cells.get(value)),
        });
      }
      if (ranking.groups > top.length) {
        const rest = new Map<number, MetricVector>();
        for (const s of stamps) {
          let v = totals.get(s) ?? zeroVector();
          for (const value of top) {
            const g = cells.get(value)?.get(s);
            if (g) v = subtractVector(v, g);
          }
          rest.set(s, v);
        }
        out.push({ key: null, label: null, kind: "other", values: values(rest) });
      }
    }
    return {
      start: toIso(new Date(range.start)),
      end: toIso(new Date(range.end)),
      bucket,
      metric: q.metric,
      group_by: dim,
      timestamps: stamps.map((s) => toIso(new Date(s))),
      series: out,
    };
  }

  /** A level of cost control whose budget health the overview shows: its table and columns, and which rows count. */
  interface Level {
    level: OverviewResponse["budget_health"][number]["level"];
    table: PgTable;
    id: AnyPgColumn;
    label: AnyPgColumn;
    spend: AnyPgColumn;
    budgetId: AnyPgColumn;
    nextReset: AnyPgColumn;
    blocked: AnyPgColumn | null;
    /** The subjects counted (keys: active ones; users: not deleted), over the table's alias `x`. */
    live: string | null;
  }

  const col = (c: AnyPgColumn) => `x."${c.name}"`;
  /** Every level, in path order (docs/behaviour/cost-control.md). */
  const LEVELS: Level[] = [
    {
      level: "key",
      table: t.apiKeys,
      id: t.apiKeys.id,
      label: t.apiKeys.keyName,
      spend: t.apiKeys.spendMicros,
      budgetId: t.apiKeys.budgetId,
      nextReset: t.apiKeys.nextBudgetResetAt,
      blocked: null,
      live: col(t.apiKeys.isActive),
    },
    {
      level: "user",
      table: t.users,
      id: t.users.userId,
      label: t.users.alias,
      spend: t.users.spendMicros,
      budgetId: t.users.budgetId,
      nextReset: t.users.nextBudgetResetAt,
      blocked: t.users.blocked,
      live: `${col(t.users.deletedAt)} IS NULL`,
    },
    {
      level: "team",
      table: t.teams,
      id: t.teams.teamId,
      label: t.teams.alias,
      spend: t.teams.spendMicros,
      budgetId: t.teams.budgetId,
      nextReset: t.teams.nextBudgetResetAt,
      blocked: t.teams.blocked,
      live: null,
    },
    {
      level: "end_user",
      table: t.endUsers,
      id: t.endUsers.endUserId,
      // An end-user id is the app's own, unique only within its billed user: that user is its label.
      label: t.endUsers.userId,
      spend: t.endUsers.spendMicros,
      budgetId: t.endUsers.budgetId,
      nextReset: t.endUsers.nextBudgetResetAt,
      blocked: null,
      live: null,
    },
  ];

  /**
   * Budget health at every level, counted by the database (a level may hold many subjects: end users are one per
   * distinct id a user's app sends), with the ten subjects nearest or beyond their cap per level. Two statements for
   * the four levels (the counts, the nearest), not two per level: on Postgres the eight cost the overview more than
   * their own work, about 10 ms at p50 under load (docs/benchmark.md).
   */
  async function budgetHealth(): Promise<OverviewResponse["budget_health"]> {
    const max = `b."${t.budgets.maxBudgetMicros.name}"`;
    const from = (l: Level, join: "LEFT JOIN" | "JOIN") =>
      `FROM "${getTableName(l.table)}" x ${join} "${getTableName(t.budgets)}" b ON b."${t.budgets.budgetId.name}" = ${col(l.budgetId)}`;
    const when = (cond: string) => `coalesce(sum(case when ${cond} then 1 else 0 end), 0)`;
    const capped = `${max} is not null`;
    const counts = LEVELS.map((l, i) => {
      const spend = col(l.spend);
      return `SELECT ${i} AS li, ${when(capped)} AS with_budget, ${when(`${capped} and ${spend} >= 0.8 * ${max} and ${spend} < ${max}`)} AS above_80, ${when(`${capped} and ${spend} >= ${max}`)} AS exhausted, ${when(`${capped} and ${spend} > ${max}`)} AS over, ${l.blocked ? when(col(l.blocked)) : "0"} AS blocked ${from(l, "LEFT JOIN")}${l.live ? ` WHERE ${l.live}` : ""}`;
    });
    // A zero cap with any spend is the furthest over; it sorts first on both dialects. Each level's ten in a
    // subquery (SQLite allows no LIMIT on a member of a compound), ordered again outside (nothing else keeps them).
    const nearest = LEVELS.map((l, i) => {
      const spend = col(l.spend);
      const where = [...(l.live ? [l.live] : []), `${max} IS NOT NULL`, `${spend} > 0`].join(" AND ");
      return `SELECT * FROM (SELECT ${i} AS li, ${col(l.id)} AS id, ${col(l.label)} AS label, ${spend} AS spend, ${max} AS cap, ${msOf(store.dialect, col(l.nextReset))} AS next_reset, case when ${max} <= 0 then 1e18 else ${spend} * 1.0 / ${max} end AS share ${from(l, "JOIN")} WHERE ${where} ORDER BY share DESC LIMIT 10) w${i}`;
    });
    const [levels, worst] = await Promise.all([
      // One row per level (each member is an ungrouped aggregate), found by its index.
      store.query<Record<string, unknown>>(counts.join(" UNION ALL ")),
      store.query<Record<string, unknown>>(`${nearest.join(" UNION ALL ")} ORDER BY li, share DESC`),
    ]);
    return LEVELS.map((l, i) => {
      const c = levels.find((r) => Number(r.li) === i);
      return {
        level: l.level,
        with_budget: Number(c?.with_budget ?? 0),
        above_80: Number(c?.above_80 ?? 0),
        exhausted: Number(c?.exhausted ?? 0),
        over: Number(c?.over ?? 0),
        blocked: Number(c?.blocked ?? 0),
        worst: worst
          .filter((r) => Number(r.li) === i)
          .map((r) => {
            const spend = Number(r.spend);
            const cap = Number(r.cap);
            return {
              id: String(r.id),
              label: r.label === null ? null : String(r.label),
              spend: microsToUsd(spend),
              max_budget: microsToUsd(cap),
              percent: cap > 0 ? round((spend / cap) * 100, 1) : 100,
              next_reset_at: r.next_reset === null ? null : toIso(new Date(Number(r.next_reset))),
            };
          }),
      };
    });
  }

  async function overview(q: OverviewQuery): Promise<OverviewResponse> {
    const at = now();
    const range = rangeOf(q);
    const nowMs = at.getTime();
    const day = Math.floor(nowMs / DAY_MS) * DAY_MS;
    const month = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
    // The month's spend by UTC day, today's its last day: one read for both.
    const spend = async () => {
      const byDay = (
        await agg.aggregate({
          start: month,
          end: nowMs,
          filters: {},
          group: null,
          bucket: "day",
          columns: ["cost_micros"],
        })
      ).get("");
      return {
        today: metric(byDay?.get(day) ?? zeroVector(), "cost_micros"),
        month: metric(total(byDay), "cost_micros"),
      };
    };
    // The window's totals and its top models, users and keys by cost, read together (agg.window: its dirty hours once,
    // and on SQLite its edge rows once).
    const shown = async () => {
      const { totals, rankings } = await agg.window(range, OVERVIEW_TOPS, "cost_micros", 5);
      const [all, ...tops] = await Promise.all([
        totals,
        ...OVERVIEW_TOPS.map(async (dim, i) => {
          const ranking = await rankings[i]!;
          const top = ranking.top.map((g) => ({ key: groupKey(dim, g.value), v: g.v }));
          const names = await labels(
            dim,
            top.map((g) => g.key),
          );
          return {
            count: ranking.groups - (ranking.blank ? 1 : 0),
            top: top.map((g) => ({
              key: g.key,
              label: g.key === null ? null : (names.get(g.key) ?? null),
              cost: microsToUsd(metric(g.v, "cost_micros")),
              requests: metric(g.v, "requests"),
            })),
          };
        }),
      ]);
      return { totals: all, models: tops[0]!, users: tops[1]!, keys: tops[2]! };
    };
    const [spent, { totals, models, users, keys }, keyCounts, health] = await Promise.all([
      spend(),
      shown(),
      // Every key and the active ones, in one statement.
      db
        .select({
          total: count(),
          active: sql<number>`coalesce(sum(case when ${and(eq(t.apiKeys.isActive, true), or(isNull(t.apiKeys.expiresAt), gt(t.apiKeys.expiresAt, at)))} then 1 else 0 end), 0)`,
        })
        .from(t.apiKeys)
        .then(([row]) => ({ total: Number(row?.total ?? 0), active: Number(row?.active ?? 0) })),
      budgetHealth(),
    ]);
    return {
      generated_at: toIso(at),
      spend_today: microsToUsd(spent.today),
      spend_month: microsToUsd(spent.month),
      window: {
        start: toIso(new Date(range.start)),
        end: toIso(new Date(range.end)),
        ...totalsOf(totals),
      },
      keys: { active: keyCounts.active, total: keyCounts.total, used_in_window: keys.count },
      budget_health: health,
      top_models: models.top,
      top_users: users.top,
      top_keys: keys.top,
    };
  }

  // Merging thousands of groups is work the JIT pays for: the compiled binary's start-up policy keeps JIT
  // compilation back until such traffic arrives (runtime/engine.ts).
  const jitted =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      engageJit();
      return fn(...args);
    };
  return { summary: jitted(summary), series: jitted(series), overview: jitted(overview) };
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>;
