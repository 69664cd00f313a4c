/** /v1/rate-limits: master key only. config.yml's rules are listed, read-only. */
import { Elysia } from "elysia";
import { z } from "zod";
import { rateLimitRuleInput, rateLimitRuleResponse, updateRateLimitRequest } from "../../core/schemas/rate-limits";
import { bodyParser } from "../body";
import type { HttpContext } from "../context";
import { bodySchema } from "../fast-schema";
import { requireMaster, securedDetail } from "../plugins/auth";

const params = z.object({ id: z.string() });

export function rateLimitsRoutes(ctx: HttpContext) {
  const rules = ctx.services.rateLimits;
  return new Elysia({
    name: "rate-limits",
    prefix: "/v1/rate-limits",
    detail: { tags: ["rate-limits"], ...securedDetail },
  })
    .onParse(bodyParser((request) => requireMaster(ctx, request), ctx.config))
    .onTransform(({ request }) => requireMaster(ctx, request))
    .post("", ({ body }) => rules.create(body), {
      body: bodySchema(rateLimitRuleInput),
      response: { 200: rateLimitRuleResponse },
      detail: { summary: "Create a rate-limit rule" },
    })
    .get("", () => rules.list(), {
      response: { 200: z.array(rateLimitRuleResponse) },
      detail: { summary: "List rate-limit rules (config.yml's first, read-only)" },
    })
    .get("/:id", ({ params }) => rules.get(params.id), {
      params,
      response: { 200: rateLimitRuleResponse },
      detail: { summary: "Get a rate-limit rule" },
    })
    .patch("/:id", ({ params, body }) => rules.update(params.id, body), {
      params,
      body: bodySchema(updateRateLimitRequest),
      response: { 200: rateLimitRuleResponse },
      detail: { summary: "Update a rule's limits or model (409 for config.yml's)" },
    })
    .delete(
      "/:id",
      async ({ params }) => {
        await rules.remove(params.id);
        return new Response(null, { status: 204 });
      },
      { params, detail: { summary: "Delete a rate-limit rule (409 for config.yml's)" } },
    );
}
