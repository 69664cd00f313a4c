/** Wire schemas of /v1/budgets (openapi: CreateBudgetRequest, BudgetResponse, UpdateBudgetRequest). */
import { z } from "zod";

/** USD; capped at one billion so µ$ stay exact integers. */
const maxBudget = z.number().min(0).max(1_000_000_000);
/** Seconds; at most ten years. */
const duration = z.number().int().gt(0).max(315_360_000);

export const createBudgetRequest = z
  .object({
    max_budget: maxBudget.nullish().describe("Maximum spending limit (USD; null = no cap)"),
    budget_duration_sec: duration
      .nullish()
      .describe("Budget duration in seconds (e.g. 86400 for daily); null = never resets"),
  })
  .strict()
  .meta({ id: "CreateBudgetRequest" });
export type CreateBudgetInput = z.infer<typeof createBudgetRequest>;

export const updateBudgetRequest = createBudgetRequest.meta({ id: "UpdateBudgetRequest" });
export type UpdateBudgetInput = z.infer<typeof updateBudgetRequest>;

export const budgetResponse = z
  .object({
    budget_id: z.string(),
    max_budget: z.number().nullable(),
    budget_duration_sec: z.number().int().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "BudgetResponse" });
export type BudgetResponse = z.infer<typeof budgetResponse>;

export const budgetResetLog = z
  .object({
    id: z.number().int(),
    user_id: z.string().nullable(),
    budget_id: z.string(),
    previous_spend: z.number(),
    reset_at: z.string(),
    next_reset_at: z.string().nullable(),
    level: z.enum(["key", "user", "team", "end_user"]).describe("Which level's window was reset"),
    subject_id: z.string().nullable().describe("The key, user or team id, or the end user's own id"),
  })
  .meta({ id: "BudgetResetLog" });
export type BudgetResetLog = z.infer<typeof budgetResetLog>;
