import { GatewayError } from "../../core/errors.ts";
import { type AwsCredentials, signRequest } from "../_shared/aws/sigv4.ts";
import { ProviderFailure } from "../_shared/errors.ts";
import { type UpstreamRequest, joinUrl, modelSegment } from "../_shared/http.ts";
import type { ProviderSettings } from "../types.ts";
import { bedrockHttpError } from "./errors.ts";

/**
 * Bedrock runtime addressing and auth (docs/behaviour/providers.md#provider-names,
 * docs/behaviour/providers.md#aws-bedrock): `POST {base}/model/{urlencoded modelId}/converse` and `/converse-stream`
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html). Auth: an API key (`api_key` /
 * AWS_BEARER_TOKEN_BEDROCK) as `Authorization: Bearer`
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-use.html), else SigV4 for service `bedrock`.
 *
 * Settings read from `extra`: `region`, `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`
 * (config entry / client_args), and `env` with AWS_REGION, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (copied by the registry; providers never read process.env).
 */

export const DEFAULT_REGION = "us-east-1";
export const SIGNING_SERVICE = "bedrock";

const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

function env(s: ProviderSettings): Record<string, unknown> {
  const e = s.extra["env"];
  return e && typeof e === "object" ? (e as Record<string, unknown>) : {};
}

export function bedrockRegion(s: ProviderSettings): string {
  const e = env(s);
  return (
    str(s.extra["region"]) ??
    str(s.extra["aws_region_name"]) ??
    str(e["AWS_REGION"]) ??
    str(e["AWS_DEFAULT_REGION"]) ??
    DEFAULT_REGION
  );
}

export function bedrockBase(s: ProviderSettings): string {
  return s.apiBase.replaceAll("{region}", bedrockRegion(s));
}

/** Config keys win over the env vars; both parts of a key pair must come from the same place. */
export function bedrockCredentials(s: ProviderSettings): AwsCredentials | null {
  const e = env(s);
  const id = str(s.extra["aws_access_key_id"]);
  const secret = str(s.extra["aws_secret_access_key"]);
  if (id && secret)
    return { accessKeyId: id, secretAccessKey: secret, sessionToken: str(s.extra["aws_session_token"]) };
  const envId = str(e["AWS_ACCESS_KEY_ID"]);
  const envSecret = str(e["AWS_SECRET_ACCESS_KEY"]);
  if (envId && envSecret)
    return { accessKeyId: envId, secretAccessKey: envSecret, sessionToken: str(e["AWS_SESSION_TOKEN"]) };
  return null;
}

export type BedrockOperation = "converse" | "converse-stream";

export const modelUrl = (s: ProviderSettings, modelId: string, op: BedrockOperation): string =>
  joinUrl(bedrockBase(s), `/model/${modelSegment(modelId, s.name, true)}/${op}`);

/** The request, signed over the exact body bytes that will be sent. */
export function bedrockRequest(
  s: ProviderSettings,
  modelId: string,
  op: BedrockOperation,
  body: unknown,
): UpstreamRequest {
  const url = modelUrl(s, modelId, op);
  const rawBody = JSON.stringify(body);
  const headers: Record<string, string> = {};
  if (op === "converse-stream") headers["accept"] = "application/vnd.amazon.eventstream";
  if (s.apiKey) headers["authorization"] = `Bearer ${s.apiKey}`;
  else {
    const credentials = bedrockCredentials(s);
    if (!credentials)
      throw new GatewayError(500, "Unable to load AWS credentials for bedrock", {
        code: "provider_credentials_error",
        cause: new ProviderFailure("bedrock: no api_key / AWS_BEARER_TOKEN_BEDROCK and no AWS access key pair", null),
      });
    const signed = signRequest({
      method: "POST",
      url,
      body: rawBody,
      region: bedrockRegion(s),
      service: SIGNING_SERVICE,
      credentials,
    });
    Object.assign(headers, signed.headers);
  }
  return { url, rawBody, headers, mapError: bedrockHttpError };
}
