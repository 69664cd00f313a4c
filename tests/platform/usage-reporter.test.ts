/**
 * Usage reports (SPEC §10.3, §0, §13 item 66): quick tries with jittered backoff on 5xx/timeout/network only, a
 * retry queue that drains once the platform is back, a cap with a drop count, and a flush on shutdown. None is
 * lost silently.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { createPlatformClient, type UsageReport } from "../../src/services/platform/client";
import { createUsageReporter, type UsageReporter } from "../../src/services/platform/usage-reporter";
import { startPlatformMock } from "../helpers/platform-mock";

const platform = startPlatformMock();
afterAll(() => platform.stop());
beforeEach(() => platform.reset());

const client = createPlatformClient({
  baseUrl: platform.baseUrl,
  gatewayToken: "gw",
  resolveTimeoutMs: 500,
  usageTimeoutMs: 200,
  healthPath: "/utils/health-check/",
});
const report = (id: string): UsageReport => ({
  correlation_id: id,
  status: "success",
  usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
});
const reporters: UsageReporter[] = [];
const reporter = (over: Partial<Parameters<typeof createUsageReporter>[0]> = {}) => {
  const r = createUsageReporter({
    send: client.sendUsage,
    maxAttempts: 3,
    baseDelayMs: 20,
    retryIntervalMs: 50,
    maxRetryIntervalMs: 100,
    ...over,
  });
  reporters.push(r);
  return r;
};
afterAll(() => {
  for (const r of reporters) r.close();
});

async function until(probe: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}

describe("quick tries", () => {
  test("item 66: a 500 is retried and a 204 stops the retries", async () => {
    platform.queue("usage", { status: 500 }, { status: 204 });
    const r = reporter();
    r.report(report("a1"));
    await until(() => r.stats().sent === 1);
    await Bun.sleep(80);
    expect(platform.calls("usage").map((c) => c.body)).toEqual([report("a1"), report("a1")]);
    expect(r.stats()).toMatchObject({ sent: 1, queued: 0, inFlight: 0 });
  });

  for (const status of [401, 404, 409, 422, 400]) {
    test(`a ${status} is never retried`, async () => {
      platform.queue("usage", { status });
      const r = reporter();
      r.report(report("a1"));
      await until(() => r.stats().rejected === 1);
      await Bun.sleep(100);
      expect(platform.calls("usage")).toHaveLength(1);
      expect(r.stats()).toMatchObject({ sent: 0, queued: 0 });
    });
  }

  test("timeouts and network errors are retried; at most usage_max_retries tries in total, with growing jittered sleeps", async () => {
    platform.setDefault("usage", { status: 503 });
    platform.queue("usage", "hang", "drop");
    const r = reporter({ baseDelayMs: 100, retryIntervalMs: 60_000 });
    r.report(report("a1"));
    await until(() => r.stats().queued === 1, 5000);
    const at = platform.calls("usage").map((c) => c.at);
    expect(at).toHaveLength(3);
    // 1st try hangs for the 200 ms usage timeout, then ~100 ms (±20 %); the 2nd drops at once, then ~200 ms (±20 %).
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(200 + 80 - 5);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(160 - 5);
    expect(at[2]! - at[1]!).toBeLessThan(240 + 100);
  });

  test("jitter stays within ±20 % of 0.25 s, 0.5 s, 1 s", async () => {
    for (const random of [() => 0, () => 0.999]) {
      const sleeps: number[] = [];
      let last = 0;
      const r = createUsageReporter({
        send: async () => {
          const now = performance.now();
          if (last) sleeps.push(now - last);
          last = now;
          return "retry";
        },
        maxAttempts: 4,
        random,
        retryIntervalMs: 60_000,
      });
      reporters.push(r);
      r.report(report("j"));
      await until(() => r.stats().queued === 1, 5000);
      const factor = random() < 0.5 ? 0.8 : 1.2;
      [250, 500, 1000].forEach((ms, i) => {
        expect(sleeps[i]!).toBeGreaterThanOrEqual(ms * factor - 5);
        expect(sleeps[i]!).toBeLessThan(ms * factor + 60);
      });
    }
  }, 15_000);
});

describe("the retry queue", () => {
  test("a usage endpoint down for a while loses no report: it comes back and the queue drains", async () => {
    platform.setDefault("usage", { status: 502 });
    const r = reporter();
    for (let i = 0; i < 5; i++) r.report(report(`down-${i}`));
    await until(() => r.stats().queued === 5);
    expect(r.stats()).toMatchObject({ sent: 0, inFlight: 0 });
    await Bun.sleep(150); // still down: queue rounds fail and back off
    expect(r.stats().queued).toBe(5);
    platform.setDefault("usage", { status: 204 });
    await until(() => r.stats().sent === 5);
    expect(r.stats()).toMatchObject({ queued: 0, dropped: 0 });
    const delivered = platform
      .calls("usage")
      .filter((_, i, all) => i >= all.length - 5)
      .map((c) => (c.body as UsageReport).correlation_id);
    expect(delivered.sort()).toEqual(["down-0", "down-1", "down-2", "down-3", "down-4"]);
  });

  test("on shutdown the queue is flushed (reports in their quick tries included)", async () => {
    platform.setDefault("usage", { status: 500 });
    const r = reporter({ retryIntervalMs: 60_000, maxRetryIntervalMs: 60_000 });
    for (let i = 0; i < 40; i++) r.report(report(`q-${i}`));
    await until(() => r.stats().queued === 40);
    r.report(report("late")); // still in its quick tries when the flush starts
    platform.setDefault("usage", { status: 204 });
    await r.flush(5000);
    r.close();
    expect(r.stats()).toMatchObject({ sent: 41, queued: 0, inFlight: 0, abandoned: 0 });
    const ok = new Set(platform.calls("usage").map((c) => (c.body as UsageReport).correlation_id));
    expect(ok.size).toBe(41);
  });

  test("a flush that cannot deliver says how many were abandoned (no silent loss) and stops at its deadline", async () => {
    platform.setDefault("usage", { status: 500 });
    const r = reporter({ retryIntervalMs: 60_000 });
    r.report(report("x"));
    await until(() => r.stats().queued === 1);
    const started = performance.now();
    await r.flush(300);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(r.stats()).toMatchObject({ queued: 1, abandoned: 1 });
  });

  test("the queue is capped: the oldest reports are dropped and counted", async () => {
    const dropped: number[] = [];
    const r = createUsageReporter({
      send: async () => "retry",
      maxAttempts: 1,
      queueCap: 3,
      retryIntervalMs: 60_000,
      onDropped: (n) => dropped.push(n),
    });
    reporters.push(r);
    for (let i = 0; i < 5; i++) r.report(report(`c-${i}`));
    await until(() => r.stats().inFlight === 0);
    expect(r.stats()).toMatchObject({ queued: 3, dropped: 2 });
    expect(dropped.reduce((a, b) => a + b, 0)).toBe(2);
  });
});
