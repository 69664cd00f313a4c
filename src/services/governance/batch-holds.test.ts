import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { Store } from "../../db/client";
import { DIALECTS, type TestDb, createTestDb, seedLevels, seedUser } from "./_test-db";
import { createBatchHolds } from "./batch-holds";
import { ledgerSql } from "./budget-ledger-sql";

/**
 * Batch holds on both dialects: atomic against the cap, all levels or none, settled once across replicas on every
 * charged level, and a hold that expired.
 */
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
    const levels = [{ kind: "user" as const, id: userId, label: userId, capMicros: 1000 }];
    const base = { levels, now: new Date(), expiresAt: later(60_000) };
    expect(await holds[0]!.hold({ ...base, holdId: "batch:h1", amountMicros: 600 })).toBeNull();
    expect(await holds[1]!.hold({ ...base, holdId: "batch:h2", amountMicros: 600 })).toEqual(levels[0]!);
    expect((await userRow(userId)).reservedMicros).toBe(600);
    await batchRow("openai", "b1", "batch:h1", userId);
    const settle = {
      provider: "openai",
      batchId: "b1",
      charge: [{ kind: "user" as const, id: userId }],
      costMicros: 250,
      now: new Date(),
    };
    const won = await Promise.all([holds[0]!.settle(settle), holds[1]!.settle(settle)]);
    expect(won.filter(Boolean).length).toBe(1);
    const row = await userRow(userId);
    expect([row.reservedMicros, row.spendMicros]).toEqual([0, 250]);
  });

  test("an expired hold is given back by the sweep; settling afterwards books the cost only", async () => {
    const { userId } = await seedUser(a, { maxBudgetMicros: 1000 });
    const holds = createBatchHolds(a);
    const now = new Date();
    const levels = [{ kind: "user" as const, id: userId, label: userId, capMicros: 1000 }];
    expect(await holds.hold({ holdId: "batch:h3", levels, amountMicros: 400, now, expiresAt: later(50) })).toBeNull();
    await batchRow("openai", "b3", "batch:h3", userId);
    await ledgerSql(a).sweepExpired(later(1000));
    expect((await userRow(userId)).reservedMicros).toBe(0);
    const charge = [{ kind: "user" as const, id: userId }];
    expect(await holds.settle({ provider: "openai", batchId: "b3", charge, costMicros: 90, now: new Date() })).toBe(
      true,
    );
    const row = await userRow(userId);
    expect([row.reservedMicros, row.spendMicros]).toEqual([0, 90]);
  });

  test("release gives a hold back at once", async () => {
    const { userId } = await seedUser(a, { maxBudgetMicros: 1000 });
    const holds = createBatchHolds(a);
    const now = new Date();
    const levels = [{ kind: "user" as const, id: userId, label: userId, capMicros: 1000 }];
    await holds.hold({ holdId: "batch:h4", levels, amountMicros: 300, now, expiresAt: later(60_000) });
    await holds.release("batch:h4");
    expect((await userRow(userId)).reservedMicros).toBe(0);
  });

  test("every capped level holds, or none: a team over its cap refuses and the key and user get theirs back", async () => {
    const seeded = await seedLevels(a, { key: 1000, user: 1000, team: 500, endUser: null });
    const holds = createBatchHolds(a);
    const levels = [
      { kind: "key" as const, id: seeded.keyId, label: seeded.keyId, capMicros: 1000 },
      { kind: "user" as const, id: seeded.userId, label: seeded.userId, capMicros: 1000 },
      { kind: "team" as const, id: seeded.teamId, label: seeded.teamId, capMicros: 500 },
    ];
    const reserved = async () => [
      (await a.db.select().from(a.t.apiKeys).where(eq(a.t.apiKeys.id, seeded.keyId)))[0]!.reservedMicros,
      (await userRow(seeded.userId)).reservedMicros,
      (await a.db.select().from(a.t.teams).where(eq(a.t.teams.teamId, seeded.teamId)))[0]!.reservedMicros,
    ];
    const base = { levels, now: new Date(), expiresAt: later(60_000) };
    expect(await holds.hold({ ...base, holdId: "batch:h5", amountMicros: 600 })).toEqual(levels[2]!);
    expect(await reserved()).toEqual([0, 0, 0]);
    expect(await holds.hold({ ...base, holdId: "batch:h6", amountMicros: 400 })).toBeNull();
    expect(await reserved()).toEqual([400, 400, 400]);

    await batchRow("openai", "b6", "batch:h6", seeded.userId);
    const charge = levels.map(({ kind, id }) => ({ kind, id }));
    expect(await holds.settle({ provider: "openai", batchId: "b6", charge, costMicros: 120, now: new Date() })).toBe(
      true,
    );
    expect(await reserved()).toEqual([0, 0, 0]);
    const key = (await a.db.select().from(a.t.apiKeys).where(eq(a.t.apiKeys.id, seeded.keyId)))[0]!;
    const team = (await a.db.select().from(a.t.teams).where(eq(a.t.teams.teamId, seeded.teamId)))[0]!;
    expect([key.spendMicros, (await userRow(seeded.userId)).spendMicros, team.spendMicros]).toEqual([120, 120, 120]);
  });
});
