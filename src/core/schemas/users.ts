/** Wire schemas of /v1/users (openapi: CreateUserRequest, UserResponse, UpdateUserRequest). */
import { z } from "zod";
import { allowedModelsSchema, clearableRef, limitSchema, maxConcurrentSchema, metadataSchema } from "./common";

export const createUserRequest = z
  .object({
    user_id: z.string().trim().min(1).max(256).describe("Unique user identifier"),
    alias: z.string().max(256).nullish().describe("Optional admin-facing alias"),
    budget_id: z.string().nullish().describe("Optional budget ID"),
    blocked: z.boolean().default(false).describe("Whether user is blocked"),
    metadata: metadataSchema.default({}).describe("Optional metadata"),
    rpm_limit: limitSchema.nullish(),
    tpm_limit: limitSchema.nullish(),
    allowed_models: allowedModelsSchema.nullish(),
    team_id: clearableRef("The team this user belongs to (at most one)").nullish(),
    max_concurrent: maxConcurrentSchema.nullish(),
    end_user_budget_id: clearableRef("Budget each end user of this user gets a window on (a key's own wins)").nullish(),
  })
  .strict()
  .meta({ id: "CreateUserRequest" });
export type CreateUserInput = z.infer<typeof createUserRequest>;

export const updateUserRequest = z
  .object({
    alias: z.string().max(256).nullish(),
    budget_id: z.string().nullish(),
    blocked: z.boolean().nullish(),
    metadata: metadataSchema.nullish(),
    rpm_limit: limitSchema.nullish(),
    tpm_limit: limitSchema.nullish(),
    allowed_models: allowedModelsSchema.nullish(),
    team_id: clearableRef("Moves the user to this team").nullish(),
    max_concurrent: maxConcurrentSchema.nullish(),
    end_user_budget_id: clearableRef("Budget each end user of this user gets a window on").nullish(),
  })
  .strict()
  .meta({ id: "UpdateUserRequest" });
export type UpdateUserInput = z.infer<typeof updateUserRequest>;

export const userResponse = z
  .object({
    user_id: z.string(),
    alias: z.string().nullable(),
    spend: z.number(),
    reserved: z.number(),
    budget_id: z.string().nullable(),
    budget_started_at: z.string().nullable(),
    next_budget_reset_at: z.string().nullable(),
    blocked: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
    metadata: metadataSchema,
    rpm_limit: z.number().int().nullable(),
    tpm_limit: z.number().int().nullable(),
    allowed_models: z.array(z.string()).nullable(),
    team_id: z.string().nullable(),
    max_concurrent: z.number().int().nullable(),
    end_user_budget_id: z.string().nullable(),
  })
  .meta({ id: "UserResponse" });
export type UserResponse = z.infer<typeof userResponse>;
