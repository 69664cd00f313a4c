/**
 * The one place errors become HTTP responses (SPEC §4): OpenAI-style `{error:{…}, detail}` everywhere, Anthropic's
 * top-level envelope on /v1/messages, FastAPI-style 422 lists for validation failures.
 */
import { GatewayError, type ValidationIssue, validationError } from "../core/errors";
import { logger } from "../platform/logger";

const log = logger("http");

/** Anthropic error type by status (SPEC §4.2). */
function anthropicType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 402) return "billing_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status === 503 || status === 529) return "overloaded_error";
  if (status === 504) return "timeout_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

/** Renders a GatewayError in the envelope the route's clients expect. */
export function errorBody(err: GatewayError, anthropic: boolean): Record<string, unknown> {
  const message = typeof err.detail === "string" || Array.isArray(err.detail) ? err.message : err.status === 503 ? "Service not ready" : err.message;
  if (anthropic) return { type: "error", error: { type: anthropicType(err.status), message }, detail: err.detail };
  return { error: { message, type: err.type, code: err.code, param: err.param }, detail: err.detail };
}

export function errorResponse(err: GatewayError, path: string, extraHeaders?: Record<string, string>): Response {
  const anthropic = path === "/v1/messages" || path.startsWith("/v1/messages/");
  return new Response(JSON.stringify(errorBody(err, anthropic)), {
    status: err.status,
    headers: { "content-type": "application/json", ...err.headers, ...extraHeaders },
  });
}

interface StandardIssue {
  message: string;
  path?: readonly (PropertyKey | { key: PropertyKey })[];
}

/** Converts Standard Schema (zod) issues to the FastAPI list, located under `body`/`query`/`path`. */
export function issuesToValidation(where: string, issues: readonly StandardIssue[]): GatewayError {
  const list: ValidationIssue[] = issues.map((issue) => ({
    type: "value_error",
    loc: [where, ...(issue.path ?? []).map((p) => {
      const key = typeof p === "object" ? p.key : p;
      return typeof key === "number" ? key : String(key);
    })],
    msg: issue.message,
  }));
  return validationError(list);
}

/** Anything that is not a GatewayError is a 500 whose text never leaks (SPEC §4.1). */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  log.error("unhandled error", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return new GatewayError(500, "Internal server error", { code: "internal_error" });
}
