/** POST /v1/responses (SPEC §3.5, §9): OpenAI Responses API, forwarded verbatim to providers that speak it. */
import type { GatewayToolFields } from "../../core/schemas/gateway-tools";
import type { ResponsesEvent, ResponsesRequest } from "../../core/wire/index";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { responsesFraming } from "./framing";
import { withoutGatewayFields } from "./gateway-tools";
import { guarded, relayJson, relayStream } from "./relay";
import type { Reply } from "./reply";
import { providerFor, type Route } from "./routing";
import type { StreamSettings } from "./stream-settings";
import { type GatewayTools, relayToolLoop, responsesLoop } from "./tool-loop";

/** The route's Responses API methods, or the 400 for a provider without it. */
function responsesApi(route: Route) {
  const provider = providerFor(route, "responses");
  return { responses: provider.responses.bind(provider), responsesStream: provider.responsesStream.bind(provider) };
}

export function createResponsesService(
  admissions: Admissions,
  streaming: StreamSettings,
  defaultOutputTokens: number,
  tools: GatewayTools,
) {
  /** `signal`: the client's request; a tool loop stops when it aborts. */
  return async function responses(
    caller: Caller,
    body: ResponsesRequest & GatewayToolFields,
    requestId: string,
    signal?: AbortSignal,
  ): Promise<Reply> {
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
    // Checked after auth and budget, as the baseline did (SPEC §3.5); each fallback target is checked again.
    const plan = await guarded(admission, () => {
      responsesApi(admission.route);
      return tools.plan(body);
    });
    const { user: _user, ...upstream } = withoutGatewayFields(body);

    if (plan) {
      return relayToolLoop(admission, streaming, {
        protocol: responsesLoop,
        plan,
        tally: await guarded(admission, () => tools.tally(plan, (u) => admission.checkedUsage(u))),
        request: upstream,
        stream: body.stream === true,
        call: (r, req, signal) =>
          responsesApi(r).responses({ ...req, model: r.model, stream: false }, r.settings, { signal }),
        open: (r, req) => responsesApi(r).responsesStream({ ...req, model: r.model, stream: true }, r.settings),
        framing: responsesFraming(),
        signal,
      });
    }

    if (!body.stream) {
      return relayJson(admission, {
        call: () =>
          admission.attempt((r) =>
            responsesApi(r).responses({ ...upstream, model: r.model, stream: false }, r.settings),
          ),
      });
    }
    return relayStream<ResponsesEvent>(admission, streaming, {
      open: () =>
        admission.attempt((r) =>
          responsesApi(r).responsesStream({ ...upstream, model: r.model, stream: true }, r.settings),
        ),
      ...responsesFraming(),
    });
  };
}
