/** /v1/budgets (docs/api.md#budgets): master key only. */
import { Elysia } from "elysia";
import { z } from "zod";
import { budgetResetLog, budgetResponse, createBudgetRequest, updateBudgetRequest } from "../../core/schemas/budgets";
import { paginationQuery } from "../../core/schemas/common";
import type { HttpContext } from "../context";
import { bodySchema, querySchema } from "../fast-schema";
import { masterOnly, securedDetail } from "../plugins/auth";

const params = z.object({ budget_id: z.string() });

export function budgetsRoutes(ctx: HttpContext) {
  const budgets = ctx.services.budgets;
  return new Elysia({ name: "budgets", prefix: "/v1/budgets", detail: { tags: ["budgets"], ...securedDetail } })
    .use(masterOnly(ctx))
    .post("", ({ body }) => budgets.create(body), {
      body: bodySchema(createBudgetRequest),
      response: { 200: budgetResponse },
      detail: { summary: "Create a budget" },
    })
    .get("", ({ query }) => budgets.list(query), {
      query: querySchema(paginationQuery),
      response: { 200: z.array(budgetResponse) },
      detail: { summary: "List budgets" },
    })
    .get("/:budget_id", ({ params }) => budgets.get(params.budget_id), {
      params,
      response: { 200: budgetResponse },
      detail: { summary: "Get a budget" },
    })
    .patch("/:budget_id", ({ params, body }) => budgets.update(params.budget_id, body), {
      params,
      body: bodySchema(updateBudgetRequest),
      response: { 200: budgetResponse },
      detail: { summary: "Update a budget" },
    })
    .delete(
      "/:budget_id",
      async ({ params }) => {
        await budgets.remove(params.budget_id);
        return new Response(null, { status: 204 });
      },
      { params, detail: { summary: "Delete a budget (409 while assigned)" } },
    )
    .get("/:budget_id/reset-logs", ({ params, query }) => budgets.resetLogs(params.budget_id, query), {
      params,
      query: querySchema(paginationQuery),
      response: { 200: z.array(budgetResetLog) },
      detail: { summary: "Budget reset history, newest first" },
    });
}
