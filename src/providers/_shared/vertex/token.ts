import { createSign } from "node:crypto";
import { z } from "zod";
import type { CallOptions, ProviderSettings } from "../../types.ts";
import { upstreamHttpError } from "../errors.ts";
import { requestJson } from "../http.ts";
import { type Exchanged, createTokenCache } from "../token-cache.ts";
import type { GoogleCredentials } from "./credentials.ts";

/**
 * OAuth 2.0 access tokens for Google APIs (docs/behaviour/providers.md#vertex-ai). A service account signs an RS256 JWT assertion and
 * trades it at its key file's `token_uri` with the JWT-bearer grant
 * (https://developers.google.com/identity/protocols/oauth2/service-account#httprest); an authorized_user file
 * uses its refresh token (RFC 6749 §6). Tokens are cached until 60 s before they expire (../token-cache.ts).
 */

export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const ASSERTION_LIFETIME_S = 3600;
const REFRESH_MARGIN_MS = 60_000;

const tokenResponseSchema = z
  .object({ access_token: z.string().min(1), expires_in: z.number().positive().default(3600) })
  .loose();

const b64url = (data: string | Buffer): string => Buffer.from(data).toString("base64url");

/** The signed assertion (https://datatracker.ietf.org/doc/html/rfc7523#section-2.1). */
export function signAssertion(creds: Extract<GoogleCredentials, { kind: "service_account" }>, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header: Record<string, string> = { alg: "RS256", typ: "JWT" };
  if (creds.keyId) header["kid"] = creds.keyId;
  const claims = {
    iss: creds.email,
    scope: CLOUD_PLATFORM_SCOPE,
    aud: creds.tokenUri,
    iat,
    exp: iat + ASSERTION_LIFETIME_S,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = createSign("RSA-SHA256").update(input).sign(creds.key);
  return `${input}.${b64url(signature)}`;
}

function grantBody(creds: GoogleCredentials, nowMs: number): string {
  if (creds.kind === "service_account")
    return new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion: signAssertion(creds, nowMs),
    }).toString();
  return new URLSearchParams({
    grant_type: "refresh_token",
    client_id: creds.clientId,
    client_secret: creds.clientSecret,
    refresh_token: creds.refreshToken,
  }).toString();
}

const cacheKey = (c: GoogleCredentials): string =>
  c.kind === "service_account"
    ? `sa|${c.email}|${c.keyId ?? ""}|${c.tokenUri}`
    : `user|${c.clientId}|${c.refreshToken.slice(-12)}`;

const cache = createTokenCache(REFRESH_MARGIN_MS);

async function exchange(creds: GoogleCredentials, s: ProviderSettings): Promise<Exchanged> {
  const req = {
    url: creds.tokenUri,
    rawBody: grantBody(creds, Date.now()),
    // the deployment's custom headers are for the model API, not for Google's OAuth endpoint
    headers: { "content-type": "application/x-www-form-urlencoded" },
    // any refusal of the grant is the deployment's credentials failing, never the client's request
    mapError: (input: Parameters<typeof upstreamHttpError>[0]) =>
      upstreamHttpError({ ...input, status: input.status < 500 && input.status !== 429 ? 401 : input.status }),
  };
  // not tied to one caller's signal: concurrent callers share this exchange (each can still abandon it)
  const res = await requestJson(req, tokenResponseSchema, { ...s, headers: {} }, {}, "inference");
  return { token: res.body.access_token, expiresInS: res.body.expires_in };
}

/** A valid access token for `creds`, from the cache when it has more than 60 s left. */
export const accessToken = (creds: GoogleCredentials, s: ProviderSettings, o: CallOptions): Promise<string> =>
  cache.get(cacheKey(creds), () => exchange(creds, s), o.signal);

/** Forgets cached tokens (tests; a rotated key). */
export const clearTokenCache = (): void => cache.clear();
