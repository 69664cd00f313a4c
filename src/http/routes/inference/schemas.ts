/**
 * Request bodies of the inference routes: the canonical wire schemas plus the checks SPEC §3.3 pins at the edge
 * (every message needs a `role`, with the baseline's message text).
 */
import { z } from "zod";
import { anthropicRequestSchema, chatMessageSchema, chatRequestSchema, embeddingRequestSchema, moderationRequestSchema, responsesRequestSchema } from "../../../core/wire/index";

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

export const chatBody = chatRequestSchema.extend({ messages: messagesWithRoles }).meta({ id: "ChatCompletionRequest" });
export const messagesBody = anthropicRequestSchema.meta({ id: "MessagesRequest" });
/** count_tokens takes the Messages body without `max_tokens` (Anthropic's own SDK sends none there). */
export const countTokensBody = anthropicRequestSchema.extend({ max_tokens: z.number().int().optional() }).meta({ id: "CountTokensRequest" });
export const responsesBody = responsesRequestSchema.meta({ id: "ResponsesRequest" });
export const embeddingsBody = embeddingRequestSchema.meta({ id: "EmbeddingRequest" });
export const moderationsBody = moderationRequestSchema.meta({ id: "ModerationRequest" });
export const moderationQuery = z.object({
  include_raw: z
    .enum(["true", "false", "1", "0"])
    .optional()
    .transform((v) => v === "true" || v === "1"),
});
export const modelsQuery = z.object({ provider: z.string().optional() });
