/**
 * Usage records: listing with otari's filters (docs/api.md#usage), newest first, by offset or by keyset cursor (a page
 * costs the same at any depth), and the CSV export, streamed in keyset chunks so memory stays flat at any size.
 * Writing is the usage writer's job.
 */
import { and, desc, eq, gte, lt, lte, or, type SQL } from "drizzle-orm";
import { validationError } from "../core/errors";
import { microsToUsd } from "../core/money";
import type { ExportQuery, UsagePage } from "../core/schemas/analytics";
import type { UsageEntry, UsageQuery } from "../core/schemas/usage";
import { toIso } from "../core/time";
import type { Store } from "../db/client";
import type { ServiceDeps } from "./deps";

type UsageRow = Store["t"]["usageLogs"]["$inferSelect"];

/** What a row's numeric column holds, as a number (NaN when it holds none). */
const storedNumber = (v: unknown): number =>
  typeof v === "number" ? v : typeof v === "string" || typeof v === "bigint" ? Number(v) : Number.NaN;

/**
 * A stored count as the wire's integer, whatever the row holds: rows written before upstream usage was checked
 * (or by hand; SQLite keeps any value in any column) may carry 1e300, fractions or text, and must never make a
 * listing fail its response schema. Not a finite number -> null; beyond the safe range -> its edge.
 */
function storedCount(v: unknown): number | null {
  const n = storedNumber(v);
  if (!Number.isFinite(n)) return null;
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(n)));
}

/** A stored cost in µ$ as USD, null when the row holds no finite amount. */
function storedCost(v: unknown): number | null {
  const n = storedNumber(v);
  return Number.isFinite(n) ? microsToUsd(n) : null;
}

export function toUsageEntry(row: UsageRow): UsageEntry {
  return {
    id: row.id,
    user_id: row.userId,
    api_key_id: row.apiKeyId,
    timestamp: toIso(row.timestamp),
    model: row.model,
    provider: row.provider,
    endpoint: row.endpoint,
    prompt_tokens: storedCount(row.promptTokens),
    completion_tokens: storedCount(row.completionTokens),
    total_tokens: storedCount(row.totalTokens),
    cost: storedCost(row.costMicros),
    status: row.status,
    error_message: row.errorMessage,
    cache_read_tokens: storedCount(row.cacheReadTokens),
    cache_write_tokens: storedCount(row.cacheWriteTokens),
    status_code: storedCount(row.statusCode),
    estimated: row.estimated,
    attempt: storedCount(row.attempt),
    attempts: storedCount(row.attempts),
    end_user_id: row.endUserId,
    team_id: row.teamId,
    latency_ms: row.latencyMs,
    ttfb_ms: row.ttfbMs,
    trace_id: row.traceId,
  };
}

/** A keyset position: the (timestamp, id) of the last row of a page, opaque to clients. */
interface Cursor {
  ts: number;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.ts}.${c.id}`).toString("base64url");
}

function decodeCursor(text: string): Cursor {
  const raw = Buffer.from(text, "base64url").toString();
  const dot = raw.indexOf(".");
  const ts = Number(raw.slice(0, dot));
  const id = raw.slice(dot + 1);
  if (dot < 1 || !Number.isSafeInteger(ts) || !id || id.length > 100) {
    throw validationError([
      {
        type: "value_error",
        loc: ["query", "cursor"],
        msg: "Invalid cursor: pass the X-Next-Cursor value of the previous page",
      },
    ]);
  }
  return { ts, id };
}

const CSV_COLUMNS: (keyof UsageEntry)[] = [
  "id",
  "timestamp",
  "user_id",
  "api_key_id",
  "end_user_id",
  "provider",
  "model",
  "endpoint",
  "status",
  "status_code",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "cache_read_tokens",
  "cache_write_tokens",
  "cost",
  "estimated",
  "latency_ms",
  "ttfb_ms",
  "trace_id",
  "attempt",
  "attempts",
  "error_message",
  "team_id",
];

/**
 * One CSV field (RFC 4180 quoting). Text a spreadsheet would run as a formula (leading = + - @, tab or CR) gets a
 * leading apostrophe: model names and end-user ids come from clients.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows per query of the export: memory holds one chunk at a time. */
const EXPORT_CHUNK = 2000;

export function createUsageService({ store }: Pick<ServiceDeps, "store">) {
  const { db, t } = store;

  function filters(q: Omit<ExportQuery, never>): SQL[] {
    const where: SQL[] = [];
    if (q.start_date) where.push(gte(t.usageLogs.timestamp, q.start_date));
    if (q.end_date) where.push(lt(t.usageLogs.timestamp, q.end_date));
    if (q.user_id) where.push(eq(t.usageLogs.userId, q.user_id));
    if (q.api_key_id) where.push(eq(t.usageLogs.apiKeyId, q.api_key_id));
    if (q.model) where.push(eq(t.usageLogs.model, q.model));
    if (q.provider) where.push(eq(t.usageLogs.provider, q.provider));
    if (q.endpoint) where.push(eq(t.usageLogs.endpoint, q.endpoint));
    if (q.status) where.push(eq(t.usageLogs.status, q.status));
    if (q.end_user_id) where.push(eq(t.usageLogs.endUserId, q.end_user_id));
    if (q.team_id) where.push(eq(t.usageLogs.teamId, q.team_id));
    return where;
  }

  /** Rows after `after` (newest first), `limit` of them. */
  function rowsAfter(where: SQL[], after: Cursor | null, limit: number, offset = 0): Promise<UsageRow[]> {
    const conds = [...where];
    if (after) {
      const at = new Date(after.ts);
      // `timestamp <= at` on its own bounds the index range scan; the OR alone would make both dialects read and
      // sort every older row (SQLite plans it as a multi-index OR).
      conds.push(lte(t.usageLogs.timestamp, at), or(lt(t.usageLogs.timestamp, at), lt(t.usageLogs.id, after.id))!);
    }
    return db
      .select()
      .from(t.usageLogs)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(t.usageLogs.timestamp), desc(t.usageLogs.id))
      .limit(limit)
      .offset(offset);
  }

  async function page(q: UsageQuery): Promise<UsagePage> {
    const after = q.cursor ? decodeCursor(q.cursor) : null;
    if (after && q.skip > 0)
      throw validationError([{ type: "value_error", loc: ["query", "skip"], msg: "skip must be 0 with a cursor" }]);
    // One row more than asked tells whether a next page exists.
    const rows = await rowsAfter(filters(q), after, q.limit + 1, after ? 0 : q.skip);
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toUsageEntry),
      next_cursor: rows.length > q.limit && last ? encodeCursor({ ts: last.timestamp.getTime(), id: last.id }) : null,
    };
  }

  return {
    /** Newest first; start inclusive, end exclusive. */
    async list(q: UsageQuery): Promise<UsageEntry[]> {
      return (await page(q)).items;
    },

    /** A page with the cursor of the next one (null on the last page). */
    page,

    /** The rows of a filter as CSV (header line first), pulled chunk by chunk as the reader consumes it. */
    exportCsv(q: ExportQuery): ReadableStream<Uint8Array> {
      const where = filters(q);
      const encoder = new TextEncoder();
      let after: Cursor | null = null;
      let headerSent = false;
      return new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            if (!headerSent) {
              headerSent = true;
              controller.enqueue(encoder.encode(`${CSV_COLUMNS.join(",")}\r\n`));
              return;
            }
            const rows = await rowsAfter(where, after, EXPORT_CHUNK);
            if (rows.length) {
              const last = rows[rows.length - 1]!;
              after = { ts: last.timestamp.getTime(), id: last.id };
              const text = rows.map((r) => {
                const e = toUsageEntry(r);
                return CSV_COLUMNS.map((c) => csvField(e[c])).join(",");
              });
              controller.enqueue(encoder.encode(`${text.join("\r\n")}\r\n`));
            }
            if (rows.length < EXPORT_CHUNK) controller.close();
          },
        },
        { highWaterMark: 1 },
      );
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
