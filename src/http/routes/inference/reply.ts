/** Turns a service Reply into a Response; every inference route carries the request id. */
import { badRequest } from "../../../core/errors";
import { currentRequestId, requestIdFrom } from "../../../runtime/request-context";
import type { Reply } from "../../../services/inference/pipeline/reply";
import { takeSetHeaders } from "../../set-headers";

/** The Response for a Reply, carrying the app's headers from `set` (see set-headers.ts) under the reply's own. */
export function toResponse(
  reply: Reply,
  requestId: string,
  set: { headers: Record<string, string | number | undefined> },
): Response {
  const headers = takeSetHeaders(set);
  Object.assign(headers, reply.headers);
  headers["x-request-id"] = requestId;
  if (reply.kind === "stream") return new Response(reply.body, { status: 200, headers });
  headers["content-type"] = reply.contentType ?? "application/json";
  // An upstream body passed through unchanged goes out as the upstream's own bytes.
  return new Response(reply.raw ?? JSON.stringify(reply.body), { status: 200, headers });
}

/** The response header naming the request's trace (docs/tracing.md#trace-context), success or error. */
export const TRACE_ID_HEADER = "x-trace-id";

/** The request id the app bound to this request (see src/runtime/request-context.ts). */
export function requestIdOf(request: Request): string {
  return currentRequestId() ?? requestIdFrom(request.headers.get("x-request-id"));
}

/** A blank model is a 400 before anything else (docs/api.md#chat-completions). */
export function requireModel(model: string): void {
  if (!model.trim()) throw badRequest("Invalid request: model is required", "model_required", "model");
}
