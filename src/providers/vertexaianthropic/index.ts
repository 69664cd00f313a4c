import { createAnthropicWireProvider } from "../_shared/anthropic-wire/index.ts";
import type { JsonObject } from "../_shared/openai-chat.ts";
import { vertexAuth, vertexModelUrl } from "../_shared/vertex/index.ts";

/**
 * Claude on Vertex AI (docs/behaviour/providers.md#vertex-ai; https://docs.anthropic.com/en/api/claude-on-vertex-ai):
 * the Messages body without `model` (it is in the URL) and with `anthropic_version: "vertex-2023-10-16"` in the body,
 * posted to `…/publishers/anthropic/models/{model}:rawPredict` (`:streamRawPredict` for SSE). Responses and stream
 * events are Anthropic's own.
 */

export const VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16";

export function toVertexAnthropicBody(body: JsonObject): JsonObject {
  const { model: _model, ...rest } = body;
  return { ...rest, anthropic_version: VERTEX_ANTHROPIC_VERSION };
}

export const vertexaianthropic = createAnthropicWireProvider({
  name: "vertexaianthropic",
  messagesUrl: (s, model, stream) => vertexModelUrl(s, "anthropic", model, stream ? "streamRawPredict" : "rawPredict"),
  auth: vertexAuth,
  adaptBody: toVertexAnthropicBody,
});
