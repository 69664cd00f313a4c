import { GatewayError } from "../../core/errors.ts";

/**
 * Upstream failure -> GatewayError, one table for every route (docs/behaviour/errors.md#provider-failures). The
 * client-facing message never carries provider text except where the table says so (400/404/413), and then only
 * redacted and cut.
 */

/** Which generic message a 5xx-class failure gets: chat/messages/responses vs pass-through routes. */
export type FailureRoute = "inference" | "passthrough";

export const PROVIDER_ERROR = "LLM provider error";
export const PASSTHROUGH_ERROR = "The request could not be completed by the provider";
export const PROVIDER_TIMEOUT = "LLM provider timeout";
const INVALID_FALLBACK = "The provider rejected the request as invalid (check the model name and parameters)";
const NOT_FOUND_FALLBACK = "The requested model was not found on the provider";
const MAX_MESSAGE = 400;

/**
 * Internal detail of a provider failure, kept as the GatewayError's `cause` for the usage row's
 * `error_message` and `status_code` (docs/behaviour/errors.md#provider-failures); never rendered to clients.
 */
export class ProviderFailure extends Error {
  constructor(
    message: string,
    /** Upstream HTTP status, or null when no response arrived (timeout, connection failure). */
    readonly upstreamStatus: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ProviderFailure";
  }
}

const SECRET_PATTERNS: RegExp[] = [
  /\b(?:sk|gw)-[A-Za-z0-9_-]{6,}/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]+/gi,
  /\b(x-api-key|api-key|api_key|apikey)(["']?\s*[:=]\s*["']?)[^\s"',}]+/gi,
];

/** Masks anything that looks like a credential, plus the deployment's own key when given. */
export function redactSecrets(text: string, knownSecrets: (string | null | undefined)[] = []): string {
  let out = text;
  for (const secret of knownSecrets) if (secret && secret.length >= 4) out = out.split(secret).join("[REDACTED]");
  out = out.replace(SECRET_PATTERNS[0]!, "[REDACTED]");
  out = out.replace(SECRET_PATTERNS[1]!, "Bearer [REDACTED]");
  out = out.replace(SECRET_PATTERNS[2]!, "$1$2[REDACTED]");
  return out;
}

/**
 * error.message / error.msg / message / msg / errorMessage (IBM IAM) / errors[0] (watsonx) / detail (string or
 * FastAPI list) / error as a string.
 */
export function extractProviderMessage(body: unknown): string | null {
  if (typeof body === "string") return body.trim() || null;
  if (!body || typeof body !== "object") return null;
  const obj = body as Record<string, unknown>;
  const err = obj["error"];
  if (typeof err === "string" && err.trim()) return err.trim();
  if (err && typeof err === "object") {
    const inner = extractProviderMessage(err);
    if (inner) return inner;
  }
  for (const key of ["message", "msg", "errorMessage"]) {
    const v = obj[key];
    if (typeof v === "string" && v.trim()) return v.trim();
  }
  const errors = obj["errors"];
  if (Array.isArray(errors) && errors.length > 0) {
    const inner = extractProviderMessage(errors[0]);
    if (inner) return inner;
  }
  const detail = obj["detail"];
  if (typeof detail === "string" && detail.trim()) return detail.trim();
  if (Array.isArray(detail) && detail.length > 0) return extractProviderMessage(detail[0]);
  return null;
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function clientMessage(raw: string | null, fallback: string, secrets: (string | null)[]): string {
  if (!raw) return fallback;
  const clean = redactSecrets(raw, secrets).trim();
  return clean.length > MAX_MESSAGE ? clean.slice(0, MAX_MESSAGE) : clean || fallback;
}

/** Go-style durations OpenAI uses in x-ratelimit-reset-* ("6m0s", "1.5s", "20ms", "1h2m") or bare seconds. */
export function parseDurationSeconds(text: string): number | null {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === "h" ? n * 3600 : m[2] === "m" ? n * 60 : m[2] === "ms" ? n / 1000 : n;
    consumed += m[0].length;
  }
  return consumed > 0 && consumed === t.length ? total : null;
}

/**
 * Seconds a client should wait, from `retry-after-ms`, `retry-after` (seconds or HTTP date) or the
 * x-ratelimit-reset-* headers (the exhausted limits' resets when `remaining` says which, else the longest).
 * Rounded up, at least 1; null when the upstream gave no hint.
 */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | null {
  const ms = headers.get("retry-after-ms");
  if (ms && Number.isFinite(Number(ms))) return Math.max(1, Math.ceil(Number(ms) / 1000));
  const ra = headers.get("retry-after");
  if (ra) {
    const secs = Number(ra);
    if (Number.isFinite(secs)) return Math.max(1, Math.ceil(secs));
    const date = Date.parse(ra);
    if (!Number.isNaN(date)) return Math.max(1, Math.ceil((date - now) / 1000));
  }
  const resets: { seconds: number; exhausted: boolean }[] = [];
  headers.forEach((value, name) => {
    const m = name.toLowerCase().match(/^x-ratelimit-reset-(.+)$/);
    if (!m) return;
    const seconds = parseDurationSeconds(value);
    if (seconds === null) return;
    resets.push({ seconds, exhausted: headers.get(`x-ratelimit-remaining-${m[1]}`)?.trim() === "0" });
  });
  if (resets.length === 0) return null;
  const chosen = resets.some((r) => r.exhausted) ? resets.filter((r) => r.exhausted) : resets;
  return Math.max(1, Math.ceil(Math.max(...chosen.map((r) => r.seconds))));
}

export interface UpstreamErrorInput {
  status: number;
  bodyText: string;
  headers: Headers;
  route: FailureRoute;
  /** The deployment's own key, redacted verbatim wherever it appears. */
  apiKey?: string | null;
}

/**
 * Maps a non-2xx upstream response (docs/behaviour/errors.md#provider-failures). Anthropic's 529 "overloaded" falls in
 * the 5xx row.
 */
export function upstreamHttpError(input: UpstreamErrorInput): GatewayError {
  const { status, bodyText, headers, route } = input;
  const secrets = [input.apiKey ?? null];
  const raw = extractProviderMessage(parseBody(bodyText));
  const cause = new ProviderFailure(`upstream ${status}: ${redactSecrets(bodyText, secrets).slice(0, 2000)}`, status);
  const generic = route === "inference" ? PROVIDER_ERROR : PASSTHROUGH_ERROR;
  if (status === 400 || status === 422)
    return new GatewayError(400, clientMessage(raw, INVALID_FALLBACK, secrets), { code: "invalid_request", cause });
  if (status === 404)
    return new GatewayError(404, clientMessage(raw, NOT_FOUND_FALLBACK, secrets), { code: "model_not_found", cause });
  if (status === 401 || status === 403)
    return new GatewayError(502, "The provider rejected the gateway's credentials", {
      code: "provider_auth_error",
      cause,
    });
  if (status === 402)
    return new GatewayError(502, "The provider account has insufficient credit", { code: "provider_error", cause });
  if (status === 413)
    return new GatewayError(413, clientMessage(raw, "The request is too large for the provider", secrets), {
      code: "request_too_large",
      cause,
    });
  if (status === 429) {
    const wait = retryAfterSeconds(headers);
    return new GatewayError(429, "The provider rate-limited this request", {
      code: "provider_rate_limited",
      headers: wait === null ? {} : { "Retry-After": String(wait) },
      cause,
    });
  }
  if (status === 408) return new GatewayError(504, PROVIDER_TIMEOUT, { code: "provider_timeout", cause });
  return new GatewayError(502, generic, { code: "provider_error", cause });
}

/** The upstream answered 2xx with a body we cannot read (docs/behaviour/errors.md#provider-failures). */
export function malformedBodyError(route: FailureRoute, detail: string, cause?: unknown): GatewayError {
  return new GatewayError(502, route === "inference" ? PROVIDER_ERROR : PASSTHROUGH_ERROR, {
    code: "provider_error",
    cause: new ProviderFailure(`malformed provider response: ${detail}`, null, { cause }),
  });
}

/**
 * A stream whose body ended cleanly before the wire's end marker (`[DONE]`, `message_stop`, a finish reason...): a
 * proxy or server cut it. Relayed as a clean end, the client would take a partial answer for a whole one.
 */
export function cutStreamError(what: string): GatewayError {
  return new GatewayError(502, PROVIDER_ERROR, {
    code: "provider_error",
    cause: new ProviderFailure(`stream cut: the upstream body ended before ${what}`, null),
  });
}

/**
 * An upstream answer larger than the gateway holds (`what`: "body", "stream event"; the limit in bytes): a 502 in
 * the wording of docs/behaviour/errors.md#provider-failures, told apart by its code; the usage row says which limit.
 */
export function oversizedError(route: FailureRoute, what: string, limit: number): GatewayError {
  return new GatewayError(502, route === "inference" ? PROVIDER_ERROR : PASSTHROUGH_ERROR, {
    code: "provider_response_too_large",
    cause: new ProviderFailure(`provider response too large: ${what} over ${limit} bytes`, null),
  });
}

export function timeoutError(what: string): GatewayError {
  return new GatewayError(504, PROVIDER_TIMEOUT, {
    code: "provider_timeout",
    cause: new ProviderFailure(`provider timeout: ${what}`, null),
  });
}

/**
 * Connection refused, DNS, TLS, reset, or a redirect we refuse to follow
 * (docs/behaviour/providers.md#upstream-http-client).
 */
export function connectionError(route: FailureRoute, cause: unknown): GatewayError {
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new GatewayError(502, route === "inference" ? PROVIDER_ERROR : PASSTHROUGH_ERROR, {
    code: "provider_error",
    cause: new ProviderFailure(`provider connection failed: ${text}`, null, { cause }),
  });
}
