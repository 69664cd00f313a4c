import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GatewayError } from "../../core/errors";
import type { Store } from "../../db/client";
import { createTestDb, DIALECTS, seedUser, type TestDb } from "./_test-db";
import { type BudgetLedger, createBudgetLedger, type Reservation } from "./budget-ledger";

async function userRow(store: Store, userId: string) {
  const [row] = await store.query<{ s: unknown; r: unknown; n: unknown }>(
    `SELECT spend_micros AS s, reserved_micros AS r, next_budget_reset_at AS n FROM users WHERE user_id = ${store.dialect === "pg" ? "$1" : "?"}`,
    [userId],
  );
  return {
    spend: Number(row?.s),
    reserved: Number(row?.r),
    next: row?.n instanceof Date ? row.n.getTime() : Number(row?.n),
  };
}

async function tryReserve(
  ledger: BudgetLedger,
  userId: string,
  est: number,
  max: number,
): Promise<Reservation | "refused"> {
  try {
    return (await ledger.reserve({ userId, estimateMicros: est, maxBudgetMicros: max, free: false })) as Reservation;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(403);
    expect((err as GatewayError).message).toBe(`User '${userId}' has exceeded budget limit`);
    return "refused";
  }
}

for (const dialect of DIALECTS) {
  describe(`budget ledger (${dialect})`, () => {
    let tdb: TestDb;
    let store: Store;
    const ledgers: BudgetLedger[] = [];
    const make = (s: Store, extra: Partial<Parameters<typeof createBudgetLedger>[0]> = {}) => {
      const l = createBudgetLedger({ store: s, reservationTtlSeconds: 900, strategy: "for_update", ...extra });
      ledgers.push(l);
      return l;
    };
    // Another replica: its own pool on Postgres. On SQLite a second connection in the same JS thread would block
    // the thread on the first one's open transaction (busy_timeout sleeps synchronously), so replicas share the
    // store there; they still hold independent leases. (One serving process per SQLite file is the deployment rule.)
    const replica = () => (dialect === "pg" ? tdb.open() : store);
    beforeAll(async () => {
      tdb = await createTestDb(dialect);
      store = tdb.open();
    });
    afterAll(async () => {
      for (const l of ledgers) await l.close().catch(() => undefined);
      await tdb.cleanup();
    });

    test("50 concurrent reserves against a small budget never overshoot", async () => {
      const max = 1000;
      const { userId } = await seedUser(store, { maxBudgetMicros: max });
      const ledger = make(store);
      const results = await Promise.all(Array.from({ length: 50 }, () => tryReserve(ledger, userId, 100, max)));
      const ok = results.filter((r): r is Reservation => r !== "refused");
      expect(ok.length).toBe(10);
      for (const r of ok) ledger.settle(r, { userId, actualMicros: 100 });
      await ledger.flush();
      await ledger.close();
      expect(await userRow(store, userId)).toMatchObject({ spend: 1000, reserved: 0 });
    });

    test("two replicas, 200 concurrent reserves with random holds and actuals <= estimate, never overshoot", async () => {
      const max = 5000;
      const { userId } = await seedUser(store, { maxBudgetMicros: max });
      const a = make(replica());
      const b = make(replica());
      let granted = 0;
      let charged = 0;
      await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const ledger = i % 2 ? a : b;
          const r = await tryReserve(ledger, userId, 100, max);
          if (r === "refused") return;
          granted++;
          await Bun.sleep(Math.random() * 20);
          const actual = 50 + Math.floor(Math.random() * 51);
          charged += actual;
          ledger.settle(r, { userId, actualMicros: actual });
        }),
      );
      await a.close();
      await b.close();
      const row = await userRow(store, userId);
      expect(row.spend).toBe(charged);
      expect(row.spend).toBeLessThanOrEqual(max);
      expect(row.reserved).toBe(0);
      expect(granted).toBeGreaterThanOrEqual(40); // refused only when the budget was really used up
      console.log(`[ledger ${dialect}] two replicas: ${granted}/200 granted, spend ${row.spend}/${max}`);
    });

    test("release on failure charges nothing and frees the budget", async () => {
      const { userId } = await seedUser(store, { maxBudgetMicros: 300 });
      const ledger = make(store);
      const r = await tryReserve(ledger, userId, 300, 300);
      expect(r).not.toBe("refused");
      expect(await tryReserve(ledger, userId, 1, 300)).toBe("refused");
      ledger.release(r as Reservation);
      const again = await tryReserve(ledger, userId, 300, 300);
      expect(again).not.toBe("refused");
      ledger.release(again as Reservation);
      await ledger.close();
      expect(await userRow(store, userId)).toMatchObject({ spend: 0, reserved: 0 });
    });

    test("settle at actual, exactly once; spend exact locally before the write-back", async () => {
      const { userId } = await seedUser(store, { maxBudgetMicros: 10_000 });
      const ledger = make(store, { flushMs: 60_000 });
      const r = (await ledger.reserve({
        userId,
        estimateMicros: 500,
        maxBudgetMicros: 10_000,
        free: false,
      })) as Reservation;
      ledger.settle(r, { userId, actualMicros: 120 });
      ledger.settle(r, { userId, actualMicros: 120 });
      expect((await ledger.usage(userId))?.spendMicros).toBe(120);
      await ledger.flush();
      expect((await userRow(store, userId)).spend).toBe(120);
      // The actual cost is added even when it exceeds the estimate.
      const r2 = (await ledger.reserve({
        userId,
        estimateMicros: 10,
        maxBudgetMicros: 10_000,
        free: false,
      })) as Reservation;
      ledger.settle(r2, { userId, actualMicros: 400 });
      await ledger.close();
      expect(await userRow(store, userId)).toMatchObject({ spend: 520, reserved: 0 });
    });

    test("no budget, free model, disabled strategy: no reservation; max_budget 0 refuses even an unpriced call", async () => {
      const { userId } = await seedUser(store, { maxBudgetMicros: 0 });
      const ledger = make(store);
      expect(await ledger.reserve({ userId, estimateMicros: 5, maxBudgetMicros: null, free: false })).toBeNull();
      expect(await ledger.reserve({ userId, estimateMicros: 5, maxBudgetMicros: 0, free: true })).toBeNull();
      expect(await tryReserve(ledger, userId, 0, 0)).toBe("refused");
      const disabled = make(store, { strategy: "disabled" });
      expect(await disabled.reserve({ userId, estimateMicros: 5, maxBudgetMicros: 0, free: false })).toBeNull();
      disabled.settle(null, { userId, actualMicros: 7 });
      await disabled.flush();
      expect((await userRow(store, userId)).spend).toBe(7);
    });

    test("a change made by another process binds once the lease lapses", async () => {
      const { userId } = await seedUser(store, { maxBudgetMicros: 100_000 });
      const ledger = make(store, { leaseMs: 200 });
      ledger.release(
        (await ledger.reserve({ userId, estimateMicros: 10, maxBudgetMicros: 100_000, free: false })) as Reservation,
      );
      // "The CLI" spends the whole budget behind this process's back.
      await store.query(`UPDATE users SET spend_micros = 100000 WHERE user_id = ${dialect === "pg" ? "$1" : "?"}`, [
        userId,
      ]);
      await Bun.sleep(300);
      expect(await tryReserve(ledger, userId, 10, 100_000)).toBe("refused");
    });

    test("stale sweep releases what a killed process held", async () => {
      const { userId } = await seedUser(store, { maxBudgetMicros: 1000 });
      // A process whose clock is two hours behind stands in for one killed long ago: its lease has expired.
      const dead = createBudgetLedger({
        store: replica(),
        reservationTtlSeconds: 900,
        strategy: "for_update",
        clock: () => Date.now() - 7_200_000,
        flushMs: 3_600_000,
      });
      expect(await tryReserve(dead, userId, 400, 1000)).not.toBe("refused");
      expect((await userRow(store, userId)).reserved).toBeGreaterThanOrEqual(400);
      const released: number[] = [];
      const live = make(store, { metrics: { reservationsReleased: (n) => released.push(n) } });
      const out = await live.sweep();
      expect(out.released).toBe(1);
      expect(released).toEqual([1]);
      expect(await userRow(store, userId)).toMatchObject({ reserved: 0, spend: 0 });
      expect(await tryReserve(live, userId, 1000, 1000)).not.toBe("refused");
      await dead.close();
      expect((await userRow(store, userId)).reserved).toBeGreaterThanOrEqual(1000);
    });

    test("an anchored reset is applied once (one reset-log row) by concurrent replicas, lazily and by the sweep", async () => {
      const now = Date.now();
      const oldNext = now - 150_000;
      const { userId } = await seedUser(store, {
        maxBudgetMicros: 1000,
        durationSec: 60,
        nextResetAt: new Date(oldNext),
        spendMicros: 1000,
      });
      const a = make(replica());
      const b = make(replica());
      const input = { userId, estimateMicros: 10, maxBudgetMicros: 1000, free: false, nextResetAt: new Date(oldNext) };
      const rs = await Promise.all([a.reserve(input), b.reserve(input), a.reserve(input), b.reserve(input)]);
      expect(rs.every((r) => r !== null)).toBe(true);
      const logs = await store.query<{ p: unknown; n: unknown }>(
        `SELECT previous_spend_micros AS p, next_reset_at AS n FROM budget_reset_logs WHERE user_id = ${dialect === "pg" ? "$1" : "?"}`,
        [userId],
      );
      expect(logs.length).toBe(1);
      expect(Number(logs[0]?.p)).toBe(1000);
      const row = await userRow(store, userId);
      expect(row.spend).toBe(0);
      expect(row.next).toBe(oldNext + 180_000);
      // The sweep resets users nobody is using.
      const idle = await seedUser(store, {
        maxBudgetMicros: 1000,
        durationSec: 60,
        nextResetAt: new Date(now - 1000),
        spendMicros: 700,
      });
      const swept = await a.sweep();
      expect(swept.resets).toBeGreaterThanOrEqual(1);
      expect(await userRow(store, idle.userId)).toMatchObject({ spend: 0, next: now - 1000 + 60_000 });
      expect((await b.sweep()).resets).toBe(0);
    });
  });
}

describe("budget ledger (pg): a refusal during this process's own write-back", () => {
  test("a lease refused while the stale lease it replaces is being written back waits for the write-back and asks again", async () => {
    const tdb = await createTestDb("pg");
    try {
      const store = tdb.open();
      // The next statement issued while `gate` is set waits for it: here, the write-back's.
      let gate: Promise<void> | null = null;
      const gated: Store = {
        ...store,
        query: (q, p) => {
          const held = gate;
          gate = null;
          return held ? held.then(() => store.query(q, p)) : store.query(q, p);
        },
      };
      const max = 1000;
      const { userId } = await seedUser(store, { maxBudgetMicros: max });
      const ledger = createBudgetLedger({
        store: gated,
        reservationTtlSeconds: 900,
        strategy: "for_update",
        leaseMs: 20,
        flushMs: 60_000,
      });
      const first = await tryReserve(ledger, userId, max, max);
      expect(first).not.toBe("refused");
      ledger.release(first as Reservation);
      await Bun.sleep(40); // the lease is stale now: the next write-back gives it back
      let open = () => {};
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const writeBack = ledger.flush();
      await Bun.sleep(20); // the write-back has taken the stale lease and waits at the gate
      const second = tryReserve(ledger, userId, max, max); // the database still counts the old lease as reserved
      setTimeout(() => open(), 50);
      const granted = await second;
      expect(granted).not.toBe("refused");
      await writeBack;
      ledger.release(granted as Reservation);
      await ledger.close();
      expect(await userRow(store, userId)).toMatchObject({ spend: 0, reserved: 0 });
    } finally {
      await tdb.cleanup();
    }
  });
});

describe("statements per request (Postgres, printed)", () => {
  test("reserve + settle through two replicas", async () => {
    const tdb = await createTestDb("pg");
    try {
      const counted = (s: Store) => {
        let n = 0;
        const proxy: Store = {
          ...s,
          query: (q, p) => {
            n++;
            return s.query(q, p);
          },
          rawTx: (fn) => {
            n++;
            return s.rawTx(fn);
          },
          tx: (fn) => {
            n++;
            return s.tx(fn);
          },
        };
        return { proxy, count: () => n };
      };
      const seedStore = tdb.open();
      const { userId } = await seedUser(seedStore, { maxBudgetMicros: 1_000_000_000 });
      const a = counted(tdb.open());
      const b = counted(tdb.open());
      const la = createBudgetLedger({ store: a.proxy, reservationTtlSeconds: 900, strategy: "for_update" });
      const lb = createBudgetLedger({ store: b.proxy, reservationTtlSeconds: 900, strategy: "for_update" });
      const n = 4000;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 50 }, async (_, w) => {
          for (let i = w; i < n; i += 50) {
            const l = i % 2 ? la : lb;
            const r = await l.reserve({ userId, estimateMicros: 1000, maxBudgetMicros: 1_000_000_000, free: false });
            l.settle(r, { userId, actualMicros: 900 });
          }
        }),
      );
      await la.close();
      await lb.close();
      const seconds = (performance.now() - started) / 1000;
      const statements = a.count() + b.count();
      const [row] = await seedStore.query<{ s: unknown; r: unknown }>(
        "SELECT spend_micros AS s, reserved_micros AS r FROM users WHERE user_id = $1",
        [userId],
      );
      expect(Number(row?.s)).toBe(n * 900);
      expect(Number(row?.r)).toBe(0);
      console.log(
        `[ledger pg] ${n} reserve+settle on 2 replicas in ${seconds.toFixed(2)} s: ${statements} statements = ${(statements / n).toFixed(3)} per request`,
      );
    } finally {
      await tdb.cleanup();
    }
  });
});
