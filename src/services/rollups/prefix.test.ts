/**
 * Prefix points (prefix.ts), on both dialects: after compaction every point equals the sums of the hourly marginals
 * before it; points sit on every day boundary and on the recent hours only; a journal replay changes nothing, marking
 * every hour again rebuilds the same points, and a late row in an old hour is carried into every later point.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";
import type { Store } from "../../db/client";
import { insertUsageLines, toUsageLine } from "../governance/usage-insert";
import { createRollupCompactor } from "./compactor";
import { METRIC_COLUMNS, SUM_COLUMNS } from "./metrics";
import { NO_PREFIX_DIMS, pointsToBuild, RECENT_MS } from "./prefix";
import { DAY_MS, HOUR_MS, msOf, SqlParams } from "./sql";

const T1 = Date.UTC(2026, 3, 6);
const DAYS = 4;
const NOW = T1 + DAYS * DAY_MS + 30 * 60_000;

test("points to build: later points still kept, the next recent hour, each day's end, day boundaries from the first", () => {
  const cutoff = T1 + 4 * DAY_MS;
  expect(RECENT_MS).toBe(2 * DAY_MS);
  const built = pointsToBuild({
    hours: [T1 + DAY_MS + 5 * HOUR_MS, cutoff - 2 * HOUR_MS],
    // The first is an hour point no longer recent: dropped, not rebuilt.
    existingAfter: [T1 + DAY_MS + 9 * HOUR_MS, T1 + 2 * DAY_MS, T1 + 3 * DAY_MS + HOUR_MS, cutoff - HOUR_MS],
    cutoff,
    firstDay: T1,
    anyPoint: false,
  });
  expect(built).toEqual([
    T1 + DAY_MS,
    T1 + 2 * DAY_MS,
    T1 + 3 * DAY_MS,
    T1 + 3 * DAY_MS + HOUR_MS,
    cutoff - HOUR_MS,
    cutoff,
  ]);
  expect(pointsToBuild({ hours: [], existingAfter: [1], cutoff, firstDay: T1, anyPoint: true })).toEqual([]);
});

describe.each(DIALECTS)("prefix points on $dialect", ({ create }) => {
  let db: TestDatabase;
  let store: Store;
  const lines = Array.from({ length: 700 }, (_, i) =>
    toUsageLine({
      id: `p-${i}`,
      timestamp: new Date(T1 + Math.floor((i * DAYS * DAY_MS) / 700) + (i % 13) * 1000),
      model: `m${i % 5}`,
      provider: i % 3 ? "openai" : "anthropic",
      endpoint: "/v1/chat/completions",
      status: i % 11 ? "success" : "error",
      statusCode: i % 11 ? 200 : 502,
      apiKeyId: `k${(i * 7) % 23}`,
      userId: `u${i % 6}`,
      costMicros: i % 4 ? i * 3 : null,
      estimated: false,
      endUserId: i % 2 ? `eu-${i % 9}` : null,
      latencyMs: 50 + i,
    }),
  );
  beforeAll(async () => {
    db = await create();
    store = db.store;
    const at = new Date(T1);
    const { t } = store;
    await store.db
      .insert(t.users)
      .values(Array.from({ length: 6 }, (_, i) => ({ userId: `u${i}`, createdAt: at, updatedAt: at, metadata: {} })));
    await store.db.insert(t.apiKeys).values(
      [...Array.from({ length: 23 }, (_, i) => `k${i}`), "k-late"].map((id) => ({
        id,
        keyHash: `hash-${id}`,
        keyPrefix: "gw-test",
        userId: "u0",
        createdAt: at,
        metadata: {},
      })),
    );
    for (let i = 0; i < lines.length; i += 60) await insertUsageLines(store, lines.slice(i, i + 60));
  });
  afterAll(async () => {
    await db?.drop();
  });

  const compactAll = async (now = NOW) => {
    const compactor = createRollupCompactor({ store, now: () => new Date(now) });
    while ((await compactor.compact(30)) > 0) {}
  };
  const text = (rows: Record<string, unknown>[]) =>
    rows.map((r) =>
      Object.values(r)
        .map((v) => String(v))
        .join("|"),
    );
  const sums = SUM_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(", ");
  const points = async () =>
    (
      await store.query<{ t: unknown }>(
        `SELECT ${msOf(store.dialect, "bucket")} AS t FROM usage_marginals WHERE dim = '' AND grain = 'p' ORDER BY bucket`,
      )
    ).map((r) => Number(r.t));
  const all = async () =>
    text(
      await store.query(
        `SELECT dim, grain, ${msOf(store.dialect, "bucket")} AS b, value, ${METRIC_COLUMNS.join(", ")} FROM usage_marginals ORDER BY dim, grain, bucket, value`,
      ),
    );

  /** Every point equals the hourly marginals before it, summed (and the rows before it, for the total). */
  async function expectPointsExact() {
    const ts = await points();
    expect(ts.length).toBeGreaterThan(0);
    const excluded = NO_PREFIX_DIMS.map((d) => `'${d}'`).join(", ");
    for (const t of ts) {
      const p = new SqlParams(store.dialect);
      const got = text(
        await store.query(
          `SELECT dim, value, ${sums} FROM usage_marginals WHERE grain = 'p' AND bucket = ${p.time(t)} GROUP BY dim, value ORDER BY dim, value`,
          p.values,
        ),
      );
      const q = new SqlParams(store.dialect);
      const want = text(
        await store.query(
          `SELECT dim, value, ${sums} FROM usage_marginals WHERE grain = 'h' AND bucket < ${q.time(t)} AND dim NOT IN (${excluded}) GROUP BY dim, value ORDER BY dim, value`,
          q.values,
        ),
      );
      expect({ t, rows: got }).toEqual({ t, rows: want });
      const r = new SqlParams(store.dialect);
      const [rows] = await store.query<{ n: unknown }>(
        `SELECT COUNT(*) AS n FROM usage_logs WHERE "timestamp" < ${r.time(t)}`,
        r.values,
      );
      const total = got.find((line) => line.startsWith("|"))!;
      expect(Number(total.split("|")[2])).toBe(Number(rows!.n));
    }
  }

  test("after compaction: exact, on every day boundary and the recent hours only", async () => {
    await compactAll();
    await expectPointsExact();
    const ts = await points();
    const cutoff = Math.floor(NOW / HOUR_MS) * HOUR_MS;
    for (let d = T1 + DAY_MS; d <= T1 + DAYS * DAY_MS; d += DAY_MS) expect(ts).toContain(d);
    expect(ts.filter((t) => t % DAY_MS !== 0 && t < cutoff - RECENT_MS)).toEqual([]);
    // Every recent hour with rows before it has its point.
    expect(ts.filter((t) => t >= cutoff - RECENT_MS && t % DAY_MS !== 0).length).toBeGreaterThanOrEqual(
      RECENT_MS / HOUR_MS - 1 - DAYS,
    );
  });

  test("a journal replay changes nothing; every hour marked again rebuilds the same points", async () => {
    const before = await all();
    await insertUsageLines(store, lines.slice(100, 400));
    await compactAll();
    expect(await all()).toEqual(before);
    await store.exec("INSERT INTO usage_rollup_dirty (hour) SELECT DISTINCT hour FROM usage_rollups");
    await compactAll();
    expect(await all()).toEqual(before);
  });

  test("a late row in an old hour reaches every later point; a later pass prunes hours no longer recent", async () => {
    const late = toUsageLine({
      id: "late-1",
      timestamp: new Date(T1 + 7 * HOUR_MS + 5),
      model: "m-late",
      provider: "openai",
      endpoint: "/v1/chat/completions",
      status: "success",
      apiKeyId: "k-late",
      costMicros: 999,
      estimated: false,
    });
    await insertUsageLines(store, [late]);
    await compactAll();
    await expectPointsExact();
    const p = new SqlParams(store.dialect);
    const [row] = await store.query<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM usage_marginals WHERE grain = 'p' AND dim = 'key' AND value = 'k-late' AND bucket > ${p.time(T1 + 7 * HOUR_MS)}`,
      p.values,
    );
    expect(Number(row!.n)).toBe((await points()).filter((t) => t > T1 + 7 * HOUR_MS).length);
    // A day later, a new row's compaction drops the hour points that left the recent window.
    const later = NOW + DAY_MS;
    await insertUsageLines(store, [
      toUsageLine({
        id: "next-day",
        timestamp: new Date(later - HOUR_MS),
        model: "m0",
        provider: "openai",
        endpoint: "/v1/chat/completions",
        status: "success",
        estimated: false,
      }),
    ]);
    await compactAll(later);
    await expectPointsExact();
    const cutoff = Math.floor(later / HOUR_MS) * HOUR_MS;
    expect((await points()).filter((t) => t % DAY_MS !== 0 && t < cutoff - RECENT_MS)).toEqual([]);
  });
});
