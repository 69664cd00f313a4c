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
