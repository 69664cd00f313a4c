/**
 * POST /v1/messages (docs/api.md#messages, docs/behaviour/tools.md): Anthropic Messages API, JSON and SSE.
 * Anthropic-wire providers get the body natively; others are translated through chat by the adapter. Errors use
 * Anthropic's envelope (src/http/errors.ts).
 */
import type { GatewayToolFields } from "../../../core/schemas/gateway-tools";
import type { AnthropicEvent, AnthropicMessage, AnthropicRequest } from "../../../core/wire/index";
import { estimateTokens } from "../estimate";
import { withoutGatewayFields } from "../gateway-tools";
import type { Endpoint } from "../pipeline/endpoint";
import type { SseFraming } from "../pipeline/framing";
import { sseEvent } from "../pipeline/sse-frames";
import { messagesLoop } from "../tool-loop/messages";
import { anthropicInputMessages, anthropicOutputMessages, anthropicRequestFacts } from "../../../telemetry/genai";
import { STREAM_ERROR_MESSAGE } from "../pipeline/framing";

const KEEPALIVE = sseEvent("ping", { type: "ping" });
const STREAM_ERROR = sseEvent("error", { type: "error", error: { type: "api_error", message: STREAM_ERROR_MESSAGE } });

/**
 * Anthropic events as `event: <type>` frames, as the upstream sent them (null members included). The stream ends
 * at `message_stop`, as Anthropic's does: clients that validate every event (the Vercel AI SDK) reject anything
 * after it.
 */
const FRAMING: SseFraming<AnthropicEvent> = {
  keepalive: KEEPALIVE,
  frame: (event) => sseEvent(event.type, event),
  closing: (end) => (end.kind === "upstream_error" ? [STREAM_ERROR] : []),
};

type MessagesBody = AnthropicRequest & GatewayToolFields;

export const messages: Endpoint<MessagesBody, AnthropicRequest, AnthropicMessage, AnthropicEvent> = {
  path: "/v1/messages",
  operation: "chat",
  promptFields: ["system", "messages"],
  user: (body) => body.metadata?.user_id,
  userRequired: "When using master key, 'metadata.user_id' is required in request body",
  estimate: (body) => estimateTokens([body.messages, body.system, body.tools], body.max_tokens, body.max_tokens),
  upstream: withoutGatewayFields,
  json: "messages",
  stream: { requested: (body) => body.stream === true, method: "messagesStream", framing: () => FRAMING },
  /** Anthropic request headers forwarded (docs/behaviour/providers.md#anthropic-messages). */
  callHeaders(call) {
    const beta = call.headers.get("anthropic-beta");
    return beta ? { "anthropic-beta": beta } : undefined;
  },
  loop: { protocol: messagesLoop, fields: (body) => body, firstAttemptOnly: true },
  trace: {
    request: anthropicRequestFacts,
    response: (body) => ({ id: body.id, model: body.model, finishReasons: body.stop_reason ? [body.stop_reason] : [] }),
    content: { input: anthropicInputMessages, output: anthropicOutputMessages },
  },
};

/**
 * POST /v1/messages/count_tokens (docs/api.md#count-tokens): a local estimate; no provider call, no budget, no usage
 * row.
 */
export function countMessageTokens(body: Pick<AnthropicRequest, "messages" | "system" | "tools">): {
  input_tokens: number;
} {
  return { input_tokens: estimateTokens([body.messages, body.system, body.tools], 0, 0).promptTokens };
}
