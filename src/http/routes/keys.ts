/** /v1/keys (docs/api.md#keys): master key only. */
import { Elysia } from "elysia";
import { z } from "zod";
import { paginationQuery } from "../../core/schemas/common";
import { createKeyRequest, createKeyResponse, keyInfo, updateKeyRequest } from "../../core/schemas/keys";
import type { HttpContext } from "../context";
import { bodySchema, querySchema } from "../fast-schema";
import { masterOnly, securedDetail } from "../plugins/auth";

const params = z.object({ key_id: z.string() });

export function keysRoutes(ctx: HttpContext) {
  const keys = ctx.services.keys;
  return new Elysia({ name: "keys", prefix: "/v1/keys", detail: { tags: ["keys"], ...securedDetail } })
    .use(masterOnly(ctx))
    .post("", ({ body }) => keys.create(body), {
      body: bodySchema(createKeyRequest),
      response: { 200: createKeyResponse },
      detail: { summary: "Create a virtual API key (the secret is shown once)" },
    })
    .get("", ({ query }) => keys.list(query), {
      query: querySchema(paginationQuery),
      response: { 200: z.array(keyInfo) },
      detail: { summary: "List keys" },
    })
    .get("/:key_id", ({ params }) => keys.get(params.key_id), {
      params,
      response: { 200: keyInfo },
      detail: { summary: "Get a key" },
    })
    .patch("/:key_id", ({ params, body }) => keys.update(params.key_id, body), {
      params,
      body: bodySchema(updateKeyRequest),
      response: { 200: keyInfo },
      detail: { summary: "Update a key" },
    })
    .delete(
      "/:key_id",
      async ({ params }) => {
        await keys.remove(params.key_id);
        return new Response(null, { status: 204 });
      },
      { params, detail: { summary: "Delete a key (hard delete)" } },
    )
    .post("/:key_id/rotate", ({ params }) => keys.rotate(params.key_id), {
      params,
      response: { 200: createKeyResponse },
      detail: { summary: "Rotate a key's secret" },
    });
}
