/**
 * A read-only connection to a database this gateway does not own (an otari database being imported): SQLite opened
 * read-only, so the file is never changed (no WAL switch, no migration); Postgres through Bun's SQL client with one
 * connection. Rows come back as the driver gives them; the caller normalises types.
 */
import { Database } from "bun:sqlite";
import { existsSync, realpathSync } from "node:fs";
import { SQL } from "bun";
import { parseDatabaseUrl } from "./url";

export interface ReadOnlyDb {
  readonly dialect: "sqlite" | "pg";
  /** The URL with its password masked. */
  readonly display: string;
  /** Names the database however its URL was written: the file's absolute path, or the masked URL. */
  readonly identity: string;
  /** Parameter placeholder number `n` (1-based) in this dialect. */
  param(n: number): string;
  query<R = Record<string, unknown>>(statement: string, params?: unknown[]): Promise<R[]>;
  /** The table's column names, or null when there is no such table. */
  columns(table: string): Promise<Set<string> | null>;
  close(): Promise<void>;
}

export function openReadOnly(url: string): ReadOnlyDb {
  const target = parseDatabaseUrl(url);
  if (target.dialect === "sqlite") {
    if (!existsSync(target.path)) throw new Error(`Database file not found: ${target.path}`);
    const client = new Database(target.path, { readonly: true, strict: true });
    const query = async <R>(statement: string, params: unknown[] = []) =>
      client.query(statement).all(...(params as import("bun:sqlite").SQLQueryBindings[])) as R[];
    return {
      dialect: "sqlite",
      display: target.display,
      identity: realpathSync(target.path),
      param: () => "?",
      query,
      columns: async (table) => {
        const rows = await query<{ name: string }>(`SELECT name FROM pragma_table_info(?)`, [table]);
        return rows.length ? new Set(rows.map((r) => r.name)) : null;
      },
      close: async () => client.close(),
    };
  }
  const client = new SQL({ url: target.url, max: 1, onnotice: () => undefined } as ConstructorParameters<
    typeof SQL
  >[0]);
  const query = async <R>(statement: string, params: unknown[] = []) => (await client.unsafe(statement, params)) as R[];
  return {
    dialect: "pg",
    display: target.display,
    identity: target.display,
    param: (n) => `$${n}`,
    query,
    columns: async (table) => {
      const rows = await query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
        [table],
      );
      return rows.length ? new Set(rows.map((r) => r.column_name)) : null;
    },
    close: async () => client.close(),
  };
}
