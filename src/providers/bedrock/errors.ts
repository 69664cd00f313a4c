import { GatewayError } from "../../core/errors.ts";
import { ProviderFailure, type UpstreamErrorInput, upstreamHttpError } from "../_shared/errors.ts";

/**
 * Bedrock errors (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors):
 * HTTP errors carry `x-amzn-ErrorType` and a body `{"message": "..."}` (some services spell it `Message`);
 * stream exceptions arrive as eventstream frames with `:message-type: exception` and `:exception-type`
 * naming the shape (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html).
 */

/** Exception shape -> the HTTP status Bedrock documents for it. */
const STATUS_BY_EXCEPTION: Record<string, number> = {
  validationexception: 400,
  accessdeniedexception: 403,
  resourcenotfoundexception: 404,
  modeltimeoutexception: 408,
  modelerrorexception: 424,
  modelstreamerrorexception: 424,
  throttlingexception: 429,
  modelnotreadyexception: 429,
  servicequotaexceededexception: 400,
  internalserverexception: 500,
  serviceunavailableexception: 503,
};

export const statusOfException = (type: string): number => STATUS_BY_EXCEPTION[type.toLowerCase()] ?? 500;

/** `Message` -> `message`, so the shared extractor finds the text. */
function normalizeBody(text: string): string {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    if (json && typeof json === "object" && typeof json["Message"] === "string" && json["message"] === undefined)
      return JSON.stringify({ ...json, message: json["Message"] });
  } catch {
    // not JSON: leave it to the shared mapper
  }
  return text;
}

export function bedrockHttpError(input: UpstreamErrorInput): GatewayError {
  return upstreamHttpError({ ...input, bodyText: normalizeBody(input.bodyText) });
}

/** An exception frame received after the 200 (or as the first frame). */
export function bedrockStreamException(type: string, payload: string): GatewayError {
  const status = statusOfException(type);
  const mapped = upstreamHttpError({
    status,
    bodyText: normalizeBody(payload),
    headers: new Headers(),
    route: "inference",
  });
  return new GatewayError(mapped.status, mapped.message, {
    code: mapped.code,
    headers: mapped.headers,
    cause: new ProviderFailure(`exception in stream: ${type}: ${payload.slice(0, 1000)}`, status),
  });
}
