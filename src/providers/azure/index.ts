import { joinUrl } from "../_shared/http.ts";
import { createOpenAICompatibleProvider } from "../_shared/openai-compatible.ts";
import type { ProviderSettings } from "../types.ts";

/**
 * Azure AI Inference (docs/behaviour/providers.md#azure;
 * https://learn.microsoft.com/rest/api/aifoundry/model-inference/): OpenAI-shaped `{api_base}/chat/completions` and
 * `/embeddings` with a required `api-version` query and the key in `api-key`. `api_base` is the deployment's inference
 * URL (e.g. `https://<resource>.services.ai.azure.com/models`). Its `/info` endpoint describes one deployment only, so
 * model discovery is off.
 */

export const DEFAULT_API_VERSION = "2024-05-01-preview";

function url(s: ProviderSettings, path: string): string {
  const v = s.extra["api_version"];
  const version = typeof v === "string" && v.trim() ? v.trim() : DEFAULT_API_VERSION;
  return `${joinUrl(s.apiBase, path)}?${new URLSearchParams({ "api-version": version })}`;
}

export const azure = createOpenAICompatibleProvider({
  name: "azure",
  serves: { models: false },
  resolveUrl: url,
  authHeaders: (s): Record<string, string> => (s.apiKey ? { "api-key": s.apiKey } : {}),
});
