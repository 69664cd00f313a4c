/**
 * Idempotent INSERTs of usage rows for both dialects (raw SQL: drizzle's builder costs more per row than the insert
 * itself at tens of thousands of rows per second). `ON CONFLICT (id) DO NOTHING` makes journal replay and retried
 * flushes safe. The rows a statement actually inserted are added to the hourly rollups in the same transaction
 * (rollups/write.ts), so a replayed row is never counted twice.
 */
import type { RawExec, Store } from "../../db/client";
import type { usageLogs } from "../../db/schema/pg";
import {
  pgInsertWithRollups,
  RollupBatch,
  SQLITE_DIRTY_SQL,
  SQLITE_ROLLUP_UPSERT_SQL,
  sqliteRollupParams,
} from "../rollups/write";

/** A usage row as the writer takes it; `id` (a time-ordered UUID, see timeOrderedUuid) makes replay idempotent. */
export type UsageRowInsert = typeof usageLogs.$inferInsert;

type Kind = "text" | "int" | "ts" | "bool";
const COLUMNS: ReadonlyArray<readonly [string, keyof UsageRowInsert, Kind]> = [
  ["id", "id", "text"],
  ["api_key_id", "apiKeyId", "text"],
  ["user_id", "userId", "text"],
  ["timestamp", "timestamp", "ts"],
  ["model", "model", "text"],
  ["provider", "provider", "text"],
  ["endpoint", "endpoint", "text"],
  ["prompt_tokens", "promptTokens", "int"],
  ["completion_tokens", "completionTokens", "int"],
  ["total_tokens", "totalTokens", "int"],
  ["cost_micros", "costMicros", "int"],
  ["status", "status", "text"],
  ["error_message", "errorMessage", "text"],
  ["cache_read_tokens", "cacheReadTokens", "int"],
  ["cache_write_tokens", "cacheWriteTokens", "int"],
  ["status_code", "statusCode", "int"],
  ["estimated", "estimated", "bool"],
  ["request_id", "requestId", "text"],
  ["attempt", "attempt", "int"],
  ["attempts", "attempts", "int"],
  ["end_user_id", "endUserId", "text"],
  ["team_id", "teamId", "text"],
  ["latency_ms", "latencyMs", "int"],
  ["ttfb_ms", "ttfbMs", "int"],
  ["trace_id", "traceId", "text"],
];
const WIDTH = COLUMNS.length;
const COLUMN_LIST = COLUMNS.map(([c]) => `"${c}"`).join(", ");
/** The quoted column list every usage insert names, in the order of sqliteInsertValues (bulk loaders reuse it). */
export const USAGE_INSERT_COLUMNS = COLUMN_LIST;

/**
 * SQLite: one single-row INSERT, prepared once and run per row inside the batch's transaction (batches come in every
 * size, and preparing a many-row text per size costs more than the inserts). Also what the usage worker runs. It
 * returns a row exactly when the row was inserted (a conflict returns none).
 */
export const SQLITE_INSERT_SQL = `INSERT INTO usage_logs (${COLUMN_LIST}) VALUES (${COLUMNS.map(() => "?").join(",")}) ON CONFLICT (id) DO NOTHING RETURNING 1`;
export const SQLITE_INSERT_WIDTH = WIDTH;
export { SQLITE_DIRTY_SQL, SQLITE_ROLLUP_UPSERT_SQL, sqliteRollupParams };

/**
 * SQLite, inside the batch's transaction: inserts `rows` through `run` (a statement runner returning its result
 * rows), then adds the inserted ones to the rollups. Synchronous runners (the usage worker's prepared statements)
 * and the store's asynchronous one both fit.
 */
export async function insertSqliteRows(
  rows: UsageRowInsert[],
  run: (sql: string, params: unknown[]) => unknown[] | Promise<unknown[]>,
): Promise<void> {
  const values = sqliteInsertValues(rows);
  const batch = new RollupBatch();
  for (let i = 0; i < rows.length; i++) {
    const inserted = await run(SQLITE_INSERT_SQL, values.slice(i * WIDTH, (i + 1) * WIDTH));
    if (inserted.length > 0) batch.add(rows[i]!);
  }
  for (const group of batch.sorted()) await run(SQLITE_ROLLUP_UPSERT_SQL, sqliteRollupParams(group));
  for (const hour of batch.hours()) await run(SQLITE_DIRTY_SQL, [hour]);
}

/** Every row's parameters of SQLITE_INSERT_SQL, flattened into one array. */
export function sqliteInsertValues(rows: UsageRowInsert[]): unknown[] {
  const out: unknown[] = new Array(rows.length * WIDTH);
  let i = 0;
  for (const row of rows) {
    for (const [, key, kind] of COLUMNS) {
      const v = row[key] ?? null;
      if (v === null) out[i++] = kind === "bool" ? 0 : null;
      else if (kind === "ts") out[i++] = toDate(v).getTime();
      else if (kind === "bool") out[i++] = v ? 1 : 0;
      else out[i++] = v;
    }
  }
  return out;
}

function toDate(v: unknown): Date {
  return v instanceof Date ? v : new Date(v as string | number);
}

/**
 * A row as a journal line carries it: the insert plus its settlement's spend number, when it added spend, and the
 * levels it charged (LEVEL_BIT bits; absent = the user only, as journals written before levels existed).
 */
export type UsageLineRow = UsageRowInsert & { spendSeq?: number; spendLevels?: number };

/**
 * The one serialised form of a row (journal line, and what the writer queues and hands the SQLite worker). The
 * timestamp is epoch milliseconds: serialising a Date costs several times the rest of the row.
 */
export function toUsageLine(row: UsageRowInsert, spendSeq?: number | null, spendLevels?: number): string {
  const timestamp = row.timestamp instanceof Date ? row.timestamp.getTime() : row.timestamp;
  return JSON.stringify(spendSeq ? { ...row, timestamp, spendSeq, spendLevels } : { ...row, timestamp });
}

/** A line back to a row (the timestamp as a Date again; older journals hold an ISO string). */
export function fromUsageLine(line: string): UsageLineRow {
  return fromJournal(JSON.parse(line) as UsageLineRow);
}

/** Normalises a row read back from the journal (the timestamp as a Date). */
export function fromJournal<R extends UsageRowInsert>(row: R): R {
  return { ...row, timestamp: toDate(row.timestamp) };
}

/** Postgres column types, for unpacking usage lines server-side. */
const PG_TYPES: Record<Kind, string> = { text: "text", int: "bigint", ts: "json", bool: "boolean" };

/**
 * Postgres: a chunk of usage lines goes as ONE json parameter, unpacked by json_to_recordset (the rows only; the
 * writer's statement adds the rollups, below). The server parses the JSON; this process only joins the lines it
 * already has, where binding twenty parameters per row cost it far more. json, not jsonb: jsonb's input builds the
 * whole chunk's tree and copies it into fresh memory (at planning, for a custom plan), which cost the server two to
 * three times the CPU of the insert itself (docs/benchmark.md, writer cost); json_to_recordset reads the text once,
 * a row at a time. The timestamp is epoch milliseconds (an ISO string in journals written before that). The
 * parameter is typed text (`::text::json`): Bun's driver would encode a string bound to a json parameter as a JSON
 * string.
 */
export const PG_INSERT_ROWS_SQL = (() => {
  const field = (key: string) => `x."${key}"`;
  const select = COLUMNS.map(([, key, kind]) => {
    if (kind === "ts")
      return `CASE json_typeof(${field(key)}) WHEN 'number' THEN to_timestamp((${field(key)})::text::double precision / 1000) ELSE (${field(key)} #>> '{}')::timestamptz END`;
    if (kind === "bool") return `COALESCE(${field(key)}, false)`;
    return field(key);
  });
  const record = COLUMNS.map(([, key, kind]) => `"${key}" ${PG_TYPES[kind]}`).join(", ");
  return `INSERT INTO usage_logs (${COLUMN_LIST}) SELECT ${select.join(", ")} FROM json_to_recordset($1::text::json) AS x(${record}) ON CONFLICT (id) DO NOTHING`;
})();

/** PG_INSERT_ROWS_SQL with the rollups of the rows it inserts (what the writer runs). */
const PG_INSERT_FROM_LINES = pgInsertWithRollups(PG_INSERT_ROWS_SQL);

/** Lines per Postgres statement (a few hundred kB of JSON). */
const PG_CHUNK_LINES = 1000;

async function insertPgLines(exec: RawExec, lines: string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += PG_CHUNK_LINES) {
    const chunk = lines.length <= PG_CHUNK_LINES ? lines : lines.slice(i, i + PG_CHUNK_LINES);
    await exec(PG_INSERT_FROM_LINES, [`[${chunk.join(",")}]`]);
  }
}

/**
 * Inserts rows given as usage lines, idempotently, on this thread. SQLite: every row in one transaction (one commit
 * per batch is what makes it fast). Postgres: one autocommit statement per chunk (each chunk is idempotent anyway).
 */
export async function insertUsageLines(store: Store, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  if (store.dialect === "sqlite") {
    const rows = lines.map(fromUsageLine);
    await store.rawTx((exec) => insertSqliteRows(rows, exec));
    return;
  }
  await insertPgLines((statement, params) => store.query(statement, params), lines);
}

/**
 * Inserts rows idempotently through `exec`, inside the caller's transaction (the otari import's batches), with their
 * rollups as the writer adds them.
 */
export function insertUsageRows(dialect: Store["dialect"], exec: RawExec, rows: UsageRowInsert[]): Promise<void> {
  if (rows.length === 0) return Promise.resolve();
  return dialect === "sqlite"
    ? insertSqliteRows(rows, exec)
    : insertPgLines(
        exec,
        rows.map((row) => toUsageLine(row)),
      );
}

/** True when the error is a foreign-key violation (the key or user was deleted while the row was queued). */
export function isForeignKeyError(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  return (
    e?.code === "23503" ||
    e?.errno === "23503" ||
    /FOREIGN KEY constraint failed|foreign key constraint/i.test(String(e?.message ?? ""))
  );
}
