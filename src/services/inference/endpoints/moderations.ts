/** POST /v1/moderations (docs/api.md#moderations): a pass-through route, JSON only, billed per request. */
import type { ModerationRequest, ModerationResponse, NormalizedUsage } from "../../../core/wire/index";
import type { Endpoint } from "../pipeline/endpoint";
import { USER_REQUIRED } from "./chat";

/** No token counts (prompt and total null, completion 0): the request itself is what is billed. */
const PER_REQUEST_USAGE: NormalizedUsage = {
  promptTokens: null,
  completionTokens: 0,
  totalTokens: null,
  cacheReadTokens: null,
  cacheWriteTokens: null,
  reasoningTokens: null,
};

export const moderations: Endpoint<ModerationRequest, ModerationRequest, ModerationResponse, never, ModerationQuery> = {
  path: "/v1/moderations",
  operation: "moderations",
  promptFields: ["input"],
  user: (body) => body.user,
  userRequired: USER_REQUIRED,
  estimate: () => ({ promptTokens: 0, outputTokens: 0 }),
  upstream: ({ user: _user, ...rest }) => rest,
  json: "moderate",
  // One request at the input rate of the model that served, which holds USD per million requests
  // (docs/api.md#moderations).
  billing: { usage: () => PER_REQUEST_USAGE, perRequest: true },
  /** `provider_raw` (a translated provider's own result) only when the client asked with `include_raw`. */
  reply: (result, call) =>
    call.query.include_raw
      ? result.body
      : { ...result.body, results: result.body.results.map(({ provider_raw: _raw, ...r }) => r) },
};

/** The validated query of /v1/moderations. */
export interface ModerationQuery {
  include_raw: boolean;
}
