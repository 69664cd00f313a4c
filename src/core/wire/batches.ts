import { z } from "zod";
import { requestModelSchema } from "./model-name.ts";
import type { NormalizedUsage } from "./usage.ts";

/**
 * Batches (docs/api.md#batches): otari's create request, the batch object clients get back (OpenAI's Batch, the
 * shape every provider's batch is answered in) and one line of a batch's results.
 */

/** The most requests one batch may carry (otari's CreateBatchRequest). */
export const MAX_BATCH_REQUESTS = 10_000;

export const batchRequestItemSchema = z.object({
  custom_id: z.string().min(1).max(512),
  body: z.record(z.string(), z.unknown()),
});

export const createBatchRequestSchema = z.object({
  model: requestModelSchema,
  requests: z.array(batchRequestItemSchema).min(1).max(MAX_BATCH_REQUESTS),
  /** Whole hours (OpenAI takes `24h`; the hold on the budget lasts this long plus a day). */
  completion_window: z
    .string()
    .regex(/^[1-9]\d{0,3}h$/, { error: "completion_window must be a whole number of hours, e.g. 24h" })
    .default("24h"),
  metadata: z.record(z.string(), z.string()).nullish(),
});
export type CreateBatchRequest = z.infer<typeof createBatchRequestSchema>;

/** Statuses after which a batch changes no more (its results can be read). */
export const TERMINAL_BATCH_STATUSES: ReadonlySet<string> = new Set(["completed", "failed", "expired", "cancelled"]);

export const batchSchema = z
  .object({
    id: z.string(),
    object: z.string().default("batch"),
    endpoint: z.string().default("/v1/chat/completions"),
    status: z.string(),
    input_file_id: z.string().nullish(),
    output_file_id: z.string().nullish(),
    error_file_id: z.string().nullish(),
    completion_window: z.string().nullish(),
    created_at: z.number(),
    request_counts: z.object({ total: z.number(), completed: z.number(), failed: z.number() }).loose().nullish(),
    metadata: z.record(z.string(), z.string()).nullish(),
  })
  .loose();
export type Batch = z.infer<typeof batchSchema>;

export const batchListSchema = z
  .object({
    object: z.string().default("list"),
    data: z.array(batchSchema),
    first_id: z.string().nullish(),
    last_id: z.string().nullish(),
    has_more: z.boolean().default(false),
  })
  .loose();
export type BatchList = z.infer<typeof batchListSchema>;

/** One request's outcome as a provider reports it: the chat completion, or the error, with what it used. */
export interface BatchResultItem {
  custom_id: string;
  /** The request's chat completion (OpenAI's shape), or null when it failed. */
  result: unknown | null;
  error: { code: string | null; message: string } | null;
  /** Token usage of the request (null when it failed or the provider said none); billed, never sent. */
  usage: NormalizedUsage | null;
}
