import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "../../db/client";
import { createTestDb, DIALECTS, type TestDb } from "./_test-db";
import { createUsageWriter, type FlushEvent, type UsageRowInsert } from "./usage-writer";

function row(i: number): UsageRowInsert {
  return {
    id: crypto.randomUUID(),
    apiKeyId: null,
    userId: null,
    timestamp: new Date(),
    model: "gpt-4o-mini",
    provider: "openai",
    endpoint: "/v1/chat/completions",
    promptTokens: 10 + i,
    completionTokens: 5,
    totalTokens: 15 + i,
    costMicros: 42,
    status: "success",
    estimated: i % 2 === 0,
    requestId: `req-${i}`,
  };
}

async function count(store: Store): Promise<number> {
  const rows = await store.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM usage_logs");
  return Number(rows[0]?.n ?? 0);
}

for (const dialect of DIALECTS) {
  describe(`usage writer (${dialect})`, () => {
    let tdb: TestDb;
    let store: Store;
    beforeAll(async () => {
      tdb = await createTestDb(dialect);
      store = tdb.open();
    });
    afterAll(async () => tdb.cleanup());

    test("batch: rows land on flush, values round-trip, depth drains", async () => {
      const events: FlushEvent[] = [];
      const w = createUsageWriter({
        store,
        strategy: "batch",
        journalPath: join(tdb.dir, "a.journal"),
        fsync: false,
        flushIntervalMs: 60_000,
        onFlush: (e) => events.push(e),
      });
      const before = await count(store);
      const r = row(1);
      w.enqueue(r);
      for (let i = 0; i < 9; i++) w.enqueue(row(i));
      expect(w.depth()).toBe(10);
      await w.flush();
      expect(w.depth()).toBe(0);
      expect(await count(store)).toBe(before + 10);
      const [back] = await store.db
        .select()
        .from(store.t.usageLogs)
        .where((await import("drizzle-orm")).eq(store.t.usageLogs.id, r.id));
      expect(back?.timestamp.getTime()).toBe(r.timestamp?.getTime());
      expect(back?.estimated).toBe(false);
      expect(back?.promptTokens).toBe(11);
      expect(events.at(-1)).toMatchObject({ writer: "batch", result: "ok", rows: 10, written: 10 });
      await w.close();
      expect(readdirSync(tdb.dir).filter((f) => f.startsWith("a.journal"))).toEqual([]);
    });

    test("crash: rows journaled by a writer whose close() never ran are replayed, idempotently", async () => {
      const path = join(tdb.dir, "crash.journal");
      const before = await count(store);
      const dead = createUsageWriter({
        store,
        strategy: "batch",
        journalPath: path,
        fsync: true,
        flushIntervalMs: 3_600_000,
        batchSize: 1_000_000,
      });
      for (let i = 0; i < 50; i++) dead.enqueue(row(i));
      expect(existsSync(path)).toBe(true);
      // Half of them reached the database before the "crash": replay must not duplicate them.
      await dead.flush();
      for (let i = 0; i < 50; i++) dead.enqueue(row(i));
      expect(await count(store)).toBe(before + 50);
      // The kill: the dead writer's journal still holds its last 50 rows, never flushed and never closed. The
      // journal was not rotated since the first flush, so replay also re-reads the 50 already committed.
      const next = createUsageWriter({
        store,
        strategy: "batch",
        journalPath: path,
        fsync: false,
        flushIntervalMs: 60_000,
      });
      expect(await next.replay()).toBe(100);
      expect(await count(store)).toBe(before + 100);
      expect(await next.replay()).toBe(0);
      await next.close();
      expect(await count(store)).toBe(before + 100);
    });

    test("replaying the same rows twice inserts them once", async () => {
      const path = join(tdb.dir, "twice.journal");
      const rows = Array.from({ length: 20 }, (_, i) => row(i));
      const before = await count(store);
      for (let k = 0; k < 2; k++) {
        const dead = createUsageWriter({
          store,
          strategy: "batch",
          journalPath: path,
          fsync: false,
          flushIntervalMs: 3_600_000,
          batchSize: 1_000_000,
        });
        for (const r of rows) dead.enqueue(r);
        const next = createUsageWriter({
          store,
          strategy: "batch",
          journalPath: path,
          fsync: false,
          flushIntervalMs: 60_000,
        });
        expect(await next.replay()).toBe(20);
        await next.close();
      }
      expect(await count(store)).toBe(before + 20);
    });

    test("segments rotate by size and are deleted once their rows are committed", async () => {
      const name = "rotate.journal";
      const w = createUsageWriter({
        store,
        strategy: "batch",
        journalPath: join(tdb.dir, name),
        fsync: false,
        flushIntervalMs: 60_000,
        batchSize: 1_000_000,
        rotateRows: 25,
      });
      const files = () => readdirSync(tdb.dir).filter((f) => f.startsWith(name));
      for (let i = 0; i < 30; i++) w.enqueue(row(i));
      expect(files()).toEqual([name]);
      // The flush takes the 30 rows; the active file is over 25 rows, so it becomes a segment, deleted once written.
      await w.flush();
      expect(files()).toEqual([]);
      for (let i = 0; i < 10; i++) w.enqueue(row(i));
      await w.flush();
      // Under the size and age thresholds: the active file stays, holding rows already committed.
      expect(files()).toEqual([name]);
      await w.close();
      expect(files()).toEqual([]);
    });

    test("single strategy writes each row promptly", async () => {
      const w = createUsageWriter({ store, strategy: "single", journalPath: null, fsync: false });
      const before = await count(store);
      w.enqueue(row(1));
      w.enqueue(row(2));
      await w.flush();
      expect(await count(store)).toBe(before + 2);
      await w.close();
    });

    test("a row whose user vanished is detached, a broken row is dropped and counted, the rest are written", async () => {
      const events: FlushEvent[] = [];
      const w = createUsageWriter({
        store,
        strategy: "batch",
        journalPath: null,
        fsync: false,
        flushIntervalMs: 60_000,
        onFlush: (e) => events.push(e),
      });
      const before = await count(store);
      w.enqueue({ ...row(1), userId: "no-such-user" });
      w.enqueue({ ...row(2), model: null as unknown as string });
      w.enqueue(row(3));
      await w.flush();
      expect(await count(store)).toBe(before + 2);
      expect(events.at(-1)).toMatchObject({ written: 2, dropped: 1, result: "error" });
      await w.close();
    });

    test("failed flushes keep the rows and retry them", async () => {
      const other = tdb.open();
      const w = createUsageWriter({
        store: other,
        strategy: "batch",
        journalPath: join(tdb.dir, "retry.journal"),
        fsync: false,
        flushIntervalMs: 60_000,
      });
      const before = await count(store);
      w.enqueue(row(1));
      await other.close();
      await w.flush().catch(() => undefined);
      expect(w.depth()).toBe(1);
      // The rows survive in the journal: a new writer on a working store replays them.
      await w.close();
      const next = createUsageWriter({
        store,
        strategy: "batch",
        journalPath: join(tdb.dir, "retry.journal"),
        fsync: false,
        flushIntervalMs: 60_000,
      });
      expect(await next.replay()).toBe(1);
      await next.close();
      expect(await count(store)).toBe(before + 1);
    });

    test("throughput (printed, not asserted)", async () => {
      const n = dialect === "sqlite" ? 100_000 : 50_000;
      const w = createUsageWriter({
        store,
        strategy: "batch",
        journalPath: join(tdb.dir, "perf.journal"),
        fsync: false,
        flushIntervalMs: 1000,
      });
      const before = await count(store);
      const rows = Array.from({ length: n }, (_, i) => row(i));
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        w.enqueue(rows[i]!);
        // Yield now and then, as a server would between requests, so flushes interleave with enqueues.
        if (i % 2000 === 1999) await Bun.sleep(0);
      }
      await w.close();
      const seconds = (performance.now() - started) / 1000;
      expect(await count(store)).toBe(before + n);
      console.log(
        `[usage-writer ${dialect}] ${n} rows journaled+inserted in ${seconds.toFixed(2)} s = ${Math.round(n / seconds)} rows/s`,
      );
    }, 120_000);
  });
}
