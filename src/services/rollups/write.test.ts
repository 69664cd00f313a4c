/**
 * The writer's rollups on both dialects: a journal replay that mixes rows already inserted with new ones (and lines
 * in the older journal format, the timestamp as an ISO string) adds exactly the new rows, so usage_rollups always
 * equals the rows summed in memory, and every hour a row landed in is marked dirty.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { DIALECTS, type TestDatabase } from "../../../tests/helpers/db";
import { insertUsageLines, toUsageLine, type UsageRowInsert } from "../governance/usage-insert";
import { addRow, METRIC_COLUMNS, zeroVector } from "./metrics";
import { HOUR_MS, KEY_COLUMN_LIST, KEY_COLUMNS, msOf } from "./sql";

const T0 = Date.UTC(2026, 2, 3, 10);

const rows: UsageRowInsert[] = Array.from({ length: 240 }, (_, i) => ({
  id: `w-${String(i).padStart(4, "0")}`,
  apiKeyId: null,
  userId: null,
  timestamp: new Date(T0 + ((i * 37) % 3) * HOUR_MS + i * 1000),
  model: `m-${i % 4}`,
  provider: i % 5 ? "openai" : "anthropic",
  endpoint: "/v1/chat/completions",
  promptTokens: i,
  completionTokens: 2 * i,
  totalTokens: 3 * i,
  costMicros: i % 6 ? 10 + i : null,
  status: i % 9 ? "success" : "error",
  // Key columns vary independently of the model (i % 4), so a group that merged on one would show.
  statusCode: i % 9 ? 200 + ((i >> 2) % 2) : 502,
  estimated: false,
  latencyMs: i % 7 ? 40 + i * 53 : null,
  ttfbMs: i % 3 ? 20 + i : null,
  endUserId: i % 2 ? `eu-${i % 5}` : null,
  teamId: (i >> 3) % 3 ? null : `team-${(i >> 4) % 2}`,
}));

/** Journals written before timestamps were epoch milliseconds hold an ISO string. */
const isoLine = (row: UsageRowInsert): string =>
  JSON.stringify({ ...row, timestamp: (row.timestamp as Date).toISOString() });
const line = (row: UsageRowInsert, i: number): string => (i % 4 === 0 ? isoLine(row) : toUsageLine(row));

/** The rows summed per hour and key, grouped here by the key's JSON (not as the writer groups them). */
function expected(): Map<string, number[]> {
  const sums = new Map<string, number[]>();
  for (const row of rows) {
    const t = (row.timestamp as Date).getTime();
    const id = JSON.stringify([t - (t % HOUR_MS), ...KEY_COLUMNS.map((k) => row[k.row] ?? k.empty)]);
    const v = sums.get(id) ?? zeroVector();
    sums.set(id, v);
    addRow(v, row);
  }
  return sums;
}

describe.each(DIALECTS)("writer rollups on $dialect", ({ create }) => {
  let db: TestDatabase;
  afterAll(async () => {
    await db?.drop();
  });

  test("a replay mixing inserted and new rows adds only the new ones", async () => {
    db = await create();
    const { store } = db;
    await insertUsageLines(store, rows.slice(0, 100).map(line));
    // A replay: rows 50..99 are in already, 100..239 are new, in one batch (and so in one statement on Postgres).
    await insertUsageLines(store, rows.slice(50).map(line));
    // The whole journal again: nothing new.
    await insertUsageLines(
      store,
      rows.map((r) => toUsageLine(r)),
    );

    const [count] = await store.query<{ n: number }>("SELECT COUNT(*) AS n FROM usage_logs");
    expect(Number(count?.n)).toBe(rows.length);
    const stored = await store.query<Record<string, unknown>>(
      `SELECT ${msOf(store.dialect, "hour")} AS hour, ${KEY_COLUMN_LIST}, ${METRIC_COLUMNS.join(", ")} FROM usage_rollups`,
    );
    const got = new Map(
      stored.map((r) => [
        JSON.stringify([
          Number(r.hour),
          ...KEY_COLUMNS.map((k) => (k.column === "status_code" ? Number(r[k.column]) : r[k.column])),
        ]),
        METRIC_COLUMNS.map((c) => Number(r[c])),
      ]),
    );
    expect(got).toEqual(expected());
    const dirty = await store.query<{ hour: unknown }>(
      `SELECT DISTINCT ${msOf(store.dialect, "hour")} AS hour FROM usage_rollup_dirty ORDER BY 1`,
    );
    expect(dirty.map((d) => Number(d.hour))).toEqual([T0, T0 + HOUR_MS, T0 + 2 * HOUR_MS]);
  });
});
