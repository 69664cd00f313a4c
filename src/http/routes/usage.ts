/** GET /v1/usage (SPEC §3.13): master key only. */
import { Elysia } from "elysia";
import { z } from "zod";
import { usageEntry, usageQuery } from "../../core/schemas/usage";
import type { HttpContext } from "../context";
import { querySchema } from "../fast-schema";
import { masterOnly, securedDetail } from "../plugins/auth";

export function usageRoutes(ctx: HttpContext) {
  return new Elysia({ name: "usage", detail: { tags: ["usage"], ...securedDetail } })
    .use(masterOnly(ctx))
    .get("/v1/usage", ({ query }) => ctx.services.usage.list(query), {
      query: querySchema(usageQuery),
      response: { 200: z.array(usageEntry) },
      detail: { summary: "Usage records, newest first" },
    });
}
