/** Wire schemas of /v1/alerts (CreateAlertRequest, UpdateAlertRequest, AlertRule, AlertTestResult, AlertDelivery). */
import { z } from "zod";

export const ALERT_SCOPES = ["key", "user", "team", "end_user", "any"] as const;

/** An operator setting, trusted like a provider's api_base (loopback allowed), but http(s) only. */
const webhookUrl = z
  .string()
  .max(2048)
  .refine(
    (text) => {
      try {
        const url = new URL(text);
        return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
      } catch {
        return false;
      }
    },
    { message: "must be an http(s) URL" },
  );

/** Percent of the budget; more than 100 alerts on overspend (a request's actual cost beyond its estimate). */
const thresholds = z
  .array(z.number().gt(0).max(1000))
  .min(1)
  .max(20)
  .refine((list) => new Set(list).size === list.length, { message: "thresholds must be distinct" });

export const createAlertRequest = z
  .object({
    scope: z.enum(ALERT_SCOPES).describe("Which level's budgets the rule watches; any = every level"),
    scope_id: z.string().min(1).max(256).nullish().describe("Only this key/user/team/end-user id; null = all"),
    thresholds: thresholds.default([80, 100]).describe("Percent of the budget; each fires once per window"),
    url: webhookUrl.describe("Where the alert is POSTed"),
    format: z.enum(["json", "slack"]).default("json"),
    secret: z.string().min(1).max(512).nullish().describe("Signs the body: X-Gateway-Signature (HMAC-SHA256)"),
  })
  .strict()
  .refine((r) => !(r.scope === "any" && r.scope_id != null), {
    message: "scope 'any' takes no scope_id",
    path: ["scope_id"],
  })
  .meta({ id: "CreateAlertRequest" });
export type CreateAlertInput = z.infer<typeof createAlertRequest>;

export const updateAlertRequest = z
  .object({
    thresholds: thresholds.nullish(),
    url: webhookUrl.nullish(),
    format: z.enum(["json", "slack"]).nullish(),
    secret: z.string().max(512).nullish().describe("An empty string removes the secret"),
  })
  .strict()
  .meta({ id: "UpdateAlertRequest" });
export type UpdateAlertInput = z.infer<typeof updateAlertRequest>;

export const alertRuleResponse = z
  .object({
    id: z.string(),
    scope: z.enum(ALERT_SCOPES),
    scope_id: z.string().nullable(),
    thresholds: z.array(z.number()),
    url: z.string(),
    format: z.enum(["json", "slack"]),
    has_secret: z.boolean().describe("The secret itself is never returned"),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "AlertRule" });
export type AlertRuleResponse = z.infer<typeof alertRuleResponse>;

export const alertTestResponse = z
  .object({
    delivered: z.boolean(),
    status_code: z.number().int().nullable().describe("The webhook's HTTP status; null when it could not be reached"),
    error: z.string().nullable(),
  })
  .meta({ id: "AlertTestResult" });
export type AlertTestResponse = z.infer<typeof alertTestResponse>;

/** pending: waiting for its first post or a retry; delivered; failed: retries gave up. */
export const ALERT_DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;

export const alertDeliveriesQuery = z.object({
  status: z.enum(ALERT_DELIVERY_STATUSES).optional().describe("Only deliveries in this state"),
  limit: z.coerce.number().int().min(1).max(500).default(100).describe("Newest first, at most this many"),
});
export type AlertDeliveriesQuery = z.infer<typeof alertDeliveriesQuery>;

export const alertDeliveryResponse = z
  .object({
    id: z.string().describe("Also the posted event's id"),
    rule_id: z.string(),
    type: z.enum(["budget.threshold", "budget.refusing"]),
    level: z.enum(["key", "user", "team", "end_user"]),
    subject_id: z.string().describe("The key id, user id, team id or end-user id the alert names"),
    user_id: z.string().nullable(),
    threshold: z.number().nullable().describe("Percent of the budget; null for budget.refusing"),
    spend: z.number().describe("USD spent in the window when the alert was recorded"),
    max_budget: z.number().nullable(),
    window_start: z.string(),
    status: z.enum(ALERT_DELIVERY_STATUSES),
    attempts: z.number().int().describe("Posts tried so far"),
    last_error: z.string().nullable().describe("Why the last post failed (null once delivered)"),
    created_at: z.string().describe("When the threshold was crossed"),
    next_attempt_at: z.string().nullable().describe("When a pending delivery is tried next"),
    delivered_at: z.string().nullable(),
  })
  .meta({ id: "AlertDelivery" });
export type AlertDeliveryResponse = z.infer<typeof alertDeliveryResponse>;
