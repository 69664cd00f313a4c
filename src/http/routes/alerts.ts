/** /v1/alerts: spend alert rules, master key only. */
import { Elysia } from "elysia";
import { z } from "zod";
import {
  alertDeliveriesQuery,
  alertDeliveryResponse,
  alertRuleResponse,
  alertTestResponse,
  createAlertRequest,
  updateAlertRequest,
} from "../../core/schemas/alerts";
import { bodyParser } from "../body";
import type { HttpContext } from "../context";
import { bodySchema, querySchema } from "../fast-schema";
import { requireMaster, securedDetail } from "../plugins/auth";

const params = z.object({ id: z.string() });

export function alertsRoutes(ctx: HttpContext) {
  const alerts = ctx.services.alerts;
  return new Elysia({ name: "alerts", prefix: "/v1/alerts", detail: { tags: ["alerts"], ...securedDetail } })
    .onParse(bodyParser((request) => requireMaster(ctx, request), ctx.config))
    .onTransform(({ request }) => requireMaster(ctx, request))
    .post("", ({ body }) => alerts.create(body), {
      body: bodySchema(createAlertRequest),
      response: { 200: alertRuleResponse },
      detail: { summary: "Create a spend alert rule" },
    })
    .get("", () => alerts.list(), {
      response: { 200: z.array(alertRuleResponse) },
      detail: { summary: "List spend alert rules" },
    })
    .get("/:id", ({ params }) => alerts.get(params.id), {
      params,
      response: { 200: alertRuleResponse },
      detail: { summary: "Get a spend alert rule" },
    })
    .patch("/:id", ({ params, body }) => alerts.update(params.id, body), {
      params,
      body: bodySchema(updateAlertRequest),
      response: { 200: alertRuleResponse },
      detail: { summary: "Update a spend alert rule" },
    })
    .delete(
      "/:id",
      async ({ params }) => {
        await alerts.remove(params.id);
        return new Response(null, { status: 204 });
      },
      { params, detail: { summary: "Delete a spend alert rule and its delivery history" } },
    )
    .get("/:id/deliveries", ({ params, query }) => alerts.deliveries(params.id, query), {
      params,
      query: querySchema(alertDeliveriesQuery),
      response: { 200: z.array(alertDeliveryResponse) },
      detail: { summary: "A rule's alerts, newest first: delivered, pending a retry (with the last error) or failed" },
    })
    .post("/:id/test", ({ params }) => alerts.test(params.id), {
      params,
      response: { 200: alertTestResponse },
      detail: { summary: "Post a test alert to the rule's webhook now" },
    });
}
