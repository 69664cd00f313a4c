/**
 * The SSE framing of each inference protocol (SPEC §6.1, §6.2): how one provider item becomes a frame, the
 * keepalive, and the closing frames. Shared by the standalone services and platform mode (src/services/platform),
 * which differ only in how a stream is opened and settled.
 */
import { GatewayError } from "../../core/errors";
import {
  type AnthropicEvent,
  type ChatChunk,
  chunkForClient,
  type ResponsesEvent,
  toOpenAIUsage,
} from "../../core/wire/index";
import { SSE_DONE, sseComment, sseData, sseEvent } from "./pipeline/sse-frames";
import type { PumpEnd } from "./sse-pump";

export interface SseFraming<T> {
  keepalive: string;
  /** The SSE frame for one item (`raw`: its upstream text, when unchanged); null holds it back or swallows it. */
  frame: (item: T, raw: string | undefined) => string | null;
  /** Closing frames once the stream is settled (not called when the client is gone); `costMicros` when priced. */
  closing: (end: PumpEnd, costMicros: number | null) => string[];
}

const STREAM_ERROR_MESSAGE = "An error occurred during streaming";
const MESSAGES_STREAM_ERROR = { type: "error", error: { type: "api_error", message: STREAM_ERROR_MESSAGE } };

/** The failure's gateway code (`provider_error`, `provider_timeout`...): a fixed word, never provider text. */
const codeOf = (end: PumpEnd): string | null => (end.error instanceof GatewayError ? end.error.code : null);

/** OpenAI's `Error` object: `message`, `type`, `param` and `code` are all required (nullable). */
const chatStreamError = (end: PumpEnd) => ({
  error: { message: STREAM_ERROR_MESSAGE, type: "server_error", param: null, code: codeOf(end) },
});

/**
 * The upstream text of a chunk the client gets unchanged, or with only its top-level `"usage":null` dropped (what
 * chunkForClient does for clients that did not ask for usage; the gateway always asks upstream, so OpenAI puts it on
 * every chunk). The member is cut from the text only when it occurs exactly once: a structural `"usage":null` can
 * only be a member (quotes inside strings are escaped), so once means it is the top-level one.
 */
function rawForClient(chunk: ChatChunk, raw: string | undefined, out: ChatChunk): string | undefined {
  if (raw === undefined || out === chunk) return raw;
  if (chunk.usage !== null || out.usage !== undefined) return undefined;
  const at = raw.indexOf(NULL_USAGE);
  if (at < 0 || raw.indexOf(NULL_USAGE, at + 1) >= 0) return undefined;
  if (raw[at - 1] === ",") return raw.slice(0, at - 1) + raw.slice(at + NULL_USAGE.length);
  if (raw[at + NULL_USAGE.length] === ",") return raw.slice(0, at) + raw.slice(at + NULL_USAGE.length + 1);
  return undefined;
}
const NULL_USAGE = '"usage":null';

/**
 * Chat chunks as `data:` frames. The usage-only chunk is held back so it can carry the settled cost (SPEC §0),
 * and reaches the client only when it asked for usage (SPEC §6.2). `model` is read at the end: with fallbacks the
 * model that served is known only once the stream opened.
 */
export function chatFraming(o: {
  includeUsage: boolean;
  model: () => string;
  requestId: string;
}): SseFraming<ChatChunk> {
  let heldUsage: ChatChunk | null = null;
  return {
    keepalive: sseComment("keepalive"),
    frame: (chunk, upstreamText) => {
      if (chunk.choices.length === 0 && chunk.usage) {
        heldUsage = chunk;
        return null;
      }
      const out = chunkForClient(chunk, o.includeUsage);
      if (!out) return null;
      const raw = rawForClient(chunk, upstreamText, out);
      return raw === undefined ? sseData(out) : `data: ${raw}\n\n`;
    },
    closing: (end, costMicros) => {
      if (end.kind === "upstream_error") return [sseData(chatStreamError(end)), SSE_DONE];
      if (!o.includeUsage || !end.usageSeen) return [SSE_DONE];
      const base = heldUsage ?? {
        id: `chatcmpl-${o.requestId}`,
        object: "chat.completion.chunk",
        created: Math.floor(Date.now() / 1000),
        model: o.model(),
        choices: [],
      };
      const usage = { ...toOpenAIUsage(end.usage), ...(costMicros !== null ? { cost_usd: costMicros / 1e6 } : {}) };
      return [sseData({ ...base, choices: [], usage }), SSE_DONE];
    },
  };
}

/**
 * Anthropic events as `event: <type>` frames, as the upstream sent them (null members included). The stream ends
 * at `message_stop`, as Anthropic's does: clients that validate every event (the Vercel AI SDK) reject anything
 * after it.
 */
export function messagesFraming(): SseFraming<AnthropicEvent> {
  return {
    keepalive: sseEvent("ping", { type: "ping" }),
    frame: (event) => sseEvent(event.type, event),
    closing: (end) => (end.kind === "upstream_error" ? [sseEvent("error", MESSAGES_STREAM_ERROR)] : []),
  };
}

/**
 * Responses events as `event: <type>` frames, as the upstream sent them, ending with `[DONE]`. A failure is OpenAI's
 * ResponseErrorEvent, numbered after the last event sent (and no `[DONE]` after it).
 */
export function responsesFraming(): SseFraming<ResponsesEvent> {
  let lastSequence = -1;
  return {
    keepalive: sseComment("keepalive"),
    frame: (event) => {
      if (typeof event["sequence_number"] === "number") lastSequence = event["sequence_number"];
      return sseEvent(event.type, event);
    },
    closing: (end) => {
      if (end.kind !== "upstream_error") return [SSE_DONE];
      return [
        sseEvent("error", {
          type: "error",
          code: codeOf(end),
          message: STREAM_ERROR_MESSAGE,
          param: null,
          sequence_number: lastSequence + 1,
        }),
      ];
    },
  };
}
