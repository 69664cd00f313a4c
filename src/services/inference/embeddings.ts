/** POST /v1/embeddings and /v1/moderations (SPEC §3.6, §3.7): pass-through routes, JSON only. */
import { badRequest } from "../../core/errors";
import type { EmbeddingRequest, ModerationRequest } from "../../core/wire/index";
import type { Caller } from "../auth";
import type { Admissions } from "./admission";
import { estimateTokens } from "./estimate";
import { guarded, relayJson } from "./relay";
import type { Reply } from "./reply";

const USER_REQUIRED = "When using master key, 'user' field is required in request body";

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
    const { provider, settings, model, providerName } = admission.route;
    const embed = await guarded(admission, () => {
      if (!provider.capabilities.embeddings || !provider.embed) throw badRequest(`Provider '${providerName}' does not support embeddings`, "unsupported_provider");
      return provider.embed;
    });
    const { user: _user, ...rest } = body;
    return relayJson(admission, {
      call: () => embed.call(provider, { ...rest, model }, settings),
      settle: (r) => admission.finish({ usage: { ...r.usage, completionTokens: 0 }, statusCode: 200 }, "success"),
    });
  };
}

export function createModerationsService(admissions: Admissions) {
  return async function moderations(caller: Caller, body: ModerationRequest, requestId: string, includeRaw: boolean): Promise<Reply> {
    const admission = await admissions.admit({
      caller,
      endpoint: "/v1/moderations",
      requestId,
      requestedUser: body.user,
      userRequiredMessage: USER_REQUIRED,
      selector: body.model,
      estimate: { promptTokens: 0, outputTokens: 0 },
    });
    const { provider, settings, model, providerName } = admission.route;
    const moderate = await guarded(admission, () => {
      if (!provider.capabilities.moderations || !provider.moderate) throw badRequest(`Provider '${providerName}' does not support moderation`, "unsupported_provider");
      return provider.moderate;
    });
    const { user: _user, ...rest } = body;
    // One request at the input rate, which holds USD per million requests here (SPEC §3.7).
    const fixed = admission.price ? Math.round(admission.price.inputRate / 1_000_000) : 0;
    const usage = { promptTokens: null, completionTokens: 0, totalTokens: null, cacheReadTokens: null, cacheWriteTokens: null, reasoningTokens: null };
    return relayJson(admission, {
      call: () => moderate.call(provider, { ...rest, model }, settings),
      settle: () => admission.finish({ usage, statusCode: 200, fixedCostMicros: fixed }, "success"),
      body: (r) => (includeRaw ? r.body : { ...r.body, results: r.body.results.map(({ provider_raw: _raw, ...x }) => x) }),
    });
  };
}
