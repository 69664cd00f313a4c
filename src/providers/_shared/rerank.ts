/**
 * Rerank on the wires that share one shape (https://jina.ai/reranker, vLLM's `/v1/rerank`, Together, Voyage):
 * POST {base}/rerank with `{model, query, documents, top_n}`; the answer lists `{index, relevance_score}` under
 * `results` (Voyage: `data`) with `usage.total_tokens`. Translated to the gateway's rerank shape.
 */
import { z } from "zod";
import { fromOpenAIUsage, type RerankRequest, type RerankResponse } from "../../core/wire/index.ts";
import type { ProviderResult } from "../types.ts";
import type { JsonResult } from "./http.ts";

const scored = z.object({ index: z.number().int(), relevance_score: z.number() }).loose();

export const rerankUpstreamSchema = z
  .object({
    id: z.string().nullish(),
    model: z.string().nullish(),
    results: z.array(scored).nullish(),
    data: z.array(scored).nullish(),
    usage: z.object({ total_tokens: z.number().nullish() }).loose().nullish(),
  })
  .loose();

/** The request body: the client's fields the shared shape knows (`max_tokens_per_doc` is Cohere's alone). */
export function rerankBody(req: RerankRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { model: req.model, query: req.query, documents: req.documents };
  if (req.top_n !== undefined && req.top_n !== null) body["top_n"] = req.top_n;
  return body;
}

/** The upstream answer in the gateway's shape; usage is its tokens as input tokens (a rerank has no output). */
export function fromRerankUpstream(
  res: JsonResult<z.infer<typeof rerankUpstreamSchema>>,
  model: string,
): ProviderResult<RerankResponse> {
  const { body } = res;
  const total = body.usage?.total_tokens ?? null;
  const results = (body.results ?? body.data ?? []).map((r) => ({
    index: r.index,
    relevance_score: r.relevance_score,
  }));
  return {
    status: res.status,
    headers: res.headers,
    body: {
      id: body.id ?? `rerank-${crypto.randomUUID()}`,
      model: body.model ?? model,
      results,
      ...(total === null ? {} : { usage: { total_tokens: total } }),
    },
    usage: fromOpenAIUsage({ prompt_tokens: total, completion_tokens: 0, total_tokens: total }),
  };
}
