/**
 * Test helper (private to this folder): the shared fresh-database helper (tests/helpers/db.ts) with a scratch
 * directory for journals, and a seeded user.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPgDatabase, createSqliteDatabase } from "../../../tests/helpers/db";
import type { Store } from "../../db/client";

export type Dialect = "sqlite" | "pg";
export const DIALECTS: Dialect[] = ["sqlite", "pg"];

export interface TestDb {
  readonly url: string;
  readonly dir: string;
  /** Another store on the same database (= another replica or the CLI). Closed by cleanup(). */
  open(): Store;
  cleanup(): Promise<void>;
}

export async function createTestDb(dialect: Dialect): Promise<TestDb> {
  const db = dialect === "sqlite" ? await createSqliteDatabase() : await createPgDatabase();
  const dir = mkdtempSync(join(tmpdir(), "gw-gov-"));
  return {
    url: db.url,
    dir,
    open: db.open,
    cleanup: async () => {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Inserts a budget and a user holding it; returns the user id. */
export async function seedUser(
  store: Store,
  opts: {
    userId?: string;
    maxBudgetMicros?: number | null;
    durationSec?: number | null;
    nextResetAt?: Date | null;
    spendMicros?: number;
  } = {},
): Promise<{ userId: string; budgetId: string }> {
  const now = new Date();
  const budgetId = crypto.randomUUID();
  const userId = opts.userId ?? `u-${crypto.randomUUID().slice(0, 8)}`;
  await store.db.insert(store.t.budgets).values({
    budgetId,
    maxBudgetMicros: opts.maxBudgetMicros ?? null,
    budgetDurationSec: opts.durationSec ?? null,
    createdAt: now,
    updatedAt: now,
  });
  await store.db.insert(store.t.users).values({
    userId,
    budgetId,
    spendMicros: opts.spendMicros ?? 0,
    budgetStartedAt: now,
    nextBudgetResetAt: opts.nextResetAt ?? null,
    createdAt: now,
    updatedAt: now,
  });
  return { userId, budgetId };
}

/** A fresh budget row; returns its id. */
export async function seedBudget(store: Store, maxBudgetMicros: number | null, durationSec: number | null = null) {
  const now = new Date();
  const budgetId = crypto.randomUUID();
  await store.db
    .insert(store.t.budgets)
    .values({ budgetId, maxBudgetMicros, budgetDurationSec: durationSec, createdAt: now, updatedAt: now });
  return budgetId;
}

export interface SeededLevels {
  keyId: string;
  userId: string;
  teamId: string;
  /** The end-user budget (for the end_user level's seed). */
  endUserBudgetId: string;
}

/** A team, a user in it and a key of that user, each with its own budget of the given cap (null = none). */
export async function seedLevels(
  store: Store,
  caps: { key: number | null; user: number | null; team: number | null; endUser: number | null },
): Promise<SeededLevels> {
  const now = new Date();
  const tag = crypto.randomUUID().slice(0, 8);
  const teamId = `t-${tag}`;
  const userId = `u-${tag}`;
  const keyId = `k-${tag}`;
  const budget = async (cap: number | null) => (cap === null ? null : seedBudget(store, cap));
  const endUserBudgetId = await seedBudget(store, caps.endUser);
  await store.db
    .insert(store.t.teams)
    .values({ teamId, budgetId: await budget(caps.team), budgetStartedAt: now, createdAt: now, updatedAt: now });
  await store.db.insert(store.t.users).values({
    userId,
    teamId,
    budgetId: await budget(caps.user),
    budgetStartedAt: now,
    endUserBudgetId,
    createdAt: now,
    updatedAt: now,
  });
  await store.db.insert(store.t.apiKeys).values({
    id: keyId,
    keyHash: `hash-${tag}`,
    keyPrefix: "gw-test",
    userId,
    budgetId: await budget(caps.key),
    budgetStartedAt: now,
    createdAt: now,
  });
  return { keyId, userId, teamId, endUserBudgetId };
}
