/**
 * Request bodies of the inference routes: the canonical wire schemas plus the checks pinned at the edge
 * (every message needs a `role`, with the baseline's message text; docs/api.md#chat-completions).
 */
import { z } from "zod";
import { batchListSchema, batchSchema, createBatchRequestSchema } from "../../../core/wire/batches";
import { isCanonicalChatRequest } from "../../../core/wire/canonical";
import { bodySchema, querySchema } from "../../fast-schema";
import { gatewayToolFields } from "../../../core/schemas/gateway-tools";
import {
  anthropicRequestSchema,
  chatMessageSchema,
  chatRequestSchema,
  embeddingRequestSchema,
  imageRequestSchema,
  rerankRequestSchema,
  moderationRequestSchema,
  moderationResponseSchema,
  requestUserSchema,
  responsesRequestSchema,
  speechRequestSchema,
  transcriptionRequestSchema,
} from "../../../core/wire/index";

const messagesWithRoles = z
  .array(z.unknown())
  .min(1)
  .superRefine((items, ctx) => {
    items.forEach((item, i) => {
      if (!item || typeof item !== "object" || !("role" in item)) {
        ctx.addIssue({ code: "custom", message: `messages[${i}]: 'role' is required`, path: [i] });
      }
    });
  })
  .pipe(z.array(chatMessageSchema));

export const chatBody = bodySchema(
  chatRequestSchema.extend({ messages: messagesWithRoles, ...gatewayToolFields }).meta({ id: "ChatCompletionRequest" }),
  isCanonicalChatRequest,
);

/** Optional Messages fields also accept null (as the baseline's schema does); null reads as absent. */
const orNull = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);
const a = anthropicRequestSchema.shape;
const messagesFields = {
  system: orNull(a.system.unwrap()),
  temperature: orNull(a.temperature.unwrap()),
  top_p: orNull(a.top_p.unwrap()),
  top_k: orNull(a.top_k.unwrap()),
  stop_sequences: orNull(a.stop_sequences.unwrap()),
  tools: orNull(a.tools.unwrap()),
  tool_choice: orNull(a.tool_choice.unwrap()),
  metadata: orNull(a.metadata.unwrap()),
  thinking: orNull(a.thinking.unwrap()),
  cache_control: orNull(z.record(z.string(), z.unknown())),
  ...gatewayToolFields,
};
export const messagesBody = bodySchema(anthropicRequestSchema.extend(messagesFields).meta({ id: "MessagesRequest" }));
/** count_tokens takes the Messages body without `max_tokens` (Anthropic's own SDK sends none there). */
export const countTokensBody = bodySchema(
  anthropicRequestSchema
    .extend({ ...messagesFields, max_tokens: z.number().int().optional() })
    .meta({ id: "CountTokensRequest" }),
);
export const responsesBody = bodySchema(
  responsesRequestSchema
    .extend({ tools: z.array(z.unknown()).nullish(), user: requestUserSchema, ...gatewayToolFields })
    .meta({ id: "ResponsesRequest" }),
);
export const moderationResponse = moderationResponseSchema.meta({ id: "ModerationResponse" });
export const embeddingsBody = bodySchema(embeddingRequestSchema.meta({ id: "EmbeddingRequest" }));
export const moderationsBody = bodySchema(moderationRequestSchema.meta({ id: "ModerationRequest" }));
export const rerankBody = bodySchema(rerankRequestSchema.meta({ id: "RerankRequest" }));
export const imagesBody = bodySchema(imageRequestSchema.meta({ id: "ImageGenerationRequest" }));
export const speechBody = bodySchema(speechRequestSchema.meta({ id: "AudioSpeechRequest" }));
export const transcriptionBody = bodySchema(transcriptionRequestSchema.meta({ id: "AudioTranscriptionRequest" }));
export const moderationQuery = querySchema(
  z.object({
    include_raw: z
      .enum(["true", "false", "1", "0"])
      .optional()
      .transform((v) => v === "true" || v === "1"),
  }),
);
export const modelsQuery = querySchema(z.object({ provider: z.string().optional() }));
export const createBatchBody = bodySchema(createBatchRequestSchema.meta({ id: "CreateBatchRequest" }));
export const batchProviderQuery = querySchema(z.object({ provider: z.string().min(1) }));
export const batchListQuery = querySchema(
  z.object({
    provider: z.string().min(1),
    after: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(100).optional(),
  }),
);
export const batchResponse = batchSchema.meta({ id: "Batch" });
export const batchListResponse = batchListSchema.meta({ id: "BatchList" });
