/**
 * The one place errors become HTTP responses (docs/behaviour/errors.md): OpenAI-style `{error:{…}, detail}` everywhere,
 * Anthropic's top-level envelope on /v1/messages, FastAPI-style 422 lists for validation failures.
 */
import { databaseUnavailable, GatewayError, type ValidationIssue, validationError } from "../core/errors";
import { logger } from "../runtime/logger";

const log = logger("http");

/** Anthropic error type by status (docs/behaviour/errors.md#anthropic-envelope-on-v1messages). */
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
  const message =
    typeof err.detail === "string" || Array.isArray(err.detail)
      ? err.message
      : err.status === 503
        ? "Service not ready"
        : err.message;
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
  /** zod's `unrecognized_keys` lists the extra fields here; each becomes its own item. */
  keys?: readonly string[];
}

/** Converts Standard Schema (zod) issues to the FastAPI list, located under `body`/`query`/`path`. */
export function issuesToValidation(where: string, issues: readonly StandardIssue[]): GatewayError {
  const expanded = issues.flatMap((issue): StandardIssue[] =>
    issue.keys?.length
      ? issue.keys.map((key) => ({ message: "Extra inputs are not permitted", path: [...(issue.path ?? []), key] }))
      : [issue],
  );
  const list: ValidationIssue[] = expanded.map((issue) => ({
    type: "value_error",
    loc: [
      where,
      ...(issue.path ?? []).map((p) => {
        const key = typeof p === "object" ? p.key : p;
        return typeof key === "number" ? key : String(key);
      }),
    ],
    msg: issue.message,
  }));
  return validationError(list);
}

/** Driver codes that mean "the database cannot be reached", not "the statement is wrong". */
const UNREACHABLE_SQLSTATE = /^(08|57P0[123]|53300|3D000)/;
const UNREACHABLE_CODE =
  /^(ERR_POSTGRES_(CONNECTION_|IDLE_TIMEOUT|LIFETIME_TIMEOUT)|SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR))/;
const UNREACHABLE_TEXT = /^(Cannot use a closed database|Database has closed)/;

/** True when `err` (or one of its causes) says the database is down or closed (Bun SQL, bun:sqlite). */
export function isDatabaseUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code, errno } = e as Error & { code?: unknown; errno?: unknown };
    if (typeof code === "string" && UNREACHABLE_CODE.test(code)) return true;
    if (typeof errno === "string" && UNREACHABLE_SQLSTATE.test(errno)) return true;
    if (UNREACHABLE_TEXT.test(e.message)) return true;
  }
  return false;
}

/** The innermost cause's first line (drizzle wraps driver errors in "Failed query: <sql>"). */
function rootMessage(err: unknown): string {
  let e = err;
  for (let depth = 0; e instanceof Error && e.cause instanceof Error && depth < 5; depth++) e = e.cause;
  return (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";
}

/**
 * Anything that is not a GatewayError is a 500 whose text never leaks (docs/behaviour/errors.md#openai-style-envelope);
 * a database that cannot be reached is a 503 (`database_unavailable`,
 * docs/behaviour/errors.md#error-type-and-code-by-status), again without the driver's text.
 */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (isDatabaseUnreachable(err)) {
    log.warn("database unavailable", { error: rootMessage(err) });
    return databaseUnavailable(err);
  }
  log.error("unhandled error", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return new GatewayError(500, "Internal server error", { code: "internal_error" });
}
