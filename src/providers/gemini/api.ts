import { joinUrl } from "../_shared/http.ts";
import type { ProviderSettings } from "../types.ts";

/**
 * Gemini API on Google AI Studio (https://ai.google.dev/api): REST under `{base}/v1beta`, the key in the
 * `x-goog-api-key` header (https://ai.google.dev/gemini-api/docs/api-key#provide-api-key-explicitly).
 */

export const API_VERSION = "v1beta";

/** `models/<id>` resource name; tuned models keep their own `tunedModels/<id>` name. */
export function resourceName(model: string): string {
  if (model.startsWith("models/") || model.startsWith("tunedModels/")) return model;
  return `models/${model}`;
}

export const modelUrl = (s: ProviderSettings, model: string, method: string): string =>
  joinUrl(s.apiBase, `/${API_VERSION}/${resourceName(model)}:${method}`);

export function authHeaders(s: ProviderSettings): Record<string, string> {
  return s.apiKey ? { "x-goog-api-key": s.apiKey } : {};
}
