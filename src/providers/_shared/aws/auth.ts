import { GatewayError } from "../../../core/errors.ts";
import type { ProviderSettings } from "../../types.ts";
import { ProviderFailure } from "../errors.ts";
import { type AwsCredentials, signRequest } from "./sigv4.ts";

/**
 * Region, credentials and request auth for the AWS runtimes (Bedrock, SageMaker). Settings read from `extra`:
 * `region` (or `aws_region_name`), `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token` (config entry /
 * client_args), and `env` with AWS_REGION, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN (copied by the registry; providers never read process.env).
 */

export const DEFAULT_AWS_REGION = "us-east-1";

const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

function env(s: ProviderSettings): Record<string, unknown> {
  const e = s.extra["env"];
  return e && typeof e === "object" ? (e as Record<string, unknown>) : {};
}

export function awsRegion(s: ProviderSettings): string {
  const e = env(s);
  return (
    str(s.extra["region"]) ??
    str(s.extra["aws_region_name"]) ??
    str(e["AWS_REGION"]) ??
    str(e["AWS_DEFAULT_REGION"]) ??
    DEFAULT_AWS_REGION
  );
}

/** The configured base with `{region}` filled (a base without the placeholder is used as-is). */
export const awsBase = (s: ProviderSettings): string => s.apiBase.replaceAll("{region}", awsRegion(s));

/** Config keys win over the env vars; both parts of a key pair must come from the same place. */
export function awsCredentials(s: ProviderSettings): AwsCredentials | null {
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

/**
 * The auth headers of one request, signed over the exact body bytes that will be sent: `Authorization: Bearer` when
 * the service takes API keys (`bearer`) and one is set, else SigV4 for `service`. No credentials at all is the
 * deployment's misconfiguration: a 500, never the client's fault.
 */
export function awsAuthHeaders(
  s: ProviderSettings,
  req: { url: string; rawBody: string; service: string; bearer: boolean },
): Record<string, string> {
  if (req.bearer && s.apiKey) return { authorization: `Bearer ${s.apiKey}` };
  const credentials = awsCredentials(s);
  if (!credentials)
    throw new GatewayError(500, `Unable to load AWS credentials for ${req.service}`, {
      code: "provider_credentials_error",
      cause: new ProviderFailure(
        `${req.service}: no ${req.bearer ? "api_key and no " : ""}AWS access key pair (config or AWS_ACCESS_KEY_ID)`,
        null,
      ),
    });
  return signRequest({
    method: "POST",
    url: req.url,
    body: req.rawBody,
    region: awsRegion(s),
    service: req.service,
    credentials,
  }).headers;
}
