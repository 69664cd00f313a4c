import { awsAuthHeaders, awsBase } from "../_shared/aws/auth.ts";
import { type UpstreamRequest, joinUrl, modelSegment } from "../_shared/http.ts";
import type { ProviderSettings } from "../types.ts";
import { bedrockHttpError } from "./errors.ts";

/**
 * Bedrock runtime addressing and auth (docs/behaviour/providers.md#provider-names,
 * docs/behaviour/providers.md#aws-bedrock):
 * `POST {base}/model/{urlencoded modelId}/converse` and `/converse-stream`
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html).
 * Auth: an API key (`api_key` / AWS_BEARER_TOKEN_BEDROCK) as `Authorization: Bearer`
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-use.html), else SigV4 for service `bedrock`
 * (region and key pair: _shared/aws/auth.ts).
 */

export const SIGNING_SERVICE = "bedrock";

export type BedrockOperation = "converse" | "converse-stream";

export const modelUrl = (s: ProviderSettings, modelId: string, op: BedrockOperation): string =>
  joinUrl(awsBase(s), `/model/${modelSegment(modelId, s.name, true)}/${op}`);

/** The request, signed over the exact body bytes that will be sent. */
export function bedrockRequest(
  s: ProviderSettings,
  modelId: string,
  op: BedrockOperation,
  body: unknown,
): UpstreamRequest {
  const url = modelUrl(s, modelId, op);
  const rawBody = JSON.stringify(body);
  const headers = awsAuthHeaders(s, { url, rawBody, service: SIGNING_SERVICE, bearer: true });
  if (op === "converse-stream") headers["accept"] = "application/vnd.amazon.eventstream";
  return { url, rawBody, headers, mapError: bedrockHttpError };
}
