/** Usage records: listing with otari's filters (SPEC §3.13). Writing is the usage writer's job. */
import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import { microsToUsd } from "../core/money";
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
  };
}

export function createUsageService({ store }: Pick<ServiceDeps, "store">) {
  const { db, t } = store;
  return {
    /** Newest first; start inclusive, end exclusive. */
    async list(q: UsageQuery): Promise<UsageEntry[]> {
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
      const rows = await db
        .select()
        .from(t.usageLogs)
        .where(where.length ? and(...where) : undefined)
        .orderBy(desc(t.usageLogs.timestamp), desc(t.usageLogs.id))
        .limit(q.limit)
        .offset(q.skip);
      return rows.map(toUsageEntry);
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
