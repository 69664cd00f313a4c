/** The SQLite usage worker: rows committed off the main thread; a dead worker falls back to the main thread. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createSqliteDatabase, type TestDatabase } from "../../../tests/helpers/db";
import { parseDatabaseUrl } from "../../db/url";
import { createSqliteUsageInserter } from "./sqlite-usage-inserter";
import { insertUsageLines, toUsageLine } from "./usage-insert";

let db: TestDatabase;
beforeAll(async () => {
  db = await createSqliteDatabase();
});
afterAll(async () => {
  await db.drop();
});

const row = (): string =>
  toUsageLine({
    id: crypto.randomUUID(),
    timestamp: new Date(),
    model: "m",
    endpoint: "/v1/chat/completions",
    status: "success",
    promptTokens: 1,
    completionTokens: 2,
    totalTokens: 3,
  });
const count = async () => Number((await db.store.query<{ n: number }>("SELECT count(*) AS n FROM usage_logs"))[0]?.n);

test("rows are committed by the worker thread and visible to the main connection", async () => {
  const target = parseDatabaseUrl(db.url);
  if (target.dialect !== "sqlite") throw new Error("sqlite expected");
  const inserter = createSqliteUsageInserter(target.path, (lines) => insertUsageLines(db.store, lines));
  const before = await count();
  await inserter.insert(Array.from({ length: 250 }, row));
  expect(await count()).toBe(before + 250);
  await inserter.close();
});

test("a worker that cannot open its database hands inserts back to the main thread", async () => {
  let fallbackRows = 0;
  const inserter = createSqliteUsageInserter("/nonexistent-dir/for/the/usage/worker.db", async (lines) => {
    fallbackRows += lines.length;
    await insertUsageLines(db.store, lines);
  });
  const first = await inserter.insert([row()]).then(
    () => "ok",
    () => "rejected",
  );
  // The first batch may be lost to the dying worker (the writer retries it); from then on the fallback serves.
  expect(["ok", "rejected"]).toContain(first);
  await Bun.sleep(100);
  const before = await count();
  await inserter.insert([row(), row()]);
  expect(fallbackRows).toBeGreaterThanOrEqual(2);
  expect(await count()).toBe(before + 2);
  await inserter.close();
});
