import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GatewayError } from "../../core/errors";
import type { Store } from "../../db/client";
import { createTestDb, DIALECTS, type TestDb } from "./_test-db";
import { createRateLimiter, type RateLimiter, type RateScope, secondsUntil } from "./rate-limiter";

/** The refusal of a check, thrown at once (in-memory counters) or rejected (shared counters). */
async function refusal(check: () => unknown): Promise<GatewayError> {
  try {
    await check();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error("expected a 429");
}

const userScope = (subject: string, rpm: number | null, tpm: number | null = null): RateScope => ({
  scope: "user",
  subject,
  rpm,
  tpm,
});

test("secondsUntil: full current minute waits into the next one; a heavy previous minute decays", () => {
  // 3 requests this minute, limit 3, 10 s in: next minute the previous 3 must decay to 2 -> 20 s into it.
  expect(secondsUntil(0, 3, 2, 10_000)).toBeCloseTo(70, 5);
  // 3 in the previous minute, 0 now, 10 s in: 3 × (1 − f) <= 2 -> f >= 1/3 -> 10 s more.
  expect(secondsUntil(3, 0, 2, 10_000)).toBeCloseTo(10, 5);
  expect(secondsUntil(1, 0, 2, 0)).toBe(0);
});

for (const dialect of DIALECTS) {
  describe(`rate limiter (${dialect === "pg" ? "Postgres, shared" : "SQLite, in memory"})`, () => {
    let tdb: TestDb;
    let store: Store;
    const limiters: RateLimiter[] = [];
    const make = (s: Store, clock?: () => number) => {
      const l = createRateLimiter({ store: s, clock, syncMs: 50 });
      limiters.push(l);
      return l;
    };
    beforeAll(async () => {
      tdb = await createTestDb(dialect);
      store = tdb.open();
    });
    afterAll(async () => {
      for (const l of limiters) await l.close().catch(() => undefined);
      await tdb.cleanup();
    });

    test("RPM 3: headers on success, the 4th is refused with Retry-After", async () => {
      // Pin the clock 10 s into a minute so the test never straddles a boundary.
      const t0 = Math.floor(Date.now() / 60_000) * 60_000 + 10_000;
      const hits: number[] = [];
      const l = createRateLimiter({ store, clock: () => t0, metrics: { rateLimitHit: () => hits.push(1) } });
      limiters.push(l);
      const s = [userScope("rpm3", 3)];
      const first = await l.check(s);
      expect(first["X-RateLimit-Limit"]).toBe("3");
      expect(first["X-RateLimit-Remaining"]).toBe("2");
      expect(Number(first["X-RateLimit-Reset"])).toBeGreaterThan(1e9);
      await l.check(s);
      expect((await l.check(s))["X-RateLimit-Remaining"]).toBe("0");
      const err = await refusal(() => l.check(s));
      expect(err.status).toBe(429);
      expect(err.message).toBe("Rate limit exceeded");
      expect(err.code).toBe("rate_limit_exceeded");
      expect(Number(err.headers["Retry-After"])).toBe(70);
      expect(hits.length).toBe(1);
    });

    test("sliding window: the previous minute counts by the part still inside the window", async () => {
      const m = Math.floor(Date.now() / 60_000) * 60_000;
      let now = m - 50_000;
      const l = make(store, () => now);
      const s = [userScope("slide", 3)];
      for (let i = 0; i < 3; i++) await l.check(s);
      now = m + 10_000; // 3 × 5/6 = 2.5 still in the window
      expect(Number((await refusal(() => l.check(s))).headers["Retry-After"])).toBe(10);
      now = m + 20_000;
      await l.check(s);
    });

    test("a refusal by one scope costs the other scope nothing; headers follow the tightest scope", async () => {
      const t0 = Math.floor(Date.now() / 60_000) * 60_000 + 5_000;
      const l = make(store, () => t0);
      const key: RateScope = { scope: "key", subject: "k-tight", rpm: 10, tpm: null };
      const user = userScope("u-tight", 2);
      const h = await l.check([key, user]);
      expect(h).toMatchObject({ "X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1" });
      await l.check([key, user]);
      await refusal(() => l.check([key, user]));
      expect((await l.check([key]))["X-RateLimit-Remaining"]).toBe("7");
    });

    test("TPM: refused once the window's tokens reach the limit", async () => {
      const l = make(store);
      const s = [userScope("tpm", null, 100)];
      const h = await l.check(s);
      expect(h).toMatchObject({ "X-RateLimit-Limit-Tokens": "100", "X-RateLimit-Remaining-Tokens": "100" });
      l.recordTokens(s, 60);
      await Bun.sleep(120);
      await l.check(s);
      l.recordTokens(s, 40);
      await Bun.sleep(120);
      const err = await refusal(() => l.check(s));
      expect(Number(err.headers["Retry-After"])).toBeGreaterThanOrEqual(1);
    });

    if (dialect === "pg") {
      test("two replicas share one counter: RPM 3 across both, TPM seen by the other within a second", async () => {
        const a = make(tdb.open());
        const b = make(tdb.open());
        const s = [userScope("shared", 3, 1000)];
        const t = Date.now() % 60_000;
        if (t > 55_000) await Bun.sleep(60_000 - t + 100); // stay inside one minute
        await a.check(s);
        await b.check(s);
        await a.check(s);
        await refusal(() => b.check(s));
        await refusal(() => a.check(s));
        const tok = [userScope("shared-tok", null, 500)];
        await b.check(tok);
        a.recordTokens(tok, 500);
        await Bun.sleep(1000);
        await refusal(() => b.check(tok));
      });

      test("100 concurrent checks on two replicas admit exactly the limit", async () => {
        const a = make(tdb.open());
        const b = make(tdb.open());
        const s = [userScope("burst", 40)];
        const t = Date.now() % 60_000;
        if (t > 50_000) await Bun.sleep(60_000 - t + 100);
        const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).check(s)));
        expect(results.filter((r) => r.status === "fulfilled").length).toBeLessThanOrEqual(40);
        expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(38);
      });

      test("the sweep deletes old windows", async () => {
        const l = make(store);
        const old = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
        await store.query(
          "INSERT INTO rate_limit_counters (scope, subject, window_start, requests, tokens) VALUES ('user', 'old', $1, 1, 0)",
          [old],
        );
        expect(await l.sweep()).toBeGreaterThanOrEqual(1);
        expect((await store.query("SELECT 1 FROM rate_limit_counters WHERE subject = 'old'")).length).toBe(0);
      });
    }
  });
}
