/** POST /v1/chat/completions (SPEC §3.3, §6, §9): JSON and SSE, any provider, governed by the admission. */
import type { GatewayToolFields } from "../../core/schemas/gateway-tools";
import type { ChatChunk, ChatRequest } from "../../core/wire/index";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { chatFraming } from "./framing";
import { withoutGatewayFields } from "./gateway-tools";
import { guarded, relayJson, relayStream } from "./relay";
import type { Reply } from "./reply";
import { providerFor } from "./routing";
import type { StreamSettings } from "./stream-settings";
import { chatLoop, type GatewayTools, relayToolLoop } from "./tool-loop";

export function createChatService(
  admissions: Admissions,
  streaming: StreamSettings,
  defaultOutputTokens: number,
  tools: GatewayTools,
) {
  /** `signal`: the client's request; a tool loop stops when it aborts. */
  return async function chatCompletions(
    caller: Caller,
    body: ChatRequest & GatewayToolFields,
    requestId: string,
    signal?: AbortSignal,
  ): Promise<Reply> {
    const admission = await admissions.admit({
      caller,
      endpoint: "/v1/chat/completions",
      requestId,
      requestedUser: body.user,
      userRequiredMessage: "When using master key, 'user' field is required in request body",
      selector: body.model,
      estimate: estimateTokens(
        [body.messages, body.tools],
        body.max_completion_tokens ?? body.max_tokens,
        defaultOutputTokens,
        body.n,
      ),
    });
    const plan = await guarded(admission, () => tools.plan(body));
    const upstream: ChatRequest = withoutGatewayFields(body);
    const framing = () =>
      chatFraming({
        includeUsage: body.stream_options?.include_usage === true,
        model: () => admission.route.model,
        requestId,
      });

    if (plan) {
      return relayToolLoop(admission, streaming, {
        protocol: chatLoop,
        plan,
        tally: await guarded(admission, () => tools.tally(plan, (u) => admission.checkedUsage(u))),
        request: upstream,
        stream: body.stream === true,
        call: (r, req, signal) =>
          providerFor(r, "chat").chat({ ...req, model: r.model, stream: false }, r.settings, { signal }),
        open: (r, req) => providerFor(r, "stream").chatStream({ ...req, model: r.model, stream: true }, r.settings),
        framing: framing(),
        signal,
      });
    }
    if (!body.stream)
      return relayJson(admission, {
        call: () =>
          admission.attempt((r) =>
            providerFor(r, "chat").chat({ ...upstream, model: r.model, stream: false }, r.settings),
          ),
      });
    return relayStream<ChatChunk>(admission, streaming, {
      open: () =>
        admission.attempt((r) =>
          providerFor(r, "stream").chatStream({ ...upstream, model: r.model, stream: true }, r.settings),
        ),
      ...framing(),
    });
  };
}
