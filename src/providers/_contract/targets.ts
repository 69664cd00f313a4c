import {
  type MockServer,
  type RecordedRequest,
  createVertexFixture,
  startAnthropicMock,
  startAzureMock,
  startBedrockMock,
  startCohereMock,
  startDatabricksMock,
  startGeminiMock,
  startMistralMock,
  startOpenAIMock,
  startSageMakerMock,
  startVoyageMock,
  startWatsonxMock,
} from "../_mocks/index.ts";
import { anthropic } from "../anthropic/index.ts";
import { azure } from "../azure/index.ts";
import { azureanthropic } from "../azureanthropic/index.ts";
import { azureopenai } from "../azureopenai/index.ts";
import { bedrock } from "../bedrock/index.ts";
import { supports } from "../capabilities.ts";
import { cohere } from "../cohere/index.ts";
import { gemini } from "../gemini/index.ts";
import { mistral } from "../mistral/index.ts";
import { openaiFamily } from "../openai-family/index.ts";
import { sagemaker } from "../sagemaker/index.ts";
import type { ProviderDefinition } from "../registry.ts";
import type { Provider, ProviderSettings } from "../types.ts";
import { vertexai } from "../vertexai/index.ts";
import { vertexaianthropic } from "../vertexaianthropic/index.ts";
import { watsonx } from "../watsonx/index.ts";
import { API_KEY, type ContractTarget } from "./harness.ts";

/**
 * Every adapter's contract target: the adapter, a mock speaking its provider's documented wire, and what the
 * scenarios expect of it. contract.test.ts runs them all and fails when a registered adapter has none.
 */

const family = (name: string): Provider => {
  const p = openaiFamily[name];
  if (!p) throw new Error(`no OpenAI-family adapter named ${name}`);
  return p;
};

const bearer = (r: RecordedRequest) => r.headers["authorization"];
const apiKeyHeader = (r: RecordedRequest) => r.headers["api-key"];
const xApiKey = (r: RecordedRequest) => r.headers["x-api-key"];
const modelInGooglePath = (r: RecordedRequest) => r.path.match(/\/models\/([^/:]+):/)?.[1];

/** The OpenAI mock's listing (openai-mock.ts). */
const OPENAI_MODEL_IDS = ["gpt-4o-mini", "text-embedding-3-small"];
const OPENAI_STATUSES = [400, 401, 402, 403, 404, 413, 422, 429, 500, 503];

/** Expectations of the OpenAI paths under `prefix`, for the capabilities `provider` has. */
function openAIPaths(provider: Provider, prefix: string): Partial<ContractTarget> {
  return {
    chat: supports(provider, "chat")
      ? { path: `${prefix}/chat/completions`, cachePromptTokens: 12, cacheWriteTokens: null }
      : undefined,
    // the OpenAI mock counts 3 tokens per input
    embeddings: supports(provider, "embeddings") ? { path: `${prefix}/embeddings`, promptTokens: 6 } : undefined,
    moderations: supports(provider, "moderations") ? { path: `${prefix}/moderations` } : undefined,
    responses: supports(provider, "responses") ? { path: `${prefix}/responses` } : undefined,
    models: supports(provider, "models") ? { path: `${prefix}/models`, ids: OPENAI_MODEL_IDS } : undefined,
    batches: supports(provider, "batches")
      ? { createCalls: [`POST ${prefix}/files`, `POST ${prefix}/batches`], keepsMetadata: true }
      : undefined,
    // the mock counts a token per word: 3 in the query, 12 in the documents
    rerank: supports(provider, "rerank") ? { path: `${prefix}/rerank`, searchUnits: null, tokens: 15 } : undefined,
    images: supports(provider, "images") ? { path: `${prefix}/images/generations` } : undefined,
    speech: supports(provider, "speech") ? { path: `${prefix}/audio/speech` } : undefined,
    transcription: supports(provider, "transcription") ? { path: `${prefix}/audio/transcriptions` } : undefined,
  };
}

const openai = family("openai");
const OPENAI_BASE = "openai (OpenAI-compatible base)";

/**
 * The family members that are the base with nothing of their own but a name and the endpoints they serve
 * (openai-family/index.ts): each runs every scenario of what it serves against the OpenAI mock, the transport
 * timing ones excepted (they run once, on the base).
 */
const PLAIN_FAMILY = [
  "groq",
  "together",
  "deepseek",
  "xai",
  "openrouter",
  "fireworks",
  "perplexity",
  "huggingface",
  "llamacpp",
  "llamafile",
  "lmstudio",
  "vllm",
  "cerebras",
  "deepinfra",
  "dashscope",
  "inception",
  "minimax",
  "moonshot",
  "nebius",
  "sambanova",
  "openai-compatible",
];

/** A mock whose apiBase is its bare URL: the adapter adds its own path prefix (Ollama `/v1`, Databricks). */
const atRoot = (start: () => MockServer) => (): MockServer => {
  const mock = start();
  return { ...mock, apiBase: mock.url };
};

const vertex = createVertexFixture(API_KEY);
const vertexAnthropic = createVertexFixture(API_KEY);

const bedrockCommon = {
  provider: bedrock,
  credentialOf: bearer,
  chat: {
    path: (model: string) => `/model/${model}/converse`,
    modelOf: (r: RecordedRequest) => r.path.match(/^\/model\/([^/]+)\//)?.[1],
    // inputTokens 12 + cache read 4 + cache write 2 (inputTokens excludes the cached parts)
    cachePromptTokens: 18,
    cacheWriteTokens: 2,
  },
  errorStatuses: [400, 403, 404, 429, 500, 503],
  // ThrottlingException carries no retry hint
  retryHint: false,
};
const BEDROCK_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

const azureCommon = {
  startMock: () => startAzureMock(),
  credentialOf: apiKeyHeader,
  errorStatuses: [400, 401, 403, 404, 413, 429, 500, 503],
};

export const CONTRACT_TARGETS: ContractTarget[] = [
  {
    label: OPENAI_BASE,
    provider: openai,
    startMock: () => startOpenAIMock(),
    credentialOf: bearer,
    errorStatuses: OPENAI_STATUSES,
    ...openAIPaths(openai, "/v1"),
  },
  ...PLAIN_FAMILY.map(
    (name): ContractTarget => ({
      label: name,
      provider: family(name),
      startMock: () => startOpenAIMock(),
      credentialOf: bearer,
      errorStatuses: OPENAI_STATUSES,
      ...openAIPaths(family(name), "/v1"),
      timingCoveredBy: OPENAI_BASE,
    }),
  ),
  {
    label: "mistral",
    provider: mistral,
    startMock: () => startMistralMock(),
    credentialOf: bearer,
    errorStatuses: [400, 401, 404, 422, 429, 500, 503],
    retryHint: false,
    ...openAIPaths(mistral, "/v1"),
    chat: { path: "/v1/chat/completions", cachePromptTokens: 12, cacheWriteTokens: null, usageOnFinish: true },
  },
  {
    // Ollama's OpenAI-compatible API under /v1 of its native base (https://ollama.com/blog/openai-compatibility)
    label: "ollama",
    provider: family("ollama"),
    startMock: atRoot(() => startOpenAIMock()),
    credentialOf: bearer,
    errorStatuses: [400, 404, 500],
    ...openAIPaths(family("ollama"), "/v1"),
  },
  {
    label: "databricks",
    provider: family("databricks"),
    startMock: startDatabricksMock,
    credentialOf: bearer,
    errorStatuses: [400, 401, 403, 404, 429, 500, 503],
    retryHint: false,
    ...openAIPaths(family("databricks"), "/serving-endpoints"),
  },
  {
    label: "voyage",
    provider: family("voyage"),
    startMock: () => startVoyageMock(),
    credentialOf: bearer,
    errorStatuses: [400, 401, 403, 429, 500, 503],
    retryHint: false,
    // Voyage reports total_tokens only: 2 per input in the mock
    embeddings: { path: "/v1/embeddings", promptTokens: 4 },
    rerank: { path: "/v1/rerank", searchUnits: null, tokens: 15 },
  },
  {
    label: "anthropic",
    provider: anthropic,
    startMock: () => startAnthropicMock(),
    credentialOf: xApiKey,
    // input 12 + cache write 2 + cache read 4
    chat: { path: "/v1/messages", cachePromptTokens: 18, cacheWriteTokens: 2 },
    models: { path: "/v1/models", ids: ["claude-sonnet-4-5"] },
    batches: { createCalls: ["POST /v1/messages/batches"], keepsMetadata: false },
    errorStatuses: [400, 401, 402, 403, 404, 413, 429, 500, 529],
  },
  {
    label: "azureanthropic",
    provider: azureanthropic,
    startMock: atRootPlus("/anthropic"),
    credentialOf: xApiKey,
    chat: { path: "/anthropic/v1/messages", cachePromptTokens: 18, cacheWriteTokens: 2 },
    errorStatuses: [400, 401, 402, 403, 404, 413, 429, 500, 529],
  },
  {
    label: "vertexaianthropic",
    provider: vertexaianthropic,
    startMock: vertexAnthropic.startMock,
    configure: vertexAnthropic.configure,
    credentialOf: bearer,
    chat: {
      path: (model) => `/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/${model}:rawPredict`,
      modelOf: modelInGooglePath,
      cachePromptTokens: 18,
      cacheWriteTokens: 2,
    },
    errorStatuses: [400, 401, 403, 404, 413, 429, 500, 529],
    retryHint: false,
  },
  {
    label: "gemini",
    provider: gemini,
    startMock: () => startGeminiMock(),
    credentialOf: (r) => r.headers["x-goog-api-key"],
    // promptTokenCount already includes cachedContentTokenCount; Gemini reports no cache writes
    chat: {
      path: (model) => `/v1beta/models/${model}:generateContent`,
      modelOf: modelInGooglePath,
      cachePromptTokens: 12,
      cacheWriteTokens: null,
    },
    // Gemini reports no token counts for embeddings
    embeddings: { path: (model) => `/v1beta/models/${model}:batchEmbedContents`, promptTokens: 0 },
    models: { path: "/v1beta/models", ids: ["gemini-2.5-flash", "text-embedding-004"] },
    errorStatuses: [400, 401, 403, 404, 429, 500, 503],
  },
  {
    label: "vertexai",
    provider: vertexai,
    startMock: vertex.startMock,
    configure: vertex.configure,
    // the access token the mock minted for this key (it embeds the key id, which is API_KEY here)
    credentialOf: bearer,
    chat: {
      path: (model) => `/v1/projects/proj-1/locations/us-east5/publishers/google/models/${model}:generateContent`,
      modelOf: modelInGooglePath,
      cachePromptTokens: 12,
      cacheWriteTokens: null,
    },
    errorStatuses: [400, 401, 403, 404, 429, 500, 503],
    retryHint: false,
  },
  {
    label: "cohere",
    provider: cohere,
    startMock: () => startCohereMock(),
    credentialOf: bearer,
    // usage.tokens.input_tokens already counts the cached tokens
    chat: { path: "/v2/chat", cachePromptTokens: 12, cacheWriteTokens: null },
    // billed_units.input_tokens: 2 per text in the mock
    embeddings: { path: "/v2/embed", promptTokens: 4 },
    models: { path: "/v1/models", ids: ["command-a-03-2025", "embed-v4.0"] },
    // one search unit per query with up to 100 documents; Cohere's answer counts no tokens
    rerank: { path: "/v2/rerank", searchUnits: 1, tokens: null },
    errorStatuses: [400, 401, 402, 404, 422, 429, 500, 503],
    retryHint: false,
  },
  {
    ...bedrockCommon,
    label: "bedrock (bearer API key)",
    startMock: () => startBedrockMock({ bearerToken: API_KEY }),
  },
  {
    ...bedrockCommon,
    label: "bedrock (SigV4)",
    startMock: () =>
      startBedrockMock({ credentials: { accessKeyId: API_KEY, secretAccessKey: BEDROCK_SECRET }, region: "eu-west-1" }),
    configure: (s: ProviderSettings) => ({
      ...s,
      apiKey: null,
      extra: { aws_access_key_id: API_KEY, aws_secret_access_key: BEDROCK_SECRET, region: "eu-west-1" },
    }),
  },
  {
    // an endpoint whose container serves the OpenAI chat wire; the endpoint name is the model
    label: "sagemaker (SigV4)",
    provider: sagemaker,
    startMock: () =>
      startSageMakerMock({
        credentials: { accessKeyId: API_KEY, secretAccessKey: BEDROCK_SECRET },
        region: "eu-west-1",
      }),
    configure: (s: ProviderSettings) => ({
      ...s,
      apiKey: null,
      extra: { aws_access_key_id: API_KEY, aws_secret_access_key: BEDROCK_SECRET, region: "eu-west-1" },
    }),
    credentialOf: bearer,
    chat: {
      path: (model: string) => `/endpoints/${model}/invocations`,
      modelOf: (r: RecordedRequest) => r.path.match(/^\/endpoints\/([^/]+)\//)?.[1],
      cachePromptTokens: 12,
      cacheWriteTokens: null,
    },
    errorStatuses: [400, 403, 424, 429, 500, 503],
    retryHint: false,
  },
  {
    // the IAM token service is the mock itself; the model API gets the token IAM minted for API_KEY
    label: "watsonx",
    provider: watsonx,
    startMock: () => startWatsonxMock({ apiKey: API_KEY }),
    configure: (s: ProviderSettings) => ({ ...s, extra: { iam_url: s.apiBase, project_id: "proj-contract" } }),
    credentialOf: bearer,
    chat: {
      path: "/ml/v1/text/chat?version=2024-10-08",
      modelOf: (r: RecordedRequest) => (r.body as { model_id?: string } | null)?.model_id,
      cachePromptTokens: 12,
      cacheWriteTokens: null,
      cacheReadTokens: null,
      usageOnFinish: true,
    },
    embeddings: { path: "/ml/v1/text/embeddings?version=2024-10-08", promptTokens: 6 },
    errorStatuses: [400, 401, 403, 404, 413, 429, 500, 503],
    retryHint: false,
  },
  {
    ...azureCommon,
    label: "azure (AI Inference)",
    provider: azure,
    startMock: atRootPlus("/models"),
    chat: {
      path: "/models/chat/completions?api-version=2024-05-01-preview",
      cachePromptTokens: 12,
      cacheWriteTokens: null,
    },
    embeddings: { path: "/models/embeddings?api-version=2024-05-01-preview", promptTokens: 6 },
  },
  {
    ...azureCommon,
    label: "azureopenai (deployment URLs)",
    provider: azureopenai,
    chat: {
      path: (model) => `/openai/deployments/${model}/chat/completions?api-version=2024-10-21`,
      // the deployment is in the URL; the body's model is sent too (Azure ignores it)
      modelOf: (r) => r.path.match(/^\/openai\/deployments\/([^/]+)\//)?.[1],
      cachePromptTokens: 12,
      cacheWriteTokens: null,
    },
    embeddings: { path: (model) => `/openai/deployments/${model}/embeddings?api-version=2024-10-21`, promptTokens: 6 },
  },
  {
    ...azureCommon,
    label: "azureopenai (v1 API)",
    provider: azureopenai,
    configure: (s) => ({ ...s, extra: { api_version: "v1" } }),
    chat: { path: "/openai/v1/chat/completions", cachePromptTokens: 12, cacheWriteTokens: null },
    embeddings: { path: "/openai/v1/embeddings", promptTokens: 6 },
  },
];

/** An Azure mock whose apiBase is `<url><path>` (the deployment's inference URL). */
function atRootPlus(path: string) {
  return (): MockServer => {
    const mock = startAzureMock();
    return { ...mock, apiBase: `${mock.url}${path}` };
  };
}

/** The registered provider keys whose adapter no target runs (what the coverage test expects to be empty). */
export function uncoveredProviders(
  definitions: readonly ProviderDefinition[],
  targets: readonly ContractTarget[],
): string[] {
  const covered = new Set(targets.map((t) => t.provider));
  return definitions.filter((d) => !covered.has(d.adapter())).map((d) => d.name);
}
