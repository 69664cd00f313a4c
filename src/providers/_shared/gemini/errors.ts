import type { GatewayError } from "../../../core/errors.ts";
import { type UpstreamErrorInput, upstreamHttpError } from "../errors.ts";

/**
 * Google API errors (Gemini on AI Studio and on Vertex): `{"error":{"code","message","status","details":[...]}}`
 * (https://ai.google.dev/gemini-api/docs/troubleshooting, https://cloud.google.com/apis/design/errors).
 * Two quirks are read from the body before the table of docs/behaviour/errors.md#provider-failures applies:
 * - a 429 names its wait in a `google.rpc.RetryInfo` detail (`"retryDelay": "7s"`, protobuf Duration JSON),
 *   not in a Retry-After header;
 * - a bad AI Studio key is a 400 INVALID_ARGUMENT with an `ErrorInfo` reason `API_KEY_INVALID`: that is a
 *   credential failure of the gateway's deployment, so it is mapped like a 401 (never blamed on the client).
 */

type Json = Record<string, unknown>;

const asObject = (v: unknown): Json | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null);

/** The `error` object of a Google error body; streaming endpoints without alt=sse wrap it in an array. */
export function googleErrorObject(body: unknown): Json | null {
  const root = Array.isArray(body) ? body[0] : body;
  return asObject(asObject(root)?.["error"]);
}

function details(error: Json | null): Json[] {
  const list = error?.["details"];
  return Array.isArray(list) ? list.map(asObject).filter((d): d is Json => d !== null) : [];
}

/** Seconds from a protobuf Duration string ("7s", "1.500s"), or null. */
export function durationSeconds(text: unknown): number | null {
  if (typeof text !== "string") return null;
  const m = text.trim().match(/^(\d+(?:\.\d+)?)s$/);
  return m ? Number(m[1]) : null;
}

/** RetryInfo.retryDelay in seconds, when the body carries one. */
export function googleRetryDelay(error: Json | null): number | null {
  for (const d of details(error))
    if (String(d["@type"] ?? "").endsWith("google.rpc.RetryInfo")) return durationSeconds(d["retryDelay"]);
  return null;
}

const INVALID_KEY_REASONS = new Set(["API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "API_KEY_HTTP_REFERRER_BLOCKED"]);

function isKeyProblem(error: Json | null): boolean {
  return details(error).some(
    (d) =>
      String(d["@type"] ?? "").endsWith("google.rpc.ErrorInfo") && INVALID_KEY_REASONS.has(String(d["reason"] ?? "")),
  );
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The mapping of docs/behaviour/errors.md#provider-failures for a Google API error, with the body's retry hint and key
 * errors taken into account.
 */
export function googleHttpError(input: UpstreamErrorInput): GatewayError {
  const error = googleErrorObject(parse(input.bodyText));
  let headers = input.headers;
  const delay = googleRetryDelay(error);
  if (delay !== null && !headers.has("retry-after") && !headers.has("retry-after-ms")) {
    headers = new Headers(headers);
    headers.set("retry-after", String(delay));
  }
  const status = input.status === 400 && isKeyProblem(error) ? 401 : input.status;
  return upstreamHttpError({ ...input, status, headers });
}
