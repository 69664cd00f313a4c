import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { Store } from "../../db/client";
import { DIALECTS, type TestDb, createTestDb, seedUser } from "./_test-db";
import { createBatchHolds } from "./batch-holds";
import { ledgerSql } from "./budget-ledger-sql";

/** Batch holds on both dialects: atomic against the cap, settled once across replicas, and a hold that expired. */
describe.each(DIALECTS)("batch holds (%s)", (dialect) => {
  let db: TestDb;
  let a: Store;
  let b: Store;
  beforeAll(async () => {
    db = await createTestDb(dialect);
    a = db.open();
    b = db.open();
  });
  afterAll(() => db.cleanup());

  const userRow = async (userId: string) =>
    (await a.db.select().from(a.t.users).where(eq(a.t.users.userId, userId)))[0]!;
  const batchRow = (provider: string, batchId: string, reservationId: string | null, userId: string) =>
    a.db.insert(a.t.batches).values({
      provider,
      batchId,
      model: "m",
      userId,
      apiKeyId: null,
      requestCount: 1,
      estimateMicros: 0,
      reservationId,
      createdAt: new Date(),
    });
  const later = (ms: number) => new Date(Date.now() + ms);

  test("holds fit under the cap or are refused; one settlement of two replicas wins", async () => {
    const { userId } = await seedUser(a, { maxBudgetMicros: 1000 });
    // two replicas on Postgres; SQLite is one process, whose transactions its store serialises
    const holds = [createBatchHolds(a), createBatchHolds(dialect === "pg" ? b : a)];
    const base = { userId, capMicros: 1000, now: new Date(), expiresAt: later(60_000) };
    expect(await holds[0]!.hold({ ...base, holdId: "batch:h1", amountMicros: 600 })).toBe(true);
    expect(await holds[1]!.hold({ ...base, holdId: "batch:h2", amountMicros: 600 })).toBe(false);
    expect((await userRow(userId)).reservedMicros).toBe(600);
    await batchRow("openai", "b1", "batch:h1", userId);
    const settle = { provider: "openai", batchId: "b1", userId, costMicros: 250, now: new Date() };
    const won = await Promise.all([holds[0]!.settle(settle), holds[1]!.settle(settle)]);
    expect(won.filter(Boolean).length).toBe(1);
    const row = await userRow(userId);
    expect([row.reservedMicros, row.spendMicros]).toEqual([0, 250]);
  });

  test("an expired hold is given back by the sweep; settling afterwards books the cost only", async () => {
    const { userId } = await seedUser(a, { maxBudgetMicros: 1000 });
    const holds = createBatchHolds(a);
    const now = new Date();
    expect(
      await holds.hold({ holdId: "batch:h3", userId, amountMicros: 400, capMicros: 1000, now, expiresAt: later(50) }),
    ).toBe(true);
    await batchRow("openai", "b3", "batch:h3", userId);
    await ledgerSql(a).sweepExpired(later(1000));
    expect((await userRow(userId)).reservedMicros).toBe(0);
    expect(await holds.settle({ provider: "openai", batchId: "b3", userId, costMicros: 90, now: new Date() })).toBe(
      true,
    );
    const row = await userRow(userId);
    expect([row.reservedMicros, row.spendMicros]).toEqual([0, 90]);
  });

  test("release gives a hold back at once", async () => {
    const { userId } = await seedUser(a, { maxBudgetMicros: 1000 });
    const holds = createBatchHolds(a);
    const now = new Date();
    await holds.hold({ holdId: "batch:h4", userId, amountMicros: 300, capMicros: 1000, now, expiresAt: later(60_000) });
    await holds.release("batch:h4", userId);
    expect((await userRow(userId)).reservedMicros).toBe(0);
  });
});
