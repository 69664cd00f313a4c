/** Wire schemas of /v1/teams (CreateTeamRequest, UpdateTeamRequest, TeamResponse). */
import { z } from "zod";
import { allowedModelsSchema, clearableRef, limitSchema, maxConcurrentSchema, metadataSchema } from "./common";

export const createTeamRequest = z
  .object({
    team_id: z.string().trim().min(1).max(256).describe("Unique team identifier, chosen by the caller"),
    alias: z.string().max(256).nullish().describe("Optional admin-facing alias"),
    budget_id: z.string().nullish().describe("Budget over all the members' requests"),
    blocked: z.boolean().default(false).describe("Blocked teams' members are refused (403 team_blocked)"),
    metadata: metadataSchema.default({}),
    rpm_limit: limitSchema.nullish().describe("Requests per minute over all members"),
    tpm_limit: limitSchema.nullish().describe("Tokens per minute over all members"),
    max_concurrent: maxConcurrentSchema.nullish(),
    allowed_models: allowedModelsSchema
      .nullish()
      .describe("Models members may call (null = all); a member's and a key's lists only narrow it"),
  })
  .strict()
  .meta({ id: "CreateTeamRequest" });
export type CreateTeamInput = z.infer<typeof createTeamRequest>;

export const updateTeamRequest = z
  .object({
    alias: z.string().max(256).nullish(),
    budget_id: clearableRef("Budget over all the members' requests; assigning one starts a new window").nullish(),
    blocked: z.boolean().nullish(),
    metadata: metadataSchema.nullish(),
    rpm_limit: limitSchema.nullish(),
    tpm_limit: limitSchema.nullish(),
    max_concurrent: maxConcurrentSchema.nullish(),
    allowed_models: allowedModelsSchema.nullish(),
  })
  .strict()
  .meta({ id: "UpdateTeamRequest" });
export type UpdateTeamInput = z.infer<typeof updateTeamRequest>;

export const teamResponse = z
  .object({
    team_id: z.string(),
    alias: z.string().nullable(),
    spend: z.number().describe("USD spent by members in the team's budget window"),
    reserved: z.number(),
    budget_id: z.string().nullable(),
    budget_started_at: z.string().nullable(),
    next_budget_reset_at: z.string().nullable(),
    blocked: z.boolean(),
    metadata: metadataSchema,
    rpm_limit: z.number().int().nullable(),
    tpm_limit: z.number().int().nullable(),
    max_concurrent: z.number().int().nullable(),
    allowed_models: z.array(z.string()).nullable(),
    members: z.number().int().describe("Live users in the team"),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "TeamResponse" });
export type TeamResponse = z.infer<typeof teamResponse>;
