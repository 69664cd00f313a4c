import { z } from "zod";
import { requestUserSchema } from "./chat.ts";
import { requestModelSchema } from "./model-name.ts";

/** OpenAI embeddings and moderation shapes (docs/api.md#embeddings, docs/api.md#moderations). */

export const embeddingRequestSchema = z
  .object({
    model: requestModelSchema,
    input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))]),
    encoding_format: z.string().nullish(),
    dimensions: z.number().int().nullish(),
    user: requestUserSchema,
  })
  .loose();
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;

export const embeddingResponseSchema = z
  .object({
    object: z.string().default("list"),
    data: z.array(
      z
        .object({
          object: z.string().default("embedding"),
          index: z.number().int(),
          // base64 when encoding_format is "base64"
          embedding: z.union([z.array(z.number()), z.string()]),
        })
        .loose(),
    ),
    model: z.string().default(""),
    usage: z.object({ prompt_tokens: z.number().nullish(), total_tokens: z.number().nullish() }).loose().nullish(),
  })
  .loose();
export type EmbeddingResponse = z.infer<typeof embeddingResponseSchema>;

export const moderationRequestSchema = z
  .object({
    model: requestModelSchema,
    input: z.union([z.string(), z.array(z.string()), z.array(z.object({ type: z.string() }).loose())]),
    user: requestUserSchema,
  })
  .loose();
export type ModerationRequest = z.infer<typeof moderationRequestSchema>;

export const moderationResultSchema = z
  .object({
    flagged: z.boolean(),
    categories: z.record(z.string(), z.boolean().nullable()),
    category_scores: z.record(z.string(), z.number().nullable()),
    category_applied_input_types: z.record(z.string(), z.array(z.string())).nullish(),
    provider_raw: z.unknown().optional(),
  })
  .loose();

export const moderationResponseSchema = z
  .object({
    id: z.string().default(""),
    model: z.string().default(""),
    results: z.array(moderationResultSchema),
  })
  .loose();
export type ModerationResponse = z.infer<typeof moderationResponseSchema>;
export type ModerationResult = z.infer<typeof moderationResultSchema>;
