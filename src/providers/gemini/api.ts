import { joinUrl, modelSegment } from "../_shared/http.ts";
import type { ProviderSettings } from "../types.ts";

/**
 * Gemini API on Google AI Studio (https://ai.google.dev/api): REST under `{base}/v1beta`, the key in the
 * `x-goog-api-key` header (https://ai.google.dev/gemini-api/docs/api-key#provide-api-key-explicitly).
 */

export const API_VERSION = "v1beta";

const COLLECTIONS = ["models/", "tunedModels/"];

/**
 * `models/<id>` resource name; tuned models keep their own `tunedModels/<id>` name. `encoded`: the id as one encoded
 * path segment, for URLs (a model name must never reach another resource of the API with the operator's key); ids
 * that cannot be one segment are refused either way.
 */
export function resourceName(model: string, encoded = false): string {
  const collection = COLLECTIONS.find((c) => model.startsWith(c)) ?? "models/";
  const id = model.startsWith(collection) ? model.slice(collection.length) : model;
  const segment = modelSegment(id, "gemini");
  return collection + (encoded ? segment : id);
}

export const modelUrl = (s: ProviderSettings, model: string, method: string): string =>
  joinUrl(s.apiBase, `/${API_VERSION}/${resourceName(model, true)}:${method}`);

export function authHeaders(s: ProviderSettings): Record<string, string> {
  return s.apiKey ? { "x-goog-api-key": s.apiKey } : {};
}
