/**
 * The SSE framing of each inference protocol (SPEC §6.1, §6.2): how one provider item becomes a frame, the
 * keepalive, and the closing frames. Shared by the standalone services and platform mode (src/services/platform),
 * which differ only in how a stream is opened and settled.
 */
import { withoutNulls } from "../../core/json";
import { type AnthropicEvent, type ChatChunk, chunkForClient, type ResponsesEvent, toOpenAIUsage } from "../../core/wire/index";
import { SSE_DONE, sseComment, sseData, sseEvent } from "../../providers/_shared/sse";
import type { PumpEnd } from "./sse-pump";

export interface SseFraming<T> {
  keepalive: string;
  /** The SSE frame for one item; null holds it back or swallows it. */
  frame: (item: T) => string | null;
  /** Closing frames once the stream is settled (not called when the client is gone); `costMicros` when priced. */
  closing: (end: PumpEnd, costMicros: number | null) => string[];
}

const STREAM_ERROR = { error: { message: "An error occurred during streaming", type: "server_error" } };
const MESSAGES_STREAM_ERROR = { type: "error", error: { type: "api_error", message: "An error occurred during streaming" } };

/**
 * Chat chunks as `data:` frames. The usage-only chunk is held back so it can carry the settled cost (SPEC §0),
 * and reaches the client only when it asked for usage (SPEC §6.2). `model` is read at the end: with fallbacks the
 * model that served is known only once the stream opened.
 */
export function chatFraming(o: { includeUsage: boolean; model: () => string; requestId: string }): SseFraming<ChatChunk> {
  let heldUsage: ChatChunk | null = null;
  return {
    keepalive: sseComment("keepalive"),
    frame: (chunk) => {
      if (chunk.choices.length === 0 && chunk.usage) {
        heldUsage = chunk;
        return null;
      }
      const out = chunkForClient(chunk, o.includeUsage);
      return out ? sseData(out) : null;
    },
    closing: (end, costMicros) => {
      if (end.kind === "upstream_error") return [sseData(STREAM_ERROR), SSE_DONE];
      if (!o.includeUsage || !end.usageSeen) return [SSE_DONE];
      const base = heldUsage ?? { id: `chatcmpl-${o.requestId}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: o.model(), choices: [] };
      const usage = { ...toOpenAIUsage(end.usage), ...(costMicros !== null ? { cost_usd: costMicros / 1e6 } : {}) };
      return [sseData({ ...base, choices: [], usage }), SSE_DONE];
    },
  };
}

/** Anthropic events as `event: <type>` frames, ending with the baseline's `event: done`. */
export function messagesFraming(): SseFraming<AnthropicEvent> {
  return {
    keepalive: sseEvent("ping", { type: "ping" }),
    frame: (event) => sseEvent(event.type, withoutNulls(event)),
    closing: (end) => [end.kind === "upstream_error" ? sseEvent("error", MESSAGES_STREAM_ERROR) : sseEvent("done", {})],
  };
}

/** Responses events as `event: <type>` frames, ending with `[DONE]` (no `[DONE]` after an error event). */
export function responsesFraming(): SseFraming<ResponsesEvent> {
  return {
    keepalive: sseComment("keepalive"),
    frame: (event) => sseEvent(event.type, withoutNulls(event)),
    closing: (end) => [end.kind === "upstream_error" ? sseEvent("error", STREAM_ERROR) : SSE_DONE],
  };
}
