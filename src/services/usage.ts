/** Usage records: listing with otari's filters (SPEC §3.13). Writing is the usage writer's job. */
import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import { microsToUsd } from "../core/money";
import type { UsageEntry, UsageQuery } from "../core/schemas/usage";
import { toIso } from "../core/time";
import type { Store } from "../db/client";
import type { ServiceDeps } from "./deps";

type UsageRow = Store["t"]["usageLogs"]["$inferSelect"];

export function toUsageEntry(row: UsageRow): UsageEntry {
  return {
    id: row.id,
    user_id: row.userId,
    api_key_id: row.apiKeyId,
    timestamp: toIso(row.timestamp),
    model: row.model,
    provider: row.provider,
    endpoint: row.endpoint,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    total_tokens: row.totalTokens,
    cost: row.costMicros === null ? null : microsToUsd(row.costMicros),
    status: row.status,
    error_message: row.errorMessage,
    cache_read_tokens: row.cacheReadTokens,
    cache_write_tokens: row.cacheWriteTokens,
    status_code: row.statusCode,
    estimated: row.estimated,
    attempt: row.attempt,
    attempts: row.attempts,
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
