import { z } from "zod";
import { badRequest } from "../../core/errors.ts";
import {
  type AnthropicRequest,
  type ChatRequest,
  type EmbeddingRequest,
  fromOpenAIUsage,
  type RerankRequest,
} from "../../core/wire/index.ts";
import { messagesStreamViaChat, messagesViaChat } from "../_shared/anthropic-bridge/index.ts";
import { type UpstreamRequest, joinUrl, requestJson } from "../_shared/http.ts";
import { openEventStream } from "../_shared/stream.ts";
import type { Capable } from "../capabilities.ts";
import type { CallOptions, ProviderModel, ProviderSettings } from "../types.ts";
import { cohereResponseSchema, fromCohereResponse, toCohereBody } from "./chat.ts";
import { decodeCohereChunks } from "./stream.ts";

/**
 * Cohere v2 (docs/behaviour/providers.md#cohere): POST {base}/v2/chat (JSON, or SSE with `stream: true`), POST
 * {base}/v2/embed and /v2/rerank, GET {base}/v1/models; `Authorization: Bearer <key>` (https://docs.cohere.com/reference/about).
 */

function request(s: ProviderSettings, path: string, body?: unknown): UpstreamRequest {
  const headers: Record<string, string> = s.apiKey ? { authorization: `Bearer ${s.apiKey}` } : {};
  return { url: joinUrl(s.apiBase, path), method: body === undefined ? "GET" : "POST", body, headers };
}

/** https://docs.cohere.com/reference/embed */
const embedSchema = z
  .object({
    embeddings: z.object({ float: z.array(z.array(z.number())) }).loose(),
    meta: z
      .object({ billed_units: z.object({ input_tokens: z.number().nullish() }).loose().nullish() })
      .loose()
      .nullish(),
  })
  .loose();

/** https://docs.cohere.com/reference/list-models */
const modelListSchema = z
  .object({
    models: z.array(z.object({ name: z.string() }).loose()).default([]),
    next_page_token: z.string().nullish(),
  })
  .loose();
const MAX_MODEL_PAGES = 20;

/** https://docs.cohere.com/reference/rerank */
const rerankSchema = z
  .object({
    id: z.string().nullish(),
    results: z.array(z.object({ index: z.number().int(), relevance_score: z.number() }).loose()),
    meta: z
      .object({
        billed_units: z.object({ search_units: z.number().nullish() }).loose().nullish(),
        tokens: z.object({ input_tokens: z.number().nullish() }).loose().nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

export const cohere: Capable<"chat" | "stream" | "embeddings" | "models" | "rerank"> = {
  name: "cohere",
  wire: "openai",

  async chat(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
    const res = await requestJson(
      request(s, "/v2/chat", toCohereBody(req, false)),
      cohereResponseSchema,
      s,
      o,
      "inference",
    );
    return { ...res, ...fromCohereResponse(res.body, req.model) };
  },

  async chatStream(req: ChatRequest, s: ProviderSettings, o: CallOptions = {}) {
    return openEventStream(
      request(s, "/v2/chat", toCohereBody(req, true)),
      decodeCohereChunks(req.model),
      s,
      o,
      "inference",
    );
  },

  messages: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) => messagesViaChat(cohere, req, s, o),

  /** Billed in search units (one query with up to 100 documents), which the answer carries in `meta`. */
  async rerank(req: RerankRequest, s: ProviderSettings, o: CallOptions = {}) {
    const body: Record<string, unknown> = { model: req.model, query: req.query, documents: req.documents };
    if (req.top_n) body["top_n"] = req.top_n;
    if (req.max_tokens_per_doc) body["max_tokens_per_doc"] = req.max_tokens_per_doc;
    const res = await requestJson(request(s, "/v2/rerank", body), rerankSchema, s, o, "passthrough");
    const searchUnits = res.body.meta?.billed_units?.search_units ?? null;
    const tokens = res.body.meta?.tokens?.input_tokens ?? null;
    return {
      status: res.status,
      headers: res.headers,
      body: {
        id: res.body.id ?? `rerank-${crypto.randomUUID()}`,
        model: req.model,
        results: res.body.results.map((r) => ({ index: r.index, relevance_score: r.relevance_score })),
        ...(searchUnits === null ? {} : { meta: { billed_units: { search_units: searchUnits } } }),
        ...(tokens === null ? {} : { usage: { total_tokens: tokens } }),
      },
      usage: fromOpenAIUsage({ prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens }),
    };
  },
  messagesStream: (req: AnthropicRequest, s: ProviderSettings, o?: CallOptions) =>
    messagesStreamViaChat(cohere, req, s, o),

  async embed(req: EmbeddingRequest, s: ProviderSettings, o: CallOptions = {}) {
    const list: unknown[] = Array.isArray(req.input) ? req.input : [req.input];
    const texts = list.filter((v): v is string => typeof v === "string");
    if (texts.length !== list.length) throw badRequest("Provider 'cohere' embeds text input only", "invalid_request");
    // input_type is required by v3+ models; documents are the neutral choice when the client names none
    const body: Record<string, unknown> = {
      model: req.model,
      texts,
      input_type: typeof req["input_type"] === "string" ? req["input_type"] : "search_document",
      embedding_types: ["float"],
    };
    if (req.dimensions != null) body["output_dimension"] = req.dimensions;
    const res = await requestJson(request(s, "/v2/embed", body), embedSchema, s, o, "passthrough");
    const tokens = res.body.meta?.billed_units?.input_tokens ?? null;
    const data = res.body.embeddings.float.map((embedding, index) => ({ object: "embedding", index, embedding }));
    const usage = fromOpenAIUsage({ prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens });
    return {
      ...res,
      body: {
        object: "list",
        data,
        model: req.model,
        usage: { prompt_tokens: tokens ?? 0, total_tokens: tokens ?? 0 },
      },
      usage,
    };
  },

  async listModels(s: ProviderSettings, o: CallOptions = {}): Promise<ProviderModel[]> {
    const out: ProviderModel[] = [];
    let token: string | null | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const query = new URLSearchParams({ page_size: "1000" });
      if (token) query.set("page_token", token);
      const res = await requestJson(request(s, `/v1/models?${query}`), modelListSchema, s, o, "passthrough");
      for (const m of res.body.models) out.push({ id: m.name, created: null, ownedBy: "cohere" });
      token = res.body.next_page_token;
      if (!token) break;
    }
    return out;
  },
};
