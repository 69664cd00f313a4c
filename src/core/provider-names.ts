/** Every provider key the model selector accepts (SPEC §5.2), incl. `openai-compatible` and its alias (SPEC §0). */
export const PROVIDER_NAMES = [
  "openai",
  "anthropic",
  "gemini",
  "vertexai",
  "mistral",
  "groq",
  "cohere",
  "ollama",
  "together",
  "deepseek",
  "xai",
  "openrouter",
  "fireworks",
  "perplexity",
  "azureopenai",
  "bedrock",
  "huggingface",
  "llamacpp",
  "llamafile",
  "lmstudio",
  "vllm",
  "cerebras",
  "deepinfra",
  "voyage",
  "azureanthropic",
  "vertexaianthropic",
  "dashscope",
  "databricks",
  "inception",
  "minimax",
  "moonshot",
  "nebius",
  "sambanova",
  "watsonx",
  "sagemaker",
  "azure",
  "openai-compatible",
  "openai_compatible",
] as const;

export type ProviderName = (typeof PROVIDER_NAMES)[number];

const KNOWN: ReadonlySet<string> = new Set(PROVIDER_NAMES);

/** Case-insensitive after trimming (SPEC §5.1). */
export function isKnownProvider(name: string): boolean {
  return KNOWN.has(name.trim().toLowerCase());
}
