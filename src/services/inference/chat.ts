/** POST /v1/chat/completions (SPEC §3.3, §6): JSON and SSE, any provider, governed by the admission. */
import type { GatewayToolFields } from "../../core/schemas/gateway-tools";
import { type ChatChunk, type ChatRequest, chunkForClient, toOpenAIUsage } from "../../core/wire/index";
import { sseComment, sseData, SSE_DONE } from "../../providers/_shared/sse";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { refuseUnavailableTools, withoutGatewayFields } from "./gateway-tools";
import { guarded, relayJson, relayStream } from "./relay";
import type { Reply } from "./reply";
import type { StreamSettings } from "./stream-settings";

const STREAM_ERROR = { error: { message: "An error occurred during streaming", type: "server_error" } };

export function createChatService(admissions: Admissions, streaming: StreamSettings, defaultOutputTokens: number) {
  return async function chatCompletions(caller: Caller, body: ChatRequest & GatewayToolFields, requestId: string): Promise<Reply> {
    const admission = await admissions.admit({
      caller,
      endpoint: "/v1/chat/completions",
      requestId,
      requestedUser: body.user,
      userRequiredMessage: "When using master key, 'user' field is required in request body",
      selector: body.model,
      estimate: estimateTokens([body.messages, body.tools], body.max_completion_tokens ?? body.max_tokens, defaultOutputTokens),
    });
    await guarded(admission, () => refuseUnavailableTools(body));
    const { provider, settings, model } = admission.route;
    const upstream: ChatRequest = { ...withoutGatewayFields(body), model };

    if (!body.stream) return relayJson(admission, { call: () => provider.chat({ ...upstream, stream: false }, settings) });

    const includeUsage = body.stream_options?.include_usage === true;
    let heldUsage: ChatChunk | null = null;
    return relayStream<ChatChunk>(admission, streaming, {
      open: () => provider.chatStream({ ...upstream, stream: true }, settings),
      keepalive: sseComment("keepalive"),
      // The usage-only chunk is held back so it can carry the settled cost (SPEC §0).
      frame: (chunk) => {
        if (chunk.choices.length === 0 && chunk.usage) {
          heldUsage = chunk;
          return null;
        }
        const out = chunkForClient(chunk, includeUsage);
        return out ? sseData(out) : null;
      },
      closing: (end, settled) => {
        if (end.kind === "upstream_error") return [sseData(STREAM_ERROR), SSE_DONE];
        if (!includeUsage || !end.usageSeen) return [SSE_DONE];
        const base = heldUsage ?? { id: `chatcmpl-${requestId}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model, choices: [] };
        const usage = { ...toOpenAIUsage(end.usage), ...(settled.costMicros !== null ? { cost_usd: settled.costMicros / 1e6 } : {}) };
        return [sseData({ ...base, choices: [], usage }), SSE_DONE];
      },
    });
  };
}
