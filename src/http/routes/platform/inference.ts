/**
 * Inference routes in platform mode (SPEC §10.1-10.2): the standalone request schemas, the caller's bearer token,
 * then the platform-mode service. Thin: parse -> token -> service -> reply.
 */
import { Elysia } from "elysia";
import { bodyParser } from "../../body";
import { callerToken } from "../../plugins/platform-auth";
import type { PlatformHttpContext } from "../../platform-context";
import { requestIdOf, requireModel, toResponse } from "../inference/reply";
import { chatBody, messagesBody, responsesBody } from "../inference/schemas";

/** Anthropic request headers forwarded on /v1/messages (SPEC §5.4.1). */
function anthropicHeaders(request: Request): Record<string, string> {
  const beta = request.headers.get("anthropic-beta");
  return beta ? { "anthropic-beta": beta } : {};
}

export function platformInferenceRoutes(ctx: PlatformHttpContext) {
  const { inference } = ctx;
  return new Elysia({ name: "platform-inference" })
    .onParse(bodyParser(callerToken, ctx.config))
    .post(
      "/v1/chat/completions",
      async ({ body, request, set }) => {
        requireModel(body.model);
        const token = callerToken(request);
        const id = requestIdOf(request);
        return toResponse(await inference.chat(token, body, id, request.signal), id, set);
      },
      { body: chatBody },
    )
    .post(
      "/v1/messages",
      async ({ body, request, set }) => {
        requireModel(body.model);
        const token = callerToken(request);
        const id = requestIdOf(request);
        return toResponse(await inference.messages(token, body, anthropicHeaders(request), request.signal), id, set);
      },
      { body: messagesBody },
    )
    .post(
      "/v1/responses",
      async ({ body, request, set }) => {
        requireModel(body.model);
        const token = callerToken(request);
        const id = requestIdOf(request);
        return toResponse(await inference.responses(token, body, request.signal), id, set);
      },
      { body: responsesBody },
    );
}
