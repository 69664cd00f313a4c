/** Wire schemas of the usage analytics: /v1/usage/summary, /v1/usage/series, /v1/overview, /v1/usage/export.csv. */
import { z } from "zod";
import { dateOrEpoch, usageEntry, usageQuery } from "./usage";

/** What summaries and series group by. `model` groups are `provider:model`. */
export const analyticsDimension = z.enum([
  "user",
  "key",
  "end_user",
  "model",
  "provider",
  "status",
  "status_code",
  "team",
]);
export type AnalyticsDimension = z.infer<typeof analyticsDimension>;

const id = z.string().min(1).max(512);

/** Equality filters, the same names as GET /v1/usage. */
export const analyticsFilters = z.object({
  user_id: id.optional().describe("Only this user"),
  api_key_id: id.optional().describe("Only this key"),
  end_user_id: id.optional().describe("Only this end user (the `user` a virtual key's request carried)"),
  model: id.optional().describe("Only this model (the name without the provider)"),
  provider: id.optional().describe("Only this provider"),
  status: z.enum(["success", "error"]).optional(),
  status_code: z.coerce.number().int().min(100).max(599).optional().describe("Only this HTTP status"),
  team_id: id.optional().describe("Only this team (the billed user's team when the request was made)"),
});
export type AnalyticsFilters = z.infer<typeof analyticsFilters>;

const range = {
  start: dateOrEpoch
    .optional()
    .describe("From this time, inclusive (ISO 8601 or Unix epoch seconds; default: 24 hours before `end`)"),
  end: dateOrEpoch.optional().describe("Until this time, exclusive (default: now)"),
};

export const summaryQuery = analyticsFilters.extend({
  ...range,
  group_by: analyticsDimension.optional(),
  order_by: z
    .enum(["cost", "requests", "tokens", "errors"])
    .default("cost")
    .describe("How groups are ordered (descending)"),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .describe("Groups returned (the totals cover every group)"),
});
export type SummaryQuery = z.infer<typeof summaryQuery>;

export const seriesMetric = z.enum(["requests", "tokens", "cost", "errors", "latency_p50", "latency_p95"]);
export type SeriesMetric = z.infer<typeof seriesMetric>;

export const seriesQuery = analyticsFilters.extend({
  ...range,
  bucket: z.enum(["minute", "hour", "day"]).default("hour").describe("UTC buckets; at most 2000 per series"),
  metric: seriesMetric.default("requests").describe("cost in USD; latency percentiles in ms, approximate (histogram)"),
  group_by: analyticsDimension.optional(),
  top: z.coerce
    .number()
    .int()
    .min(1)
    .max(20)
    .default(5)
    .describe("With group_by: the groups with the highest totals get a series each, the rest one `other` series"),
});
export type SeriesQuery = z.infer<typeof seriesQuery>;

export const overviewQuery = z.object(range);
export type OverviewQuery = z.infer<typeof overviewQuery>;

export const usageTotals = z
  .object({
    requests: z.number().int(),
    errors: z.number().int(),
    error_rate: z.number().describe("errors / requests (0 without requests)"),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
    cost: z.number().describe("USD"),
    latency_avg_ms: z.number().nullable(),
    latency_p50_ms: z.number().nullable().describe("Approximate: interpolated in a fixed latency histogram"),
    latency_p95_ms: z.number().nullable().describe("Approximate: interpolated in a fixed latency histogram"),
    ttfb_avg_ms: z.number().nullable(),
  })
  .meta({ id: "UsageTotals" });
export type UsageTotals = z.infer<typeof usageTotals>;

const groupKey = {
  key: z
    .string()
    .nullable()
    .describe(
      "The group's value: an id, `provider:model`, a status; null for rows without one (e.g. master-key calls have no key)",
    ),
  label: z.string().nullable().describe("A readable name where one exists: the key's name, the user's alias"),
};

export const summaryResponse = z
  .object({
    start: z.string(),
    end: z.string(),
    group_by: analyticsDimension.nullable(),
    totals: usageTotals,
    groups: z.array(usageTotals.extend(groupKey)),
    groups_total: z.number().int().describe("Groups before `limit`"),
  })
  .meta({ id: "UsageSummary" });
export type SummaryResponse = z.infer<typeof summaryResponse>;

export const seriesResponse = z
  .object({
    start: z.string(),
    end: z.string(),
    bucket: z.enum(["minute", "hour", "day"]),
    metric: seriesMetric,
    group_by: analyticsDimension.nullable(),
    timestamps: z.array(z.string()).describe("Bucket starts, every bucket of the range (zero-filled)"),
    series: z.array(
      z.object({
        ...groupKey,
        kind: z.enum(["total", "group", "other"]),
        values: z.array(z.number().nullable()).describe("One per timestamp; null where a latency has no sample"),
      }),
    ),
  })
  .meta({ id: "UsageSeries" });
export type SeriesResponse = z.infer<typeof seriesResponse>;

const ranked = z.array(z.object({ ...groupKey, cost: z.number(), requests: z.number().int() }));

export const budgetHealth = z.object({
  level: z
    .enum(["key", "user", "team", "end_user"])
    .describe("The budget level; end users are counted per billed user (their `label` is that user's id)"),
  with_budget: z.number().int().describe("Subjects with a capped budget"),
  above_80: z.number().int().describe("Spend at or above 80 % of the cap, below it"),
  exhausted: z
    .number()
    .int()
    .describe("Spend at or above the cap: priced requests are refused until the period resets"),
  over: z.number().int().describe("Spend above the cap (an actual cost beyond its reservation)"),
  blocked: z.number().int().describe("Blocked subjects (every request refused)"),
  worst: z.array(
    z.object({
      id: z.string(),
      label: z.string().nullable(),
      spend: z.number(),
      max_budget: z.number(),
      percent: z.number(),
      next_reset_at: z.string().nullable(),
    }),
  ),
});

export const overviewResponse = z
  .object({
    generated_at: z.string(),
    spend_today: z.number().describe("USD since 00:00 UTC"),
    spend_month: z.number().describe("USD since the 1st of the month, 00:00 UTC"),
    window: usageTotals.extend({ start: z.string(), end: z.string() }),
    keys: z.object({ active: z.number().int(), total: z.number().int(), used_in_window: z.number().int() }),
    budget_health: z.array(budgetHealth),
    top_models: ranked,
    top_users: ranked,
    top_keys: ranked,
  })
  .meta({ id: "Overview" });
export type OverviewResponse = z.infer<typeof overviewResponse>;

/** GET /v1/usage/export.csv: the filters of GET /v1/usage, without paging. */
export const exportQuery = usageQuery.omit({ skip: true, limit: true, cursor: true });
export type ExportQuery = z.infer<typeof exportQuery>;

/** A keyset page of usage rows (tRPC and the console; REST returns the rows and the cursor in a header). */
export const usagePage = z.object({ items: z.array(usageEntry), next_cursor: z.string().nullable() });
export type UsagePage = z.infer<typeof usagePage>;
