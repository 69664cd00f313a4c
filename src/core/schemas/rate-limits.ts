/** Wire schemas of /v1/rate-limits and config.yml's `rate_limits` (RateLimitRule). */
import { z } from "zod";
import { limitSchema } from "./common";

export const RATE_LIMIT_SCOPES = ["global", "team", "user", "key"] as const;

/** `provider:model` or `provider:*`. */
const modelSelector = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+:.+$/, "must be 'provider:model' or 'provider:*'")
  .max(512);

const limits = {
  rpm: limitSchema.nullish().describe("Requests per minute"),
  tpm: limitSchema.nullish().describe("Tokens per minute"),
  max_concurrent: z.number().int().min(1).max(1_000_000).nullish().describe("Requests in flight at once"),
};

const ruleFields = z.object({
  scope: z.enum(RATE_LIMIT_SCOPES).describe("global: one counter for everything; otherwise one per team/user/key"),
  scope_id: z
    .string()
    .min(1)
    .max(256)
    .nullish()
    .describe("That one team/user/key; null = each of them separately (not allowed with global)"),
  model: modelSelector.nullish().describe("Only requests for this model (`provider:*`: that provider); null = all"),
  ...limits,
});

/** Both a rule's body and a `rate_limits:` entry: at least one limit, no scope_id on a global rule. */
export const rateLimitRuleInput = ruleFields
  .strict()
  .refine((r) => r.rpm != null || r.tpm != null || r.max_concurrent != null, {
    message: "at least one of rpm, tpm, max_concurrent is required",
  })
  .refine((r) => !(r.scope === "global" && r.scope_id != null), {
    message: "a global rule has no scope_id",
    path: ["scope_id"],
  })
  .meta({ id: "CreateRateLimitRequest" });
export type RateLimitRuleInput = z.infer<typeof rateLimitRuleInput>;

/**
 * PATCH: the limits and the model; absent or null fields unchanged (scope and scope_id are fixed: make a new rule).
 * As elsewhere in PATCH bodies, `0` removes a limit and `""` the model (the rule then counts every model); the rule
 * must keep at least one limit.
 */
export const updateRateLimitRequest = z
  .object({
    model: z
      .union([modelSelector, z.literal("")])
      .nullish()
      .describe('Only requests for this model (`provider:*`: that provider); "" = all models'),
    rpm: z
      .union([limitSchema, z.literal(0)])
      .nullish()
      .describe("Requests per minute; 0 removes the limit"),
    tpm: z
      .union([limitSchema, z.literal(0)])
      .nullish()
      .describe("Tokens per minute; 0 removes the limit"),
    max_concurrent: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .nullish()
      .describe("Requests in flight at once; 0 removes the limit"),
  })
  .strict()
  .meta({ id: "UpdateRateLimitRequest" });
export type UpdateRateLimitInput = z.infer<typeof updateRateLimitRequest>;

export const rateLimitRuleResponse = z
  .object({
    id: z.string(),
    scope: z.enum(RATE_LIMIT_SCOPES),
    scope_id: z.string().nullable(),
    model: z.string().nullable(),
    rpm: z.number().int().nullable(),
    tpm: z.number().int().nullable(),
    max_concurrent: z.number().int().nullable(),
    source: z.enum(["api", "config"]).describe("config: from config.yml's rate_limits (read-only here)"),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .meta({ id: "RateLimitRule" });
export type RateLimitRuleResponse = z.infer<typeof rateLimitRuleResponse>;
