/**
 * Opens the store for the configured dialect, once. Both dialects expose the same drizzle query API over tables
 * whose row types are proven equal (schema/check.ts), so repositories are written once against `Db` (typed with
 * the pg schema) and run unchanged on SQLite.
 */
import { Database } from "bun:sqlite";
import { drizzle as drizzleSqlite } from "drizzle-orm/bun-sqlite";
import { databaseUnavailable } from "../core/errors";
import * as sqliteSchema from "./schema/sqlite";
import { createCounter, type Db, type PoolOptions, type Store, type Tables } from "./store";
import { type DatabaseTarget, parseDatabaseUrl } from "./url";

export type { Db, PoolOptions, RawExec, RawScript, Store, Tables } from "./store";

/** Serialises async critical sections (SQLite has one connection, so its transactions must not interleave). */
function createMutex() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

function openSqlite(target: Extract<DatabaseTarget, { dialect: "sqlite" }>): Store {
  const client = new Database(target.path, { create: true, strict: true });
  const counter = createCounter();
  client.exec(
    "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;",
  );
  const db = drizzleSqlite({ client, logger: counter.logger }) as unknown as Db;
  const t = sqliteSchema as unknown as Tables;
  const lock = createMutex();
  const run = (statement: string, params: unknown[] = []) => {
    counter.inc();
    return client.query(statement).all(...(params as import("bun:sqlite").SQLQueryBindings[])) as unknown[];
  };
  return {
    dialect: "sqlite",
    display: target.display,
    db,
    t,
    statements: counter.read,
    tx: (fn) =>
      lock(async () => {
        client.exec("BEGIN IMMEDIATE");
        try {
          const result = await fn(db);
          client.exec("COMMIT");
          return result;
        } catch (err) {
          client.exec("ROLLBACK");
          throw err;
        }
      }),
    ping: async () => {
      try {
        client.query("SELECT 1").get();
      } catch (err) {
        throw databaseUnavailable(err);
      }
    },
    exec: async (statement) => {
      client.exec(statement);
    },
    query: async <R>(statement: string, params?: unknown[]) => run(statement, params) as R[],
    rawTx: (fn) =>
      lock(async () => {
        client.exec("BEGIN IMMEDIATE");
        try {
          await fn(
            async (s, p) => run(s, p),
            async (statements) => {
              for (const _ of statements) counter.inc();
              client.exec(statements.join(";\n"));
            },
          );
          client.exec("COMMIT");
        } catch (err) {
          client.exec("ROLLBACK");
          throw err;
        }
      }),
    close: async () => client.close(),
  };
}

export const DEFAULT_POOL: PoolOptions = {
  poolSize: 10,
  maxOverflow: 20,
  poolTimeoutSeconds: 30,
  poolRecycleSeconds: -1,
};

export function openStore(databaseUrl: string, pool: PoolOptions = DEFAULT_POOL): Store {
  const target = parseDatabaseUrl(databaseUrl);
  if (target.dialect === "sqlite") return openSqlite(target);
  // Bun's SQL client, and drizzle's driver over it, load Bun's Postgres, MySQL and SQLite client modules when
  // imported (~1 MB): required only for a Postgres store. `require` because opening a store is synchronous.
  return (require("./postgres") as typeof import("./postgres")).openPg(target, pool);
}
