/**
 * Inference routes (SPEC §3.3-§3.8): authenticate -> read and validate the body -> service -> reply. Thin by design.
 * The caller is known before anything of the body is read (src/http/body.ts); on the GET routes before the query
 * is validated.
 */
import { Elysia } from "elysia";
import { z } from "zod";
import type { HttpContext } from "../../context";
import { bodyParser } from "../../body";
import { decodeParam } from "../../decode";
import { authenticate, securedDetail } from "../../plugins/auth";
import { createPromptLogger } from "./prompt-log";
import { requestIdOf, requireModel, toResponse } from "./reply";
import { modelListResponse, modelObject } from "../../../core/schemas/models";
import {
  chatBody,
  countTokensBody,
  embeddingsBody,
  messagesBody,
  moderationQuery,
  moderationResponse,
  moderationsBody,
  modelsQuery,
  responsesBody,
} from "./schemas";

/** Anthropic request headers forwarded on /v1/messages (SPEC §5.4.1). */
function anthropicHeaders(request: Request): Record<string, string> {
  const beta = request.headers.get("anthropic-beta");
  return beta ? { "anthropic-beta": beta } : {};
}

export function inferenceRoutes(ctx: HttpContext) {
  const inference = () => ctx.inference();
  const logPrompt = createPromptLogger(ctx.config);
  const getModel = async (request: Request, id: string) => {
    const caller = await authenticate(ctx, request);
    return inference().models.get(caller, decodeParam(id));
  };
  const authenticated = {
    transform: async ({ request }: { request: Request }) => void (await authenticate(ctx, request)),
  };
  return new Elysia({ name: "inference", detail: { tags: ["inference"], ...securedDetail } })
    .onParse(bodyParser((request) => authenticate(ctx, request), ctx.config))
    .post(
      "/v1/chat/completions",
      async ({ body, request, set }) => {
        requireModel(body.model);
        const caller = await authenticate(ctx, request);
        logPrompt("/v1/chat/completions", body);
        const id = requestIdOf(request);
        return toResponse(await inference().chat(caller, body, id, request.signal), id, set);
      },
      { body: chatBody, detail: { summary: "OpenAI Chat Completions (JSON or SSE), routed by provider:model" } },
    )
    .post(
      "/v1/messages",
      async ({ body, request, set }) => {
        requireModel(body.model);
        const caller = await authenticate(ctx, request);
        logPrompt("/v1/messages", body);
        const id = requestIdOf(request);
        return toResponse(
          await inference().messages(caller, body, id, anthropicHeaders(request), request.signal),
          id,
          set,
        );
      },
      { body: messagesBody, detail: { summary: "Anthropic Messages API (JSON or SSE), routed by provider:model" } },
    )
    .post(
      "/v1/messages/count_tokens",
      async ({ body, request }) => {
        await authenticate(ctx, request);
        return inference().countTokens(body);
      },
      {
        body: countTokensBody,
        response: { 200: z.object({ input_tokens: z.number().int() }) },
        detail: { summary: "Estimate input tokens locally (no provider call)" },
      },
    )
    .post(
      "/v1/responses",
      async ({ body, request, set }) => {
        requireModel(body.model);
        const caller = await authenticate(ctx, request);
        logPrompt("/v1/responses", body);
        const id = requestIdOf(request);
        return toResponse(await inference().responses(caller, body, id, request.signal), id, set);
      },
      { body: responsesBody, detail: { summary: "OpenAI Responses API (JSON or SSE)" } },
    )
    .post(
      "/v1/embeddings",
      async ({ body, request, set }) => {
        requireModel(body.model);
        const caller = await authenticate(ctx, request);
        logPrompt("/v1/embeddings", body);
        const id = requestIdOf(request);
        return toResponse(await inference().embeddings(caller, body, id), id, set);
      },
      { body: embeddingsBody, detail: { summary: "OpenAI Embeddings" } },
    )
    .post(
      "/v1/moderations",
      async ({ body, query, request, set }) => {
        requireModel(body.model);
        const caller = await authenticate(ctx, request);
        logPrompt("/v1/moderations", body);
        const id = requestIdOf(request);
        return toResponse(await inference().moderations(caller, body, id, query.include_raw), id, set);
      },
      {
        body: moderationsBody,
        query: moderationQuery,
        response: { 200: moderationResponse },
        detail: { summary: "OpenAI Moderations" },
      },
    )
    .get(
      "/v1/models",
      async ({ query, request }) => {
        const caller = await authenticate(ctx, request);
        return inference().models.list(caller, query.provider);
      },
      {
        ...authenticated,
        query: modelsQuery,
        response: { 200: modelListResponse },
        detail: { summary: "Models the caller may use, with pricing" },
      },
    )
    .get("/v1/models/:model_id", async ({ params, request }) => getModel(request, params.model_id), {
      ...authenticated,
      params: z.object({ model_id: z.string() }),
      response: { 200: modelObject },
      detail: { summary: "One model (model_id may contain '/' and ':')" },
    })
    .get("/v1/models/*", async ({ params, request }) => getModel(request, params["*"]), {
      ...authenticated,
      params: z.object({ "*": z.string() }),
      detail: { hide: true },
    });
}
