/** POST /v1/chat/completions (SPEC §3.3, §6): JSON and SSE, any provider, governed by the admission. */
import type { GatewayToolFields } from "../../core/schemas/gateway-tools";
import type { ChatChunk, ChatRequest } from "../../core/wire/index";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { chatFraming } from "./framing";
import { refuseUnavailableTools, withoutGatewayFields } from "./gateway-tools";
import { guarded, relayJson, relayStream } from "./relay";
import type { Reply } from "./reply";
import type { StreamSettings } from "./stream-settings";

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
    const upstream: ChatRequest = withoutGatewayFields(body);

    if (!body.stream) return relayJson(admission, { call: () => admission.attempt((r) => r.provider.chat({ ...upstream, model: r.model, stream: false }, r.settings)) });

    return relayStream<ChatChunk>(admission, streaming, {
      open: () => admission.attempt((r) => r.provider.chatStream({ ...upstream, model: r.model, stream: true }, r.settings)),
      ...chatFraming({ includeUsage: body.stream_options?.include_usage === true, model: () => admission.route.model, requestId }),
    });
  };
}
