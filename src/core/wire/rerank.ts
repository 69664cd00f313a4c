/** Rerank shapes (otari's `POST /v1/rerank`): the request, and the answer every provider's is translated to. */
import { z } from "zod";
import { requestUserSchema } from "./chat.ts";
import { requestModelSchema } from "./model-name.ts";

export const rerankRequestSchema = z
  .object({
    model: requestModelSchema.describe("Provider-prefixed model ID, e.g. 'cohere:rerank-v3.5'"),
    query: z.string().describe("The search query to rerank documents against"),
    documents: z.array(z.string()).min(1).describe("List of document strings to rerank"),
    top_n: z.number().int().positive().nullish().describe("Maximum number of results to return"),
    max_tokens_per_doc: z.number().int().positive().nullish().describe("Per-document truncation limit"),
    user: requestUserSchema.describe("User ID for usage attribution"),
  })
  .loose();
export type RerankRequest = z.infer<typeof rerankRequestSchema>;

/**
 * The answer: `results` by relevance, each naming its document by `index`; `meta.billed_units.search_units` when the
 * provider bills search units (Cohere), `usage.total_tokens` when it counts tokens (Voyage, Jina, vLLM).
 */
export const rerankResponseSchema = z
  .object({
    id: z.string(),
    model: z.string().nullish(),
    results: z.array(z.object({ index: z.number().int(), relevance_score: z.number() })),
    meta: z.object({ billed_units: z.object({ search_units: z.number().nullish() }).nullish() }).nullish(),
    usage: z.object({ total_tokens: z.number() }).nullish(),
  })
  .meta({ id: "RerankResponse" });
export type RerankResponse = z.infer<typeof rerankResponseSchema>;
