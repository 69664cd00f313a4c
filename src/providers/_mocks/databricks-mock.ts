import { type OpenAIWireDialect, startOpenAIMock } from "./openai-mock.ts";
import { json, type MockOptions, type MockServer } from "./server.ts";

/**
 * Databricks Model Serving (https://docs.databricks.com/aws/en/machine-learning/model-serving/score-foundation-models):
 * the OpenAI paths under `{workspace}/serving-endpoints` (the mock's apiBase is the workspace URL), errors in the
 * Databricks REST shape `{"error_code", "message"}`.
 */

const CODES: Record<number, [string, string]> = {
  400: ["BAD_REQUEST", "Invalid parameter: sk-proj-abcdef1234567890XYZ was sent with Bearer abc.def.ghi"],
  401: ["UNAUTHENTICATED", "Invalid access token."],
  403: ["PERMISSION_DENIED", "User does not have permission to query the endpoint."],
  404: ["RESOURCE_DOES_NOT_EXIST", "The given endpoint does not exist."],
  429: ["REQUEST_LIMIT_EXCEEDED", "Exceeded workspace rate limit. Please wait and try again."],
  500: ["INTERNAL_ERROR", "Internal error."],
  503: ["TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable."],
};

const DATABRICKS: OpenAIWireDialect = {
  basePath: "/serving-endpoints",
  error: (s) => {
    const status = s.errorStatus ?? 500;
    const [error_code, message] = CODES[status] ?? ["INTERNAL_ERROR", "Internal error."];
    return json({ error_code, message }, status);
  },
};

export function startDatabricksMock(options: MockOptions = {}): MockServer {
  const mock = startOpenAIMock({ ...options, dialect: DATABRICKS });
  return { ...mock, apiBase: mock.url };
}
