/**
 * `max_concurrent`: in-flight counting in memory (SQLite) and as slot leases shared by replicas (Postgres), a killed
 * replica's slots coming back once its leases expire, and the limiter's all-or-none admission naming the limit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GatewayError } from "../../core/errors";
import type { Store } from "../../db/client";
import { createTestDb, DIALECTS, type TestDb } from "./_test-db";
import { type ConcurrencySlots, createConcurrencySlots } from "./concurrency";
import { createRateLimiter, type RateLimiter, type RateScope } from "./rate-limiter";

const take = async (s: ConcurrencySlots, subject: string, limit: number) => await s.take("key", subject, limit);

async function refusal(run: () => unknown): Promise<GatewayError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error("expected a 429");
}

for (const dialect of DIALECTS) {
  describe(`concurrency limits (${dialect})`, () => {
    let tdb: TestDb;
    let store: Store;
    const closers: (() => Promise<void>)[] = [];
    const slotsOn = (s: Store, extra: Partial<Parameters<typeof createConcurrencySlots>[0]> = {}) => {
      const slots = createConcurrencySlots({ store: s, ...extra });
      closers.push(() => slots.close());
      return slots;
    };
    const limiterOn = (s: Store) => {
      const l: RateLimiter = createRateLimiter({ store: s });
      closers.push(() => l.close());
      return l;
    };
    beforeAll(async () => {
      tdb = await createTestDb(dialect);
      store = tdb.open();
    });
    afterAll(async () => {
      for (const close of closers) await close().catch(() => undefined);
      await tdb.cleanup();
    });

    test("a limit of 2: the third in flight is refused until one ends", async () => {
      const slots = slotsOn(store);
      expect(await take(slots, "two", 2)).toBe(true);
      expect(await take(slots, "two", 2)).toBe(true);
      expect(await take(slots, "two", 2)).toBe(false);
      slots.release("key", "two");
      expect(await take(slots, "two", 2)).toBe(true);
      expect(await take(slots, "other", 2)).toBe(true); // counters are per subject
    });

    test("the limiter admits all scopes or none: a concurrency refusal names its limit and costs no request", async () => {
      const limiter = limiterOn(store);
      const scopes: RateScope[] = [
        { scope: "key", subject: "k-all", rpm: 100, tpm: null, maxConcurrent: null },
        { scope: "rule:r1", subject: "u-all", rpm: null, tpm: null, maxConcurrent: 1, level: "user", rule: "r1" },
      ];
      const first = await limiter.admit(scopes);
      expect(first.headers["X-RateLimit-Remaining"]).toBe("99");
      const err = await refusal(() => limiter.admit(scopes));
      expect(err.status).toBe(429);
      expect(err.code).toBe("concurrency_limit_exceeded");
      expect(err.headers).toMatchObject({
        "Retry-After": "1",
        "X-RateLimit-Scope": "user",
        "X-RateLimit-Scope-Id": "u-all",
        "X-RateLimit-Rule": "r1",
        "X-RateLimit-Limit-Type": "concurrency",
      });
      first.release(0);
      first.release(0); // once
      const second = await limiter.admit(scopes);
      // The refused request was not counted against the key's RPM.
      expect(second.headers["X-RateLimit-Remaining"]).toBe("98");
      second.release(0);
      const rpm = await refusal(async () => {
        for (let i = 0; i < 200; i++) (await limiter.admit([scopes[0] as RateScope])).release(0);
      });
      expect(rpm.headers).toMatchObject({ "X-RateLimit-Scope": "key", "X-RateLimit-Limit-Type": "requests" });
      expect(rpm.headers["X-RateLimit-Rule"]).toBeUndefined();
    });

    if (dialect === "pg") {
      test("3 replicas share one counter: never more in flight than the limit, all of it usable", async () => {
        const replicas = [slotsOn(tdb.open()), slotsOn(tdb.open()), slotsOn(tdb.open())];
        const limit = 6;
        let inflight = 0;
        let peak = 0;
        let served = 0;
        let refused = 0;
        await Promise.all(
          Array.from({ length: 120 }, async (_, i) => {
            await Bun.sleep(Math.random() * 200);
            const slots = replicas[i % 3] as ConcurrencySlots;
            if (!(await take(slots, "shared", limit))) {
              refused++;
              return;
            }
            inflight++;
            peak = Math.max(peak, inflight);
            served++;
            await Bun.sleep(20 + Math.random() * 30);
            inflight--;
            slots.release("key", "shared");
          }),
        );
        expect(peak).toBeLessThanOrEqual(limit);
        expect(served).toBeGreaterThanOrEqual(limit);
        const [row] = await store.query<{ held: unknown }>(
          "SELECT held FROM concurrency_counters WHERE scope = 'key' AND subject = 'shared'",
        );
        expect(Number(row?.held)).toBeLessThanOrEqual(limit);
        console.log(
          `[concurrency pg] limit ${limit} on 3 replicas: ${served} served, ${refused} refused, peak ${peak}`,
        );
      });

      test("a killed replica's slots come back once its leases expire (TTL 2 s here; 15 s by default)", async () => {
        const ttl = { leaseTtlMs: 2_000, renewMs: 500, syncMs: 100, idleMs: 200 };
        // The "killed" replica: it took slots and then never renews nor gives anything back.
        const killed = createConcurrencySlots({ store: tdb.open(), ...ttl, syncMs: 3_600_000, renewMs: 3_600_000 });
        const b = slotsOn(tdb.open(), ttl);
        const c = slotsOn(tdb.open(), ttl);
        for (let i = 0; i < 3; i++) expect(await take(killed, "victim", 3)).toBe(true);
        const killedAt = Date.now();
        expect(await take(b, "victim", 3)).toBe(false);
        expect(await take(c, "victim", 3)).toBe(false);
        // Live replicas keep asking; the first take after the expiry reclaims the dead lease.
        let back = 0;
        while (Date.now() - killedAt < 12_000) {
          await Bun.sleep(100);
          if (await take(b, "victim", 3)) {
            back = Date.now() - killedAt;
            break;
          }
        }
        expect(back).toBeGreaterThanOrEqual(1_500);
        expect(back).toBeLessThan(2_000 + 4_000);
        expect(await take(c, "victim", 3)).toBe(true);
        expect(await take(c, "victim", 3)).toBe(true);
        expect(await take(b, "victim", 3)).toBe(false);
        console.log(`[concurrency pg] killed replica's 3 slots back after ${back} ms (lease TTL 2000 ms)`);
      });

      test("idle slots go back to the shared counter, so another replica can use them", async () => {
        const a = slotsOn(tdb.open(), { syncMs: 50, idleMs: 100 });
        const b = slotsOn(tdb.open(), { syncMs: 50, idleMs: 100 });
        expect(await take(a, "idle", 1)).toBe(true);
        a.release("key", "idle");
        expect(await take(b, "idle", 1)).toBe(false);
        await Bun.sleep(600);
        expect(await take(b, "idle", 1)).toBe(true);
      });
    }
  });
}
