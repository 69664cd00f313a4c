import type { z } from "zod";
import {
  type NormalizedUsage,
  type ResponsesEvent,
  emptyUsage,
  mergeUsage,
  RESPONSES_TERMINAL_EVENTS,
  responsesEventSchema,
  type responsesUsageSchema,
} from "../../core/wire/index.ts";
import { cutStreamError, malformedBodyError } from "./errors.ts";
import { inStreamError } from "./openai-chat.ts";
import type { SseEvent } from "./sse.ts";
import { type StreamState, sseJson } from "./stream.ts";

/** OpenAI Responses API usage and stream events (docs/api.md#responses): forwarded as-is, usage read on the way. */

export function fromResponsesUsage(u: z.infer<typeof responsesUsageSchema> | null | undefined): NormalizedUsage {
  if (!u) return emptyUsage();
  const n = (v: number | null | undefined) => (typeof v === "number" ? v : null);
  const prompt = n(u.input_tokens);
  const completion = n(u.output_tokens);
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: n(u.total_tokens) ?? (prompt !== null && completion !== null ? prompt + completion : null),
    cacheReadTokens: n(u.input_tokens_details?.cached_tokens),
    cacheWriteTokens: null,
    reasoningTokens: n(u.output_tokens_details?.reasoning_tokens),
  };
}

/**
 * Events pass through untouched; usage comes from the terminal `response.completed` / `.incomplete` /
 * `.failed` event's `response.usage`. A top-level `error` event is an upstream failure; a body that ends after
 * events but before a terminal one was cut.
 */
export async function* decodeResponsesEvents(
  events: AsyncIterable<SseEvent>,
  state: StreamState,
): AsyncGenerator<ResponsesEvent> {
  const end = { done: false };
  let started = false;
  let finished = false;
  for await (const { json } of sseJson(events, "responses stream", end)) {
    const parsed = responsesEventSchema.safeParse(json);
    if (!parsed.success) throw malformedBodyError("inference", parsed.error.message.slice(0, 300));
    const event = parsed.data;
    if (event.type === "error") throw inStreamError(event["error"] ?? event, "inference");
    if (event.response?.usage) state.usage = mergeUsage(state.usage, fromResponsesUsage(event.response.usage));
    if (!state.contentSeen && event.type.endsWith(".delta")) state.contentSeen = true;
    started = true;
    if (RESPONSES_TERMINAL_EVENTS.has(event.type)) finished = true;
    yield event;
  }
  if (started && !end.done && !finished) throw cutStreamError("a response.completed, .incomplete or .failed event");
}
