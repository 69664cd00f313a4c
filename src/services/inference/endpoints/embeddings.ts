/** POST /v1/embeddings (docs/api.md#embeddings): a pass-through route, JSON only. */
import type { EmbeddingRequest, EmbeddingResponse } from "../../../core/wire/index";
import { estimateTokens } from "../estimate";
import type { Endpoint } from "../pipeline/endpoint";
import { USER_REQUIRED } from "./chat";
import { embeddingRequestFacts } from "../../../telemetry/genai";

export const embeddings: Endpoint<EmbeddingRequest, EmbeddingRequest, EmbeddingResponse> = {
  path: "/v1/embeddings",
  operation: "embeddings",
  promptFields: ["input"],
  user: (body) => body.user,
  userRequired: USER_REQUIRED,
  estimate: (body) => estimateTokens([body.input], 0, 0),
  upstream: ({ user: _user, ...rest }) => rest,
  json: "embed",
  // Input tokens only: an answer without usage is billed as reported, never at the estimate.
  billing: { usage: (reported) => ({ ...reported, completionTokens: 0 }), perRequest: false },
  trace: { request: embeddingRequestFacts, response: (body) => ({ model: body.model }) },
};
