import { type KeyObject, createVerify } from "node:crypto";
import { anthropicMessages } from "./anthropic-mock.ts";
import { geminiCall, googleError, modelInPath } from "./gemini-mock.ts";
import { type MockHandler, type MockOptions, type MockServer, json, startMockServer } from "./server.ts";

/**
 * A Vertex AI upstream plus its OAuth token endpoint:
 * - POST /token: the JWT-bearer grant (https://developers.google.com/identity/protocols/oauth2/service-account#httprest).
 *   The assertion's RS256 signature is verified with the test key pair's public key, and its claims (iss, aud =
 *   this token URL, scope, iat/exp) are checked; a good one gets `{access_token, expires_in, token_type}`, a bad one
 *   `400 {"error":"invalid_grant"}` like Google's endpoint.
 * - POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent|streamGenerateContent:
 *   the Gemini wire (see gemini-mock.ts); Vertex 429s carry no RetryInfo.
 * - POST …/publishers/anthropic/models/{m}:rawPredict|streamRawPredict: the Anthropic wire, requiring
 *   `anthropic_version: "vertex-2023-10-16"` and no `model` in the body.
 * Model calls need `Authorization: Bearer <a token this mock issued>` (else 401 UNAUTHENTICATED).
 */

export interface VertexMockOptions extends MockOptions {
  publicKey: KeyObject;
  clientEmail: string;
  /** Seconds the issued tokens live (default 3599, as Google's). */
  tokenLifetimeS?: number;
}

export interface VertexMockServer extends MockServer {
  /** `<url>/token`: put it in the service account's `token_uri`. */
  readonly tokenUrl: string;
  /** How many access tokens were issued. */
  tokensIssued(): number;
}

const SCOPE = "https://www.googleapis.com/auth/cloud-platform";

function verifyAssertion(assertion: string, o: VertexMockOptions, tokenUrl: string): { kid: string } | string {
  const parts = assertion.split(".");
  if (parts.length !== 3) return "malformed JWT";
  const [h, p, sig] = parts as [string, string, string];
  const header = JSON.parse(Buffer.from(h, "base64url").toString()) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
  if (header["alg"] !== "RS256") return "alg must be RS256";
  if (!createVerify("RSA-SHA256").update(`${h}.${p}`).verify(o.publicKey, Buffer.from(sig, "base64url")))
    return "Invalid JWT Signature.";
  const now = Date.now() / 1000;
  if (claims["iss"] !== o.clientEmail) return "Invalid issuer";
  if (claims["aud"] !== tokenUrl) return "Invalid JWT audience";
  if (claims["scope"] !== SCOPE) return "Invalid scope";
  const iat = Number(claims["iat"]);
  const exp = Number(claims["exp"]);
  if (!(iat <= now + 60 && exp > now && exp - iat <= 3600))
    return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.";
  return { kid: String(header["kid"] ?? "nokid") };
}

export function startVertexMock(options: VertexMockOptions): VertexMockServer {
  const issued = new Set<string>();
  let count = 0;
  let tokenUrl = "";
  const handler: MockHandler = (ctx) => {
    if (ctx.path === "/token") {
      const form = new URLSearchParams(ctx.rawBody);
      if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer")
        return json({ error: "unsupported_grant_type", error_description: "Invalid grant_type" }, 400);
      const verdict = verifyAssertion(form.get("assertion") ?? "", options, tokenUrl);
      if (typeof verdict === "string") return json({ error: "invalid_grant", error_description: verdict }, 400);
      const token = `ya29.mock-${verdict.kid}-${++count}`;
      issued.add(token);
      return json({ access_token: token, expires_in: options.tokenLifetimeS ?? 3599, token_type: "Bearer" });
    }
    const bearer = ctx.req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    if (!issued.has(bearer)) return googleError(401);
    const m = ctx.path.match(
      /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/(google|anthropic)\/models\/[^/:]+:([A-Za-z]+)$/,
    );
    if (!m) return googleError(404, null, `Unknown path ${ctx.path}`);
    if (m[1] === "google") return geminiCall(ctx, m[2]!, false);
    if (m[2] !== "rawPredict" && m[2] !== "streamRawPredict") return googleError(404, null, `Unknown method ${m[2]}`);
    // quota errors come from Vertex itself, in Google's shape and without a retry hint
    if (ctx.scenario.errorStatus === 429)
      return googleError(
        429,
        null,
        "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.",
      );
    if (ctx.body["model"] !== undefined || ctx.body["anthropic_version"] !== "vertex-2023-10-16")
      return json(
        {
          type: "error",
          error: {
            type: "invalid_request_error",
            message: "anthropic_version: Input should be 'vertex-2023-10-16'; model: Extra inputs are not permitted",
          },
        },
        400,
      );
    return anthropicMessages(ctx, m[2] === "streamRawPredict");
  };
  const server = startMockServer(options, "", handler, modelInPath);
  tokenUrl = `${server.url}/token`;
  return { ...server, tokenUrl, tokensIssued: () => count };
}
