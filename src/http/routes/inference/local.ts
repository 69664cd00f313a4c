/**
 * Inference routes the standalone gateway answers itself, without the pipeline: the model listing (docs/api.md#models)
 * and the local token count of /v1/messages (docs/api.md#messages). Master key or virtual key, checked before the query is
 * validated.
 */
import { Elysia } from "elysia";
import { z } from "zod";
import { modelListResponse, modelObject } from "../../../core/schemas/models";
import type { Caller } from "../../../services/auth";
import type { HttpContext } from "../../context";
import { decodeParam } from "../../decode";
import { type Identify, identified, securedDetail } from "../../plugins/auth";
import { countTokensBody, modelsQuery } from "./schemas";

export function localInferenceRoutes(ctx: HttpContext, identify: Identify<Caller>) {
  const inference = () => ctx.inference();
  return new Elysia({ name: "inference-local", detail: { tags: ["inference"], ...securedDetail } })
    .use(identified(identify, ctx.config))
    .post("/v1/messages/count_tokens", ({ body }) => inference().countTokens(body), {
      body: countTokensBody,
      response: { 200: z.object({ input_tokens: z.number().int() }) },
      detail: { summary: "Estimate input tokens locally (no provider call)" },
    })
    .get("/v1/models", ({ query, identity }) => inference().models.list(identity, query.provider), {
      query: modelsQuery,
      response: { 200: modelListResponse },
      detail: { summary: "Models the caller may use, with pricing" },
    })
    .get(
      "/v1/models/:model_id",
      ({ params, identity }) => inference().models.get(identity, decodeParam(params.model_id)),
      {
        params: z.object({ model_id: z.string() }),
        response: { 200: modelObject },
        detail: { summary: "One model (model_id may contain '/' and ':')" },
      },
    )
    .get("/v1/models/*", ({ params, identity }) => inference().models.get(identity, decodeParam(params["*"])), {
      params: z.object({ "*": z.string() }),
      detail: { hide: true },
    });
}
