/** POST /v1/responses (SPEC §3.5): OpenAI Responses API, forwarded verbatim to providers that speak it. */
import { badRequest } from "../../core/errors";
import { withoutNulls } from "../../core/json";
import type { GatewayToolFields } from "../../core/schemas/gateway-tools";
import type { ResponsesEvent, ResponsesRequest } from "../../core/wire/index";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { responsesFraming } from "./framing";
import { refuseUnavailableTools, withoutGatewayFields } from "./gateway-tools";
import { guarded, relayJson, relayStream } from "./relay";
import type { Reply } from "./reply";
import type { StreamSettings } from "./stream-settings";

export function createResponsesService(admissions: Admissions, streaming: StreamSettings, defaultOutputTokens: number) {
  return async function responses(caller: Caller, body: ResponsesRequest & GatewayToolFields, requestId: string): Promise<Reply> {
    const cap = typeof body.max_output_tokens === "number" ? body.max_output_tokens : null;
    const admission = await admissions.admit({
      caller,
      endpoint: "/v1/responses",
      requestId,
      requestedUser: typeof body.user === "string" ? body.user : null,
      userRequiredMessage: "When using master key, 'user' field is required in request body",
      selector: body.model,
      estimate: estimateTokens([body.input, body.instructions, body.tools], cap, defaultOutputTokens),
    });
    const { provider, settings, model, providerName } = admission.route;
    // Checked after auth and budget, as the baseline did (SPEC §3.5).
    const api = await guarded(admission, () => {
      const { responses, responsesStream } = provider;
      if (!provider.capabilities.responses || !responses || !responsesStream) {
        throw badRequest(`Provider '${providerName}' does not support the Responses API`, "unsupported_provider");
      }
      refuseUnavailableTools(body);
      return { responses, responsesStream };
    });
    const { user: _user, ...rest } = withoutGatewayFields(body);
    const upstream: ResponsesRequest = { ...rest, model };

    if (!body.stream) {
      return relayJson(admission, { call: () => api.responses.call(provider, { ...upstream, stream: false }, settings), body: (r) => withoutNulls(r.body) });
    }
    return relayStream<ResponsesEvent>(admission, streaming, {
      open: () => api.responsesStream.call(provider, { ...upstream, stream: true }, settings),
      ...responsesFraming(),
    });
  };
}
