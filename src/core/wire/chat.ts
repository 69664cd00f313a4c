import { z } from "zod";
import { requestModelSchema } from "./model-name.ts";
import { openAIUsageSchema } from "./usage.ts";

/**
 * Canonical OpenAI Chat Completions shapes (docs/api.md#chat-completions,
 * docs/behaviour/providers.md#canonical-form-and-usage). Every object is `.loose()`: unknown members are kept, because
 * providers and clients add fields the gateway must not drop on the way through.
 */

/** A content part; `type` stays an open string so new part kinds (input_audio, file...) pass through. */
export const contentPartSchema = z
  .object({
    type: z.string(),
    text: z.string().optional(),
    image_url: z.object({ url: z.string(), detail: z.string().optional() }).loose().optional(),
  })
  .loose();
export type ContentPart = z.infer<typeof contentPartSchema>;

export const toolCallSchema = z
  .object({
    id: z.string(),
    type: z.string().default("function"),
    function: z.object({ name: z.string(), arguments: z.string() }).loose(),
  })
  .loose();
export type ToolCall = z.infer<typeof toolCallSchema>;

export const chatMessageSchema = z
  .object({
    role: z.string(),
    content: z.union([z.string(), z.array(contentPartSchema)]).nullish(),
    name: z.string().optional(),
    tool_calls: z.array(toolCallSchema).nullish(),
    tool_call_id: z.string().optional(),
  })
  .loose();
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const functionToolSchema = z
  .object({
    type: z.string(),
    function: z
      .object({ name: z.string(), description: z.string().optional(), parameters: z.unknown().optional() })
      .loose()
      .optional(),
  })
  .loose();
export type ChatTool = z.infer<typeof functionToolSchema>;

export const toolChoiceSchema = z.union([
  z.string(),
  z.object({ type: z.string(), function: z.object({ name: z.string() }).loose().optional() }).loose(),
]);
export type ToolChoice = z.infer<typeof toolChoiceSchema>;

export const responseFormatSchema = z
  .object({
    type: z.string(),
    json_schema: z
      .object({ name: z.string().optional(), description: z.string().optional(), schema: z.unknown().optional() })
      .loose()
      .optional(),
  })
  .loose();

/**
 * The request's `user` (on /v1/messages `metadata.user_id`): what decides who is billed depends on the credential.
 * The same text documents it on every route.
 */
export const requestUserSchema = z
  .string()
  .nullish()
  .describe(
    "With the master key: the user billed for the request (required; must exist). With a virtual key: the calling app's own end-user id (as LibreChat, Open WebUI and agent frameworks send it); the key's user is always billed, the value is recorded as the usage row's `end_user_id` (filter with `end_user_id=` on /v1/usage), and any value is accepted, unless `reject_user_mismatch` is on: then a value other than the key's user is refused with 403.",
  );

export const chatRequestSchema = z
  .object({
    model: requestModelSchema,
    messages: z.array(chatMessageSchema).min(1),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
    temperature: z.number().nullish(),
    top_p: z.number().nullish(),
    max_tokens: z.number().int().nullish(),
    max_completion_tokens: z.number().int().nullish(),
    n: z.number().int().nullish(),
    stop: z.union([z.string(), z.array(z.string())]).nullish(),
    seed: z.number().int().nullish(),
    tools: z.array(functionToolSchema).nullish(),
    tool_choice: toolChoiceSchema.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    response_format: responseFormatSchema.nullish(),
    reasoning_effort: z.string().nullish(),
    user: requestUserSchema,
  })
  .loose();
export type ChatRequest = z.infer<typeof chatRequestSchema>;

/**
 * Top-level request fields forwarded to OpenAI-format providers (docs/api.md#chat-completions: the baseline's list plus
 * the standard OpenAI fields). Anything else, including `user` and the gateway-only fields, stays in the gateway.
 */
export const FORWARDED_CHAT_FIELDS: readonly string[] = [
  "model",
  "messages",
  "temperature",
  "max_tokens",
  "max_completion_tokens",
  "top_p",
  "stream",
  "stream_options",
  "tools",
  "tool_choice",
  "response_format",
  "n",
  "stop",
  "seed",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "parallel_tool_calls",
  "reasoning_effort",
  "service_tier",
  "metadata",
  "modalities",
  "store",
  "prediction",
  "audio",
];

/** Gateway-only request fields (docs/api.md#chat-completions); never forwarded upstream on any route. */
export const GATEWAY_ONLY_FIELDS: readonly string[] = [
  "mcp_servers",
  "mcp_server_ids",
  "tools_header",
  "max_tool_iterations",
];

/** Reasoning text in the baseline's any-llm shape (docs/api.md#chat-completions). */
export const reasoningSchema = z.object({ content: z.string() }).loose();
/** Upstream `reasoning` may be a bare string (OpenRouter, Groq, vLLM): read it as `{content}`. */
const upstreamReasoning = z.preprocess((v) => (typeof v === "string" ? { content: v } : v), reasoningSchema.nullish());

/**
 * Members OpenAI marks required but nullable are filled with null when an upstream leaves them out, and every body
 * the gateway translates must set them (the output types require them): clients that validate responses against
 * OpenAI's schema (the Vercel AI SDK, typed SDKs) reject a completion without them.
 */
const requiredNullable = <S extends z.ZodType>(schema: S) => schema.nullable().default(null);

export const assistantMessageSchema = z
  .object({
    role: z.string().default("assistant"),
    content: requiredNullable(z.string()),
    refusal: requiredNullable(z.string()),
    tool_calls: z.array(toolCallSchema).nullish(),
    reasoning: upstreamReasoning,
  })
  .loose();

export const chatChoiceSchema = z
  .object({
    index: z.number().int().default(0),
    message: assistantMessageSchema,
    finish_reason: z.string().nullish(),
    logprobs: requiredNullable(z.unknown()),
  })
  .loose();

export const chatCompletionSchema = z
  .object({
    id: z.string().default(""),
    object: z.string().default("chat.completion"),
    created: z.number().default(0),
    model: z.string().default(""),
    choices: z.array(chatChoiceSchema),
    usage: openAIUsageSchema.nullish(),
  })
  .loose();
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;
export type ChatChoice = z.infer<typeof chatChoiceSchema>;

export const toolCallDeltaSchema = z
  .object({
    index: z.number().int(),
    id: z.string().nullish(),
    type: z.string().nullish(),
    function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).loose().nullish(),
  })
  .loose();
export type ToolCallDelta = z.infer<typeof toolCallDeltaSchema>;

export const chunkChoiceSchema = z
  .object({
    index: z.number().int().default(0),
    delta: z
      .object({
        role: z.string().nullish(),
        content: z.string().nullish(),
        tool_calls: z.array(toolCallDeltaSchema).nullish(),
        reasoning: upstreamReasoning,
      })
      .loose()
      .default({}),
    finish_reason: requiredNullable(z.string()),
  })
  .loose();

export const chatChunkSchema = z
  .object({
    id: z.string().default(""),
    object: z.string().default("chat.completion.chunk"),
    created: z.number().default(0),
    model: z.string().default(""),
    choices: z.array(chunkChoiceSchema).default([]),
    usage: openAIUsageSchema.nullish(),
  })
  .loose();
export type ChatChunk = z.infer<typeof chatChunkSchema>;
export type ChunkChoice = z.infer<typeof chunkChoiceSchema>;

/**
 * Downstream (docs/behaviour/streaming.md#usage-in-streams): a client that did not ask for usage gets no usage-only
 * chunk and no `usage` member on other chunks. Returns null when the chunk must be swallowed.
 */
export function chunkForClient(chunk: ChatChunk, includeUsage: boolean): ChatChunk | null {
  if (includeUsage) return chunk;
  if (chunk.choices.length === 0 && chunk.usage) return null;
  if (chunk.usage === undefined) return chunk;
  const { usage: _dropped, ...rest } = chunk;
  return rest;
}
