import { badRequest } from "../../../core/errors.ts";
import type { CallOptions, ProviderSettings } from "../../types.ts";
import { joinUrl, modelSegment } from "../http.ts";
import { envOf, loadCredentials } from "./credentials.ts";
import { accessToken } from "./token.ts";

/**
 * Vertex AI addressing and auth, shared by `vertexai` (Gemini publisher) and `vertexaianthropic` (Anthropic
 * publisher): https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest and
 * docs/behaviour/providers.md#provider-config-entries, docs/behaviour/providers.md#vertex-ai.
 *
 * Settings read from `extra`: `credentials`, `project`, `location` (config entry), and `env` with
 * GOOGLE_APPLICATION_CREDENTIALS / GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION (copied by the registry).
 */

export { credentialsError, loadCredentials, GOOGLE_TOKEN_URI } from "./credentials.ts";
export { accessToken, clearTokenCache, signAssertion, CLOUD_PLATFORM_SCOPE } from "./token.ts";

export const DEFAULT_LOCATION = "us-central1";

const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

export function vertexLocation(s: ProviderSettings): string {
  return str(s.extra["location"]) ?? str(envOf(s)["GOOGLE_CLOUD_LOCATION"]) ?? DEFAULT_LOCATION;
}

/** `global` has no regional host (https://cloud.google.com/vertex-ai/generative-ai/docs/learn/locations#global-endpoint). */
export function vertexBase(s: ProviderSettings): string {
  if (!s.apiBase.includes("{location}")) return s.apiBase;
  const location = vertexLocation(s);
  return location === "global" ? "https://aiplatform.googleapis.com" : s.apiBase.replaceAll("{location}", location);
}

/**
 * Project: config, else the credentials' project_id, else GOOGLE_CLOUD_PROJECT, else 400
 * (docs/behaviour/providers.md#provider-config-entries).
 */
export async function vertexProject(s: ProviderSettings): Promise<string> {
  const configured = str(s.extra["project"]);
  if (configured) return configured;
  const fromEnv = str(envOf(s)["GOOGLE_CLOUD_PROJECT"]);
  // unreadable credentials are the problem to report (500), unless the env names the project anyway
  const creds = await loadCredentials(s).catch((err: unknown) => {
    if (fromEnv) return null;
    throw err;
  });
  const project = creds?.projectId ?? fromEnv;
  if (!project)
    throw badRequest("Could not resolve GCP project ID from credentials or configuration", "invalid_request");
  return project;
}

/** `{base}/v1/projects/{p}/locations/{l}/publishers/{publisher}/models/{model}:{method}` */
export async function vertexModelUrl(
  s: ProviderSettings,
  publisher: string,
  model: string,
  method: string,
): Promise<string> {
  const segment = modelSegment(model, s.name);
  const project = await vertexProject(s);
  const location = vertexLocation(s);
  const path = `/v1/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(location)}/publishers/${publisher}/models/${segment}:${method}`;
  return joinUrl(vertexBase(s), path);
}

export async function vertexAuth(s: ProviderSettings, o: CallOptions): Promise<Record<string, string>> {
  const creds = await loadCredentials(s);
  return { authorization: `Bearer ${await accessToken(creds, s, o)}` };
}
