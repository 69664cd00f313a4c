/** The Postgres store (Bun's SQL client under drizzle); client.ts requires this module only for a Postgres URL. */
import { SQL } from "bun";
import { drizzle as drizzlePg } from "drizzle-orm/bun-sql";
import { databaseUnavailable } from "../core/errors";
import { createCounter, type Db, type PoolOptions, type Store } from "./store";
import * as pgSchema from "./schema/pg";
import type { DatabaseTarget } from "./url";

export function openPg(target: Extract<DatabaseTarget, { dialect: "pg" }>, pool: PoolOptions): Store {
  const client = new SQL({
    url: target.url,
    max: pool.poolSize + pool.maxOverflow,
    connectionTimeout: pool.poolTimeoutSeconds,
    idleTimeout: 60,
    maxLifetime: Math.max(pool.poolRecycleSeconds, 0),
    // Postgres NOTICEs (e.g. "schema already exists") are not errors.
    onnotice: () => undefined,
    // No JIT compilation: the gateway's statements run in milliseconds, and compiling one whose estimate passes
    // jit_above_cost (an analytics read over ten million rows) takes tens to hundreds of ms (docs/benchmark.md).
    connection: { jit: "off" },
  } as ConstructorParameters<typeof SQL>[0]);
  const counter = createCounter();
  const db = drizzlePg({ client, logger: counter.logger });
  return {
    dialect: "pg",
    display: target.display,
    db,
    t: pgSchema,
    statements: counter.read,
    tx: (fn) => db.transaction((tx) => fn(tx as unknown as Db)),
    ping: async (timeoutMs = 2000) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          client`SELECT 1`,
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error("database ping timed out")), timeoutMs);
          }),
        ]);
      } catch (err) {
        throw databaseUnavailable(err);
      } finally {
        clearTimeout(timer);
      }
    },
    exec: async (statement) => {
      counter.inc();
      await client.unsafe(statement);
    },
    query: async <R>(statement: string, params: unknown[] = []) => {
      counter.inc();
      return (await client.unsafe(statement, params)) as R[];
    },
    rawTx: async (fn) => {
      await client.begin(async (tx) => {
        const exec = async (s: string, p: unknown[] = []) => {
          counter.inc();
          return (await tx.unsafe(s, p)) as unknown[];
        };
        await fn(exec, async (statements) => {
          for (const s of statements) await exec(s);
        });
      });
    },
    close: async () => client.close(),
  };
}
