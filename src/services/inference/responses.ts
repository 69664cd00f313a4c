/** POST /v1/responses (SPEC §3.5): OpenAI Responses API, forwarded verbatim to providers that speak it. */
import { badRequest } from "../../core/errors";
import type { ResponsesEvent, ResponsesRequest } from "../../core/wire/index";
import { sseComment, sseEvent, SSE_DONE } from "../../providers/_shared/sse";
import { withoutNulls } from "../../core/json";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { type Reply, SSE_HEADERS } from "./reply";
import { pumpSse } from "./sse-pump";
import { settleStream } from "./stream-settlement";
import type { StreamSettings } from "./stream-settings";

const STREAM_ERROR = { error: { message: "An error occurred during streaming", type: "server_error" } };

export function createResponsesService(admissions: Admissions, streaming: StreamSettings, defaultOutputTokens: number) {
  return async function responses(caller: Caller, body: ResponsesRequest, requestId: string): Promise<Reply> {
    const requestedUser = typeof body.user === "string" ? body.user : null;
    const cap = typeof body.max_output_tokens === "number" ? body.max_output_tokens : null;
    const admission = await admissions.admit({
      caller,
      endpoint: "/v1/responses",
      requestId,
      requestedUser,
      userRequiredMessage: "When using master key, 'user' field is required in request body",
      selector: body.model,
      estimate: estimateTokens([body.input, body.instructions, body.tools], cap, defaultOutputTokens),
    });
    const { provider, settings, model, providerName } = admission.route;
    // Checked after auth and budget, as the baseline did (SPEC §3.5).
    if (!provider.capabilities.responses || !provider.responses || !provider.responsesStream) {
      const err = badRequest(`Provider '${providerName}' does not support the Responses API`, "unsupported_provider");
      admission.fail(err);
      throw err;
    }
    const { user: _user, ...rest } = body;
    const upstream: ResponsesRequest = { ...rest, model };

    if (!body.stream) {
      try {
        const result = await provider.responses({ ...upstream, stream: false }, settings);
        const settled = admission.succeed(result.usage);
        return { kind: "json", body: withoutNulls(result.body), headers: { ...settled.headers, ...(await admission.budgetHeaders()) } };
      } catch (err) {
        admission.fail(err);
        throw err;
      }
    }

    let stream: Awaited<ReturnType<NonNullable<typeof provider.responsesStream>>>;
    try {
      stream = await provider.responsesStream({ ...upstream, stream: true }, settings);
    } catch (err) {
      admission.fail(err);
      throw err;
    }
    const out = pumpSse<ResponsesEvent>({
      stream,
      keepalive: sseComment("keepalive"),
      keepaliveMs: streaming.keepaliveMs,
      drainMs: streaming.drainMs,
      onDisconnect: streaming.onDisconnect,
      frame: (event) => sseEvent(event.type, withoutNulls(event)),
      finish: (end) => {
        settleStream(admission, end);
        if (end.kind === "client_gone") return [];
        if (end.kind === "upstream_error") return [sseEvent("error", STREAM_ERROR)];
        return [SSE_DONE];
      },
    });
    return { kind: "stream", body: out, headers: { ...SSE_HEADERS, ...admission.rateHeaders } };
  };
}
