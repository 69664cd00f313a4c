import type { Provider, ProviderSettings } from "../types.ts";
import type { JsonObject } from "../_shared/openai-chat.ts";
import { createOpenAICompatibleProvider } from "../_shared/openai-compatible.ts";

/**
 * Providers that speak plain OpenAI Chat Completions at their base URL
 * (docs/behaviour/providers.md#openai-format-providers). Each is a dialect object; only the differences are written
 * down.
 */

/** Ollama serves the OpenAI API under `/v1` of its native base (https://ollama.com/blog/openai-compatibility). */
const ollamaBase = (s: ProviderSettings): string => {
  const base = s.apiBase.replace(/\/+$/, "");
  return base.endsWith("/v1") ? base : `${base}/v1`;
};

/** Databricks model serving: OpenAI paths under `{workspace}/serving-endpoints`. */
const databricksBase = (s: ProviderSettings): string => {
  const base = s.apiBase.replace(/\/+$/, "");
  return base.endsWith("/serving-endpoints") ? base : `${base}/serving-endpoints`;
};

/**
 * Voyage spells OpenAI's `dimensions` `output_dimension`, and its `encoding_format` is null (plain numbers) or
 * "base64", so OpenAI's "float" is sent as absent (https://docs.voyageai.com/reference/embeddings-api).
 */
export function toVoyageBody(body: JsonObject): JsonObject {
  const out: JsonObject = { ...body };
  if (out["dimensions"] !== undefined) {
    out["output_dimension"] ??= out["dimensions"];
    delete out["dimensions"];
  }
  if (out["encoding_format"] === "float") delete out["encoding_format"];
  return out;
}

/** Voyage's reranker spells `top_n` `top_k` (https://docs.voyageai.com/reference/reranker-api). */
export function toVoyageRerankBody(body: JsonObject): JsonObject {
  const { top_n, ...rest } = body;
  return top_n === undefined ? rest : { ...rest, top_k: top_n };
}

const noEmbeddings = { embeddings: false } as const;

export const openaiFamily: Record<string, Provider> = {
  openai: createOpenAICompatibleProvider({
    name: "openai",
    serves: { moderations: true, responses: true, batches: true, images: true, speech: true, transcription: true },
  }),
  groq: createOpenAICompatibleProvider({ name: "groq", serves: { ...noEmbeddings, transcription: true } }),
  together: createOpenAICompatibleProvider({ name: "together", serves: { rerank: true, images: true } }),
  deepseek: createOpenAICompatibleProvider({ name: "deepseek", serves: noEmbeddings }),
  xai: createOpenAICompatibleProvider({ name: "xai", serves: { embeddings: false, images: true } }),
  openrouter: createOpenAICompatibleProvider({ name: "openrouter", serves: noEmbeddings }),
  fireworks: createOpenAICompatibleProvider({ name: "fireworks" }),
  // Perplexity has no /models listing and no embeddings on its chat API
  perplexity: createOpenAICompatibleProvider({
    name: "perplexity",
    serves: { embeddings: false, models: false },
  }),
  huggingface: createOpenAICompatibleProvider({ name: "huggingface", serves: noEmbeddings }),
  ollama: createOpenAICompatibleProvider({ name: "ollama", resolveBase: ollamaBase }),
  llamacpp: createOpenAICompatibleProvider({ name: "llamacpp" }),
  llamafile: createOpenAICompatibleProvider({ name: "llamafile" }),
  lmstudio: createOpenAICompatibleProvider({ name: "lmstudio" }),
  vllm: createOpenAICompatibleProvider({ name: "vllm", serves: { rerank: true } }),
  cerebras: createOpenAICompatibleProvider({ name: "cerebras", serves: noEmbeddings }),
  deepinfra: createOpenAICompatibleProvider({ name: "deepinfra" }),
  // Voyage is embeddings and rerank, OpenAI-shaped with fields of its own (https://docs.voyageai.com/reference)
  voyage: createOpenAICompatibleProvider({
    name: "voyage",
    serves: { chat: false, stream: false, models: false, rerank: true },
    embeddingFields: ["input_type", "truncation", "output_dimension", "output_dtype"],
    adaptEmbeddingBody: toVoyageBody,
    adaptRerankBody: toVoyageRerankBody,
  }),
  dashscope: createOpenAICompatibleProvider({ name: "dashscope" }),
  databricks: createOpenAICompatibleProvider({ name: "databricks", resolveBase: databricksBase }),
  inception: createOpenAICompatibleProvider({ name: "inception", serves: noEmbeddings }),
  minimax: createOpenAICompatibleProvider({ name: "minimax", serves: noEmbeddings }),
  moonshot: createOpenAICompatibleProvider({ name: "moonshot", serves: noEmbeddings }),
  nebius: createOpenAICompatibleProvider({ name: "nebius" }),
  sambanova: createOpenAICompatibleProvider({ name: "sambanova", serves: noEmbeddings }),
  "openai-compatible": createOpenAICompatibleProvider({
    name: "openai-compatible",
    serves: { rerank: true, images: true, speech: true, transcription: true },
  }),
};
