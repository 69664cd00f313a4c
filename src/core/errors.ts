/**
 * The GatewayError family: every refusal or failure the gateway reports is one of these typed values.
 * Services and providers throw them; the HTTP error mapper and the CLI root are the only places that render them.
 */

/** One item of a 422 validation list, as FastAPI (and so the baseline) shapes it. */
export interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
}

/** OpenAI-style `error.type` by status (docs/behaviour/errors.md#openai-style-envelope). */
const TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  405: "invalid_request_error",
  409: "conflict_error",
  413: "invalid_request_error",
  422: "invalid_request_error",
  429: "rate_limit_error",
  500: "server_error",
  502: "upstream_error",
  503: "service_unavailable",
  504: "timeout_error",
};

export function errorTypeForStatus(status: number): string {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? "server_error" : "invalid_request_error");
}

export interface GatewayErrorOptions {
  code?: string | null;
  param?: string | null;
  /** Overrides `detail` (e.g. the 422 list, or readiness' object); defaults to the message. */
  detail?: unknown;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly status: number;
  readonly code: string | null;
  readonly param: string | null;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.status = status;
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.detail = options.detail ?? message;
    this.headers = options.headers ?? {};
  }

  get type(): string {
    return errorTypeForStatus(this.status);
  }
}

export const badRequest = (message: string, code = "invalid_request", param?: string) =>
  new GatewayError(400, message, { code, param: param ?? null });
export const unauthorized = (message: string, code: string) => new GatewayError(401, message, { code });
export const forbidden = (message: string, code: string) => new GatewayError(403, message, { code });
export const notFound = (message: string, code = "not_found") => new GatewayError(404, message, { code });
export const conflict = (message: string, code = "conflict") => new GatewayError(409, message, { code });
export const serviceUnavailable = (message: string, code: string) => new GatewayError(503, message, { code });

/**
 * 422 with the FastAPI-style list in `detail` and a one-line summary as message
 * (docs/behaviour/errors.md#openai-style-envelope).
 */
export function validationError(issues: ValidationIssue[]): GatewayError {
  const first = issues[0];
  const loc = first ? first.loc.join(".") : "";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  const message = first ? `${loc}: ${first.msg}${more}` : "Invalid request";
  return new GatewayError(422, message, { code: "validation_error", param: loc || null, detail: issues });
}

/** Thrown when the database cannot be reached; mapped to 503 everywhere. */
export const databaseUnavailable = (cause?: unknown) =>
  new GatewayError(503, "Database unavailable, please retry", { code: "database_unavailable", cause });
