/**
 * What a client may rely on, as the vendors document it: zod schemas written from the `required` lists of OpenAI's
 * published OpenAPI description (openai/openai-openapi, `openapi.yaml`: CreateChatCompletionResponse,
 * CreateChatCompletionStreamResponse, ChatCompletionResponseMessage, CompletionUsage, Error/ErrorResponse,
 * CreateEmbeddingResponse, ListModelsResponse/Model, Response, ResponseStreamEvent and its members,
 * ResponseErrorEvent) and from Anthropic's Messages API reference (Message, Usage, the streaming events, the error
 * shape). No npm package ships either description as a runtime schema (the `openai` and `@anthropic-ai/sdk` packages
 * have TypeScript types only), so the members are transcribed here.
 *
 * A required member must be present (nullable ones may be null); members the documents mark optional may be absent;
 * unknown members are allowed (vendors add fields, and so may the gateway: `cost_usd`).
 */
import { z } from "zod";

const int = z.number().int();
/** Present, possibly null. */
const nullable = <S extends z.ZodType>(s: S) => s.nullable();
/** Absent, null or `s` (an optional nullable member). */
const maybe = <S extends z.ZodType>(s: S) => s.nullish();

// ------------------------------------------------------------------ OpenAI: errors

/** `Error`: all four members are required; `code` and `param` are nullable. */
export const openaiError = z
  .object({ message: z.string(), type: z.string(), param: nullable(z.string()), code: nullable(z.string()) })
  .loose();
/** `ErrorResponse`. */
export const openaiErrorBody = z.object({ error: openaiError }).loose();

// ------------------------------------------------------------------ OpenAI: chat completions

/** `CompletionUsage`. */
export const completionUsage = z
  .object({
    prompt_tokens: int,
    completion_tokens: int,
    total_tokens: int,
    prompt_tokens_details: maybe(z.object({ cached_tokens: z.number().optional() }).loose()),
    completion_tokens_details: maybe(z.object({ reasoning_tokens: z.number().optional() }).loose()),
  })
  .loose();

/** `ChatCompletionMessageToolCall`. */
const messageToolCall = z
  .object({
    id: z.string(),
    type: z.literal("function"),
    function: z.object({ name: z.string(), arguments: z.string() }).loose(),
  })
  .loose();

/** `ChatCompletionResponseMessage`: `content`, `refusal` and `role` are required. */
const responseMessage = z
  .object({
    role: z.literal("assistant"),
    content: nullable(z.string()),
    refusal: nullable(z.string()),
    tool_calls: z.array(messageToolCall).optional(),
    annotations: z.array(z.unknown()).optional(),
  })
  .loose();

const finishReason = z.enum(["stop", "length", "tool_calls", "content_filter", "function_call"]);
/** `choices[].logprobs`: required, nullable; when present, `content` and `refusal` (both nullable arrays). */
const logprobs = nullable(
  z.object({ content: nullable(z.array(z.unknown())), refusal: nullable(z.array(z.unknown())) }).loose(),
);

/** `CreateChatCompletionResponse`. */
export const chatCompletion = z
  .object({
    id: z.string(),
    object: z.literal("chat.completion"),
    created: int,
    model: z.string(),
    choices: z.array(z.object({ index: int, message: responseMessage, finish_reason: finishReason, logprobs }).loose()),
    usage: completionUsage.optional(),
    system_fingerprint: z.string().optional(),
    service_tier: maybe(z.string()),
  })
  .loose();

/** `ChatCompletionMessageToolCallChunk`. */
const toolCallChunk = z
  .object({
    index: int,
    id: z.string().optional(),
    type: z.literal("function").optional(),
    function: z.object({ name: z.string().optional(), arguments: z.string().optional() }).loose().optional(),
  })
  .loose();

/** `ChatCompletionStreamResponseDelta`: every member optional. */
const delta = z
  .object({
    role: z.enum(["developer", "system", "user", "assistant", "tool"]).optional(),
    content: maybe(z.string()),
    refusal: maybe(z.string()),
    tool_calls: z.array(toolCallChunk).optional(),
  })
  .loose();

/** `CreateChatCompletionStreamResponse`: choices need `delta`, `finish_reason` (nullable) and `index`. */
export const chatChunk = z
  .object({
    id: z.string(),
    object: z.literal("chat.completion.chunk"),
    created: int,
    model: z.string(),
    choices: z.array(
      z.object({ index: int, delta, finish_reason: nullable(finishReason), logprobs: logprobs.optional() }).loose(),
    ),
    usage: maybe(completionUsage),
    system_fingerprint: z.string().optional(),
  })
  .loose();

// ------------------------------------------------------------------ OpenAI: embeddings and models

/** `CreateEmbeddingResponse` (`embedding` is a base64 string when `encoding_format: "base64"` was asked). */
export const embeddingsList = z
  .object({
    object: z.literal("list"),
    model: z.string(),
    data: z.array(
      z
        .object({ object: z.literal("embedding"), index: int, embedding: z.union([z.array(z.number()), z.string()]) })
        .loose(),
    ),
    usage: z.object({ prompt_tokens: int, total_tokens: int }).loose(),
  })
  .loose();

/** `Model`. */
export const model = z
  .object({ id: z.string(), object: z.literal("model"), created: int, owned_by: z.string() })
  .loose();
/** `ListModelsResponse`. */
export const modelList = z.object({ object: z.literal("list"), data: z.array(model) }).loose();

// ------------------------------------------------------------------ OpenAI: Responses API

const outputText = z
  .object({ type: z.literal("output_text"), text: z.string(), annotations: z.array(z.unknown()) })
  .loose();
/** `ResponseOutputMessage`. */
const outputMessage = z
  .object({
    type: z.literal("message"),
    id: z.string(),
    role: z.literal("assistant"),
    status: z.string(),
    content: z.array(z.union([outputText, z.object({ type: z.literal("refusal"), refusal: z.string() }).loose()])),
  })
  .loose();
/** `ResponseFunctionToolCall`. */
const functionCall = z
  .object({
    type: z.literal("function_call"),
    call_id: z.string(),
    name: z.string(),
    arguments: z.string(),
    id: z.string().optional(),
    status: z.string().optional(),
  })
  .loose();
const otherItem = z.object({ type: z.string().refine((t) => t !== "message" && t !== "function_call") }).loose();
const outputItem = z.union([outputMessage, functionCall, otherItem]);

/** `ResponseUsage`. */
const responseUsage = z
  .object({
    input_tokens: int,
    input_tokens_details: z.object({ cached_tokens: int }).loose(),
    output_tokens: int,
    output_tokens_details: z.object({ reasoning_tokens: int }).loose(),
    total_tokens: int,
  })
  .loose();

/** `Response`: the members its `required` list names, null where nullable. */
export const response = z
  .object({
    id: z.string(),
    object: z.literal("response"),
    created_at: z.number(),
    status: z.string().optional(),
    error: nullable(z.object({ code: z.string(), message: z.string() }).loose()),
    incomplete_details: nullable(z.object({ reason: z.string().optional() }).loose()),
    instructions: nullable(z.union([z.string(), z.array(z.unknown())])),
    model: z.string(),
    output: z.array(outputItem),
    parallel_tool_calls: z.boolean(),
    metadata: nullable(z.record(z.string(), z.unknown())),
    tool_choice: z.union([z.string(), z.object({ type: z.string() }).loose()]),
    tools: z.array(z.unknown()),
    temperature: nullable(z.number()),
    top_p: nullable(z.number()),
    usage: maybe(responseUsage),
  })
  .loose();

const seq = { sequence_number: int };
const responseEvent = (type: string) => z.object({ type: z.literal(type), response, ...seq }).loose();
const itemEvent = (type: string) =>
  z.object({ type: z.literal(type), output_index: int, item: outputItem, ...seq }).loose();
const located = { item_id: z.string(), output_index: int };
const part = z.object({ type: z.string() }).loose();

/** `ResponseErrorEvent`. */
export const responseErrorEvent = z
  .object({
    type: z.literal("error"),
    code: nullable(z.string()),
    message: z.string(),
    param: nullable(z.string()),
    ...seq,
  })
  .loose();

const knownEvents = {
  "response.created": responseEvent("response.created"),
  "response.in_progress": responseEvent("response.in_progress"),
  "response.completed": responseEvent("response.completed"),
  "response.failed": responseEvent("response.failed"),
  "response.incomplete": responseEvent("response.incomplete"),
  "response.output_item.added": itemEvent("response.output_item.added"),
  "response.output_item.done": itemEvent("response.output_item.done"),
  "response.content_part.added": z
    .object({ type: z.literal("response.content_part.added"), ...located, content_index: int, part, ...seq })
    .loose(),
  "response.content_part.done": z
    .object({ type: z.literal("response.content_part.done"), ...located, content_index: int, part, ...seq })
    .loose(),
  "response.output_text.delta": z
    .object({
      type: z.literal("response.output_text.delta"),
      ...located,
      content_index: int,
      delta: z.string(),
      ...seq,
    })
    .loose(),
  "response.output_text.done": z
    .object({ type: z.literal("response.output_text.done"), ...located, content_index: int, text: z.string(), ...seq })
    .loose(),
  "response.function_call_arguments.delta": z
    .object({ type: z.literal("response.function_call_arguments.delta"), ...located, delta: z.string(), ...seq })
    .loose(),
  "response.function_call_arguments.done": z
    .object({ type: z.literal("response.function_call_arguments.done"), ...located, arguments: z.string(), ...seq })
    .loose(),
  error: responseErrorEvent,
} as const;

/** One `ResponseStreamEvent`: the documented shape of its type (every event carries `sequence_number`). */
export function checkResponseEvent(event: unknown): z.ZodSafeParseResult<unknown> {
  const type = (event as { type?: unknown } | null)?.type;
  const schema =
    typeof type === "string" && type in knownEvents
      ? knownEvents[type as keyof typeof knownEvents]
      : z.object({ type: z.string(), ...seq }).loose();
  return schema.safeParse(event);
}

// ------------------------------------------------------------------ Anthropic Messages

/** `Usage`: the two cache counts are required, nullable. */
const anthropicUsage = z
  .object({
    input_tokens: int,
    output_tokens: int,
    cache_creation_input_tokens: nullable(int),
    cache_read_input_tokens: nullable(int),
  })
  .loose();
const contentBlock = z.union([
  z.object({ type: z.literal("text"), text: z.string() }).loose(),
  z.object({ type: z.literal("tool_use"), id: z.string(), name: z.string(), input: z.unknown() }).loose(),
  z.object({ type: z.literal("thinking"), thinking: z.string(), signature: z.string() }).loose(),
  z.object({ type: z.string().refine((t) => !["text", "tool_use", "thinking"].includes(t)) }).loose(),
]);
const stopReason = z.enum(["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]);

/** `Message`. */
export const anthropicMessage = z
  .object({
    id: z.string(),
    type: z.literal("message"),
    role: z.literal("assistant"),
    content: z.array(contentBlock),
    model: z.string(),
    stop_reason: nullable(stopReason),
    stop_sequence: nullable(z.string()),
    usage: anthropicUsage,
  })
  .loose();

const blockDelta = z.union([
  z.object({ type: z.literal("text_delta"), text: z.string() }).loose(),
  z.object({ type: z.literal("input_json_delta"), partial_json: z.string() }).loose(),
  z.object({ type: z.literal("thinking_delta"), thinking: z.string() }).loose(),
  z.object({ type: z.literal("signature_delta"), signature: z.string() }).loose(),
  z.object({ type: z.literal("citations_delta") }).loose(),
]);

/** Anthropic's error shape (body and `error` stream event). */
export const anthropicErrorBody = z
  .object({ type: z.literal("error"), error: z.object({ type: z.string(), message: z.string() }).loose() })
  .loose();

/** The streaming events (`event:` name equals `type`). */
export const anthropicEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("message_start"), message: anthropicMessage }).loose(),
  z.object({ type: z.literal("content_block_start"), index: int, content_block: contentBlock }).loose(),
  z.object({ type: z.literal("content_block_delta"), index: int, delta: blockDelta }).loose(),
  z.object({ type: z.literal("content_block_stop"), index: int }).loose(),
  z
    .object({
      type: z.literal("message_delta"),
      delta: z.object({ stop_reason: nullable(stopReason), stop_sequence: nullable(z.string()) }).loose(),
      usage: z.object({ output_tokens: int }).loose(),
    })
    .loose(),
  z.object({ type: z.literal("message_stop") }).loose(),
  z.object({ type: z.literal("ping") }).loose(),
  anthropicErrorBody,
]);

// ------------------------------------------------------------------ checking a whole reply

export interface SseFrame {
  event: string | null;
  data: string;
}

/** SSE frames of a body (comment lines skipped); `data:` lines of one event joined with "\n". */
export function sseFrames(text: string): SseFrame[] {
  const frames: SseFrame[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (event !== null || data.length > 0) frames.push({ event, data: data.join("\n") });
  }
  return frames;
}

/** Problems of one value against a schema, as readable lines (empty when it conforms). */
export function problems(
  schema: z.ZodType | ((v: unknown) => z.ZodSafeParseResult<unknown>),
  value: unknown,
  where: string,
): string[] {
  const result = typeof schema === "function" ? schema(value) : schema.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map(
    (i) => `${where}: ${i.path.join(".") || "(root)"}: ${i.message} in ${JSON.stringify(value).slice(0, 300)}`,
  );
}

/** A chat stream: chunks (or the chat error object) until `[DONE]`, which must come last. */
export function chatStreamProblems(text: string, where: string): string[] {
  const frames = sseFrames(text);
  const out: string[] = [];
  if (frames.at(-1)?.data !== "[DONE]") out.push(`${where}: the stream does not end with data: [DONE]`);
  frames.forEach((f, i) => {
    if (f.data === "[DONE]") {
      if (i !== frames.length - 1) out.push(`${where}: [DONE] before the end`);
      return;
    }
    const json: unknown = JSON.parse(f.data);
    const isError = typeof json === "object" && json !== null && "error" in json;
    out.push(...problems(isError ? openaiErrorBody : chatChunk, json, `${where} frame ${i}`));
  });
  return out;
}

/** A Responses stream: `event:` equal to `type`, each event its documented shape, numbered 0, 1, 2... */
export function responsesStreamProblems(text: string, where: string): string[] {
  const out: string[] = [];
  let expected = 0;
  for (const [i, f] of sseFrames(text).entries()) {
    if (f.data === "[DONE]") continue;
    const json = JSON.parse(f.data) as { type?: string; sequence_number?: number };
    if (f.event !== json.type) out.push(`${where} frame ${i}: event '${f.event}' but type '${json.type}'`);
    if (json.sequence_number !== expected)
      out.push(`${where} frame ${i}: sequence_number ${json.sequence_number}, expected ${expected}`);
    expected = (json.sequence_number ?? expected) + 1;
    out.push(...problems(checkResponseEvent, json, `${where} frame ${i}`));
  }
  return out;
}

/** A Messages stream: `event:` equal to `type`, each event its documented shape, ending at message_stop or error. */
export function messagesStreamProblems(text: string, where: string): string[] {
  const frames = sseFrames(text);
  const out: string[] = [];
  const last = frames.at(-1)?.event;
  if (last !== "message_stop" && last !== "error")
    out.push(`${where}: the stream ends with '${last}', not message_stop`);
  for (const [i, f] of frames.entries()) {
    const json = JSON.parse(f.data) as { type?: string };
    if (f.event !== json.type) out.push(`${where} frame ${i}: event '${f.event}' but type '${json.type}'`);
    out.push(...problems(anthropicEvent, json, `${where} frame ${i}`));
  }
  return out;
}
