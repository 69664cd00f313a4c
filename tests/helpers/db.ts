/**
 * Stores for tests: every store suite runs on SQLite and on the real Postgres (127.0.0.1:5432, or
 * GATEWAY_TEST_PG_URL). Each call gets a fresh database, so test files never collide when run in parallel.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { openStore, type Store } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";

export const PG_ADMIN_URL = process.env.GATEWAY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  dialect: "sqlite" | "pg";
  url: string;
  store: Store;
  /** Opens another store on the same database (a second replica, or the CLI). */
  open(): Store;
  drop(): Promise<void>;
}

let counter = 0;

/** Small pools: test files run in parallel against one Postgres and share its max_connections. */
const TEST_POOL = { poolSize: 4, maxOverflow: 0, poolTimeoutSeconds: 30, poolRecycleSeconds: -1 };

/** A migrated store on `url`, plus more stores on the same database on demand; `cleanup` runs after they close. */
async function testDatabase(
  dialect: TestDatabase["dialect"],
  url: string,
  cleanup: () => Promise<void> | void,
): Promise<TestDatabase> {
  const store = openStore(url, TEST_POOL);
  await migrate(store);
  const opened: Store[] = [store];
  return {
    dialect,
    url,
    store,
    open: () => {
      const s = openStore(url, TEST_POOL);
      opened.push(s);
      return s;
    },
    drop: async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      await cleanup();
    },
  };
}

export async function createSqliteDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "gw-test-"));
  return testDatabase("sqlite", `sqlite:///${join(dir, "gw.db")}`, () => rmSync(dir, { recursive: true, force: true }));
}

export async function createPgDatabase(): Promise<TestDatabase> {
  const name = `gw_test_${process.pid}_${Date.now()}_${counter++}`;
  const admin = new SQL(PG_ADMIN_URL);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.close();
  return testDatabase("pg", PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`), async () => {
    const a = new SQL(PG_ADMIN_URL);
    await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await a.close();
  });
}

/** Both dialects, for `describe.each`. */
export const DIALECTS = [
  { dialect: "sqlite" as const, create: createSqliteDatabase },
  { dialect: "pg" as const, create: createPgDatabase },
];
