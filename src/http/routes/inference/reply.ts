/** Turns a service Reply into a Response; every inference route carries the request id. */
import { badRequest } from "../../../core/errors";
import { rawTextOf } from "../../../core/wire/raw-text";
import { currentRequestId, requestIdFrom } from "../../../platform/request-context";
import type { Reply } from "../../../services/inference/reply";

export function toResponse(reply: Reply, requestId: string): Response {
  const headers = { ...reply.headers, "x-request-id": requestId };
  if (reply.kind === "stream") return new Response(reply.body, { status: 200, headers });
  // An upstream body passed through unchanged goes out as the upstream's own bytes.
  const text = rawTextOf(reply.body) ?? JSON.stringify(reply.body);
  return new Response(text, { status: 200, headers: { ...headers, "content-type": "application/json" } });
}

/** The request id the app bound to this request (see src/platform/request-context.ts). */
export function requestIdOf(request: Request): string {
  return currentRequestId() ?? requestIdFrom(request.headers.get("x-request-id"));
}

/** SPEC §3.3: a blank model is a 400 before anything else. */
export function requireModel(model: string): void {
  if (!model.trim()) throw badRequest("Invalid request: model is required", "model_required", "model");
}
