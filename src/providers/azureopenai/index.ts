import { joinUrl, modelSegment } from "../_shared/http.ts";
import { createOpenAICompatibleProvider } from "../_shared/openai-compatible.ts";
import type { ProviderSettings } from "../types.ts";

/**
 * Azure OpenAI (docs/behaviour/providers.md#azure): OpenAI Chat Completions on deployment URLs
 * `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=<client_args.api_version>`
 * (https://learn.microsoft.com/azure/ai-foundry/openai/reference), or the version-less v1 API
 * `{endpoint}/openai/v1/chat/completions` when api_version is "v1"
 * (https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle#api-evolution); key in `api-key`.
 * The selector's model part is the deployment name. Deployments cannot be listed from the data plane, so model
 * discovery is off.
 */

/** Latest GA data-plane version at the time of writing; `client_args.api_version` overrides it. */
export const DEFAULT_API_VERSION = "2024-10-21";

export const apiVersionOf = (s: ProviderSettings, fallback: string): string => {
  const v = s.extra["api_version"];
  return typeof v === "string" && v.trim() ? v.trim() : fallback;
};

/** An endpoint configured with a trailing `/openai` (or `/openai/v1`) is accepted too. */
const endpointOf = (s: ProviderSettings): string => s.apiBase.replace(/\/openai(\/v1)?\/?$/, "");

export function azureOpenAIUrl(s: ProviderSettings, path: string, model: string | null): string {
  const version = apiVersionOf(s, DEFAULT_API_VERSION);
  if (version === "v1" || model === null) return joinUrl(endpointOf(s), `/openai/v1${path}`);
  const query = new URLSearchParams({ "api-version": version });
  return `${joinUrl(endpointOf(s), `/openai/deployments/${modelSegment(model, s.name)}${path}`)}?${query}`;
}

export const azureApiKey = (s: ProviderSettings): Record<string, string> => (s.apiKey ? { "api-key": s.apiKey } : {});

export const azureopenai = createOpenAICompatibleProvider({
  name: "azureopenai",
  serves: { models: false },
  resolveUrl: azureOpenAIUrl,
  authHeaders: azureApiKey,
});
