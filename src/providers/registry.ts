import { GatewayError, badRequest } from "../core/errors.ts";
import { DEFAULT_UPSTREAM_MAX_BODY_BYTES, DEFAULT_UPSTREAM_MAX_EVENT_BYTES } from "../core/upstream-limits.ts";
import { openaiFamily } from "./openai-family/index.ts";
import type { Provider, ProviderSettings } from "./types.ts";

/**
 * Every provider key of docs/behaviour/providers.md#provider-names (core and extended) with its defaults and its
 * adapter. Defaults come from each provider's public docs.
 */
export interface ProviderDefinition {
  name: string;
  priority: "core" | "extended";
  /** null when the deployment must configure `api_base`. */
  defaultApiBase: string | null;
  /** Credential env vars, first set wins. */
  apiKeyEnv: readonly string[];
  /** Env vars that may override the base URL. */
  apiBaseEnv: readonly string[];
  /**
   * Further env vars the adapter reads (cloud credentials, project, region): copied, when set, into
   * `settings.extra.env` so providers never read process.env (Vertex: GOOGLE_*, Bedrock: AWS_*).
   */
  envPassthrough: readonly string[];
  /** The adapter (loaded on the first call, then cached). */
  adapter: () => Provider;
}

const def = (
  name: string,
  priority: ProviderDefinition["priority"],
  defaultApiBase: string | null,
  apiKeyEnv: string[],
  adapter: () => Provider,
  apiBaseEnv: string[] = [],
  envPassthrough: string[] = [],
): ProviderDefinition => ({ name, priority, defaultApiBase, apiKeyEnv, apiBaseEnv, adapter, envPassthrough });

/**
 * Vertex reads its key file, project and location from these when config has none
 * (docs/behaviour/providers.md#credentials-from-the-environment).
 */
const GOOGLE_ENV = ["GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION"];
/**
 * Bedrock signs with these when no API key (AWS_BEARER_TOKEN_BEDROCK) is set; SageMaker always does
 * (docs/behaviour/providers.md#credentials-from-the-environment).
 */
const AWS_ENV = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"];

/** watsonx bills each call to a project or a deployment space. */
const WATSONX_ENV = ["WATSONX_PROJECT_ID", "WATSONX_SPACE_ID"];

/** The Vertex AI default base: `{location}` is filled per deployment; a configured api_base is used as-is. */
const VERTEX_BASE_TEMPLATE = "https://{location}-aiplatform.googleapis.com";
/** The Bedrock runtime default base: `{region}` is filled per deployment; a configured api_base is used as-is. */
const BEDROCK_BASE_TEMPLATE = "https://bedrock-runtime.{region}.amazonaws.com";
/** The SageMaker runtime default base, filled like Bedrock's. */
const SAGEMAKER_BASE_TEMPLATE = "https://runtime.sagemaker.{region}.amazonaws.com";

const oai = (name: string): (() => Provider) => {
  const p = openaiFamily[name];
  if (!p) throw new Error(`no OpenAI-family adapter named ${name}`);
  return () => p;
};

/**
 * A native adapter, loaded on its first use and cached: each brings its own wire schemas and clients (AWS
 * eventstream and SigV4, Google credentials...), which a gateway that never calls it should not hold in memory.
 * The OpenAI family above is the shared base, always loaded. `require` because resolving a provider is synchronous.
 */
const native = (load: () => Provider): (() => Provider) => {
  let adapter: Provider | null = null;
  return () => (adapter ??= load());
};
const anthropic = native(() => (require("./anthropic/index.ts") as typeof import("./anthropic/index.ts")).anthropic);
const azure = native(() => (require("./azure/index.ts") as typeof import("./azure/index.ts")).azure);
const azureanthropic = native(
  () => (require("./azureanthropic/index.ts") as typeof import("./azureanthropic/index.ts")).azureanthropic,
);
const azureopenai = native(
  () => (require("./azureopenai/index.ts") as typeof import("./azureopenai/index.ts")).azureopenai,
);
const bedrock = native(() => (require("./bedrock/index.ts") as typeof import("./bedrock/index.ts")).bedrock);
const cohere = native(() => (require("./cohere/index.ts") as typeof import("./cohere/index.ts")).cohere);
const gemini = native(() => (require("./gemini/index.ts") as typeof import("./gemini/index.ts")).gemini);
const mistral = native(() => (require("./mistral/index.ts") as typeof import("./mistral/index.ts")).mistral);
const sagemaker = native(() => (require("./sagemaker/index.ts") as typeof import("./sagemaker/index.ts")).sagemaker);
const watsonx = native(() => (require("./watsonx/index.ts") as typeof import("./watsonx/index.ts")).watsonx);
const vertexai = native(() => (require("./vertexai/index.ts") as typeof import("./vertexai/index.ts")).vertexai);
const vertexaianthropic = native(
  () => (require("./vertexaianthropic/index.ts") as typeof import("./vertexaianthropic/index.ts")).vertexaianthropic,
);

const DEFINITIONS: ProviderDefinition[] = [
  def("openai", "core", "https://api.openai.com/v1", ["OPENAI_API_KEY"], oai("openai")),
  def("anthropic", "core", "https://api.anthropic.com", ["ANTHROPIC_API_KEY"], anthropic),
  def("gemini", "core", "https://generativelanguage.googleapis.com", ["GEMINI_API_KEY", "GOOGLE_API_KEY"], gemini),
  def("vertexai", "core", VERTEX_BASE_TEMPLATE, [], vertexai, [], GOOGLE_ENV),
  def("mistral", "core", "https://api.mistral.ai/v1", ["MISTRAL_API_KEY"], mistral),
  def("groq", "core", "https://api.groq.com/openai/v1", ["GROQ_API_KEY"], oai("groq")),
  def("cohere", "core", "https://api.cohere.com", ["COHERE_API_KEY", "CO_API_KEY"], cohere),
  def("ollama", "core", "http://localhost:11434", [], oai("ollama"), ["OLLAMA_API_BASE"]),
  def("together", "core", "https://api.together.xyz/v1", ["TOGETHER_API_KEY"], oai("together")),
  def("deepseek", "core", "https://api.deepseek.com", ["DEEPSEEK_API_KEY"], oai("deepseek")),
  def("xai", "core", "https://api.x.ai/v1", ["XAI_API_KEY"], oai("xai")),
  def("openrouter", "core", "https://openrouter.ai/api/v1", ["OPENROUTER_API_KEY"], oai("openrouter")),
  def("fireworks", "core", "https://api.fireworks.ai/inference/v1", ["FIREWORKS_API_KEY"], oai("fireworks")),
  def("perplexity", "core", "https://api.perplexity.ai", ["PERPLEXITY_API_KEY"], oai("perplexity")),
  def("azureopenai", "core", null, ["AZURE_OPENAI_API_KEY"], azureopenai, ["AZURE_OPENAI_ENDPOINT"]),
  def("bedrock", "core", BEDROCK_BASE_TEMPLATE, ["AWS_BEARER_TOKEN_BEDROCK"], bedrock, [], AWS_ENV),
  def(
    "huggingface",
    "core",
    "https://router.huggingface.co/v1",
    ["HF_TOKEN", "HUGGINGFACE_API_KEY"],
    oai("huggingface"),
  ),
  def("llamacpp", "core", "http://127.0.0.1:8080/v1", [], oai("llamacpp")),
  def("llamafile", "core", "http://127.0.0.1:8080/v1", [], oai("llamafile"), ["LLAMAFILE_API_BASE"]),
  def("lmstudio", "core", "http://localhost:1234/v1", [], oai("lmstudio"), ["LM_STUDIO_API_BASE"]),
  def("vllm", "core", "http://localhost:8000/v1", ["VLLM_API_KEY"], oai("vllm"), ["VLLM_API_BASE"]),
  def("cerebras", "core", "https://api.cerebras.ai/v1", ["CEREBRAS_API_KEY"], oai("cerebras")),
  def("deepinfra", "core", "https://api.deepinfra.com/v1/openai", ["DEEPINFRA_API_KEY"], oai("deepinfra")),
  def("voyage", "core", "https://api.voyageai.com/v1", ["VOYAGE_API_KEY"], oai("voyage")),
  def("azureanthropic", "extended", null, ["AZURE_ANTHROPIC_API_KEY"], azureanthropic),
  def("vertexaianthropic", "extended", VERTEX_BASE_TEMPLATE, [], vertexaianthropic, [], GOOGLE_ENV),
  def(
    "dashscope",
    "extended",
    "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    ["DASHSCOPE_API_KEY"],
    oai("dashscope"),
  ),
  def("databricks", "extended", null, ["DATABRICKS_TOKEN"], oai("databricks"), ["DATABRICKS_HOST"]),
  def("inception", "extended", "https://api.inceptionlabs.ai/v1", ["INCEPTION_API_KEY"], oai("inception")),
  def("minimax", "extended", "https://api.minimax.io/v1", ["MINIMAX_API_KEY"], oai("minimax")),
  def("moonshot", "extended", "https://api.moonshot.ai/v1", ["MOONSHOT_API_KEY"], oai("moonshot")),
  def("nebius", "extended", "https://api.studio.nebius.com/v1", ["NEBIUS_API_KEY"], oai("nebius")),
  def("sambanova", "extended", "https://api.sambanova.ai/v1", ["SAMBANOVA_API_KEY"], oai("sambanova")),
  def("watsonx", "extended", null, ["WATSONX_API_KEY"], watsonx, ["WATSONX_URL"], WATSONX_ENV),
  def("sagemaker", "extended", SAGEMAKER_BASE_TEMPLATE, [], sagemaker, [], AWS_ENV),
  def("azure", "extended", null, ["AZURE_API_KEY"], azure),
  def("openai-compatible", "core", null, [], oai("openai-compatible")),
];

const BY_NAME = new Map(DEFINITIONS.map((d) => [d.name, d]));
/** Spelling variants accepted for a key (docs/behaviour/providers.md#provider-names). */
const ALIASES: Record<string, string> = { openai_compatible: "openai-compatible" };

/** Canonical key for a provider name (trimmed, case-insensitive, aliases applied), or null if unknown. */
export function canonicalProviderName(raw: string): string | null {
  const name = raw.trim().toLowerCase();
  const key = ALIASES[name] ?? name;
  return BY_NAME.has(key) ? key : null;
}

export function getProviderDefinition(name: string): ProviderDefinition | null {
  const key = canonicalProviderName(name);
  return key ? (BY_NAME.get(key) ?? null) : null;
}

export const providerDefinitions = (): readonly ProviderDefinition[] => DEFINITIONS;

/** Loads the adapters of these provider keys now (unknown keys are skipped), so no request pays for loading one. */
export function loadProviders(names: Iterable<string>): void {
  for (const name of names) getProviderDefinition(name)?.adapter?.();
}

/** The adapter for a known key; 400 for an unknown key. */
export function getProvider(name: string): Provider {
  const d = getProviderDefinition(name);
  if (!d) throw badRequest(`Unsupported provider '${name}'`, "unsupported_provider");
  return d.adapter();
}

export interface ModelSelector {
  /** Provider key as written (lower-cased), or a configured instance name. */
  provider: string;
  /** Sent to the provider unchanged. */
  model: string;
  /** True for the deprecated `provider/model` form; the caller logs the deprecation once per process. */
  legacy: boolean;
}

/**
 * Split at the first `:` when it comes before any `/` (`openrouter:openai/gpt-4o`,
 * `ollama:llama3:8b`), else at the first `/` (legacy). `instances` are configured named instances
 * (`providers` keys with `provider_type`), accepted besides the built-in keys
 * (docs/behaviour/providers.md#model-selectors).
 */
export function parseModelSelector(selector: string, instances: Iterable<string> = []): ModelSelector {
  const colon = selector.indexOf(":");
  const slash = selector.indexOf("/");
  const useColon = colon !== -1 && (slash === -1 || colon < slash);
  const at = useColon ? colon : slash;
  const invalid = () =>
    new GatewayError(400, `Invalid model format. Expected 'provider:model', got '${selector}'`, {
      code: "invalid_request",
    });
  if (at === -1) throw invalid();
  const rawProvider = selector.slice(0, at).trim();
  const model = selector.slice(at + 1);
  if (!rawProvider || !model.trim()) throw invalid();
  const lowered = rawProvider.toLowerCase();
  const known = canonicalProviderName(lowered);
  const provider = known ?? [...instances].find((i) => i.trim().toLowerCase() === lowered)?.trim();
  if (!provider) throw badRequest(`Unsupported provider '${rawProvider}'`, "unsupported_provider");
  return { provider, model, legacy: !useColon };
}

export interface ProviderSettingsInput {
  apiKey?: string | null;
  apiBase?: string | null;
  headers?: Record<string, string>;
  /** `client_args.timeout` in seconds (default 600). */
  timeoutSeconds?: number | null;
  firstByteTimeoutMs?: number | null;
  /** Config `upstream_max_body_bytes` / `upstream_max_event_bytes` (defaults: src/core/upstream-limits.ts). */
  maxBodyBytes?: number | null;
  maxEventBytes?: number | null;
  extra?: Record<string, unknown>;
}

/**
 * Settings for a call from a config entry and the environment (passed in: providers never read process.env).
 * Config wins over env vars (docs/behaviour/providers.md#provider-config-entries); a provider without a default base
 * needs one configured -> 400.
 */
export function buildProviderSettings(
  name: string,
  input: ProviderSettingsInput,
  env: Record<string, string | undefined>,
  version: string,
): ProviderSettings {
  const d = getProviderDefinition(name);
  if (!d) throw badRequest(`Unsupported provider '${name}'`, "unsupported_provider");
  const fromEnv = (keys: readonly string[]) => keys.map((k) => env[k]).find((v) => v !== undefined && v !== "") ?? null;
  const apiBase = input.apiBase || fromEnv(d.apiBaseEnv) || d.defaultApiBase;
  if (!apiBase) throw badRequest(`Provider '${d.name}' requires api_base to be configured`, "invalid_request");
  const timeoutMs = Math.round((input.timeoutSeconds ?? 600) * 1000);
  return {
    name: d.name,
    apiKey: input.apiKey || fromEnv(d.apiKeyEnv),
    apiBase: apiBase.replace(/\/+$/, ""),
    headers: input.headers ?? {},
    timeoutMs,
    // The read timeout also bounds the wait for a stream's first event: a configured 5 s never waits 120 s.
    firstByteTimeoutMs: Math.min(input.firstByteTimeoutMs ?? 120_000, timeoutMs),
    maxBodyBytes: input.maxBodyBytes ?? DEFAULT_UPSTREAM_MAX_BODY_BYTES,
    maxEventBytes: input.maxEventBytes ?? DEFAULT_UPSTREAM_MAX_EVENT_BYTES,
    version,
    extra: withEnv(input.extra ?? {}, d.envPassthrough, env),
  };
}

/** `extra.env` = the definition's passthrough vars that are set (a configured `extra.env` wins per key). */
function withEnv(
  extra: Record<string, unknown>,
  names: readonly string[],
  env: Record<string, string | undefined>,
): Record<string, unknown> {
  if (names.length === 0) return extra;
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== "") picked[name] = value;
  }
  const own = extra["env"] && typeof extra["env"] === "object" ? (extra["env"] as Record<string, unknown>) : {};
  return { ...extra, env: { ...picked, ...own } };
}
