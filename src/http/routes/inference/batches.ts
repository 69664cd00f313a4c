/**
 * The batch routes (docs/api.md#batches): thin over the batches service. Master key or virtual key, checked before
 * the body is read or the query validated. Results are streamed as the provider's file is read.
 */
import { Elysia } from "elysia";
import { z } from "zod";
import type { Caller } from "../../../services/auth";
import type { HttpContext } from "../../context";
import { type Identify, identified, securedDetail } from "../../plugins/auth";
import { requestIdOf } from "./reply";
import { batchListQuery, batchListResponse, batchProviderQuery, batchResponse, createBatchBody } from "./schemas";

const idParams = z.object({ batch_id: z.string().min(1) });

export function batchRoutes(ctx: HttpContext, identify: Identify<Caller>) {
  const batches = () => ctx.inference().batches;
  const encoder = new TextEncoder();
  return new Elysia({ name: "inference-batches", detail: { tags: ["batches"], ...securedDetail } })
    .use(identified(identify, ctx.config))
    .post("/v1/batches", ({ body, identity }) => batches().create(identity, body), {
      body: createBatchBody,
      response: { 200: batchResponse },
      detail: { summary: "Create a batch of chat completions (its estimated cost is held on the budget)" },
    })
    .get("/v1/batches", ({ query, identity }) => batches().list(identity, query.provider, query), {
      query: batchListQuery,
      response: { 200: batchListResponse },
      detail: { summary: "The caller's batches on a provider, newest first" },
    })
    .get(
      "/v1/batches/:batch_id",
      ({ params, query, identity }) => batches().retrieve(identity, query.provider, params.batch_id),
      {
        params: idParams,
        query: batchProviderQuery,
        response: { 200: batchResponse },
        detail: { summary: "Retrieve a batch" },
      },
    )
    .post(
      "/v1/batches/:batch_id/cancel",
      ({ params, query, identity }) => batches().cancel(identity, query.provider, params.batch_id),
      {
        params: idParams,
        query: batchProviderQuery,
        response: { 200: batchResponse },
        detail: { summary: "Cancel a batch" },
      },
    )
    .get(
      "/v1/batches/:batch_id/results",
      async ({ params, query, identity, request }) => {
        const pieces = await batches().results(identity, query.provider, params.batch_id, requestIdOf(request));
        const iterator = pieces[Symbol.asyncIterator]();
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            const next = await iterator.next();
            if (next.done) controller.close();
            else controller.enqueue(encoder.encode(next.value));
          },
          async cancel() {
            await iterator.return?.();
          },
        });
        return new Response(body, { headers: { "content-type": "application/json" } });
      },
      {
        params: idParams,
        query: batchProviderQuery,
        detail: {
          summary: "A finished batch's results: {results: [{custom_id, result, error}]} (409 while it runs)",
        },
      },
    );
}
