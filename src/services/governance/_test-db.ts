/**
 * Test helper (private to this folder): a fresh, migrated database per test file, on SQLite (a file in a temp dir)
 * or on the real Postgres (a dedicated `gw_test_<random>` database, dropped afterwards) so parallel files never
 * collide.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { openStore, type Store } from "../../db/client";
import { migrate } from "../../db/migrate";

export type Dialect = "sqlite" | "pg";
export const DIALECTS: Dialect[] = ["sqlite", "pg"];

const PG_ADMIN_URL = process.env.GW_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDb {
  readonly url: string;
  readonly dir: string;
  /** Another store on the same database (= another replica or the CLI). Closed by cleanup(). */
  open(): Store;
  cleanup(): Promise<void>;
}

export async function createTestDb(dialect: Dialect): Promise<TestDb> {
  const dir = mkdtempSync(join(tmpdir(), "gw-gov-"));
  const stores: Store[] = [];
  let url: string;
  let dbName: string | null = null;
  if (dialect === "sqlite") {
    url = `sqlite:///${join(dir, "test.db")}`;
  } else {
    dbName = `gw_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const admin = new SQL(PG_ADMIN_URL);
    await admin.unsafe(`CREATE DATABASE ${dbName}`);
    await admin.close();
    url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
  }
  const open = () => {
    // Small pools: other test files (and other engineers) share this Postgres and its max_connections.
    const store = openStore(url, { poolSize: 4, maxOverflow: 0, poolTimeoutSeconds: 30, poolRecycleSeconds: -1 });
    stores.push(store);
    return store;
  };
  await migrate(open());
  return {
    url,
    dir,
    open,
    cleanup: async () => {
      for (const s of stores) await s.close().catch(() => undefined);
      if (dbName) {
        const admin = new SQL(PG_ADMIN_URL);
        await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Inserts a budget and a user holding it; returns the user id. */
export async function seedUser(
  store: Store,
  opts: { userId?: string; maxBudgetMicros?: number | null; durationSec?: number | null; nextResetAt?: Date | null; spendMicros?: number } = {},
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
