/**
 * Usage writer throughput into SQLite, through the writer the gateway builds (createUsageWriter with the SQLite
 * worker-thread inserter and a crash journal, as src/services/inference wires them):
 *   1. paced: rows enqueued at a fixed rate (default 25k/s) in 1 ms ticks, as requests would; reports the rows/s
 *      actually committed in that window, the queue depth, and the event-loop lag (how late a 1 ms timer fires,
 *      p99) during the run versus idle: the "without slowing requests" part;
 *   2. capacity: 100k rows enqueued as fast as the loop allows; rows/s until all are committed.
 * Prints one JSON line.   bun scripts/bench/usage-writer.ts [--seconds 5] [--rate 25000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openStore } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { createUsageWriter, type UsageRowInsert } from "../../src/services/governance";
import { createSqliteUsageInserter } from "../../src/services/governance/sqlite-usage-inserter";
import { insertUsageLines } from "../../src/services/governance/usage-insert";
import { percentile, round } from "./stats";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "5" }, rate: { type: "string", default: "25000" } },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const CAPACITY_ROWS = 100_000;

const row = (i: number): UsageRowInsert => ({
  // As the gateway keys them (services/inference/standalone/usage-row.ts): time-ordered.
  id: Bun.randomUUIDv7(),
  apiKeyId: null,
  userId: null,
  timestamp: new Date(),
  model: "bench-model",
  provider: "bench",
  endpoint: "/v1/chat/completions",
  promptTokens: 12,
  completionTokens: 8,
  totalTokens: 20,
  costMicros: 28,
  status: "success",
  statusCode: 200,
  estimated: false,
  requestId: `req-${i}`,
});

/** How late a chained 1 ms timer fires, in ms, while `run` is active. */
async function timerLag(run: () => Promise<void>): Promise<number[]> {
  const lags: number[] = [];
  let active = true;
  let expected = performance.now() + 1;
  const tick = () => {
    const now = performance.now();
    lags.push(Math.max(0, now - expected));
    expected = now + 1;
    if (active) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  await run();
  active = false;
  return lags;
}

const dir = mkdtempSync(join(tmpdir(), "gw-bench-usage-"));
try {
  const dbFile = join(dir, "usage.db");
  const store = openStore(`sqlite:///${dbFile}`);
  await migrate(store);
  let written = 0;
  const writer = createUsageWriter({
    store,
    strategy: "batch",
    journalPath: join(dir, "usage-journal.jsonl"),
    fsync: false,
    inserter: createSqliteUsageInserter(dbFile, (lines) => insertUsageLines(store, lines)),
    onFlush: (e) => {
      written += e.written;
    },
  });
  const drain = async () => {
    while (writer.depth() > 0) await writer.flush();
  };

  const idleLag = await timerLag(() => Bun.sleep(1000));

  let sent = 0;
  let maxDepth = 0;
  let enqueueMs = 0;
  const started = performance.now();
  let committedInWindow = 0;
  const loadLag = await timerLag(async () => {
    for (let elapsed = 0; elapsed < seconds * 1000; elapsed = performance.now() - started) {
      const due = Math.floor((rate * elapsed) / 1000);
      const t = performance.now();
      for (; sent < due; sent++) writer.enqueue(row(sent));
      enqueueMs += performance.now() - t;
      maxDepth = Math.max(maxDepth, writer.depth());
      await Bun.sleep(1);
    }
    committedInWindow = written;
  });
  const windowS = (performance.now() - started) / 1000;
  const depthAtEnd = writer.depth();
  const drainStarted = performance.now();
  await drain();
  const drainMs = performance.now() - drainStarted;

  const capStarted = performance.now();
  const before = written;
  for (let i = 0; i < CAPACITY_ROWS; i++) {
    writer.enqueue(row(i));
    if (i % 2000 === 1999) await Bun.sleep(0);
  }
  await drain();
  const capacity = (written - before) / ((performance.now() - capStarted) / 1000);
  await writer.close();
  const [{ n }] = (await store.query<{ n: number }>("SELECT COUNT(*) AS n FROM usage_logs")) as [{ n: number }];
  await store.close();

  console.log(
    JSON.stringify({
      offered_rows_per_s: rate,
      seconds: round(windowS, 2),
      committed_rows_per_s: Math.round(committedInWindow / windowS),
      max_queue_depth: maxDepth,
      queue_depth_at_end: depthAtEnd,
      drain_ms: Math.round(drainMs),
      enqueue_us_per_row: round((enqueueMs * 1000) / Math.max(1, sent), 2),
      lag_idle_p99_ms: round(percentile(idleLag, 99), 3),
      lag_load_p99_ms: round(percentile(loadLag, 99), 3),
      lag_load_max_ms: round(Math.max(...loadLag), 3),
      capacity_rows_per_s: Math.round(capacity),
      rows_in_db: Number(n),
      rows_expected: sent + CAPACITY_ROWS,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
