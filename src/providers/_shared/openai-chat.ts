import { GatewayError } from "../../core/errors.ts";
import { isCanonicalChunk } from "../../core/wire/canonical.ts";
import {
  type ChatChunk,
  type ChatCompletion,
  type ChatRequest,
  FORWARDED_CHAT_FIELDS,
  type OpenAIUsage,
  chatChunkSchema,
  fromOpenAIUsage,
  mergeUsage,
  openAIUsageSchema,
} from "../../core/wire/index.ts";
import { type FailureRoute, ProviderFailure, cutStreamError, malformedBodyError, upstreamHttpError } from "./errors.ts";
import type { SseEvent } from "./sse.ts";
import { type StreamState, sseJson } from "./stream.ts";

/**
 * OpenAI Chat Completions on the wire (docs/behaviour/providers.md#openai-format-providers): request shaping, reasoning
 * mapping, chunk decoding.
 */

export type JsonObject = Record<string, unknown>;

/** Per-provider request tweaks on top of the OpenAI body (e.g. Mistral, docs/behaviour/providers.md#mistral). */
export type ChatBodyAdapter = (body: JsonObject) => JsonObject;

/**
 * The upstream body: forwarded fields only (docs/api.md#chat-completions), `model` already bare. Streams always ask for
 * usage (docs/behaviour/streaming.md#usage-in-streams), merged with the client's own `stream_options`, unless the
 * dialect cannot take the option.
 */
export function toOpenAIBody(req: ChatRequest, stream: boolean, streamUsage: boolean): JsonObject {
  const body: JsonObject = {};
  // Built without `delete` (it would turn the object into a slow dictionary on every request).
  for (const key of FORWARDED_CHAT_FIELDS)
    if (key !== "stream" && key !== "stream_options" && req[key] !== undefined && req[key] !== null)
      body[key] = req[key];
  body["stream"] = stream;
  if (stream && streamUsage) body["stream_options"] = { ...(req.stream_options ?? {}), include_usage: true };
  return body;
}

/** `reasoning_content` / string `reasoning` (DeepSeek, vLLM, Groq, OpenRouter) -> `reasoning: {content}`. */
function liftReasoning(target: JsonObject): void {
  const text = typeof target["reasoning_content"] === "string" ? target["reasoning_content"] : target["reasoning"];
  if (typeof text === "string") {
    target["reasoning"] = { content: text };
    delete target["reasoning_content"];
  }
}

/** Groq reports usage under `x_groq.usage` (docs/behaviour/providers.md#openai-format-providers). */
function groqUsage(body: JsonObject): OpenAIUsage | null {
  const x = body["x_groq"];
  if (!x || typeof x !== "object") return null;
  const parsed = openAIUsageSchema.safeParse((x as JsonObject)["usage"]);
  return parsed.success ? parsed.data : null;
}

/** Normalises a provider's chat.completion in place: reasoning shape, Groq usage. */
export function normalizeCompletion(body: ChatCompletion): ChatCompletion {
  for (const choice of body.choices) liftReasoning(choice.message);
  if (!body.usage) body.usage = groqUsage(body);
  return body;
}

export function normalizeChunk(chunk: ChatChunk): ChatChunk {
  for (const choice of chunk.choices) liftReasoning(choice.delta);
  if (!chunk.usage) {
    const groq = groqUsage(chunk);
    if (groq) chunk.usage = groq;
  }
  return chunk;
}

const hasContent = (chunk: ChatChunk): boolean =>
  chunk.choices.some((c) => !!c.delta.content || (c.delta.tool_calls?.length ?? 0) > 0 || !!c.delta.reasoning);

/**
 * An error object sent inside a stream (OpenAI `{"error":{...}}`, OpenRouter with a numeric HTTP `code`).
 * A numeric code in the HTTP range is mapped like the status it names; anything else is a provider error.
 */
export function inStreamError(error: unknown, route: FailureRoute): GatewayError {
  const code = error && typeof error === "object" ? (error as JsonObject)["code"] : undefined;
  const bodyText = JSON.stringify({ error });
  if (typeof code === "number" && code >= 400 && code < 600)
    return upstreamHttpError({ status: code, bodyText, headers: new Headers(), route });
  return new GatewayError(
    502,
    route === "inference" ? "LLM provider error" : "The request could not be completed by the provider",
    {
      code: "provider_error",
      cause: new ProviderFailure(`error event in stream: ${bodyText.slice(0, 2000)}`, null),
    },
  );
}

/**
 * OpenAI chat SSE -> canonical chunks; `[DONE]` or end of body ends the stream. A chunk already in canonical shape
 * skips the schema and its upstream text is the stream's `raw` while it is the current item. A body that ends after chunks
 * but before both `[DONE]` and any finish_reason was cut.
 */
export async function* decodeOpenAIChunks(
  events: AsyncIterable<SseEvent>,
  state: StreamState,
): AsyncGenerator<ChatChunk> {
  const end = { done: false };
  let started = false;
  let finished = false;
  for await (const { json, text } of sseJson(events, "stream", end)) {
    if (json && typeof json === "object" && "error" in json && !("choices" in json))
      throw inStreamError((json as JsonObject)["error"], "inference");
    let chunk: ChatChunk;
    if (isCanonicalChunk(json)) {
      chunk = json as ChatChunk;
      state.raw = text;
    } else {
      const parsed = chatChunkSchema.safeParse(json);
      if (!parsed.success) throw malformedBodyError("inference", parsed.error.message.slice(0, 300));
      chunk = normalizeChunk(parsed.data);
      state.raw = undefined;
    }
    if (chunk.usage) state.usage = mergeUsage(state.usage, fromOpenAIUsage(chunk.usage));
    if (!state.contentSeen && hasContent(chunk)) state.contentSeen = true;
    started = true;
    if (!finished) finished = chunk.choices.some((c) => c.finish_reason);
    yield chunk;
  }
  if (started && !end.done && !finished) throw cutStreamError("[DONE] or a finish_reason");
}
