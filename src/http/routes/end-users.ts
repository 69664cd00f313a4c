/** /v1/end-users: master key only. */
import { Elysia } from "elysia";
import { z } from "zod";
import { endUserResponse, endUsersQuery } from "../../core/schemas/end-users";
import type { HttpContext } from "../context";
import { querySchema } from "../fast-schema";
import { requireMaster, securedDetail } from "../plugins/auth";

export function endUsersRoutes(ctx: HttpContext) {
  const endUsers = ctx.services.endUsers;
  return new Elysia({ name: "end-users", prefix: "/v1/end-users", detail: { tags: ["end-users"], ...securedDetail } })
    .onTransform(({ request }) => requireMaster(ctx, request))
    .get("", ({ query }) => endUsers.list(query), {
      query: querySchema(endUsersQuery),
      response: { 200: z.array(endUserResponse) },
      detail: { summary: "End users with their spend window (those an end-user budget applied to)" },
    });
}
