/**
 * The analytics CLI twins through the compiled binary: `usage summary|series|export`, `overview` and keyset pages of
 * `usage` print, with --json, exactly what the services behind the HTTP routes return for the same query.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openStore, type Store } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { createAnalyticsService } from "../../src/services/analytics";
import { insertUsageLines, toUsageLine } from "../../src/services/governance/usage-insert";
import { ensureBinary, run, runJson, tempDir } from "./_gateway";

const T0 = Date.UTC(2026, 1, 2, 10);
const START = new Date(T0 - 3_600_000).toISOString();
const END = new Date(T0 + 10 * 3_600_000).toISOString();
let cwd: string;
let env: Record<string, string>;
let store: Store;

beforeAll(async () => {
  await ensureBinary();
  cwd = tempDir("gw-cli-analytics-");
  env = { DATABASE_URL: `sqlite:///${join(cwd, "gw.db")}` };
  store = openStore(env.DATABASE_URL!);
  await migrate(store);
  const lines = Array.from({ length: 30 }, (_, i) =>
    toUsageLine({
      id: `row-${String(i).padStart(2, "0")}`,
      timestamp: new Date(T0 + i * 17 * 60_000),
      model: i % 2 ? "gpt-4o" : "claude",
      provider: i % 2 ? "openai" : "anthropic",
      endpoint: "/v1/chat/completions",
      status: i % 6 ? "success" : "error",
      costMicros: 1000 * i,
      totalTokens: 10 + i,
      estimated: false,
      latencyMs: 50 * i,
    }),
  );
  await insertUsageLines(store, lines);
}, 120_000);
afterAll(async () => {
  await store.close();
});

test("usage summary and series --json equal the service's answers", async () => {
  const analytics = createAnalyticsService({ store, now: () => new Date() });
  const summary = await runJson(["usage", "summary", "--json", "--start", START, "--end", END, "--group-by", "model"], {
    cwd,
    env,
  });
  expect(summary).toEqual(
    await analytics.summary({
      start: new Date(START),
      end: new Date(END),
      group_by: "model",
      order_by: "cost",
      limit: 100,
    }),
  );
  const series = await runJson(
    [
      "usage",
      "series",
      "--json",
      "--start",
      START,
      "--end",
      END,
      "--metric",
      "cost",
      "--group-by",
      "provider",
      "--top",
      "1",
    ],
    { cwd, env },
  );
  expect(series).toEqual(
    await analytics.series({
      start: new Date(START),
      end: new Date(END),
      bucket: "hour",
      metric: "cost",
      group_by: "provider",
      top: 1,
    }),
  );
  const overview = await runJson<{ window: { requests: number } }>(
    ["overview", "--json", "--start", START, "--end", END],
    { cwd, env },
  );
  expect(overview.window.requests).toBe(30);
});

test("usage lists by keyset pages; usage export streams CSV; bad flags exit 2", async () => {
  const first = await run(["usage", "--limit", "20"], { cwd, env });
  expect(first.code).toBe(0);
  const cursor = /--cursor (\S+)/.exec(first.stderr + first.stdout)?.[1];
  expect(cursor).toBeString();
  const rest = await runJson<{ id: string }[]>(["usage", "list", "--json", "--limit", "20", "--cursor", cursor!], {
    cwd,
    env,
  });
  expect(rest.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `row-${String(9 - i).padStart(2, "0")}`));
  const csv = await run(["usage", "export", "--status", "error"], { cwd, env });
  expect(csv.code).toBe(0);
  expect(csv.stdout.split("\r\n").filter((l) => l.startsWith("row-"))).toHaveLength(5);
  const bad = await run(["usage", "summary", "--group-by", "planet"], { cwd, env });
  expect(bad.code).toBe(1);
  expect((await run(["usage", "series", "--colour"], { cwd, env })).code).toBe(2);
});
