/**
 * The store contract both dialects implement (client.ts opens SQLite, postgres.ts Postgres): repositories are
 * written once against `Db`, typed with the pg schema, and run unchanged on SQLite (schema/check.ts proves the row
 * types equal).
 */
import type { drizzle as drizzlePg } from "drizzle-orm/bun-sql";
import type * as pgSchema from "./schema/pg";

export type Tables = typeof pgSchema;
/** Without drizzle's relational query API (`db.query`), which nothing uses: building it walks every table at start. */
export type Db = ReturnType<typeof drizzlePg>;

/** Runs one raw statement inside a transaction (Store.rawTx hands one to its callback). */
export type RawExec = (statement: string, params?: unknown[]) => Promise<unknown[]>;

/**
 * Runs statements in order inside the same transaction, without results (a migration's DDL): SQLite takes them in
 * one call instead of preparing each, Postgres one after the other.
 */
export type RawScript = (statements: string[]) => Promise<void>;

export interface PoolOptions {
  poolSize: number;
  maxOverflow: number;
  poolTimeoutSeconds: number;
  poolRecycleSeconds: number;
}

export interface Store {
  readonly dialect: "sqlite" | "pg";
  readonly display: string;
  readonly db: Db;
  readonly t: Tables;
  /** Runs `fn` in one transaction: BEGIN IMMEDIATE on SQLite (serialised in-process), a pooled tx on Postgres. */
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** `SELECT 1`, bounded by `timeoutMs`; throws a 503 GatewayError when the database does not answer. */
  ping(timeoutMs?: number): Promise<void>;
  /** Raw SQL for migrations and one-off statements (not on the request path). */
  exec(statement: string): Promise<void>;
  query<R>(statement: string, params?: unknown[]): Promise<R[]>;
  /** Statements sent to the database by this process so far (drizzle and raw), for the statements-per-request figure. */
  statements(): number;
  /** Serialised multi-statement transaction over raw SQL (migrations, locks). */
  rawTx(fn: (exec: RawExec, script: RawScript) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/** Counts statements: drizzle reports each query to its logger; raw paths count themselves. */
export function createCounter() {
  let n = 0;
  return { logger: { logQuery: () => void n++ }, inc: () => void n++, read: () => n };
}
