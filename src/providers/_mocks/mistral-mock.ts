import { moderationResults, type OpenAIWireDialect, startOpenAIMock } from "./openai-mock.ts";
import type { MockOptions, MockServer } from "./server.ts";
import { json } from "./server.ts";

/**
 * A Mistral upstream (https://docs.mistral.ai/api/): the OpenAI paths under /v1, with Mistral's differences.
 * Stream usage always rides on the finish chunk; OpenAI-only request fields Mistral's schema lacks are refused with
 * its 422 `extra_forbidden` body; moderation results carry categories without `flagged`; errors are
 * `{"object":"error","message",...}` (the message an object for validation errors) with no retry hint on a 429.
 */

/** OpenAI chat fields absent from Mistral's request schema, which it refuses (it takes `random_seed`, not `seed`). */
const NOT_IN_MISTRAL_SCHEMA = [
  "user",
  "seed",
  "stream_options",
  "service_tier",
  "store",
  "logit_bias",
  "logprobs",
  "top_logprobs",
];

const MESSAGES: Record<number, [string, string]> = {
  400: ["invalid_request_error", "Invalid model: sk-proj-abcdef1234567890XYZ was sent with Bearer abc.def.ghi"],
  401: ["invalid_request_error", "Unauthorized"],
  404: ["invalid_request_error", "Invalid model: missing-model"],
  429: ["rate_limited", "Requests rate limit exceeded"],
  500: ["internal_server_error", "Internal server error"],
  503: ["service_unavailable", "Service unavailable"],
};

const extraForbidden = (field: string, input: unknown) =>
  json(
    {
      object: "error",
      message: {
        detail: [{ type: "extra_forbidden", loc: ["body", field], msg: "Extra inputs are not permitted", input }],
      },
      type: "invalid_request_error",
      param: null,
      code: null,
    },
    422,
  );

const MISTRAL: OpenAIWireDialect = {
  usageOnFinish: true,
  error: (s) => {
    const status = s.errorStatus ?? 500;
    if (status === 422) return extraForbidden("messages", null);
    const [type, message] = MESSAGES[status] ?? ["internal_server_error", "Internal server error"];
    return json({ object: "error", message, type, param: null, code: String(status) }, status);
  },
  refuse: (body) => {
    if (!("messages" in body)) return null;
    const field = NOT_IN_MISTRAL_SCHEMA.find((k) => k in body);
    return field ? extraForbidden(field, body[field]) : null;
  },
  moderation: (model, input) => ({
    id: "mod-mock",
    model,
    results: moderationResults(input).map((r) => ({
      categories: r.categories,
      category_scores: { violence: r.flagged ? 0.9 : 0.01, harassment: 0.0 },
    })),
  }),
};

export function startMistralMock(options: MockOptions = {}): MockServer {
  return startOpenAIMock({ ...options, dialect: MISTRAL });
}
