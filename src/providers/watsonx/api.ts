import { z } from "zod";
import { GatewayError, badRequest } from "../../core/errors.ts";
import { ProviderFailure, upstreamHttpError } from "../_shared/errors.ts";
import { type UpstreamRequest, joinUrl, requestJson } from "../_shared/http.ts";
import { createTokenCache } from "../_shared/token-cache.ts";
import type { CallOptions, ProviderSettings } from "../types.ts";

/**
 * IBM watsonx.ai addressing and auth (https://cloud.ibm.com/apidocs/watsonx-ai): `POST {url}/ml/v1/text/chat`,
 * `/ml/v1/text/chat_stream` and `/ml/v1/text/embeddings`, each with the `version` query (a date; `api_version` in
 * the config entry). The API key is traded at IBM Cloud IAM for a bearer token
 * (https://cloud.ibm.com/docs/account?topic=account-iamtoken_from_apikey: `POST {iam_url}/identity/token`, grant
 * `urn:ibm:params:oauth:grant-type:apikey`), cached until a minute before it expires. Every call names the
 * project or deployment space it is billed to: `project_id` / `space_id` from the config entry, else
 * WATSONX_PROJECT_ID / WATSONX_SPACE_ID.
 */

export const DEFAULT_API_VERSION = "2024-10-08";
export const DEFAULT_IAM_URL = "https://iam.cloud.ibm.com";

const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

function env(s: ProviderSettings): Record<string, unknown> {
  const e = s.extra["env"];
  return e && typeof e === "object" ? (e as Record<string, unknown>) : {};
}

/** `{project_id}` or `{space_id}` for a request body; a 400 naming the missing setting when neither is set. */
export function billingScope(s: ProviderSettings): Record<string, string> {
  const e = env(s);
  const project = str(s.extra["project_id"]) ?? str(e["WATSONX_PROJECT_ID"]);
  if (project) return { project_id: project };
  const space = str(s.extra["space_id"]) ?? str(e["WATSONX_SPACE_ID"]);
  if (space) return { space_id: space };
  throw badRequest(`Provider '${s.name}' requires project_id or space_id to be configured`, "invalid_request");
}

const tokenSchema = z
  .object({ access_token: z.string().min(1), expires_in: z.number().positive().default(3600) })
  .loose();
const tokens = createTokenCache();

async function iamToken(s: ProviderSettings, o: CallOptions): Promise<string> {
  const apiKey = s.apiKey;
  if (!apiKey)
    throw new GatewayError(500, "Unable to load IBM Cloud credentials for watsonx", {
      code: "provider_credentials_error",
      cause: new ProviderFailure("watsonx: no api_key / WATSONX_API_KEY", null),
    });
  const iamUrl = (str(s.extra["iam_url"]) ?? DEFAULT_IAM_URL).replace(/\/+$/, "");
  const exchange = async () => {
    const req: UpstreamRequest = {
      url: `${iamUrl}/identity/token`,
      rawBody: new URLSearchParams({ grant_type: "urn:ibm:params:oauth:grant-type:apikey", apikey: apiKey }).toString(),
      // the deployment's custom headers are for the model API, not for IAM
      headers: { "content-type": "application/x-www-form-urlencoded" },
      // IAM refusing the key is the deployment's credentials failing, never the client's request
      mapError: (input) =>
        upstreamHttpError({ ...input, status: input.status < 500 && input.status !== 429 ? 401 : input.status }),
    };
    // not tied to one caller's signal: concurrent callers share this exchange (each can still abandon it)
    const res = await requestJson(req, tokenSchema, { ...s, headers: {} }, {}, "inference");
    return { token: res.body.access_token, expiresInS: res.body.expires_in };
  };
  return tokens.get(`${iamUrl}|${apiKey}`, exchange, o.signal);
}

/** Forgets cached IAM tokens (tests; a rotated key). */
export const clearWatsonxTokens = (): void => tokens.clear();

export type WatsonxOperation = "chat" | "chat_stream" | "embeddings";

/** The request of `op` with a fresh (or cached) IAM bearer token. */
export async function watsonxRequest(
  s: ProviderSettings,
  op: WatsonxOperation,
  body: Record<string, unknown>,
  o: CallOptions,
): Promise<UpstreamRequest> {
  const version = str(s.extra["api_version"]) ?? DEFAULT_API_VERSION;
  const url = `${joinUrl(s.apiBase, `/ml/v1/text/${op}`)}?version=${encodeURIComponent(version)}`;
  const headers: Record<string, string> = { authorization: `Bearer ${await iamToken(s, o)}` };
  if (op === "chat_stream") headers["accept"] = "text/event-stream";
  return { url, body, headers };
}
