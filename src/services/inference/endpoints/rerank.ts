/**
 * POST /v1/rerank: a pass-through route, JSON only. Billed by the reported tokens at the input rate, or, for a model
 * priced per search unit, by the search units the provider billed (docs/behaviour/storage.md#units).
 */
import type { RerankRequest, RerankResponse } from "../../../core/wire/index";
import { estimateTokens } from "../estimate";
import type { Endpoint } from "../pipeline/endpoint";
import { USER_REQUIRED } from "./chat";

/** Cohere's search unit: one query with up to 100 documents. */
const DOCUMENTS_PER_SEARCH_UNIT = 100;

export const rerank: Endpoint<RerankRequest, RerankRequest, RerankResponse> = {
  path: "/v1/rerank",
  operation: "rerank",
  promptFields: ["query", "documents"],
  user: (body) => body.user,
  userRequired: USER_REQUIRED,
  estimate: (body) => ({
    ...estimateTokens([body.query, body.documents], 0, 0),
    units: { search_unit: Math.ceil(body.documents.length / DOCUMENTS_PER_SEARCH_UNIT) },
  }),
  upstream: ({ user: _user, ...rest }) => rest,
  json: "rerank",
  billing: {
    // Input tokens only: an answer without usage is billed as reported, never at the estimate.
    usage: (reported) => ({ ...reported, completionTokens: 0 }),
    perRequest: false,
    units: (body) => {
      const searchUnits = body.meta?.billed_units?.search_units;
      return typeof searchUnits === "number" ? { search_unit: searchUnits } : {};
    },
  },
};
