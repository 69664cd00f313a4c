/**
 * Analytics against an oracle: random usage rows (replayed in part, as a journal replay would) are written through
 * the usage writer's insert, then summaries and series over random ranges, groups and filters must equal what the
 * raw rows give, before compaction (rollups and dirty hours), after it (marginals, whole days), and with a late row
 * landing in an already compacted hour. Both dialects.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";
import type { AnalyticsDimension } from "../../core/schemas/analytics";
import { insertUsageLines, toUsageLine, type UsageRowInsert } from "../governance/usage-insert";
import { addRow, type MetricVector, metric, zeroVector } from "../rollups/metrics";
import { createRollupCompactor } from "../rollups/compactor";
import { DAY_MS, HOUR_MS } from "../rollups/sql";
import { createAnalyticsService, totalsOf } from ".";
import { type Aggregator, createAggregator, type Ranking, total } from "./aggregate";

/** Deterministic randomness (mulberry32), so a failure reproduces. */
function rng(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return { next, pick, int: (n: number) => Math.floor(next() * n) };
}

const T0 = Date.UTC(2026, 2, 1, 0, 0, 0);
const SPAN = 3 * DAY_MS;

function randomRow(r: ReturnType<typeof rng>, i: number): UsageRowInsert {
  const error = r.next() < 0.15;
  const provider = r.pick(["openai", "anthropic", null]);
  return {
    id: `row-${String(i).padStart(6, "0")}-${r.int(1e9)}`,
    apiKeyId: r.pick(["k1", "k2", "k3", null]),
    userId: r.pick(["u1", "u2", null]),
    endUserId: r.pick([null, null, "eu-a", "eu-b"]),
    timestamp: new Date(T0 + r.int(SPAN)),
    model: r.pick(["gpt-4o", "claude", "mini"]),
    provider,
    endpoint: "/v1/chat/completions",
    promptTokens: r.pick([null, 10, 250]),
    completionTokens: r.pick([null, 5, 40]),
    totalTokens: r.pick([null, 15, 290]),
    costMicros: r.pick([null, 0, 17, 1234]),
    status: error ? "error" : "success",
    statusCode: error ? r.pick([429, 502, null]) : 200,
    estimated: false,
    requestId: null,
    latencyMs: r.pick([null, 40, 180, 950, 2400, 70_000]),
    ttfbMs: r.pick([null, 12, 300]),
    teamId: r.pick([null, "team-a", "team-b"]),
  };
}

const groupValueOf = (dim: AnalyticsDimension, row: UsageRowInsert): string => {
  switch (dim) {
    case "user":
      return row.userId ?? "";
    case "key":
      return row.apiKeyId ?? "";
    case "end_user":
      return row.endUserId ?? "";
    case "model":
      return `${row.provider ?? ""}:${row.model}`;
    case "provider":
      return row.provider ?? "";
    case "status":
      return row.status;
    case "status_code":
      return String(row.statusCode ?? 0);
    case "team":
      return row.teamId ?? "";
  }
};

type Filter = Partial<
  Record<"user_id" | "api_key_id" | "end_user_id" | "model" | "provider" | "status" | "status_code", string | number>
>;

function matches(row: UsageRowInsert, f: Filter): boolean {
  return (
    (f.user_id === undefined || row.userId === f.user_id) &&
    (f.api_key_id === undefined || row.apiKeyId === f.api_key_id) &&
    (f.end_user_id === undefined || row.endUserId === f.end_user_id) &&
    (f.model === undefined || row.model === f.model) &&
    (f.provider === undefined || row.provider === f.provider) &&
    (f.status === undefined || row.status === f.status) &&
    (f.status_code === undefined || row.statusCode === f.status_code)
  );
}

/** What the raw rows give: group value -> metrics. */
function oracle(
  rows: UsageRowInsert[],
  start: number,
  end: number,
  f: Filter,
  dim: AnalyticsDimension | null,
): Map<string, MetricVector> {
  const out = new Map<string, MetricVector>();
  for (const row of rows) {
    const t = (row.timestamp as Date).getTime();
    if (t < start || t >= end || !matches(row, f)) continue;
    const g = dim ? groupValueOf(dim, row) : "";
    const v = out.get(g) ?? zeroVector();
    out.set(g, v);
    addRow(v, row);
  }
  return out;
}

const DIMS: AnalyticsDimension[] = ["user", "key", "end_user", "model", "provider", "status", "status_code"];
const FILTERS: Filter[] = [
  {},
  {},
  { user_id: "u1" },
  { api_key_id: "k2" },
  { end_user_id: "eu-a" },
  { provider: "openai" },
  { model: "gpt-4o", provider: "openai" },
  { status: "error" },
  { status_code: 429 },
  { model: "mini" },
  { user_id: "u2", model: "claude" },
];

describe.each(DIALECTS)("usage analytics on $dialect", ({ create }) => {
  let db: TestDatabase;
  const rows: UsageRowInsert[] = [];
  let clock = T0 + SPAN + HOUR_MS / 2;
  let analytics: ReturnType<typeof createAnalyticsService>;
  let aggregator: Aggregator;

  beforeAll(async () => {
    db = await create();
    const { t } = db.store;
    const at = new Date(T0);
    await db.store.db
      .insert(t.users)
      .values(["u1", "u2"].map((userId) => ({ userId, createdAt: at, updatedAt: at, metadata: {} })));
    await db.store.db.insert(t.apiKeys).values(
      ["k1", "k2", "k3"].map((id, i) => ({
        id,
        keyHash: `hash-${id}`,
        keyPrefix: "gw-test",
        userId: i ? "u2" : "u1",
        createdAt: at,
        metadata: {},
      })),
    );
    const r = rng(17);
    for (let i = 0; i < 1500; i++) rows.push(randomRow(r, i));
    // A model used in the first minutes only: a later ranking reads it in both prefix points, where it cancels and is
    // no group.
    for (let i = 0; i < 3; i++)
      rows.push({ ...randomRow(r, 1500 + i), model: "rare", timestamp: new Date(T0 + i * 60_000) });
    const lines = rows.map((row) => toUsageLine(row));
    // Batches of uneven size, then a replay of a stretch of them: replayed rows must not count twice.
    for (let i = 0; i < lines.length; i += 97) await insertUsageLines(db.store, lines.slice(i, i + 97));
    await insertUsageLines(db.store, lines.slice(200, 700));
    analytics = createAnalyticsService({ store: db.store, now: () => new Date(clock) });
    aggregator = createAggregator(db.store);
  });
  afterAll(async () => {
    await db.drop();
  });

  /** Random ranges: hour-aligned, unaligned, inside one hour, across days, the whole span. */
  function ranges(seed: number): [number, number][] {
    const r = rng(seed);
    const out: [number, number][] = [
      [T0, T0 + SPAN],
      [T0 - HOUR_MS, T0 + SPAN + HOUR_MS],
      [T0 + DAY_MS, T0 + 2 * DAY_MS],
      [T0 + 90_000, T0 + 90_000 + 20 * 60_000],
    ];
    for (let i = 0; i < 6; i++) {
      const a = T0 + r.int(SPAN);
      out.push([a, a + 1 + r.int(SPAN - (a - T0))]);
    }
    return out;
  }

  /**
   * End users are not in usage_rollups: every way a query meets them (grouped, filtered, filtered and grouped by
   * another dimension, by another filter) is checked on every range, besides the random picks.
   */
  const END_USER_CASES: [Filter, AnalyticsDimension | null][] = [
    [{}, "end_user"],
    [{ end_user_id: "eu-a" }, null],
    [{ end_user_id: "eu-b" }, "end_user"],
    [{ end_user_id: "eu-a" }, "model"],
    [{ end_user_id: "eu-b" }, "key"],
    [{ user_id: "u1" }, "end_user"],
    [{ model: "gpt-4o", provider: "openai" }, "end_user"],
  ];

  async function expectSummariesMatch(seed: number) {
    const r = rng(seed);
    for (const [start, end] of ranges(seed)) {
      await expectSummaryMatches(start, end, r.pick(FILTERS), r.next() < 0.2 ? null : r.pick(DIMS));
      for (const [f, dim] of END_USER_CASES) await expectSummaryMatches(start, end, f, dim);
      await expectRankingMatches(start, end);
    }
  }

  /** What ranking reads (one or two sums per value; prefix marginals over long runs of clean hours) equals the rows. */
  async function expectRankingMatches(start: number, end: number) {
    for (const dim of ["key", "user", "model", "status"] as const) {
      const cells = await aggregator.aggregate({
        start,
        end,
        filters: {},
        group: dim,
        bucket: null,
        columns: ["cost_micros", "requests"],
      });
      const got = [...cells].map(([value, byBucket]) => {
        const v = total(byBucket);
        return [value, metric(v, "requests"), metric(v, "cost_micros")];
      });
      const want = [...oracle(rows, start, end, {}, dim)].map(([value, v]) => [
        value,
        metric(v, "requests"),
        metric(v, "cost_micros"),
      ]);
      const byValue = (a: (string | number)[], b: (string | number)[]) => (a[0]! < b[0]! ? -1 : 1);
      const label = JSON.stringify({ start, end, dim });
      expect({ label, got: got.sort(byValue) }).toEqual({ label, got: want.sort(byValue) });
      // The database's ranking: the first groups by a sum (errors: ties at the cut are common), ties by value.
      for (const column of ["cost_micros", "errors"] as const)
        for (const limit of [1, 2, 100])
          expectRanked(
            start,
            end,
            dim,
            column,
            limit,
            await aggregator.top({ start, end, filters: {}, group: dim }, column, limit),
          );
    }
    // The overview's window: its totals and every ranking from one read of the edge rows.
    const dims = ["key", "user", "model", "status"] as const;
    for (const column of ["cost_micros", "errors"] as const)
      for (const limit of [1, 100]) {
        const window = await aggregator.window({ start, end }, dims, column, limit);
        const [totals, ...rankings] = await Promise.all([window.totals, ...window.rankings]);
        const all = oracle(rows, start, end, {}, null).get("") ?? zeroVector();
        const label = JSON.stringify({ start, end, column, limit });
        expect({ label, totals: totalsOf(totals!) }).toEqual({ label, totals: totalsOf(all) });
        for (const [i, dim] of dims.entries()) expectRanked(start, end, dim, column, limit, rankings[i] as Ranking);
      }
  }

  /** A ranking equals the rows': the first `limit` groups by `column`, ties by value, and how many groups. */
  function expectRanked(
    start: number,
    end: number,
    dim: AnalyticsDimension,
    column: "cost_micros" | "errors",
    limit: number,
    ranking: Ranking,
  ) {
    const all = [...oracle(rows, start, end, {}, dim)].sort(
      ([a, v], [b, w]) => metric(w, column) - metric(v, column) || (a < b ? -1 : 1),
    );
    const at = JSON.stringify({ start, end, dim, column, limit });
    expect({
      at,
      top: ranking.top.map((g) => [g.value, metric(g.v, column), metric(g.v, "requests")]),
      groups: ranking.groups,
      blank: ranking.blank,
    }).toEqual({
      at,
      top: all.slice(0, limit).map(([value, v]) => [value, metric(v, column), metric(v, "requests")]),
      groups: all.length,
      blank: all.some(([value]) => value === ""),
    });
  }

  async function expectSummaryMatches(start: number, end: number, f: Filter, dim: AnalyticsDimension | null) {
    const res = await analytics.summary({
      start: new Date(start),
      end: new Date(end),
      group_by: dim ?? undefined,
      order_by: "cost",
      limit: 1000,
      ...f,
    } as never);
    const want = oracle(rows, start, end, f, dim);
    const all = zeroVector();
    for (const v of want.values())
      for (let i = 0; i < all.length; i++) all[i] = i === all.length - 1 ? Math.max(all[i]!, v[i]!) : all[i]! + v[i]!;
    const label = JSON.stringify({ start, end, f, dim });
    expect({ label, totals: res.totals }).toEqual({ label, totals: totalsOf(all) });
    if (dim) {
      // Ranked by cost (ties by value), as the rows rank them: the ranking reads other sources than the totals.
      const ranking = [...want]
        .filter(([, v]) => v[0]! > 0)
        .sort(([a, v], [b, w]) => metric(w, "cost_micros") - metric(v, "cost_micros") || (a < b ? -1 : 1))
        .map(([value]) => (value === "" || (dim === "status_code" && value === "0") ? null : value));
      expect({ label, order: res.groups.map((g) => g.key) }).toEqual({ label, order: ranking });
      const got = new Map(res.groups.map((g) => [g.key, { ...g, key: undefined, label: undefined }]));
      expect(got.size).toBe([...want.values()].filter((v) => v[0]! > 0).length);
      for (const [value, v] of want) {
        const key = value === "" || (dim === "status_code" && value === "0") ? null : value;
        expect({ label, key, totals: got.get(key) }).toEqual({
          label,
          key,
          totals: { ...totalsOf(v), key: undefined, label: undefined },
        });
      }
    }
  }

  async function expectSeriesMatch(seed: number) {
    const r = rng(seed);
    for (const [bucket, span] of [
      ["hour", 2 * DAY_MS],
      ["day", SPAN],
      ["minute", 3 * HOUR_MS],
    ] as const) {
      const start = T0 + r.int(SPAN - span);
      const end = start + span - r.int(HOUR_MS);
      const f = r.pick(FILTERS);
      const dim = r.pick([null, "model", "key", "end_user"] as const);
      const metric = r.pick(["requests", "cost", "tokens", "errors", "latency_p95"] as const);
      const res = await analytics.series({
        start: new Date(start),
        end: new Date(end),
        bucket,
        metric,
        group_by: dim ?? undefined,
        top: 2,
        ...f,
      } as never);
      const step = bucket === "minute" ? 60_000 : bucket === "hour" ? HOUR_MS : DAY_MS;
      expect(res.timestamps.length).toBe(Math.ceil((end - Math.floor(start / step) * step) / step));
      const totalSeries = res.series.find((s) => s.kind === "total")!;
      res.timestamps.forEach((iso, i) => {
        const b = Date.parse(iso);
        const v = oracle(rows, Math.max(b, start), Math.min(b + step, end), f, null).get("") ?? zeroVector();
        const t = totalsOf(v);
        const want = {
          requests: t.requests,
          cost: t.cost,
          tokens: t.total_tokens,
          errors: t.errors,
          latency_p95: t.latency_p95_ms,
        }[metric];
        expect({ iso, metric, v: totalSeries.values[i] }).toEqual({ iso, metric, v: want });
      });
      if (dim) {
        const groups = res.series.filter((s) => s.kind !== "total");
        for (let i = 0; i < res.timestamps.length && metric !== "latency_p95"; i++) {
          const sum = groups.reduce((n, s) => n + (s.values[i] ?? 0), 0);
          expect(sum).toBeCloseTo(totalSeries.values[i] ?? 0, 6);
        }
      }
    }
  }

  test("before compaction: rollups and dirty hours give the raw rows' totals", async () => {
    await expectSummariesMatch(1);
    await expectSeriesMatch(2);
  });

  test("after compaction: marginals and whole days give the same totals", async () => {
    const compactor = createRollupCompactor({ store: db.store, now: () => new Date(clock) });
    while ((await compactor.compact(30)) > 0) {}
    const [left] = await db.store.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM usage_rollup_dirty");
    // Only the open hour (the clock's) stays marked: it is not compacted until it closes.
    expect(Number(left!.n)).toBeLessThanOrEqual(1);
    await expectSummariesMatch(3);
    await expectSeriesMatch(4);
  });

  test("a late row in a compacted hour is counted at once and compacted again", async () => {
    const late = randomRow(rng(99), 999_999);
    late.timestamp = new Date(T0 + DAY_MS + 5 * HOUR_MS + 1234);
    rows.push(late);
    await insertUsageLines(db.store, [toUsageLine(late)]);
    await expectSummariesMatch(5);
    clock += DAY_MS;
    const compactor = createRollupCompactor({ store: db.store, now: () => new Date(clock) });
    expect(await compactor.compact()).toBeGreaterThan(0);
    await expectSummariesMatch(6);
  });

  test("rankings from starts across the first two days: from the nearer point before or after, or from none before", async () => {
    // The last pass dropped the hour points before its last 48 hours: a start on the first day has no point before
    // it (the first is the day's end), one on the second day has day boundaries on both sides, the nearer read.
    const check = async () => {
      for (let start = T0 + 7 * 60_000; start < T0 + 2 * DAY_MS; start += 100 * 60_000)
        for (const end of [start + 9 * HOUR_MS, T0 + SPAN - 20 * 60_000]) await expectRankingMatches(start, end);
    };
    await check();
    // No point at all (a database whose points are not built yet): every hourly marginal before t.
    await db.store.exec("DELETE FROM usage_marginals WHERE grain = 'p'");
    await check();
    await db.store.exec("INSERT INTO usage_rollup_dirty (hour) SELECT DISTINCT hour FROM usage_rollups");
    const compactor = createRollupCompactor({ store: db.store, now: () => new Date(clock) });
    while ((await compactor.compact(30)) > 0) {}
    await check();
  });

  test("the overview's window and spend equal the rows'", async () => {
    clock = T0 + SPAN;
    const res = await analytics.overview({ start: new Date(T0), end: new Date(T0 + SPAN) });
    const all = oracle(rows, T0, T0 + SPAN, {}, null).get("")!;
    expect(res.window.requests).toBe(totalsOf(all).requests);
    expect(res.window.cost).toBe(totalsOf(all).cost);
    // Spend today and this month (one read by day): at midnight (nothing today yet) and in the middle of a day.
    for (const at of [T0 + SPAN, T0 + 2 * DAY_MS + 7 * HOUR_MS + 1234]) {
      clock = at;
      const { spend_today, spend_month } = await analytics.overview({});
      const today = oracle(rows, Math.floor(at / DAY_MS) * DAY_MS, at, {}, null).get("") ?? zeroVector();
      const month = oracle(rows, Date.UTC(2026, 2, 1), at, {}, null).get("")!;
      expect({ at, spend_today, spend_month }).toEqual({
        at,
        spend_today: totalsOf(today).cost,
        spend_month: totalsOf(month).cost,
      });
    }
    clock = T0 + SPAN;
    const models = oracle(rows, T0, T0 + SPAN, {}, "model");
    const top = [...models].sort((a, b) => b[1][5]! - a[1][5]!)[0]!;
    expect(res.top_models[0]).toMatchObject({ key: top[0], requests: top[1][0] });
  });

  test("budget health at every level: counted by the database, the furthest over first, blocked and revoked apart", async () => {
    const { db: d, t } = db.store;
    const at = new Date(T0);
    const stamps = { createdAt: at, updatedAt: at };
    // Caps in µ$: 100, and 0 (any spend is beyond it).
    await d.insert(t.budgets).values([
      { budgetId: "b100", maxBudgetMicros: 100, ...stamps },
      { budgetId: "b0", maxBudgetMicros: 0, ...stamps },
      { budgetId: "uncapped", maxBudgetMicros: null, ...stamps },
    ]);
    await d.insert(t.teams).values([
      {
        teamId: "t-over",
        budgetId: "b100",
        spendMicros: 150,
        nextBudgetResetAt: new Date(T0 + DAY_MS + 1234),
        ...stamps,
      },
      { teamId: "t-blocked", blocked: true, ...stamps },
    ]);
    await d.insert(t.users).values([
      { userId: "h-85", budgetId: "b100", spendMicros: 85, ...stamps },
      { userId: "h-100", budgetId: "b100", spendMicros: 100, teamId: "t-over", ...stamps },
      { userId: "h-free", budgetId: "uncapped", spendMicros: 5000, ...stamps },
      { userId: "h-gone", budgetId: "b100", spendMicros: 500, deletedAt: at, ...stamps },
    ]);
    const key = (id: string, budgetId: string | null, spendMicros: number, isActive = true, expiresAt?: Date) => ({
      id,
      keyHash: `hash-${id}`,
      keyPrefix: "gw-",
      userId: "h-85",
      budgetId,
      spendMicros,
      isActive,
      expiresAt,
      createdAt: at,
    });
    await d
      .insert(t.apiKeys)
      .values([
        key("k-zero", "b0", 3),
        key("k-50", "b100", 50),
        key("k-revoked", "b100", 900, false),
        key("k-expired", null, 0, true, new Date(T0)),
        key("k-expiring", null, 0, true, new Date(clock + DAY_MS)),
      ]);
    await d.insert(t.endUsers).values([
      { id: "h-85/alice", userId: "h-85", endUserId: "alice", budgetId: "b100", spendMicros: 120, ...stamps },
      { id: "h-85/bob", userId: "h-85", endUserId: "bob", budgetId: "b100", spendMicros: 0, ...stamps },
    ]);
    const overview = await analytics.overview({ start: new Date(T0), end: new Date(T0 + SPAN) });
    // k1, k2, k3 and the five above; revoked and expired keys are not active.
    expect({ total: overview.keys.total, active: overview.keys.active }).toEqual({ total: 8, active: 6 });
    const health = overview.budget_health;
    const level = (name: string) => health.find((h) => h.level === name)!;
    expect(health.map((h) => h.level)).toEqual(["key", "user", "team", "end_user"]);
    expect(level("key")).toMatchObject({ with_budget: 2, above_80: 0, exhausted: 1, over: 1, blocked: 0 });
    expect(level("key").worst.map((w) => [w.id, w.percent])).toEqual([
      ["k-zero", 100],
      ["k-50", 50],
    ]);
    expect(level("user")).toMatchObject({ with_budget: 2, above_80: 1, exhausted: 1, over: 0, blocked: 0 });
    expect(level("user").worst.map((w) => w.id)).toEqual(["h-100", "h-85"]);
    expect(level("team")).toMatchObject({ with_budget: 1, exhausted: 1, over: 1, blocked: 1 });
    expect(level("team").worst[0]).toMatchObject({
      id: "t-over",
      spend: 0.00015,
      max_budget: 0.0001,
      percent: 150,
      next_reset_at: new Date(T0 + DAY_MS + 1234).toISOString().replace("Z", "+00:00"),
    });
    expect(level("end_user")).toMatchObject({ with_budget: 2, exhausted: 1, over: 1 });
    expect(level("end_user").worst).toEqual([
      { id: "alice", label: "h-85", spend: 0.00012, max_budget: 0.0001, percent: 120, next_reset_at: null },
    ]);
  });

  test("bad ranges and too many buckets are 422", async () => {
    await expect(
      analytics.summary({ start: new Date(T0 + 10), end: new Date(T0), order_by: "cost", limit: 10 }),
    ).rejects.toMatchObject({ status: 422 });
    await expect(
      analytics.series({
        start: new Date(T0),
        end: new Date(T0 + 3 * DAY_MS),
        bucket: "minute",
        metric: "requests",
        top: 5,
      }),
    ).rejects.toMatchObject({ status: 422 });
  });
});
