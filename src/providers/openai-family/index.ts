import type { Provider, ProviderSettings } from "../types.ts";
import { createOpenAICompatibleProvider } from "../_shared/openai-compatible.ts";

/**
 * Providers that speak plain OpenAI Chat Completions at their base URL (SPEC §5.2 "OAI" rows, §5.4.7).
 * Each is a dialect object; only the differences are written down.
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

const noEmbeddings = { embeddings: false } as const;

export const openaiFamily: Record<string, Provider> = {
  openai: createOpenAICompatibleProvider({ name: "openai", capabilities: { moderations: true, responses: true } }),
  groq: createOpenAICompatibleProvider({ name: "groq", capabilities: noEmbeddings }),
  together: createOpenAICompatibleProvider({ name: "together" }),
  deepseek: createOpenAICompatibleProvider({ name: "deepseek", capabilities: noEmbeddings }),
  xai: createOpenAICompatibleProvider({ name: "xai", capabilities: noEmbeddings }),
  openrouter: createOpenAICompatibleProvider({ name: "openrouter", capabilities: noEmbeddings }),
  fireworks: createOpenAICompatibleProvider({ name: "fireworks" }),
  // Perplexity has no /models listing and no embeddings on its chat API
  perplexity: createOpenAICompatibleProvider({
    name: "perplexity",
    capabilities: { embeddings: false, models: false },
  }),
  huggingface: createOpenAICompatibleProvider({ name: "huggingface", capabilities: noEmbeddings }),
  ollama: createOpenAICompatibleProvider({ name: "ollama", resolveBase: ollamaBase }),
  llamacpp: createOpenAICompatibleProvider({ name: "llamacpp" }),
  llamafile: createOpenAICompatibleProvider({ name: "llamafile" }),
  lmstudio: createOpenAICompatibleProvider({ name: "lmstudio" }),
  vllm: createOpenAICompatibleProvider({ name: "vllm" }),
  cerebras: createOpenAICompatibleProvider({ name: "cerebras", capabilities: noEmbeddings }),
  deepinfra: createOpenAICompatibleProvider({ name: "deepinfra" }),
  // Voyage is embeddings only, OpenAI-shaped with an optional `input_type` (https://docs.voyageai.com/reference)
  voyage: createOpenAICompatibleProvider({
    name: "voyage",
    capabilities: { chat: false, stream: false, models: false },
    embeddingFields: ["input_type"],
  }),
  dashscope: createOpenAICompatibleProvider({ name: "dashscope" }),
  databricks: createOpenAICompatibleProvider({ name: "databricks", resolveBase: databricksBase }),
  inception: createOpenAICompatibleProvider({ name: "inception", capabilities: noEmbeddings }),
  minimax: createOpenAICompatibleProvider({ name: "minimax", capabilities: noEmbeddings }),
  moonshot: createOpenAICompatibleProvider({ name: "moonshot", capabilities: noEmbeddings }),
  nebius: createOpenAICompatibleProvider({ name: "nebius" }),
  sambanova: createOpenAICompatibleProvider({ name: "sambanova", capabilities: noEmbeddings }),
  "openai-compatible": createOpenAICompatibleProvider({ name: "openai-compatible" }),
};
