/**
 * /v1/pricing (docs/api.md#pricing): reads with K|M, writes with the master key. `{model_key}` may contain `/`: the
 * documented single-segment routes are mirrored by a hidden wildcard for multi-segment keys, where a trailing
 * `/history` always means history (docs/api.md#pricing).
 */
import { Elysia } from "elysia";
import { z } from "zod";
import { paginationQuery } from "../../core/schemas/common";
import { pricingAsOfQuery, pricingDeleteQuery, pricingResponse, setPricingRequest } from "../../core/schemas/pricing";
import { bodyParser } from "../body";
import type { HttpContext } from "../context";
import { bodySchema, querySchema } from "../fast-schema";
import { decodeParam } from "../decode";
import { authenticate, requireMaster, securedDetail } from "../plugins/auth";

const keyParams = z.object({ model_key: z.string() });
const wildParams = z.object({ "*": z.string() });
const HISTORY = "/history";

export function pricingRoutes(ctx: HttpContext) {
  const pricing = ctx.services.pricing;
  // Auth runs as a transform hook, before validation: a caller without a credential gets 401, not 422.
  const master = { transform: ({ request }: { request: Request }) => requireMaster(ctx, request) };
  const anyKey = {
    transform: async ({ request }: { request: Request }) => {
      await authenticate(ctx, request);
    },
  };

  const readOne = (key: string, asOf: Date | undefined) => pricing.get(decodeParam(key), asOf);
  const readHistory = (key: string) => pricing.history(decodeParam(key));
  const remove = async (rawKey: string, effectiveAt: Date | undefined) => {
    await pricing.remove(decodeParam(rawKey), effectiveAt);
    return new Response(null, { status: 204 });
  };

  return (
    new Elysia({ name: "pricing", prefix: "/v1/pricing", detail: { tags: ["pricing"], ...securedDetail } })
      // Every route with a body here is master-only.
      .onParse(bodyParser((request) => requireMaster(ctx, request), ctx.config))
      .post("", ({ body }) => pricing.set(body), {
        ...master,
        body: bodySchema(setPricingRequest),
        response: { 200: pricingResponse },
        detail: { summary: "Set a model's price (a new version per effective_at)" },
      })
      .get("", ({ query }) => pricing.list(query), {
        ...anyKey,
        query: querySchema(paginationQuery),
        response: { 200: z.array(pricingResponse) },
        detail: { summary: "List every pricing version" },
      })
      .get("/:model_key", ({ params, query }) => readOne(params.model_key, query.as_of), {
        ...anyKey,
        params: keyParams,
        query: querySchema(pricingAsOfQuery),
        response: { 200: pricingResponse },
        detail: { summary: "Price of a model as of a time (default now)" },
      })
      .get("/:model_key/history", ({ params }) => readHistory(params.model_key), {
        ...anyKey,
        params: keyParams,
        response: { 200: z.array(pricingResponse) },
        detail: { summary: "Every price version of a model, newest first" },
      })
      .delete("/:model_key", ({ params, query }) => remove(params.model_key, query.effective_at), {
        ...master,
        params: keyParams,
        query: querySchema(pricingDeleteQuery),
        detail: { summary: "Delete a model's pricing (one version with effective_at)" },
      })
      .get(
        "/*",
        ({ params, query }) =>
          params["*"].endsWith(HISTORY)
            ? readHistory(params["*"].slice(0, -HISTORY.length))
            : readOne(params["*"], query.as_of),
        { ...anyKey, params: wildParams, query: querySchema(pricingAsOfQuery), detail: { hide: true } },
      )
      .delete("/*", ({ params, query }) => remove(params["*"], query.effective_at), {
        ...master,
        params: wildParams,
        query: querySchema(pricingDeleteQuery),
        detail: { hide: true },
      })
  );
}
