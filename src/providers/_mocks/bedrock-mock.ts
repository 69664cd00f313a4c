import { type AwsMockAuth, encodeFrame, exceptionFrame, verifySigV4 } from "./aws.ts";
import { MOCK_TEXT, MOCK_TOOL, MOCK_USAGE, type MockScenario, chunkText } from "./scenario.ts";
import {
  type MockHandler,
  type MockOptions,
  type MockServer,
  json,
  startMockServer,
  streamedResponse,
  timedSteps,
} from "./server.ts";

/**
 * An AWS Bedrock runtime upstream (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html):
 * POST /model/{modelId}/converse (JSON) and /converse-stream (application/vnd.amazon.eventstream frames with
 * real prelude and message CRC32s; `:message-type` event/exception, `:event-type`, JSON payloads with the `p`
 * padding field Bedrock adds). Errors: `x-amzn-ErrorType` + `{"message"}`; stream exceptions as exception frames.
 *
 * Auth is checked as AWS does: `Authorization: Bearer <api key>` must equal `bearerToken`, or the SigV4
 * signature is recomputed here (independently of the adapter's signer) from the received method, path, host,
 * signed headers and body bytes, with the configured secret; a mismatch is 403 InvalidSignatureException.
 */

export interface BedrockMockOptions extends MockOptions, AwsMockAuth {
  /** Accepted `Authorization: Bearer` token (default: none accepted). */
  bearerToken?: string;
}

const PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0";
const event = (type: string, payload: Record<string, unknown>) =>
  encodeFrame(
    { ":event-type": type, ":content-type": "application/json", ":message-type": "event" },
    JSON.stringify({ ...payload, p: PADDING.slice(0, 10) }),
  );
const exception = (type: string, message: string) => exceptionFrame(type, { message });

// --- responses ---

const ERROR_TYPES: Record<number, [string, string]> = {
  400: [
    "ValidationException",
    "The provided model identifier is invalid. (key sk-proj-abcdef1234567890XYZ, Bearer abc.def.ghi)",
  ],
  403: ["AccessDeniedException", "You don't have access to the model with the specified model ID."],
  404: ["ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier."],
  408: ["ModelTimeoutException", "Model has timed out in processing the request."],
  424: ["ModelErrorException", "The model returned an error."],
  429: ["ThrottlingException", "Too many requests, please wait before trying again."],
  500: ["InternalServerException", "The server encountered an internal error."],
  503: ["ServiceUnavailableException", "Bedrock is unable to process your request."],
};

export function bedrockError(status: number, type?: string, message?: string): Response {
  const [t, msg] = ERROR_TYPES[status] ?? ["InternalServerException", "The server encountered an internal error."];
  return json({ message: message ?? msg }, status, {
    "x-amzn-errortype": `${type ?? t}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    "x-amzn-requestid": "req-mock-error",
  });
}

function usage(s: MockScenario, output: number): Record<string, number> {
  const u: Record<string, number> = { inputTokens: MOCK_USAGE.prompt, outputTokens: output };
  if (s.cache)
    Object.assign(u, { cacheReadInputTokens: MOCK_USAGE.cacheRead, cacheWriteInputTokens: MOCK_USAGE.cacheWrite });
  u["totalTokens"] = MOCK_USAGE.prompt + output + (s.cache ? MOCK_USAGE.cacheRead + MOCK_USAGE.cacheWrite : 0);
  return u;
}

const stopOf = (s: MockScenario) => (s.tools ? "tool_use" : s.safety ? "guardrail_intervened" : "end_turn");
const toolInput = () => JSON.parse(MOCK_TOOL.arguments) as unknown;

function converseJson(s: MockScenario): Response {
  const content: Record<string, unknown>[] = [];
  if (s.reasoning)
    content.push({ reasoningContent: { reasoningText: { text: "Thinking it over.", signature: "sig-mock" } } });
  if (s.tools)
    content.push(
      { text: "Let me check." },
      { toolUse: { toolUseId: "tooluse_mock_1", name: MOCK_TOOL.name, input: toolInput() } },
    );
  else content.push({ text: MOCK_TEXT });
  const body: Record<string, unknown> = {
    output: { message: { role: "assistant", content } },
    stopReason: stopOf(s),
    metrics: { latencyMs: 120 },
  };
  if (!s.noUsage) body["usage"] = usage(s, MOCK_USAGE.completion);
  return json(body, 200, { "x-amzn-requestid": "req-mock" });
}

function converseStream(s: MockScenario, signal: AbortSignal): Response {
  if (s.errorFirst)
    return streamedResponse(
      [exception("serviceUnavailableException", "Bedrock is unable to process your request.")],
      signal,
      "application/vnd.amazon.eventstream",
    );
  const frames: Uint8Array[] = [event("messageStart", { role: "assistant" })];
  let index = 0;
  if (s.reasoning) {
    frames.push(
      event("contentBlockDelta", {
        contentBlockIndex: index,
        delta: { reasoningContent: { text: "Thinking it over." } },
      }),
    );
    frames.push(
      event("contentBlockDelta", { contentBlockIndex: index, delta: { reasoningContent: { signature: "sig-mock" } } }),
    );
    frames.push(event("contentBlockStop", { contentBlockIndex: index++ }));
  }
  if (s.malformed)
    frames.push(
      encodeFrame(
        { ":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event" },
        "{not json",
      ),
    );
  let output = s.chunks;
  if (s.tools) {
    frames.push(
      event("contentBlockStart", {
        contentBlockIndex: index,
        start: { toolUse: { toolUseId: "tooluse_mock_1", name: MOCK_TOOL.name } },
      }),
    );
    for (const input of ['{"city":', '"Paris"}'])
      frames.push(event("contentBlockDelta", { contentBlockIndex: index, delta: { toolUse: { input } } }));
    output = 3;
  } else
    for (let i = 0; i < s.chunks; i++)
      frames.push(event("contentBlockDelta", { contentBlockIndex: index, delta: { text: chunkText(i) } }));
  frames.push(event("contentBlockStop", { contentBlockIndex: index }));
  frames.push(event("messageStop", { stopReason: stopOf(s) }));
  if (!s.noUsage) frames.push(event("metadata", { usage: usage(s, output), metrics: { latencyMs: 120 } }));
  const failure = exception("modelStreamErrorException", "The model stream failed.");
  return streamedResponse(timedSteps(frames, s, failure), signal, "application/vnd.amazon.eventstream");
}

export const modelOfBedrockPath = (path: string): string =>
  decodeURIComponent(path.match(/^\/model\/([^/]+)\/converse(?:-stream)?$/)?.[1] ?? "");

export function startBedrockMock(options: BedrockMockOptions = {}): MockServer {
  const handler: MockHandler = ({ req, path, rawBody, scenario: s }) => {
    const auth = req.headers.get("authorization") ?? "";
    if (auth.startsWith("Bearer ")) {
      if (!options.bearerToken || auth.slice(7) !== options.bearerToken)
        return bedrockError(
          403,
          "UnrecognizedClientException",
          "Invalid API Key format: Must start with pre-defined prefix",
        );
    } else {
      const problem = verifySigV4(req, rawBody, options, "bedrock");
      if (problem)
        return bedrockError(
          403,
          problem.includes("signature") ? "InvalidSignatureException" : "UnrecognizedClientException",
          problem,
        );
    }
    const m = path.match(/^\/model\/[^/]+\/(converse|converse-stream)$/);
    if (!m) return bedrockError(404, "UnknownOperationException", `Unknown operation ${path}`);
    if (s.errorStatus !== null) return bedrockError(s.errorStatus);
    if (m[1] === "converse" || s.jsonStream) {
      if (s.malformed) return new Response('{"output": {', { headers: { "content-type": "application/json" } });
      return converseJson(s);
    }
    return converseStream(s, req.signal);
  };
  return startMockServer(options, "", handler, modelOfBedrockPath);
}
