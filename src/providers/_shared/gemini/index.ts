import type { AnthropicRequest, ChatRequest } from "../../../core/wire/index.ts";
import type { Capable } from "../../capabilities.ts";
import type { CallOptions, ProviderSettings } from "../../types.ts";
import { messagesStreamViaChat, messagesViaChat } from "../anthropic-bridge/index.ts";
import { type UpstreamRequest, requestJson } from "../http.ts";
import { openEventStream } from "../stream.ts";
import { googleHttpError } from "./errors.ts";
import { toGeminiBody } from "./request.ts";
import { fromGeminiResponse } from "./response.ts";
import { geminiResponseSchema } from "./schema.ts";
import { decodeGeminiChunks } from "./stream.ts";

/**
 * The Gemini generateContent wire (docs/behaviour/providers.md#gemini), shared by AI Studio (`gemini`) and Vertex AI
 * (`vertexai`): they differ only in URLs and auth, given here as an endpoint object.
 */

export type GeminiMethod = "generateContent" | "streamGenerateContent";

export interface GeminiEndpoint {
  name: string;
  /** URL of `method` for `model`, without query (the stream URL gets `?alt=sse`). */
  modelUrl(settings: ProviderSettings, model: string, method: GeminiMethod): string | Promise<string>;
  /** Auth headers; may fetch (Vertex exchanges a service-account JWT for an access token). */
  auth(settings: ProviderSettings, options: CallOptions): Promise<Record<string, string>>;
}

export { googleHttpError } from "./errors.ts";
export { toGeminiBody, splitToolCallId } from "./request.ts";
export { fromGeminiResponse, fromGeminiUsage, finishReasonFromGemini } from "./response.ts";
export { toGeminiSchema } from "./json-schema.ts";

/** Chat and /v1/messages (translated) over generateContent; hosts add what else they serve (AI Studio: embeddings). */
export function createGeminiWireProvider(endpoint: GeminiEndpoint): Capable<"chat" | "stream"> {
  async function request(
    s: ProviderSettings,
    o: CallOptions,
    req: ChatRequest,
    method: GeminiMethod,
  ): Promise<UpstreamRequest> {
    const url =
      (await endpoint.modelUrl(s, req.model, method)) + (method === "streamGenerateContent" ? "?alt=sse" : "");
    return { url, body: toGeminiBody(req), headers: await endpoint.auth(s, o), mapError: googleHttpError };
  }

  const provider: Capable<"chat" | "stream"> = {
    name: endpoint.name,
    wire: "openai",

    async chat(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
      const up = await request(s, o, req, "generateContent");
      const res = await requestJson(up, geminiResponseSchema, s, o, "inference");
      return { ...res, ...fromGeminiResponse(res.body, req.model) };
    },

    async chatStream(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
      const up = await request(s, o, req, "streamGenerateContent");
      return openEventStream(up, decodeGeminiChunks(req.model), s, o, "inference");
    },

    messages: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) => messagesViaChat(provider, req, s, o),
    messagesStream: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) =>
      messagesStreamViaChat(provider, req, s, o),
  };
  return provider;
}
