import { anthropicMessages } from "./anthropic-mock.ts";
import { openAIChatCompletions, openAIEmbeddings } from "./openai-mock.ts";
import type { MockScenario } from "./scenario.ts";
import { type MockHandler, type MockOptions, type MockServer, json, startMockServer } from "./server.ts";

/**
 * The Azure hosts on one server:
 * - Azure OpenAI (https://learn.microsoft.com/azure/ai-foundry/openai/reference): deployment URLs
 *   `/openai/deployments/{deployment}/chat/completions|embeddings?api-version=…` (no api-version -> 404, as
 *   Azure answers) and the v1 API `/openai/v1/chat/completions|embeddings` (model in the body);
 * - Azure AI Inference (https://learn.microsoft.com/rest/api/aifoundry/model-inference/): `/models/chat/completions|embeddings?api-version=…`;
 * - Claude on Foundry (https://docs.claude.com/en/docs/build-with-claude/claude-in-microsoft-foundry):
 *   `/anthropic/v1/messages` with `x-api-key` and `anthropic-version`.
 * OpenAI-wire calls need the `api-key` header (else 401). Errors use Azure's envelope
 * `{"error":{"code","message"}}`; a 429 carries `retry-after` (or only `retry-after-ms`) and the
 * x-ratelimit-remaining-* headers.
 */

const MESSAGES: Record<number, [string, string]> = {
  400: ["BadRequest", "Invalid value for 'temperature': sk-proj-abcdef1234567890XYZ was sent with Bearer abc.def.ghi"],
  401: [
    "401",
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
  ],
  403: ["403", "Public access is disabled. Please configure private endpoint."],
  404: [
    "DeploymentNotFound",
    "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
  ],
  413: ["RequestTooLarge", "The request is too large."],
  429: [
    "429",
    "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current AIServices S0 pricing tier. Please retry after 7 seconds.",
  ],
  500: ["InternalServerError", "The server had an error while processing your request."],
  503: ["ServiceUnavailable", "The service is temporarily unable to process your request."],
};

function azureError(s: MockScenario): Response {
  const status = s.errorStatus ?? 500;
  const [code, message] = MESSAGES[status] ?? [
    "InternalServerError",
    "The server had an error while processing your request.",
  ];
  const headers: Record<string, string> = { "apim-request-id": "req-mock-error" };
  if (status === 429) {
    headers["x-ratelimit-remaining-requests"] = "0";
    headers["x-ratelimit-remaining-tokens"] = "0";
    if (s.retryVariant === "ms") headers["retry-after-ms"] = "1500";
    else headers["retry-after"] = "7";
  }
  return json({ error: { code, message } }, status, headers);
}

const notFound = () => json({ error: { code: "404", message: "Resource not found" } }, 404);

/** Deployment name from an Azure OpenAI deployment URL, else the body's model. */
const azureModel = (path: string, body: Record<string, unknown>): string => {
  const dep = path.match(/^\/openai\/deployments\/([^/]+)\//)?.[1];
  if (dep) return decodeURIComponent(dep);
  return typeof body["model"] === "string" ? body["model"] : "";
};

export function startAzureMock(options: MockOptions = {}): MockServer {
  const handler: MockHandler = (ctx) => {
    const { req, path, body, model, scenario: s } = ctx;
    const apiVersion = new URL(req.url).searchParams.get("api-version");
    if (path === "/anthropic/v1/messages") {
      if (!req.headers.get("x-api-key"))
        return json({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }, 401);
      return anthropicMessages(ctx, body["stream"] === true);
    }
    if (!req.headers.get("api-key")) return json({ error: { code: "401", message: MESSAGES[401]![1] } }, 401);
    const deployment = path.match(/^\/openai\/deployments\/[^/]+\/(chat\/completions|embeddings)$/);
    const v1 = path.match(/^\/openai\/v1\/(chat\/completions|embeddings)$/);
    const inference = path.match(/^\/models\/(chat\/completions|embeddings)$/);
    const route = deployment?.[1] ?? v1?.[1] ?? inference?.[1];
    if (!route || ((deployment || inference) && !apiVersion)) return notFound();
    if (s.errorStatus !== null) return azureError(s);
    return route === "embeddings" ? openAIEmbeddings(model, body) : openAIChatCompletions(model, s, body, req.signal);
  };
  return startMockServer(options, "", handler, azureModel);
}
