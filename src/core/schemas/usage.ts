/** Wire schemas of /v1/usage and /v1/users/{id}/usage (openapi: UsageEntry, UsageLogResponse). */
import { z } from "zod";
import { parseDateOrEpoch } from "../time";
import { paginationQuery } from "./common";

const dateOrEpoch = z.string().transform((text, ctx) => {
  const date = parseDateOrEpoch(text);
  if (!date) {
    ctx.addIssue({ code: "custom", message: "Input should be an ISO 8601 datetime or Unix epoch seconds" });
    return z.NEVER;
  }
  return date;
});

export const usageQuery = paginationQuery.extend({
  start_date: dateOrEpoch.optional(),
  end_date: dateOrEpoch.optional(),
  user_id: z.string().optional(),
  api_key_id: z.string().optional(),
  model: z.string().optional(),
  provider: z.string().optional(),
  endpoint: z.string().optional(),
  status: z.enum(["success", "error"]).optional(),
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
  })
  .meta({ id: "UsageEntry" });
export type UsageEntry = z.infer<typeof usageEntry>;
