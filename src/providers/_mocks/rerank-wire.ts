/**
 * The ranking every mock reranker gives (Cohere, Voyage, the Jina/vLLM shape): a document scores by how many of the
 * query's words it contains, ties broken by position, so tests can predict the order. Tokens: 1 per word of the
 * query and of each document.
 */
const words = (text: string): string[] => text.toLowerCase().split(/\W+/).filter(Boolean);

export interface Ranked {
  index: number;
  relevance_score: number;
}

export function rankDocuments(query: string, documents: readonly string[], topN?: number | null): Ranked[] {
  const q = new Set(words(query));
  const ranked = documents.map((doc, index) => {
    const hits = words(doc).filter((w) => q.has(w)).length;
    return { index, relevance_score: Number(((hits + 1) / (q.size + 2) - index / 1000).toFixed(6)) };
  });
  ranked.sort((a, b) => b.relevance_score - a.relevance_score);
  return typeof topN === "number" && topN > 0 ? ranked.slice(0, topN) : ranked;
}

export const rerankTokens = (query: string, documents: readonly string[]): number =>
  words(query).length + documents.reduce((n, d) => n + words(d).length, 0);

/** A body's `query` and `documents` (strings), or an error text as the vendor's 400 would say it. */
export function rerankInput(body: Record<string, unknown>): { query: string; documents: string[] } | string {
  const { query, documents } = body;
  if (typeof query !== "string") return "query is required";
  if (!Array.isArray(documents) || documents.length === 0 || !documents.every((d) => typeof d === "string"))
    return "documents must be a non-empty list of strings";
  return { query, documents };
}
