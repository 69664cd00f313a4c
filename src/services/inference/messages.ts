/**
 * POST /v1/messages (SPEC §3.4): Anthropic Messages API, JSON and SSE. Anthropic-wire providers get the body
 * natively; others are translated through chat by the adapter. Errors use Anthropic's envelope (the HTTP mapper).
 */
import type { AnthropicEvent, AnthropicRequest } from "../../core/wire/index";
import { sseEvent } from "../../providers/_shared/sse";
import { withoutNulls } from "../../core/json";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { type Reply, SSE_HEADERS } from "./reply";
import { pumpSse } from "./sse-pump";
import { settleStream } from "./stream-settlement";
import type { StreamSettings } from "./stream-settings";

const STREAM_ERROR = { type: "error", error: { type: "api_error", message: "An error occurred during streaming" } };

export function createMessagesService(admissions: Admissions, streaming: StreamSettings) {
  return async function messages(caller: Caller, body: AnthropicRequest, requestId: string, headers: Record<string, string>): Promise<Reply> {
    const admission = await admissions.admit({
      caller,
      endpoint: "/v1/messages",
      requestId,
      requestedUser: body.metadata?.user_id,
      userRequiredMessage: "When using master key, 'metadata.user_id' is required in request body",
      selector: body.model,
      estimate: estimateTokens([body.messages, body.system, body.tools], body.max_tokens, body.max_tokens),
    });
    const { provider, settings, model } = admission.route;
    const upstream: AnthropicRequest = { ...body, model };
    const options = { headers };

    if (!body.stream) {
      try {
        const result = await provider.messages({ ...upstream, stream: false }, settings, options);
        const settled = admission.succeed(result.usage);
        return { kind: "json", body: withoutNulls(result.body), headers: { ...settled.headers, ...(await admission.budgetHeaders()) } };
      } catch (err) {
        admission.fail(err);
        throw err;
      }
    }

    let stream: Awaited<ReturnType<typeof provider.messagesStream>>;
    try {
      stream = await provider.messagesStream({ ...upstream, stream: true }, settings, options);
    } catch (err) {
      admission.fail(err);
      throw err;
    }
    const out = pumpSse<AnthropicEvent>({
      stream,
      keepalive: sseEvent("ping", { type: "ping" }),
      keepaliveMs: streaming.keepaliveMs,
      drainMs: streaming.drainMs,
      onDisconnect: streaming.onDisconnect,
      frame: (event) => sseEvent(event.type, withoutNulls(event)),
      finish: (end) => {
        settleStream(admission, end);
        if (end.kind === "client_gone") return [];
        if (end.kind === "upstream_error") return [sseEvent("error", STREAM_ERROR)];
        return [sseEvent("done", {})];
      },
    });
    return { kind: "stream", body: out, headers: { ...SSE_HEADERS, ...admission.rateHeaders } };
  };
}

/** POST /v1/messages/count_tokens (SPEC §0): a local estimate; no provider call, no budget, no usage row. */
export function countMessageTokens(body: Pick<AnthropicRequest, "messages" | "system" | "tools">): { input_tokens: number } {
  return { input_tokens: estimateTokens([body.messages, body.system, body.tools], 0, 0).promptTokens };
}
