import { z } from "zod";
import type { AnthropicRequest, ChatRequest, EmbeddingRequest } from "../../core/wire/index.ts";
import { fromOpenAIUsage } from "../../core/wire/index.ts";
import { messagesStreamViaChat, messagesViaChat } from "../_shared/anthropic-bridge/index.ts";
import { requestJson } from "../_shared/http.ts";
import { openEventStream } from "../_shared/stream.ts";
import type { Capable } from "../capabilities.ts";
import type { CallOptions, ProviderSettings } from "../types.ts";
import { billingScope, watsonxRequest } from "./api.ts";
import { decodeWatsonxChunks, embeddingTexts, fromWatsonxCompletion, toWatsonxChatBody } from "./chat.ts";

/** IBM watsonx.ai (api.ts, chat.ts): chat, its stream, /v1/messages through chat, and embeddings. */

const embeddingsSchema = z
  .object({
    model_id: z.string().optional(),
    results: z.array(z.object({ embedding: z.array(z.number()) }).loose()),
    input_token_count: z.number().nullish(),
  })
  .loose();

export const watsonx: Capable<"chat" | "stream" | "embeddings"> = {
  name: "watsonx",
  wire: "openai",

  async chat(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
    const up = await watsonxRequest(s, "chat", toWatsonxChatBody(req, billingScope(s)), o);
    const res = await requestJson(up, z.unknown(), s, o, "inference");
    const body = fromWatsonxCompletion(res.body, req.model);
    return { status: res.status, headers: res.headers, body, usage: fromOpenAIUsage(body.usage) };
  },

  async chatStream(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
    const up = await watsonxRequest(s, "chat_stream", toWatsonxChatBody(req, billingScope(s)), o);
    return openEventStream(up, decodeWatsonxChunks(req.model), s, o, "inference");
  },

  messages: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) => messagesViaChat(watsonx, req, s, o),
  messagesStream: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) =>
    messagesStreamViaChat(watsonx, req, s, o),

  async embed(req: EmbeddingRequest, s: ProviderSettings, o: CallOptions = {}) {
    const body = { inputs: embeddingTexts(req.input), model_id: req.model, ...billingScope(s) };
    const res = await requestJson(
      await watsonxRequest(s, "embeddings", body, o),
      embeddingsSchema,
      s,
      o,
      "passthrough",
    );
    const tokens = res.body.input_token_count ?? null;
    const data = res.body.results.map((r, index) => ({ object: "embedding", index, embedding: r.embedding }));
    return {
      status: res.status,
      headers: res.headers,
      body: {
        object: "list",
        data,
        model: res.body.model_id ?? req.model,
        usage: { prompt_tokens: tokens ?? 0, total_tokens: tokens ?? 0 },
      },
      usage: fromOpenAIUsage({ prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens }),
    };
  },
};
