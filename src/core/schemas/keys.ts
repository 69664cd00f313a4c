/** Wire schemas of /v1/keys (openapi: CreateKeyRequest, CreateKeyResponse, KeyInfo, UpdateKeyRequest). */
import { z } from "zod";
import {
  allowedModelsSchema,
  clearableRef,
  isoDateTime,
  limitSchema,
  maxConcurrentSchema,
  metadataSchema,
} from "./common";

export const createKeyRequest = z
  .object({
    key_name: z.string().max(256).nullish().describe("Optional name for the key"),
    user_id: z.string().min(1).max(256).nullish().describe("Optional user ID to associate with this key"),
    expires_at: isoDateTime.nullish().describe("Optional expiration timestamp"),
    metadata: metadataSchema.default({}).describe("Optional metadata"),
    rpm_limit: limitSchema.nullish().describe("Requests per minute for this key"),
    tpm_limit: limitSchema.nullish().describe("Tokens per minute for this key"),
    allowed_models: allowedModelsSchema.nullish().describe("Models this key may call (null = all its user may)"),
    budget_id: clearableRef("The key's own budget (on top of its user's and team's)").nullish(),
    max_concurrent: maxConcurrentSchema.nullish(),
    end_user_budget_id: clearableRef(
      "Budget each end user of this key gets a window on (wins over the user's)",
    ).nullish(),
    capture_content: z
      .boolean()
      .nullish()
      .describe(
        "Capture this key's prompts and completions in traces, redacted (docs/tracing.md); unset: the gateway's otel_capture_content",
      ),
  })
  .strict()
  .meta({ id: "CreateKeyRequest" });
export type CreateKeyInput = z.infer<typeof createKeyRequest>;

export const updateKeyRequest = z
  .object({
    key_name: z.string().max(256).nullish(),
    is_active: z.boolean().nullish(),
    expires_at: isoDateTime.nullish(),
    metadata: metadataSchema.nullish(),
    rpm_limit: limitSchema.nullish(),
    tpm_limit: limitSchema.nullish(),
    allowed_models: allowedModelsSchema.nullish(),
    budget_id: clearableRef("The key's own budget; assigning one starts a new window").nullish(),
    max_concurrent: maxConcurrentSchema.nullish(),
    end_user_budget_id: clearableRef("Budget each end user of this key gets a window on").nullish(),
    capture_content: z
      .boolean()
      .nullish()
      .describe(
        "Capture this key's prompts and completions in traces, redacted (docs/tracing.md); unset: the gateway's otel_capture_content",
      ),
  })
  .strict()
  .meta({ id: "UpdateKeyRequest" });
export type UpdateKeyInput = z.infer<typeof updateKeyRequest>;

export const keyInfo = z
  .object({
    id: z.string(),
    key_name: z.string().nullable(),
    key_prefix: z.string(),
    user_id: z.string().nullable(),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
    expires_at: z.string().nullable(),
    is_active: z.boolean(),
    metadata: metadataSchema,
    rpm_limit: z.number().int().nullable(),
    tpm_limit: z.number().int().nullable(),
    allowed_models: z.array(z.string()).nullable(),
    budget_id: z.string().nullable(),
    spend: z.number().describe("USD spent through this key in its budget window (counted with or without a budget)"),
    reserved: z.number().describe("USD held by in-flight requests' leases"),
    budget_started_at: z.string().nullable(),
    next_budget_reset_at: z.string().nullable(),
    max_concurrent: z.number().int().nullable(),
    end_user_budget_id: z.string().nullable(),
    capture_content: z
      .boolean()
      .nullable()
      .describe("Content capture in traces for this key (null: the gateway's setting)"),
  })
  .meta({ id: "KeyInfo" });
export type KeyInfo = z.infer<typeof keyInfo>;

export const createKeyResponse = keyInfo
  .omit({ last_used_at: true })
  .extend({ key: z.string().describe("The secret; shown only once") })
  .meta({ id: "CreateKeyResponse" });
export type CreateKeyResponse = z.infer<typeof createKeyResponse>;
