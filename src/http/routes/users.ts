/** /v1/users (docs/api.md#users): master key only. */
import { Elysia } from "elysia";
import { z } from "zod";
import { paginationQuery } from "../../core/schemas/common";
import { usageEntry, userUsageQuery } from "../../core/schemas/usage";
import { createUserRequest, updateUserRequest, userResponse } from "../../core/schemas/users";
import type { HttpContext } from "../context";
import { bodySchema, querySchema } from "../fast-schema";
import { masterOnly, securedDetail } from "../plugins/auth";

const params = z.object({ user_id: z.string() });

export function usersRoutes(ctx: HttpContext) {
  const users = ctx.services.users;
  return new Elysia({ name: "users", prefix: "/v1/users", detail: { tags: ["users"], ...securedDetail } })
    .use(masterOnly(ctx))
    .post("", ({ body }) => users.create(body), {
      body: bodySchema(createUserRequest),
      response: { 200: userResponse },
      detail: { summary: "Create (or revive) a user" },
    })
    .get("", ({ query }) => users.list(query), {
      query: querySchema(paginationQuery),
      response: { 200: z.array(userResponse) },
      detail: { summary: "List users" },
    })
    .get("/:user_id", ({ params }) => users.get(params.user_id), {
      params,
      response: { 200: userResponse },
      detail: { summary: "Get a user" },
    })
    .patch("/:user_id", ({ params, body }) => users.update(params.user_id, body), {
      params,
      body: bodySchema(updateUserRequest),
      response: { 200: userResponse },
      detail: { summary: "Update a user" },
    })
    .delete(
      "/:user_id",
      async ({ params }) => {
        await users.remove(params.user_id);
        return new Response(null, { status: 204 });
      },
      { params, detail: { summary: "Soft-delete a user and deactivate its keys" } },
    )
    .get("/:user_id/usage", ({ params, query }) => users.usage(params.user_id, query), {
      params,
      query: querySchema(userUsageQuery),
      response: { 200: z.array(usageEntry) },
      detail: { summary: "A user's usage, newest first" },
    });
}
