/** GET /v1/overview: spend, traffic, keys, budget health and top spenders at a glance. Master key only. */
import { Elysia } from "elysia";
import { overviewQuery, overviewResponse } from "../../core/schemas/analytics";
import type { HttpContext } from "../context";
import { requireMaster, securedDetail } from "../plugins/auth";

export function overviewRoutes(ctx: HttpContext) {
  return new Elysia({ name: "overview", detail: { tags: ["usage"], ...securedDetail } })
    .onTransform(({ request }) => requireMaster(ctx, request))
    .get("/v1/overview", ({ query }) => ctx.services.analytics.overview(query), {
      query: overviewQuery,
      response: { 200: overviewResponse },
      detail: {
        summary:
          "Spend today and this month, the window's traffic and errors, keys, budget health, top models, users and keys",
      },
    });
}
