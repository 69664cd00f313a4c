/**
 * POST /v1/chat/completions (docs/api.md#chat-completions, docs/behaviour/streaming.md, docs/behaviour/tools.md):
 * OpenAI Chat Completions, JSON and SSE, any provider.
 */
import type { GatewayToolFields } from "../../../core/schemas/gateway-tools";
import {
  type ChatChunk,
  type ChatCompletion,
  type ChatRequest,
  chunkForClient,
  toOpenAIUsage,
} from "../../../core/wire/index";
import { estimateTokens } from "../estimate";
import { withoutGatewayFields } from "../gateway-tools";
import type { Endpoint } from "../pipeline/endpoint";
import { failureCode, type SseFraming, STREAM_ERROR_MESSAGE } from "../pipeline/framing";
import { SSE_DONE, sseComment, sseData } from "../pipeline/sse-frames";
import { chatLoop } from "../tool-loop/chat";
import { chatRequestFacts, finishReasons, toInputMessages, toOutputMessages } from "../../../telemetry/genai";

/** The 400 text when the master key names no `user` (chat, responses, embeddings, moderations). */
export const USER_REQUIRED = "When using master key, 'user' field is required in request body";

const KEEPALIVE = sseComment("keepalive");
const NULL_USAGE = '"usage":null';

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

/**
 * Chat chunks as `data:` frames. The usage-only chunk is held back so it can carry the settled cost
 * (docs/behaviour/streaming.md#usage-in-streams), and reaches the client only when it asked for usage
 * (docs/behaviour/streaming.md#usage-in-streams). `model`: the model that served.
 */
export function chatFraming(o: { includeUsage: boolean; model: string; requestId: string }): SseFraming<ChatChunk> {
  let heldUsage: ChatChunk | null = null;
  return {
    keepalive: KEEPALIVE,
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
      if (end.kind === "upstream_error") {
        // OpenAI's `Error` object: `message`, `type`, `param` and `code` are all required (nullable).
        const error = { message: STREAM_ERROR_MESSAGE, type: "server_error", param: null, code: failureCode(end) };
        return [sseData({ error }), SSE_DONE];
      }
      if (!o.includeUsage || !end.usageSeen) return [SSE_DONE];
      const base = heldUsage ?? {
        id: `chatcmpl-${o.requestId}`,
        object: "chat.completion.chunk",
        created: Math.floor(Date.now() / 1000),
        model: o.model,
        choices: [],
      };
      const usage = { ...toOpenAIUsage(end.usage), ...(costMicros !== null ? { cost_usd: costMicros / 1e6 } : {}) };
      return [sseData({ ...base, choices: [], usage }), SSE_DONE];
    },
  };
}

type ChatBody = ChatRequest & GatewayToolFields;

export const chat: Endpoint<ChatBody, ChatRequest, ChatCompletion, ChatChunk> = {
  path: "/v1/chat/completions",
  operation: "chat",
  promptFields: ["messages"],
  user: (body) => body.user,
  userRequired: USER_REQUIRED,
  estimate: (body, defaultOutput) =>
    estimateTokens([body.messages, body.tools], body.max_completion_tokens ?? body.max_tokens, defaultOutput, body.n),
  upstream: withoutGatewayFields,
  json: "chat",
  stream: {
    requested: (body) => body.stream === true,
    method: "chatStream",
    framing: (call, model) =>
      chatFraming({ includeUsage: call.body.stream_options?.include_usage === true, model, requestId: call.requestId }),
  },
  loop: { protocol: chatLoop, fields: (body) => body, firstAttemptOnly: false },
  trace: {
    request: chatRequestFacts,
    response: (body) => ({ id: body.id, model: body.model, finishReasons: finishReasons(body.choices) }),
    content: { input: (body) => toInputMessages(body.messages), output: (body) => toOutputMessages(body.choices) },
  },
};
