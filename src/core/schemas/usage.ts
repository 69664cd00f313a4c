/** Wire schemas of /v1/usage and /v1/users/{id}/usage (openapi: UsageEntry, UsageLogResponse). */
import { z } from "zod";
import { parseDateOrEpoch } from "../time";
import { paginationQuery } from "./common";

/** ISO 8601 or Unix epoch seconds, parsed to a Date. */
export const dateOrEpoch = z.string().transform((text, ctx) => {
  const date = parseDateOrEpoch(text);
  if (!date) {
    ctx.addIssue({ code: "custom", message: "Input should be an ISO 8601 datetime or Unix epoch seconds" });
    return z.NEVER;
  }
  return date;
});

/** `end_user_id`: the client's own end-user id a virtual key sent as `user` (`metadata.user_id` on /v1/messages). */
const endUserFilter = z
  .string()
  .optional()
  .describe("Only rows whose end_user_id (the `user` a virtual key sent) is this value");

/** GET /v1/users/{user_id}/usage. */
export const userUsageQuery = paginationQuery.extend({ end_user_id: endUserFilter });
export type UserUsageQuery = z.infer<typeof userUsageQuery>;

export const usageQuery = paginationQuery.extend({
  cursor: z
    .string()
    .max(200)
    .optional()
    .describe(
      "Keyset page: the `X-Next-Cursor` of the previous page (newest first). Costs the same on any page; `skip` must then be 0",
    ),
  start_date: dateOrEpoch.optional(),
  end_date: dateOrEpoch.optional(),
  user_id: z.string().optional(),
  api_key_id: z.string().optional(),
  model: z.string().optional(),
  provider: z.string().optional(),
  endpoint: z.string().optional(),
  status: z.enum(["success", "error"]).optional(),
  end_user_id: endUserFilter,
  team_id: z.string().optional().describe("Only rows of this team (the billed user's team when the request was made)"),
});
export type UsageQuery = z.infer<typeof usageQuery>;

export const usageEntry = z
  .object({
    id: z.string(),
    user_id: z.string().nullable(),
    api_key_id: z.string().nullable(),
    timestamp: z.string(),
    model: z.string(),
    provider: z.string().nullable(),
    endpoint: z.string(),
    prompt_tokens: z.number().int().nullable(),
    completion_tokens: z.number().int().nullable(),
    total_tokens: z.number().int().nullable(),
    cost: z.number().nullable(),
    status: z.string(),
    error_message: z.string().nullable(),
    cache_read_tokens: z.number().int().nullable(),
    cache_write_tokens: z.number().int().nullable(),
    status_code: z.number().int().nullable(),
    estimated: z.boolean(),
    attempt: z.number().int().nullable(),
    attempts: z.number().int().nullable(),
    end_user_id: z
      .string()
      .nullable()
      .describe(
        "The `user` (`metadata.user_id` on /v1/messages) a virtual key's request carried: the client app's own end-user id. It never changes who is billed (`user_id`, the key's user). Null for master-key requests, where `user` names the billed user.",
      ),
    team_id: z
      .string()
      .nullable()
      .describe("The billed user's team when the request was made (its budget was charged); null when none"),
    latency_ms: z
      .number()
      .int()
      .nullable()
      .describe(
        "Milliseconds from admission to the last byte relayed (null for refusals and rows written before it was recorded)",
      ),
    ttfb_ms: z
      .number()
      .int()
      .nullable()
      .describe(
        "Milliseconds from admission to the upstream's first byte: a stream's first event, a JSON answer's arrival",
      ),
    trace_id: z
      .string()
      .nullable()
      .describe("The request's trace id (32 hex digits) when it was traced: the same as its x-trace-id header"),
  })
  .meta({ id: "UsageEntry" });
export type UsageEntry = z.infer<typeof usageEntry>;
