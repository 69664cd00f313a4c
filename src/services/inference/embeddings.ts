/** POST /v1/embeddings and /v1/moderations (SPEC §3.6, §3.7): pass-through routes, JSON only. */
import type { EmbeddingRequest, ModerationRequest } from "../../core/wire/index";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { guarded, relayJson } from "./relay";
import type { Reply } from "./reply";
import { providerFor, type Route } from "./routing";

const USER_REQUIRED = "When using master key, 'user' field is required in request body";

/** The route's embeddings call, or the 400 for a provider without one. */
function embedApi(route: Route) {
  const provider = providerFor(route, "embeddings");
  return provider.embed.bind(provider);
}

/** The route's moderation call, or the 400 whose phrase clients match (SPEC §3.7). */
function moderateApi(route: Route) {
  const provider = providerFor(route, "moderations");
  return provider.moderate.bind(provider);
}

export function createEmbeddingsService(admissions: Admissions) {
  return async function embeddings(caller: Caller, body: EmbeddingRequest, requestId: string): Promise<Reply> {
    const admission = await admissions.admit({
      caller,
      endpoint: "/v1/embeddings",
      requestId,
      requestedUser: body.user,
      userRequiredMessage: USER_REQUIRED,
      selector: body.model,
      estimate: estimateTokens([body.input], 0, 0),
    });
    await guarded(admission, () => embedApi(admission.route));
    const { user: _user, ...rest } = body;
    return relayJson(admission, {
      call: () => admission.attempt((r) => embedApi(r)({ ...rest, model: r.model }, r.settings)),
      settle: (r) => admission.finish({ usage: { ...r.usage, completionTokens: 0 }, statusCode: 200 }, "success"),
    });
  };
}

export function createModerationsService(admissions: Admissions) {
  return async function moderations(
    caller: Caller,
    body: ModerationRequest,
    requestId: string,
    includeRaw: boolean,
  ): Promise<Reply> {
    const admission = await admissions.admit({
      caller,
      endpoint: "/v1/moderations",
      requestId,
      requestedUser: body.user,
      userRequiredMessage: USER_REQUIRED,
      selector: body.model,
      estimate: { promptTokens: 0, outputTokens: 0 },
    });
    await guarded(admission, () => moderateApi(admission.route));
    const { user: _user, ...rest } = body;
    const usage = {
      promptTokens: null,
      completionTokens: 0,
      totalTokens: null,
      cacheReadTokens: null,
      cacheWriteTokens: null,
      reasoningTokens: null,
    };
    return relayJson(admission, {
      call: () => admission.attempt((r) => moderateApi(r)({ ...rest, model: r.model }, r.settings)),
      // One request at the input rate of the model that served, which holds USD per million requests (SPEC §3.7).
      settle: () =>
        admission.finish(
          {
            usage,
            statusCode: 200,
            fixedCostMicros: admission.price ? Math.round(admission.price.inputRate / 1_000_000) : 0,
          },
          "success",
        ),
      body: (r) =>
        includeRaw ? r.body : { ...r.body, results: r.body.results.map(({ provider_raw: _raw, ...x }) => x) },
    });
  };
}
