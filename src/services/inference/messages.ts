/**
 * POST /v1/messages (SPEC §3.4, §9): Anthropic Messages API, JSON and SSE. Anthropic-wire providers get the body
 * natively; others are translated through chat by the adapter. Errors use Anthropic's envelope (the HTTP mapper).
 */
import type { GatewayToolFields } from "../../core/schemas/gateway-tools";
import type { AnthropicEvent, AnthropicRequest } from "../../core/wire/index";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { messagesFraming } from "./framing";
import { withoutGatewayFields } from "./gateway-tools";
import { guarded, relayJson, relayStream } from "./relay";
import type { Reply } from "./reply";
import { providerFor } from "./routing";
import type { StreamSettings } from "./stream-settings";
import { type GatewayTools, messagesLoop, relayToolLoop } from "./tool-loop";

export function createMessagesService(admissions: Admissions, streaming: StreamSettings, tools: GatewayTools) {
  /** `signal`: the client's request; a tool loop stops when it aborts. */
  return async function messages(
    caller: Caller,
    body: AnthropicRequest & GatewayToolFields,
    requestId: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Reply> {
    const admission = await admissions.admit({
      caller,
      endpoint: "/v1/messages",
      requestId,
      requestedUser: body.metadata?.user_id,
      userRequiredMessage: "When using master key, 'metadata.user_id' is required in request body",
      selector: body.model,
      estimate: estimateTokens([body.messages, body.system, body.tools], body.max_tokens, body.max_tokens),
    });
    const plan = await guarded(admission, () => tools.plan(body));
    const upstream: AnthropicRequest = withoutGatewayFields(body);
    const options = { headers };

    if (plan) {
      return relayToolLoop(admission, streaming, {
        protocol: messagesLoop,
        plan,
        tally: await guarded(admission, () => tools.tally(plan, (u) => admission.checkedUsage(u))),
        request: upstream,
        stream: body.stream === true,
        call: (r, req, signal) =>
          providerFor(r, "chat").messages({ ...req, model: r.model, stream: false }, r.settings, {
            ...options,
            signal,
          }),
        open: (r, req) =>
          providerFor(r, "stream").messagesStream({ ...req, model: r.model, stream: true }, r.settings, options),
        framing: messagesFraming(),
        signal,
      });
    }
    if (!body.stream) {
      return relayJson(admission, {
        call: () =>
          admission.attempt((r) =>
            providerFor(r, "chat").messages({ ...upstream, model: r.model, stream: false }, r.settings, options),
          ),
      });
    }
    return relayStream<AnthropicEvent>(admission, streaming, {
      open: () =>
        admission.attempt((r) =>
          providerFor(r, "stream").messagesStream({ ...upstream, model: r.model, stream: true }, r.settings, options),
        ),
      ...messagesFraming(),
    });
  };
}

/** POST /v1/messages/count_tokens (SPEC §0): a local estimate; no provider call, no budget, no usage row. */
export function countMessageTokens(body: Pick<AnthropicRequest, "messages" | "system" | "tools">): {
  input_tokens: number;
} {
  return { input_tokens: estimateTokens([body.messages, body.system, body.tools], 0, 0).promptTokens };
}
