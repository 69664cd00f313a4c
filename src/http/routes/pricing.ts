/**
 * /v1/pricing (SPEC §3.12): reads with K|M, writes with the master key. `{model_key}` may contain `/`: the
 * documented single-segment routes are mirrored by a hidden wildcard for multi-segment keys, where a trailing
 * `/history` always means history (SPEC §0).
 */
import { Elysia } from "elysia";
import { z } from "zod";
import { paginationQuery } from "../../core/schemas/common";
import { pricingAsOfQuery, pricingDeleteQuery, pricingResponse, setPricingRequest } from "../../core/schemas/pricing";
import type { HttpContext } from "../context";
import { authenticate, requireMaster, securedDetail } from "../plugins/auth";

const keyParams = z.object({ model_key: z.string() });
const wildParams = z.object({ "*": z.string() });
const HISTORY = "/history";

export function pricingRoutes(ctx: HttpContext) {
  const pricing = ctx.services.pricing;

  const readOne = async (request: Request, key: string, asOf: Date | undefined) => {
    await authenticate(ctx, request);
    return pricing.get(decodeURIComponent(key), asOf);
  };
  const readHistory = async (request: Request, key: string) => {
    await authenticate(ctx, request);
    return pricing.history(decodeURIComponent(key));
  };
  const remove = async (request: Request, rawKey: string, effectiveAt: Date | undefined) => {
    requireMaster(ctx, request);
    await pricing.remove(decodeURIComponent(rawKey), effectiveAt);
    return new Response(null, { status: 204 });
  };

  return new Elysia({ name: "pricing", prefix: "/v1/pricing", detail: { tags: ["pricing"], ...securedDetail } })
    .post(
      "",
      ({ body, request }) => {
        requireMaster(ctx, request);
        return pricing.set(body);
      },
      { body: setPricingRequest, response: { 200: pricingResponse }, detail: { summary: "Set a model's price (a new version per effective_at)" } },
    )
    .get(
      "",
      async ({ query, request }) => {
        await authenticate(ctx, request);
        return pricing.list(query);
      },
      { query: paginationQuery, response: { 200: z.array(pricingResponse) }, detail: { summary: "List every pricing version" } },
    )
    .get("/:model_key", ({ params, query, request }) => readOne(request, params.model_key, query.as_of), {
      params: keyParams,
      query: pricingAsOfQuery,
      response: { 200: pricingResponse },
      detail: { summary: "Price of a model as of a time (default now)" },
    })
    .get("/:model_key/history", ({ params, request }) => readHistory(request, params.model_key), {
      params: keyParams,
      response: { 200: z.array(pricingResponse) },
      detail: { summary: "Every price version of a model, newest first" },
    })
    .delete("/:model_key", ({ params, query, request }) => remove(request, params.model_key, query.effective_at), {
      params: keyParams,
      query: pricingDeleteQuery,
      detail: { summary: "Delete a model's pricing (one version with effective_at)" },
    })
    .get(
      "/*",
      ({ params, query, request }) =>
        params["*"].endsWith(HISTORY) ? readHistory(request, params["*"].slice(0, -HISTORY.length)) : readOne(request, params["*"], query.as_of),
      { params: wildParams, query: pricingAsOfQuery, detail: { hide: true } },
    )
    .delete("/*", ({ params, query, request }) => remove(request, params["*"], query.effective_at), { params: wildParams, query: pricingDeleteQuery, detail: { hide: true } });
}
