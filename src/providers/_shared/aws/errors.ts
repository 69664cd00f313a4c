import { GatewayError } from "../../../core/errors.ts";
import { ProviderFailure, type UpstreamErrorInput, upstreamHttpError } from "../errors.ts";

/**
 * AWS runtime errors (restJson1: Bedrock, SageMaker): HTTP errors carry `x-amzn-ErrorType` and a body
 * `{"message": "..."}` that some services spell `Message`; stream exceptions arrive as eventstream frames with
 * `:message-type: exception` and `:exception-type` naming the shape, whose HTTP status each service documents.
 */

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

export function awsHttpError(input: UpstreamErrorInput): GatewayError {
  return upstreamHttpError({ ...input, bodyText: normalizeBody(input.bodyText) });
}

/** An exception frame received after the 200 (or as the first frame), mapped as its documented `status`. */
export function awsStreamException(type: string, payload: string, status: number): GatewayError {
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
