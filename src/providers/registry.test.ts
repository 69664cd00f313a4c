import { describe, expect, test } from "bun:test";
import { GatewayError } from "../core/errors.ts";
import { CAPABILITIES, capabilitiesOf, forwardsMessagesNatively, supports } from "./capabilities.ts";
import {
  buildProviderSettings,
  getProvider,
  loadProviders,
  parseModelSelector,
  providerDefinitions,
} from "./registry.ts";
import type { Provider } from "./types.ts";

function errorOf(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected a GatewayError");
}

describe("parseModelSelector", () => {
  test("colon before slash", () => {
    expect(parseModelSelector("openrouter:openai/gpt-4o")).toEqual({
      provider: "openrouter",
      model: "openai/gpt-4o",
      legacy: false,
    });
    expect(parseModelSelector("ollama:llama3:8b")).toEqual({ provider: "ollama", model: "llama3:8b", legacy: false });
    expect(parseModelSelector(" OpenAI :gpt-4o")).toEqual({ provider: "openai", model: "gpt-4o", legacy: false });
  });

  test("legacy slash form", () => {
    expect(parseModelSelector("openai/gpt-4o")).toEqual({ provider: "openai", model: "gpt-4o", legacy: true });
  });

  test("no separator -> 400 with the exact message", () => {
    const err = errorOf(() => parseModelSelector("gpt-4o"));
    expect([err.status, err.message]).toEqual([400, "Invalid model format. Expected 'provider:model', got 'gpt-4o'"]);
  });

  test("unknown provider -> 400 Unsupported provider", () => {
    const err = errorOf(() => parseModelSelector("nope:gpt-4o"));
    expect([err.status, err.message, err.code]).toEqual([400, "Unsupported provider 'nope'", "unsupported_provider"]);
  });

  test("configured named instances and the openai_compatible spelling", () => {
    expect(parseModelSelector("my-llm:x", ["My-LLM"]).provider).toBe("My-LLM");
    expect(parseModelSelector("openai_compatible:x").provider).toBe("openai-compatible");
  });
});

describe("registry", () => {
  test("every documented provider key is known", () => {
    const names = providerDefinitions().map((d) => d.name);
    for (const key of [
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
    ])
      expect(names).toContain(key);
  });

  test("every provider key has an adapter under its own name", () => {
    for (const d of providerDefinitions()) expect(getProvider(d.name).name).toBe(d.name);
    expect(getProvider("Mistral").name).toBe("mistral");
    expect(getProvider("anthropic").wire).toBe("anthropic");
  });

  test("native adapters are registered under their documented provider keys", () => {
    for (const name of [
      "gemini",
      "vertexai",
      "bedrock",
      "cohere",
      "azure",
      "azureopenai",
      "azureanthropic",
      "vertexaianthropic",
    ])
      expect(getProvider(name).name).toBe(name);
    expect(getProvider("azureanthropic").wire).toBe("anthropic");
    expect(forwardsMessagesNatively(getProvider("vertexaianthropic"))).toBe(true);
  });

  test("a native adapter is loaded once: later lookups return the same object", () => {
    loadProviders(["Bedrock", "no-such-provider"]);
    expect(getProvider("bedrock")).toBe(getProvider("BEDROCK"));
  });

  test("cloud env vars reach the adapter as extra.env; templated default bases; config wins per key", () => {
    const env = {
      GOOGLE_CLOUD_PROJECT: "p-env",
      GOOGLE_API_KEY: "g",
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "AKIA",
      OPENAI_API_KEY: "x",
    };
    const vertex = buildProviderSettings("vertexai", { extra: { location: "global" } }, env, "1");
    expect(vertex.apiBase).toBe("https://{location}-aiplatform.googleapis.com");
    expect(vertex.extra).toEqual({ location: "global", env: { GOOGLE_CLOUD_PROJECT: "p-env" } });
    const bedrock = buildProviderSettings("bedrock", { extra: { env: { AWS_REGION: "us-west-2" } } }, env, "1");
    expect(bedrock.apiBase).toBe("https://bedrock-runtime.{region}.amazonaws.com");
    expect(bedrock.extra["env"]).toEqual({ AWS_REGION: "us-west-2", AWS_ACCESS_KEY_ID: "AKIA" });
    expect(buildProviderSettings("gemini", {}, env, "1")).toMatchObject({ apiKey: "g", extra: {} });
    expect(buildProviderSettings("openai", {}, env, "1").extra).toEqual({});
  });

  test("capabilities are the adapter's methods", () => {
    const flags = (p: Provider) => ({
      ...Object.fromEntries(CAPABILITIES.map((c) => [c, supports(p, c)])),
      messagesPassthrough: forwardsMessagesNatively(p),
    });
    expect(flags(getProvider("openai"))).toMatchObject({ responses: true, moderations: true });
    expect(flags(getProvider("anthropic"))).toMatchObject({
      messagesPassthrough: true,
      embeddings: false,
      moderations: false,
    });
    expect(flags(getProvider("voyage"))).toMatchObject({ chat: false, embeddings: true });
    expect(capabilitiesOf(getProvider("voyage"))).toEqual(["embeddings", "rerank"]);
    expect(getProvider("voyage").chat).toBeUndefined();
  });

  test("buildProviderSettings: config over env, env over default, required bases", () => {
    const env = { OPENAI_API_KEY: "env-key", OLLAMA_API_BASE: "http://gpu:11434" };
    expect(buildProviderSettings("openai", {}, env, "1.0.0")).toMatchObject({
      apiKey: "env-key",
      apiBase: "https://api.openai.com/v1",
      timeoutMs: 600_000,
      firstByteTimeoutMs: 120_000,
    });
    expect(
      buildProviderSettings("openai", { apiKey: "cfg", apiBase: "http://x/v1/", timeoutSeconds: 5 }, env, "1").apiBase,
    ).toBe("http://x/v1");
    expect(buildProviderSettings("ollama", {}, env, "1").apiBase).toBe("http://gpu:11434");
    const err = errorOf(() => buildProviderSettings("openai-compatible", {}, {}, "1"));
    expect(err.status).toBe(400);
  });
});
