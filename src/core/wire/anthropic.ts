import { z } from "zod";
import { requestUserSchema } from "./chat.ts";
import { requestModelSchema } from "./model-name.ts";

/**
 * Anthropic Messages shapes (docs/api.md#messages, docs/behaviour/providers.md#anthropic-messages). Content blocks keep
 * `type` an open string and every object is loose, so server tools, citations and new block kinds survive a
 * pass-through untouched.
 */

export const anthropicBlockSchema = z
  .object({
    type: z.string(),
    text: z.string().optional(),
    id: z.string().optional(),
    name: z.string().optional(),
    input: z.unknown().optional(),
    tool_use_id: z.string().optional(),
    content: z.unknown().optional(),
    thinking: z.string().optional(),
    signature: z.string().optional(),
    source: z
      .object({
        type: z.string(),
        media_type: z.string().optional(),
        data: z.string().optional(),
        url: z.string().optional(),
      })
      .loose()
      .optional(),
    is_error: z.boolean().optional(),
  })
  .loose();
export type AnthropicBlock = z.infer<typeof anthropicBlockSchema>;

export const anthropicMessageParamSchema = z
  .object({ role: z.string(), content: z.union([z.string(), z.array(anthropicBlockSchema)]) })
  .loose();
export type AnthropicMessageParam = z.infer<typeof anthropicMessageParamSchema>;

export const anthropicToolSchema = z
  .object({
    name: z.string().optional(),
    type: z.string().optional(),
    description: z.string().optional(),
    input_schema: z.unknown().optional(),
    // OpenAI function shape, accepted on /v1/messages and converted (docs/api.md#messages)
    function: z
      .object({ name: z.string(), description: z.string().optional(), parameters: z.unknown().optional() })
      .loose()
      .optional(),
  })
  .loose();
export type AnthropicTool = z.infer<typeof anthropicToolSchema>;

export const anthropicToolChoiceSchema = z
  .object({ type: z.string(), name: z.string().optional(), disable_parallel_tool_use: z.boolean().optional() })
  .loose();
export type AnthropicToolChoice = z.infer<typeof anthropicToolChoiceSchema>;

export const anthropicRequestSchema = z
  .object({
    model: requestModelSchema,
    messages: z.array(anthropicMessageParamSchema).min(1),
    max_tokens: z.number().int(),
    system: z.union([z.string(), z.array(anthropicBlockSchema)]).optional(),
    temperature: z.number().optional(),
    top_p: z.number().optional(),
    top_k: z.number().int().optional(),
    stream: z.boolean().optional(),
    stop_sequences: z.array(z.string()).optional(),
    tools: z.array(anthropicToolSchema).optional(),
    tool_choice: anthropicToolChoiceSchema.optional(),
    metadata: z.object({ user_id: requestUserSchema }).loose().optional(),
    thinking: z.object({ type: z.string(), budget_tokens: z.number().int().optional() }).loose().optional(),
  })
  .loose();
export type AnthropicRequest = z.infer<typeof anthropicRequestSchema>;

const count = z.number().nullish();
export const anthropicUsageSchema = z
  .object({
    input_tokens: count,
    output_tokens: count,
    cache_creation_input_tokens: count,
    cache_read_input_tokens: count,
  })
  .loose();
export type AnthropicUsage = z.infer<typeof anthropicUsageSchema>;

export const anthropicMessageSchema = z
  .object({
    id: z.string(),
    type: z.literal("message").default("message"),
    role: z.string().default("assistant"),
    content: z.array(anthropicBlockSchema),
    model: z.string().default(""),
    stop_reason: z.string().nullish(),
    stop_sequence: z.string().nullish(),
    usage: anthropicUsageSchema.default({}),
  })
  .loose();
export type AnthropicMessage = z.infer<typeof anthropicMessageSchema>;

/** Any stream event: the SSE `event:` name equals `type`. Unknown types are forwarded untouched. */
export const anthropicEventSchema = z.object({ type: z.string() }).loose();
export type AnthropicEvent = z.infer<typeof anthropicEventSchema>;

/** The events the translators read, parsed strictly enough to trust their fields. */
export const anthropicKnownEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("message_start"), message: anthropicMessageSchema.partial().loose() }).loose(),
  z
    .object({ type: z.literal("content_block_start"), index: z.number().int(), content_block: anthropicBlockSchema })
    .loose(),
  z
    .object({
      type: z.literal("content_block_delta"),
      index: z.number().int(),
      delta: z
        .object({
          type: z.string(),
          text: z.string().optional(),
          partial_json: z.string().optional(),
          thinking: z.string().optional(),
        })
        .loose(),
    })
    .loose(),
  z.object({ type: z.literal("content_block_stop"), index: z.number().int() }).loose(),
  z
    .object({
      type: z.literal("message_delta"),
      delta: z.object({ stop_reason: z.string().nullish(), stop_sequence: z.string().nullish() }).loose(),
      usage: anthropicUsageSchema.nullish(),
    })
    .loose(),
  z.object({ type: z.literal("message_stop") }).loose(),
  z.object({ type: z.literal("ping") }).loose(),
  z
    .object({
      type: z.literal("error"),
      error: z.object({ type: z.string().default("api_error"), message: z.string().default("") }).loose(),
    })
    .loose(),
]);
export type AnthropicKnownEvent = z.infer<typeof anthropicKnownEventSchema>;

/** Anthropic `stop_reason` -> OpenAI `finish_reason` (docs/behaviour/providers.md#anthropic-messages). */
export function finishReasonFromAnthropic(stop: string | null | undefined): string | null {
  switch (stop) {
    case null:
    case undefined:
      return null;
    case "max_tokens":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      // end_turn, stop_sequence, pause_turn and anything newer end the turn normally
      return "stop";
  }
}

/** OpenAI `finish_reason` -> Anthropic `stop_reason` (the reverse bridge). */
export function stopReasonFromOpenAI(finish: string | null | undefined): string {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}
