/**
 * The rollups' own guarantees, on both dialects: the migration that created them backfills the rows already there
 * (an upgraded gateway shows its history), the one that took end users out of their key sums what it merges and
 * keeps the marginals (which the compactor derives again from the rows), and compactors running at once (replicas) leave exact marginals. The
 * latency histogram has a count column per bucket and its percentiles stay inside the bucket of the true value.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";
import { openStore } from "../../db/client";
import { migrate } from "../../db/migrate";
import { HISTOGRAM_COLUMNS } from "../../db/schema/rollup-columns";
import { insertUsageLines, toUsageLine } from "../governance/usage-insert";
import { createRollupCompactor } from "./compactor";
import { addRow, LATENCY_BOUNDS_MS, latencyBucket, METRIC_COLUMNS, percentile, zeroVector } from "./metrics";
import { rollupsFromRows } from "./marginals";
import { DAY_MS, KEY_COLUMN_LIST, msOf, SqlParams } from "./sql";

const T0 = Date.UTC(2026, 0, 10);

test("one histogram column per latency bucket; percentiles fall in the true value's bucket", () => {
  expect(HISTOGRAM_COLUMNS.length as number).toBe(LATENCY_BOUNDS_MS.length + 1);
  const latencies = Array.from({ length: 1000 }, (_, i) => Math.round(20 + (i * i) / 7));
  const v = zeroVector();
  for (const ms of latencies) addRow(v, { status: "success", latencyMs: ms });
  const sorted = [...latencies].sort((a, b) => a - b);
  for (const p of [50, 95, 99]) {
    const truth = sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
    const estimate = percentile(v, p)!;
    const b = latencyBucket(truth);
    const lo = b === 0 ? 0 : LATENCY_BOUNDS_MS[b - 1]!;
    const hi = b < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[b]! : Math.max(...latencies);
    expect(estimate).toBeGreaterThanOrEqual(lo);
    expect(estimate).toBeLessThanOrEqual(hi);
  }
  expect(percentile(zeroVector(), 50)).toBeNull();
});

describe.each(DIALECTS)("rollups on $dialect", ({ create }) => {
  let db: TestDatabase;
  afterAll(async () => {
    await db?.drop();
  });

  test("the migration backfills rollups and marginals of rows written before it", async () => {
    db = await create();
    // A database one migration older (SQLite: a second file; Postgres: the test database, emptied), with rows the
    // old writer inserted (no rollups, no latency).
    const store = db.dialect === "sqlite" ? openStore(db.url.replace(/gw\.db$/, "old.db")) : db.store;
    if (db.dialect === "pg") {
      await store.exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP SCHEMA IF EXISTS drizzle CASCADE;");
    }
    await migrate(store, "0001");
    const rows = Array.from({ length: 300 }, (_, i) => ({
      id: `old-${i}`,
      ts: T0 + i * 17 * 60_000,
      model: i % 3 ? "gpt-4o" : "claude",
      provider: i % 3 ? "openai" : "anthropic",
      status: i % 7 ? "success" : "error",
      cost: i % 5 ? 100 + i : null,
      endUser: i % 2 ? `eu-${i % 4}` : null,
    }));
    for (const r of rows) {
      const ts = store.dialect === "pg" ? `to_timestamp(${r.ts} / 1000.0)` : String(r.ts);
      await store.exec(
        `INSERT INTO usage_logs (id, timestamp, model, provider, endpoint, status, cost_micros, prompt_tokens, completion_tokens, total_tokens, end_user_id, status_code, estimated) VALUES ('${r.id}', ${ts}, '${r.model}', '${r.provider}', '/v1/chat/completions', '${r.status}', ${r.cost ?? "NULL"}, 10, 5, 15, ${r.endUser ? `'${r.endUser}'` : "NULL"}, 200, ${store.dialect === "pg" ? "false" : "0"})`,
      );
    }
    const applied = await migrate(store, "0007");
    expect(applied.applied[0]).toBe("0002_usage_rollups_console");
    const sum = async (sql: string) => Number((await store.query<{ n: unknown }>(sql))[0]!.n);
    // Rows as text (Postgres returns sums as strings where the table gives numbers).
    const rowsOf = async (sql: string) =>
      (await store.query<Record<string, unknown>>(sql)).map((r) =>
        Object.values(r)
          .map((v) => (v instanceof Date ? v.getTime() : String(v)))
          .join("|"),
      );
    const marginals = async () =>
      rowsOf(
        `SELECT dim, grain, ${msOf(store.dialect, "bucket")} AS bucket, value, ${METRIC_COLUMNS.join(", ")} FROM usage_marginals WHERE grain <> 'p' ORDER BY dim, grain, bucket, value`,
      );
    // Until 0008 the rollups were keyed by end user too: that migration sums the groups it collapses.
    const keyed = await sum("SELECT COUNT(*) AS n FROM usage_rollups");
    const before = await marginals();
    expect((await migrate(store)).applied).toContain("0008_rollups_without_end_users");
    expect(await sum("SELECT COUNT(*) AS n FROM usage_rollups")).toBeLessThan(keyed);
    const p = () => new SqlParams(store.dialect);
    const want = rollupsFromRows(p, store.dialect, null)[1]!.sql.replace(/^INSERT INTO usage_rollups \([^)]*\) /, "");
    const order = `ORDER BY hour, ${KEY_COLUMN_LIST}`;
    const got = await rowsOf(
      `SELECT hour, ${KEY_COLUMN_LIST}, ${METRIC_COLUMNS.join(", ")} FROM usage_rollups ${order}`,
    );
    expect(got.length).toBeGreaterThan(0);
    expect(got).toEqual(await rowsOf(`SELECT * FROM (${want}) w ${order}`));
    expect(await marginals()).toEqual(before);
    // Marked again, every hour's marginals (end users' from usage_logs) are rebuilt to the same rows.
    await store.exec(`INSERT INTO usage_rollup_dirty (hour) SELECT DISTINCT hour FROM usage_rollups`);
    const compactor = createRollupCompactor({ store, now: () => new Date(T0 + 30 * DAY_MS) });
    while ((await compactor.compact(30)) > 0) {}
    expect(await marginals()).toEqual(before);
    expect(await sum("SELECT SUM(requests) AS n FROM usage_rollups")).toBe(300);
    expect(await sum("SELECT SUM(cost_micros) AS n FROM usage_rollups")).toBe(
      rows.reduce((a, r) => a + (r.cost ?? 0), 0),
    );
    expect(await sum("SELECT SUM(errors) AS n FROM usage_rollups")).toBe(
      rows.filter((r) => r.status === "error").length,
    );
    for (const dim of ["", "model", "end_user", "status", "key", "team"]) {
      for (const grain of ["h", "d"])
        expect(
          await sum(`SELECT SUM(requests) AS n FROM usage_marginals WHERE dim = '${dim}' AND grain = '${grain}'`),
        ).toBe(300);
    }
    expect(await sum("SELECT COUNT(*) AS n FROM usage_rollup_dirty")).toBe(0);
    if (store !== db.store) await store.close();
  });

  test("compactors running at once (replicas) leave exact marginals", async () => {
    const store = db.store;
    const lines = Array.from({ length: 400 }, (_, i) =>
      toUsageLine({
        id: `c-${i}`,
        timestamp: new Date(T0 + 3 * DAY_MS + i * 11 * 60_000),
        model: `m${i % 4}`,
        provider: "p",
        endpoint: "/v1/chat/completions",
        status: "success",
        costMicros: i,
        estimated: false,
        endUserId: `eu-${i % 9}`,
        latencyMs: i * 3,
      }),
    );
    for (let i = 0; i < lines.length; i += 50) await insertUsageLines(store, lines.slice(i, i + 50));
    const now = () => new Date(T0 + 30 * DAY_MS);
    // SQLite has one writer process; Postgres replicas compact side by side.
    const replicas = db.dialect === "pg" ? [store, db.open(), db.open()] : [store];
    let rebuilt = 0;
    for (let round = 0; round < 10; round++) {
      const passes = await Promise.all(replicas.map((s) => createRollupCompactor({ store: s, now }).compact(30)));
      rebuilt += passes.reduce((a, b) => a + b, 0);
      const [left] = await store.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM usage_rollup_dirty");
      if (Number(left!.n) === 0) break;
    }
    expect(rebuilt).toBeGreaterThan(0);
    const sum = async (sql: string) => Number((await store.query<{ n: unknown }>(sql))[0]!.n);
    for (const grain of ["h", "d"]) {
      for (const dim of ["", "model", "end_user"]) {
        expect(
          await sum(`SELECT SUM(requests) AS n FROM usage_marginals WHERE dim = '${dim}' AND grain = '${grain}'`),
        ).toBe(await sum("SELECT COUNT(*) AS n FROM usage_logs"));
        expect(
          await sum(`SELECT SUM(cost_micros) AS n FROM usage_marginals WHERE dim = '${dim}' AND grain = '${grain}'`),
        ).toBe(await sum("SELECT SUM(cost_micros) AS n FROM usage_logs WHERE cost_micros IS NOT NULL"));
      }
    }
  });
});
