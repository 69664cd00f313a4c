/**
 * One usage row per request (docs/behaviour/storage.md#usage-rows) and its log line. The row is built here for settled
 * requests and for refusals alike, so both carry the same fields.
 */
import { microsToUsd } from "../../../core/money";
import type { NormalizedUsage } from "../../../core/wire/index";
import { timeOrderedUuid } from "../../../runtime/crypto";
import { logEnabled, logger } from "../../../runtime/logger";
import type { UsageRowInsert } from "../../governance/usage-writer";

const log = logger("admission");

export interface RowInput {
  requestId: string;
  endpoint: string;
  apiKeyId: string | null;
  /** Null only for what the master key does without naming a user (batches). */
  userId: string | null;
  /** The client's end-user id (`user` with a virtual key); null otherwise. */
  endUserId: string | null;
  /** The billed user's team at request time (null: none). */
  teamId: string | null;
  timestamp: Date;
  provider: string | null;
  model: string;
  status: "success" | "error";
  statusCode: number;
  errorMessage?: string | null;
  usage?: { prompt: number | null; completion: number | null; total: number | null; source: NormalizedUsage | null };
  costMicros?: number | null;
  estimated?: boolean;
  attempt?: number | null;
  attempts?: number | null;
  /** Admission to settlement, and admission to the upstream's first byte (ms; rounded here). */
  latencyMs?: number | null;
  ttfbMs?: number | null;
  /** The request's trace id, when it is traced. */
  traceId?: string | null;
}

const wholeMs = (ms: number | null | undefined): number | null =>
  ms === null || ms === undefined ? null : Math.max(0, Math.round(ms));

export function usageRow(r: RowInput): UsageRowInsert {
  return {
    id: timeOrderedUuid(),
    apiKeyId: r.apiKeyId,
    userId: r.userId,
    timestamp: r.timestamp,
    model: r.model,
    provider: r.provider,
    endpoint: r.endpoint,
    promptTokens: r.usage?.prompt ?? null,
    completionTokens: r.usage?.completion ?? null,
    totalTokens: r.usage?.total ?? null,
    costMicros: r.costMicros ?? null,
    status: r.status,
    errorMessage: r.errorMessage ?? null,
    cacheReadTokens: r.usage?.source?.cacheReadTokens ?? null,
    cacheWriteTokens: r.usage?.source?.cacheWriteTokens ?? null,
    statusCode: r.statusCode,
    estimated: r.estimated ?? false,
    requestId: r.requestId,
    attempt: r.attempt ?? null,
    attempts: r.attempts ?? null,
    endUserId: r.endUserId,
    teamId: r.teamId,
    latencyMs: wholeMs(r.latencyMs),
    ttfbMs: wholeMs(r.ttfbMs),
    traceId: r.traceId ?? null,
  };
}

/**
 * One line per settled request: debug on success, info when the client left a stream, warning on a failure (the
 * provider's text is already redacted, docs/behaviour/errors.md#provider-failures). The request id is passed
 * explicitly: a stream settles outside the request's async context. Never the prompt, the answer or a credential.
 */
export function logSettled(row: UsageRowInsert): void {
  if (row.status === "success" && !logEnabled("debug")) return;
  const fields = {
    request_id: row.requestId,
    trace_id: row.traceId ?? undefined,
    endpoint: row.endpoint,
    provider: row.provider,
    model: row.model,
    status_code: row.statusCode,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    cost_usd: row.costMicros === null || row.costMicros === undefined ? null : microsToUsd(row.costMicros),
    estimated: row.estimated || undefined,
    attempts: row.attempts ?? undefined,
  };
  if (row.status === "success") log.debug("request settled", fields);
  else if (row.statusCode === 499) log.info("client left the stream before its end", fields);
  else log.warn("request failed", { ...fields, error: row.errorMessage });
}
