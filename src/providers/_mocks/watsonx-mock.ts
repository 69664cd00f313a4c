import { MOCK_TEXT, MOCK_TOOL, MOCK_USAGE, type MockScenario, chunkText } from "./scenario.ts";
import {
  type MockHandler,
  type MockOptions,
  type MockServer,
  json,
  sseResponse,
  startMockServer,
  timedSteps,
} from "./server.ts";

/**
 * An IBM watsonx.ai upstream with its IAM token service on the same port (https://cloud.ibm.com/apidocs/watsonx-ai):
 * POST /identity/token (form `grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=...` -> `{access_token,
 * expires_in, ...}`; an unknown key is IAM's 400 BXNIM0415E), POST /ml/v1/text/chat (JSON), /ml/v1/text/chat_stream
 * (SSE `id: n` / `event: message` / `data: chunk`, the last chunk carrying finish_reason and usage, no [DONE]) and
 * /ml/v1/text/embeddings (`{inputs, model_id}` -> `{results: [{embedding}], input_token_count}`). Every /ml call
 * needs `?version=`, `Authorization: Bearer <an IAM token this mock minted>` and a project_id or space_id.
 * Errors: `{errors: [{code, message, more_info}], trace, status_code}`; stream errors are `event: error` events of
 * that shape. Usage has no cached-token count.
 */

const ERRORS: Record<number, [string, string]> = {
  400: ["json_validation_error", "Json document validation error: sk-proj-abcdef1234567890XYZ with Bearer abc.def.ghi"],
  401: ["authentication_token_expired", "Failed to authenticate the request due to an expired token"],
  403: ["authorization_rejected", "The user is not a member of the project"],
  404: ["model_not_supported", "Model 'missing-model' is not supported"],
  413: ["request_entity_too_large", "Request body too large"],
  429: ["token_quota_reached", "Rate limit reached: too many requests"],
  500: ["internal_error", "Internal server error"],
  503: ["service_unavailable", "The service is temporarily unavailable"],
};

const errorBody = (status: number, code?: string, message?: string) => {
  const [c, m] = ERRORS[status] ?? ["internal_error", "Internal server error"];
  return {
    errors: [{ code: code ?? c, message: message ?? m, more_info: "https://cloud.ibm.com/apidocs/watsonx-ai" }],
    trace: "trace-mock-1",
    status_code: status,
  };
};
export const watsonxError = (status: number, code?: string, message?: string): Response =>
  json(errorBody(status, code, message), status);

const created = () => Math.floor(Date.now() / 1000);
const usage = (completion: number) => ({
  prompt_tokens: MOCK_USAGE.prompt,
  completion_tokens: completion,
  total_tokens: MOCK_USAGE.prompt + completion,
});
const toolCall = {
  id: "chatcmpl-tool-mock1",
  type: "function",
  function: { name: MOCK_TOOL.name, arguments: MOCK_TOOL.arguments },
};

function chatJson(model: string, s: MockScenario): Response {
  const message: Record<string, unknown> = s.tools
    ? { role: "assistant", tool_calls: [toolCall] }
    : { role: "assistant", content: MOCK_TEXT };
  if (s.reasoning) message["reasoning_content"] = "Thinking it over.";
  const body: Record<string, unknown> = {
    id: "chatcmpl-mock",
    model_id: model,
    model: model,
    choices: [{ index: 0, message, finish_reason: s.tools ? "tool_calls" : "stop" }],
    created: created(),
    model_version: "3.3.0",
    created_at: new Date().toISOString(),
  };
  if (!s.noUsage) body["usage"] = usage(MOCK_USAGE.completion);
  return json(body);
}

function chatStream(model: string, s: MockScenario, signal: AbortSignal): Response {
  let n = 0;
  const frame = (event: string, data: unknown) => `id: ${++n}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
    frame("message", {
      id: "chatcmpl-mock",
      model_id: model,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
      created: created(),
      model_version: "3.3.0",
      created_at: new Date().toISOString(),
      ...extra,
    });
  if (s.errorFirst) return sseResponse([frame("error", errorBody(500))], signal);
  const events: string[] = [chunk({ role: "assistant", content: "" })];
  if (s.reasoning) events.push(chunk({ reasoning_content: "Thinking it over." }));
  if (s.malformed) events.push("id: 99\nevent: message\ndata: {not json\n\n");
  let completion = s.chunks;
  if (s.tools) {
    events.push(
      chunk({
        tool_calls: [
          { index: 0, id: toolCall.id, type: "function", function: { name: MOCK_TOOL.name, arguments: "" } },
        ],
      }),
    );
    for (const part of ['{"city":', '"Paris"}'])
      events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }));
    completion = 3;
  } else for (let i = 0; i < s.chunks; i++) events.push(chunk({ content: chunkText(i) }));
  events.push(chunk({}, s.tools ? "tool_calls" : "stop", s.noUsage ? {} : { usage: usage(completion) }));
  return sseResponse(timedSteps(events, s, frame("error", errorBody(500))), signal);
}

export interface WatsonxMockOptions extends MockOptions {
  /** The API key IAM accepts. */
  apiKey: string;
}

const modelOfWatsonx = (_path: string, body: Record<string, unknown>) =>
  typeof body["model_id"] === "string" ? body["model_id"] : "";

export function startWatsonxMock(options: WatsonxMockOptions): MockServer {
  const minted = `iam-token-for-${options.apiKey}`;
  const handler: MockHandler = ({ req, path, body, rawBody, model, scenario: s }) => {
    if (path === "/identity/token") {
      const form = new URLSearchParams(rawBody);
      if (form.get("grant_type") !== "urn:ibm:params:oauth:grant-type:apikey" || form.get("apikey") !== options.apiKey)
        return json(
          { errorCode: "BXNIM0415E", errorMessage: "Provided API key could not be found.", context: {} },
          400,
        );
      const now = created();
      return json({
        access_token: minted,
        refresh_token: "not_supported",
        token_type: "Bearer",
        expires_in: 3600,
        expiration: now + 3600,
        scope: "ibm openid",
      });
    }
    const url = new URL(req.url);
    if (!url.searchParams.get("version"))
      return watsonxError(400, "missing_query_parameter", "Missing query parameter `version`");
    if (req.headers.get("authorization") !== `Bearer ${minted}`)
      return watsonxError(
        401,
        "authentication_token_not_valid",
        "Failed to authenticate the request due to invalid token",
      );
    if (typeof body["project_id"] !== "string" && typeof body["space_id"] !== "string")
      return watsonxError(400, "invalid_request_entity", "Either 'space_id' or 'project_id' has to be provided");
    if (s.errorStatus !== null) return watsonxError(s.errorStatus);
    if (path === "/ml/v1/text/embeddings") {
      const inputs = Array.isArray(body["inputs"]) ? body["inputs"] : [];
      return json({
        model_id: model,
        results: inputs.map(() => ({ embedding: [0.25, -0.5, 0.75] })),
        created_at: new Date().toISOString(),
        input_token_count: 3 * inputs.length,
      });
    }
    const stream = path === "/ml/v1/text/chat_stream";
    if (!stream && path !== "/ml/v1/text/chat") return watsonxError(404, "not_found", `Unknown path ${path}`);
    if ("model" in body || "stream" in body)
      return watsonxError(400, "json_validation_error", "Json document validation error: unknown field in body");
    if (s.malformed && (!stream || s.jsonStream))
      return new Response('{"id": "chatcmpl-broken", "choices": [', {
        headers: { "content-type": "application/json" },
      });
    if (!stream || s.jsonStream) return chatJson(model, s);
    return chatStream(model, s, req.signal);
  };
  return startMockServer(options, "", handler, modelOfWatsonx);
}
